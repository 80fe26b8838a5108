"""Which groups may take which pod classes, before any estimate, and why not.

Group-level reasons come first and apply to every pod (CA skips such groups before it
estimates): scale-up disabled, then backoff. Then each class is checked against an empty
template node of each group: taints, node affinity, resources after DaemonSet overhead,
host ports and anti-affinity with the DaemonSet pods. Checks are cached per group on the
class's scheduling constraints, which pods of many owners share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence

from autoscaler.core.binpacking import constraint_mismatch, overcommitted
from autoscaler.core.equivalence import PodClass
from autoscaler.core.interpod import Peer
from autoscaler.core.predicates import Mismatch
from autoscaler.core.reasons import Reason
from autoscaler.core.resources_math import shortfall
from autoscaler.core.snapshot import GroupView

__all__ = ["Eligibility", "group_reason"]


def group_reason(view: GroupView, now: dt.datetime) -> Mismatch | None:
    """Return why ``view`` takes no pod at all at ``now``, or ``None``."""
    option = view.option
    if not option.scale_up_enabled:
        return Reason.SCALE_UP_DISABLED, ""
    if option.in_backoff(now):
        until = option.backoff_until.isoformat() if option.backoff_until else ""
        return Reason.NOT_READY_FOR_SCALE_UP, f"until {until}"
    return None


class Eligibility:
    """Static verdicts of (class, group) pairs for one planning pass."""

    def __init__(
        self, views: Sequence[GroupView], ds_peers: Mapping[str, tuple[Peer, ...]] | None
    ) -> None:
        self._views = views
        self._ds_peers = ds_peers
        self._verdicts: dict[Hashable, list[Mismatch | None]] = {}
        self._overcommitted = [overcommitted(v) for v in views]

    def _constraint_verdicts(self, cls: PodClass) -> list[Mismatch | None]:
        pod = cls.representative
        peer = cls.peer if self._ds_peers is not None else None
        key = (pod.tolerations, pod.node_selector, pod.affinity, peer)
        found = self._verdicts.get(key)
        if found is None:
            peers = self._ds_peers or {}
            found = [constraint_mismatch(cls, v, peers.get(v.name, ())) for v in self._views]
            self._verdicts[key] = found
        return found

    def verdicts(self, cls: PodClass) -> list[Mismatch | None]:
        """Return, per group (in view order), why it cannot take ``cls``, or ``None``.

        Constraint checks are cached on the constraints; the request is compared apart,
        as integers first.
        """
        out = list(self._constraint_verdicts(cls))
        want = cls.request
        simple = not want.ephemeral_storage and not want.extended
        for g, view in enumerate(self._views):
            if out[g] is not None:
                continue
            free = view.free
            if (
                simple
                and want.cpu_m <= free.cpu_m
                and want.memory <= free.memory
                and want.pods <= free.pods
            ):
                continue
            missing = shortfall(want, free)
            if missing:
                out[g] = (Reason.INSUFFICIENT_RESOURCES, ", ".join(missing))
        for g, over in enumerate(self._overcommitted):
            if over is not None and out[g] is None:
                out[g] = over
        return out
