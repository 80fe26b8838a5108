"""A NodeGroup's status from what the reconciler saw and decided; pure.

Only the fields this controller owns are replaced; the others (``pendingSummary``,
``keptSummary``, ``lastScaleDownTime``, written by the scaling paths) are kept from the
fresh object. Conditions keep their ``lastTransitionTime`` unless their status changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from autoscaler.controllers.keys import Reason
from autoscaler.controllers.sizing import Sizing
from autoscaler.controllers.status_edit import stamp, with_condition
from autoscaler.core.resources import NodeGroupConditionType as Cond

JSON = dict[str, Any]
CENTS = Decimal("0.01")


@dataclasses.dataclass(frozen=True, slots=True)
class Observed:
    """What the NodeGroup reconciler observed besides the sizing."""

    generation: int
    min_nodes: int
    max_nodes: int
    current_nodes: int
    ready_nodes: int
    monthly_price: Decimal | None
    invalid: str | None = None


def _bool(flag: bool) -> str:
    return "True" if flag else "False"


def group_status(
    previous: Mapping[str, Any], *, seen: Observed, sizing: Sizing | None, now: dt.datetime
) -> JSON:
    """The new status: counts, cost, conditions, scale-up time and last error."""
    status: JSON = dict(previous)
    status["observedGeneration"] = seen.generation
    status["currentNodes"] = seen.current_nodes
    status["readyNodes"] = seen.ready_nodes

    def cond(status: JSON, kind: Cond, flag: bool, reason: str, message: str) -> JSON:
        return with_condition(
            status, type=kind, value=_bool(flag), reason=reason, message=message, now=now
        )

    if sizing is None:
        return cond(status, Cond.READY, False, Reason.INVALID_SPEC, seen.invalid or "invalid")
    target = sizing.active + sizing.create - len(sizing.remove)
    status["upcomingNodes"] = sizing.upcoming + sizing.create
    status["targetNodes"] = target
    if seen.monthly_price is not None and seen.monthly_price.is_finite():
        status["monthlyCost"] = format((seen.monthly_price * target).quantize(CENTS), "f")
    if sizing.create:
        status["lastScaleUpTime"] = stamp(now)
    if sizing.last_error:
        status["lastError"] = sizing.last_error
    ready = seen.ready_nodes >= seen.min_nodes
    status = cond(
        status,
        Cond.READY,
        ready,
        "MinimumReady" if ready else "BelowMinimum",
        f"{seen.ready_nodes} of at least {seen.min_nodes} nodes Ready",
    )
    scaling = bool(status["upcomingNodes"] or sizing.remove)
    reason = (
        "ScalingUp" if status["upcomingNodes"] else "ScalingDown" if sizing.remove else "Stable"
    )
    status = cond(
        status,
        Cond.SCALING,
        scaling,
        reason,
        f"{status['upcomingNodes']} upcoming, {len(sizing.remove)} leaving",
    )
    at_min, at_max = target <= seen.min_nodes, target >= seen.max_nodes
    status = cond(
        status,
        Cond.AT_MIN_CAPACITY,
        at_min,
        "AtMinNodes" if at_min else "AboveMinNodes",
        f"target {target}, minNodes {seen.min_nodes}",
    )
    status = cond(
        status,
        Cond.AT_MAX_CAPACITY,
        at_max,
        "AtMaxNodes" if at_max else "BelowMaxNodes",
        f"target {target}, maxNodes {seen.max_nodes}",
    )
    until = sizing.backoff_until
    message = (
        f"{sizing.failures} failed provisioning(s); no new nodes before {stamp(until)}"
        if until is not None
        else "not backing off"
    )
    reason = Reason.BACKOFF if until is not None else "NoBackoff"
    return cond(status, Cond.BACKOFF, until is not None, reason, message)
