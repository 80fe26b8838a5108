"""``group_status``: counts, cost and conditions, with stable transition times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from autoscaler.controllers.nodegroup_status import Observed, group_status
from autoscaler.controllers.sizing import Sizing

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def sizing(**fields: object) -> Sizing:
    values: dict[str, object] = {
        "active": 2,
        "upcoming": 0,
        "ready": 2,
        "failures": 0,
        "create": 0,
        "remove": (),
        "prune": (),
        "backoff_until": None,
        "last_error": None,
    }
    return Sizing(**(values | fields))  # type: ignore[arg-type]


SEEN = Observed(
    generation=3,
    min_nodes=2,
    max_nodes=4,
    current_nodes=2,
    ready_nodes=2,
    monthly_price=Decimal("24.5"),
)


def conditions(status: dict[str, object]) -> dict[str, tuple[object, object]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}  # type: ignore[attr-defined]


def test_a_steady_group_at_min() -> None:
    status = group_status({"pendingSummary": "kept"}, seen=SEEN, sizing=sizing(), now=NOW)
    assert status["observedGeneration"] == 3
    assert (
        status["currentNodes"],
        status["readyNodes"],
        status["upcomingNodes"],
        status["targetNodes"],
    ) == (2, 2, 0, 2)
    assert status["monthlyCost"] == "49.00"
    assert status["pendingSummary"] == "kept"  # another writer's field survives
    assert conditions(status) == {
        "Ready": ("True", "MinimumReady"),
        "Scaling": ("False", "Stable"),
        "AtMinCapacity": ("True", "AtMinNodes"),
        "AtMaxCapacity": ("False", "BelowMaxNodes"),
        "Backoff": ("False", "NoBackoff"),
    }


def test_scaling_up_and_backing_off() -> None:
    until = NOW + dt.timedelta(minutes=5)
    status = group_status(
        {},
        seen=SEEN,
        sizing=sizing(create=2, failures=1, backoff_until=until, last_error="QuotaExceeded: q"),
        now=NOW,
    )
    assert status["upcomingNodes"] == 2
    assert status["lastScaleUpTime"] == "2026-01-01T12:00:00Z"
    assert status["lastError"] == "QuotaExceeded: q"
    assert conditions(status)["Scaling"] == ("True", "ScalingUp")
    assert conditions(status)["Backoff"] == ("True", "ProvisioningBackoff")


def test_transition_times_move_only_when_a_condition_changes() -> None:
    first = group_status({}, seen=SEEN, sizing=sizing(), now=NOW)
    later = NOW + dt.timedelta(hours=1)
    second = group_status(first, seen=SEEN, sizing=sizing(create=1), now=later)
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times["Ready"] == "2026-01-01T12:00:00Z"
    assert times["Scaling"] == "2026-01-01T13:00:00Z"


def test_an_invalid_group_is_not_ready() -> None:
    seen = Observed(1, 0, 0, 0, 0, None, invalid="mode mismatch")
    status = group_status({}, seen=seen, sizing=None, now=NOW)
    assert conditions(status) == {"Ready": ("False", "InvalidSpec")}
