"""How many VPSieNodes a group must gain or lose to stay within its bounds; pure.

* **active** members are those not being deleted and not Failed; upcoming ones (Pending,
  Provisioning, Joining) count against ``maxNodes`` like Ready ones;
* below ``minNodes`` the group gains members, unless it is backing off: after ``n``
  failures since the group's last Ready node, creates wait ``base * 2**(n-1)`` (capped)
  from the last failure (vpsie-api.md §5.1: 5, 10, 20, then 30 min);
* above ``maxNodes`` it loses members that run no pods, cheapest to lose first: Pending
  (no create made yet), then Provisioning, Joining, and Ready nodes without workload;
  nodes with pods are left to the scale-down path (it drains them);
* Failed members older than the last Ready node, or beyond the ``kept`` newest, are pruned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.core.resources import Phase

UPCOMING = (Phase.PENDING, Phase.PROVISIONING, Phase.JOINING)
REMOVAL_ORDER = (Phase.PENDING, Phase.PROVISIONING, Phase.JOINING, Phase.READY)
_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    """Back-off settings: first delay, cap, and Failed members kept."""

    base_s: float
    max_s: float
    kept: int


@dataclasses.dataclass(frozen=True, slots=True)
class Sizing:
    """The decision for one group."""

    active: int
    upcoming: int
    ready: int
    failures: int
    create: int
    remove: tuple[str, ...]
    prune: tuple[str, ...]
    backoff_until: dt.datetime | None
    last_error: str | None


def _stamp(rec: VPSieNodeRecord, phase: Phase) -> dt.datetime | None:
    stamps = rec.resource.status.timestamps if rec.resource else None
    return getattr(stamps, phase.value.lower()) if stamps is not None else None


def _created(rec: VPSieNodeRecord) -> dt.datetime:
    return rec.meta.created or _EPOCH


def plan_size(
    members: Sequence[VPSieNodeRecord],
    *,
    min_nodes: int,
    max_nodes: int,
    now: dt.datetime,
    backoff: Backoff,
    busy: Callable[[VPSieNodeRecord], bool],
    expected: int = 0,
) -> Sizing:
    """Decide creates, removals and prunes for one group (``expected``: creates not yet
    seen in the cache)."""
    live = [m for m in members if not m.meta.deleting]
    active = [m for m in live if m.phase is not Phase.FAILED]
    failed = [m for m in live if m.phase is Phase.FAILED]
    last_ready = max((t for m in members if (t := _stamp(m, Phase.READY))), default=_EPOCH)
    recent = sorted(
        (m for m in failed if (_stamp(m, Phase.FAILED) or _EPOCH) > last_ready),
        key=lambda m: _stamp(m, Phase.FAILED) or _EPOCH,
        reverse=True,
    )
    prune = [m for m in failed if m not in recent[: backoff.kept]]
    until = None
    if recent:
        n = min(len(recent), backoff.kept)
        delay = min(backoff.base_s * 2 ** (n - 1), backoff.max_s)
        until = (_stamp(recent[0], Phase.FAILED) or now) + dt.timedelta(seconds=delay)
    count = len(active) + expected
    create = 0
    if count < min_nodes and (until is None or now >= until):
        create = min(min_nodes, max_nodes) - count
    remove: list[str] = []
    if count > max_nodes:
        remove = _removable(active, busy)[: count - max_nodes]
    upcoming = sum(1 for m in active if m.phase in UPCOMING) + expected
    return Sizing(
        active=len(active) + expected,
        upcoming=upcoming,
        ready=sum(1 for m in active if m.phase is Phase.READY),
        failures=len(recent),
        create=max(0, create),
        remove=tuple(remove),
        prune=tuple(m.meta.name for m in prune),
        backoff_until=until if until is not None and now < until else None,
        last_error=_error(recent[0]) if recent else None,
    )


def _removable(
    active: Sequence[VPSieNodeRecord], busy: Callable[[VPSieNodeRecord], bool]
) -> list[str]:
    out: list[str] = []
    for phase in REMOVAL_ORDER:
        same = [m for m in active if m.phase is phase and not (phase is Phase.READY and busy(m))]
        out += [m.meta.name for m in sorted(same, key=_created, reverse=True)]
    return out


def _error(rec: VPSieNodeRecord) -> str | None:
    return rec.resource.status.last_error if rec.resource else None
