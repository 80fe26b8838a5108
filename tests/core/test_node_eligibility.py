"""Node-level scale-down eligibility: one reason per check, in the documented order."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from autoscaler.core.disruption_keys import ALLOWED_HOURS, CA_SCALE_DOWN_DISABLED, PROTECTED
from autoscaler.core.node_eligibility import (
    GroupState,
    KeptReason,
    NodeVerdict,
    ScaleDownNodePolicy,
    node_verdict,
)
from autoscaler.core.resources.scaling import AllowedWindow, ScaleDown, Weekday
from autoscaler.core.time_window import parse_time_window
from tests.core.factories import NOW, group_state, node

# NOW is Saturday 2026-08-01 12:00 UTC.
MINUTES = dt.timedelta(minutes=1)
WEEKDAYS = parse_time_window("Mon-Fri 09:00-17:00")
SATURDAY_NOON = parse_time_window("Sat 11:00-13:00")
K = KeptReason


def verdict(
    *,
    node_kw: dict[str, Any] | None = None,
    group_kw: dict[str, Any] | None = None,
    known_group: bool = True,
    unneeded_since: dt.datetime | None = NOW - 15 * MINUTES,
    utilization: float = 0.2,
    policy: ScaleDownNodePolicy | None = None,
) -> NodeVerdict:
    """The verdict on an eligible node of group ``web``, changed by the given overrides."""
    subject = node("n", **{"group": "web", **(node_kw or {})})
    return node_verdict(
        subject,
        group=group_state("web", **(group_kw or {})) if known_group else None,
        now=NOW,
        unneeded_since=unneeded_since,
        utilization=utilization,
        policy=policy or ScaleDownNodePolicy(),
    )


@pytest.mark.parametrize(
    ("overrides", "reason", "fragment"),
    [
        pytest.param({}, None, "eligible", id="eligible"),
        pytest.param(
            {"node_kw": {"deleting": True}},
            K.CURRENTLY_BEING_DELETED,
            "being deleted",
            id="being-deleted",
        ),
        pytest.param(
            {"node_kw": {"group": None}},
            K.NOT_AUTOSCALED,
            "no autoscaler.vpsie.com/nodegroup label",
            id="no-group-label",
        ),
        pytest.param(
            {"known_group": False},
            K.NOT_AUTOSCALED,
            "web is not a known NodeGroup",
            id="unknown-group",
        ),
        pytest.param(
            {"node_kw": {"annotations": {PROTECTED: "True"}}},
            K.MALFORMED_ANNOTATION,
            f'{PROTECTED} has the value "True"',
            id="malformed-value",
        ),
        pytest.param(
            {"node_kw": {"annotations": {CA_SCALE_DOWN_DISABLED: "true"}}},
            K.SCALE_DOWN_DISABLED_ANNOTATION,
            CA_SCALE_DOWN_DISABLED,
            id="node-opt-out",
        ),
        pytest.param(
            {"node_kw": {"annotations": {ALLOWED_HOURS: "Mon-Fri 09:00-17:00"}}},
            K.OUTSIDE_ALLOWED_WINDOW,
            "it is Sat 12:00 there now",
            id="outside-node-allowed-hours",
        ),
        pytest.param(
            {"node_kw": {"annotations": {ALLOWED_HOURS: "Sat 11:00-13:00"}}},
            None,
            "eligible",
            id="inside-node-allowed-hours",
        ),
        pytest.param(
            {"group_kw": {"scale_down_enabled": False}},
            K.SCALE_DOWN_DISABLED_FOR_GROUP,
            "disabled for node group web",
            id="group-scale-down-disabled",
        ),
        pytest.param(
            {"group_kw": {"allowed_windows": (WEEKDAYS,)}},
            K.OUTSIDE_ALLOWED_WINDOW,
            "only in its windows (Mon-Fri 09:00-17:00 UTC)",
            id="outside-group-windows",
        ),
        pytest.param(
            {"group_kw": {"allowed_windows": (WEEKDAYS, SATURDAY_NOON)}},
            None,
            "eligible",
            id="inside-one-of-the-group-windows",
        ),
        pytest.param(
            {"group_kw": {"min_nodes": 3, "current_nodes": 3}},
            K.NODE_GROUP_MIN_SIZE_REACHED,
            "has 3 node(s), at its minimum of 3",
            id="group-at-min",
        ),
        pytest.param(
            {"group_kw": {"min_nodes": 3, "current_nodes": 2}},
            K.NODE_GROUP_MIN_SIZE_REACHED,
            "at its minimum",
            id="group-below-min",
        ),
        pytest.param(
            {"group_kw": {"min_nodes": 0, "current_nodes": 1}},
            None,
            "eligible",
            id="last-node-above-min-zero",
        ),
        pytest.param({"node_kw": {"ready": False}}, K.NODE_NOT_READY, "not Ready", id="not-ready"),
        pytest.param(
            {"node_kw": {"ready": False}, "policy": ScaleDownNodePolicy(keep_not_ready=False)},
            None,
            "eligible",
            id="not-ready-allowed-by-policy",
        ),
        pytest.param(
            {"utilization": 0.5},
            K.NOT_UNDERUTILIZED,
            "utilization 0.50 (the larger of CPU and memory",
            id="at-threshold",
        ),
        pytest.param(
            {"utilization": 0.9}, K.NOT_UNDERUTILIZED, "threshold 0.50", id="over-threshold"
        ),
        pytest.param(
            {"utilization": math.nan}, K.NOT_UNDERUTILIZED, "utilization nan", id="nan-utilization"
        ),
        pytest.param(
            {"utilization": 0.7, "group_kw": {"utilization_threshold": 0.8}},
            None,
            "eligible",
            id="under-group-threshold",
        ),
        pytest.param(
            {"group_kw": {"last_scale_up": NOW - 5 * MINUTES}},
            K.RECENTLY_SCALED_UP,
            "node group web grew at 2026-08-01T11:55:00+00:00",
            id="group-grew",
        ),
        pytest.param(
            {"group_kw": {"last_scale_up": NOW - 10 * MINUTES}},
            None,
            "eligible",
            id="delay-after-add-just-over",
        ),
        pytest.param(
            {"node_kw": {"created": NOW - 5 * MINUTES}},
            K.RECENTLY_SCALED_UP,
            "node n was created at",
            id="node-joined-recently",
        ),
        pytest.param(
            {
                "node_kw": {"created": NOW - 5 * MINUTES},
                "policy": ScaleDownNodePolicy(delay_after_node_created=False),
            },
            None,
            "eligible",
            id="node-age-ignored-by-policy",
        ),
        pytest.param({"node_kw": {"created": None}}, None, "eligible", id="unknown-creation-time"),
        pytest.param(
            {"unneeded_since": None},
            K.NOT_UNNEEDED_LONG_ENOUGH,
            "unneeded for 0s of the 10m node group web requires",
            id="not-yet-tracked",
        ),
        pytest.param(
            {"unneeded_since": NOW - 4 * MINUTES},
            K.NOT_UNNEEDED_LONG_ENOUGH,
            "unneeded for 4m of the 10m",
            id="unneeded-4-of-10-minutes",
        ),
        pytest.param(
            {"unneeded_since": NOW - 10 * MINUTES},
            None,
            "eligible",
            id="unneeded-exactly-long-enough",
        ),
        pytest.param(
            {"unneeded_since": NOW - 4 * MINUTES, "group_kw": {"unneeded_time": 2 * MINUTES}},
            None,
            "eligible",
            id="group-unneeded-time",
        ),
        pytest.param(
            {
                "unneeded_since": NOW - 30 * MINUTES,
                "group_kw": {"unneeded_time": dt.timedelta(hours=1, minutes=30)},
            },
            K.NOT_UNNEEDED_LONG_ENOUGH,
            "of the 1h30m",
            id="long-unneeded-time",
        ),
    ],
)
def test_node_verdict_per_reason(
    overrides: dict[str, Any], reason: KeptReason | None, fragment: str
) -> None:
    found = verdict(**overrides)
    assert (found.reason, found.eligible) == (reason, reason is None)
    assert fragment in found.message


FAULTS: list[tuple[KeptReason, dict[str, Any]]] = [
    (K.CURRENTLY_BEING_DELETED, {"node_kw": {"deleting": True}}),
    (K.NOT_AUTOSCALED, {"known_group": False}),
    (K.MALFORMED_ANNOTATION, {"annotations": {PROTECTED: "maybe"}}),
    (K.SCALE_DOWN_DISABLED_ANNOTATION, {"annotations": {CA_SCALE_DOWN_DISABLED: "true"}}),
    (K.OUTSIDE_ALLOWED_WINDOW, {"annotations": {ALLOWED_HOURS: "Mon 01:00-02:00"}}),
    (K.SCALE_DOWN_DISABLED_FOR_GROUP, {"group_kw": {"scale_down_enabled": False}}),
    (K.OUTSIDE_ALLOWED_WINDOW, {"group_kw": {"allowed_windows": (WEEKDAYS,)}}),
    (K.NODE_GROUP_MIN_SIZE_REACHED, {"group_kw": {"min_nodes": 3}}),
    (K.NODE_NOT_READY, {"node_kw": {"ready": False}}),
    (K.NOT_UNDERUTILIZED, {"utilization": 0.9}),
    (K.RECENTLY_SCALED_UP, {"group_kw": {"last_scale_up": NOW}}),
    (K.NOT_UNNEEDED_LONG_ENOUGH, {"unneeded_since": NOW}),
]
"""Every check failing at once, in the documented order; each entry changes one input."""


def _combined(faults: list[tuple[KeptReason, dict[str, Any]]]) -> dict[str, Any]:
    """The overrides of ``faults`` merged into one set of ``verdict`` arguments."""
    out: dict[str, Any] = {"node_kw": {}, "group_kw": {}}
    annotations: dict[str, str] = {}
    for _, change in faults:
        for key, value in change.items():
            if key == "annotations":
                annotations.update(value)
            elif key in ("node_kw", "group_kw"):
                out[key].update(value)
            else:
                out[key] = value
    out["node_kw"]["annotations"] = annotations
    return out


@pytest.mark.parametrize(
    "first", [pytest.param(i, id=str(reason)) for i, (reason, _) in enumerate(FAULTS)]
)
def test_node_verdict_reports_the_first_failing_check_in_order(first: int) -> None:
    assert verdict(**_combined(FAULTS[first:])).reason is FAULTS[first][0]


def test_node_verdict_with_every_check_passing_is_eligible() -> None:
    assert verdict(**_combined([])).eligible


def test_malformed_allowed_hours_blocks_and_warns() -> None:
    found = verdict(node_kw={"annotations": {ALLOWED_HOURS: "25:00-xx"}})
    assert not found.eligible
    assert found.reason is KeptReason.MALFORMED_ANNOTATION
    assert found.warning
    assert ALLOWED_HOURS in found.message
    assert '"25:00-xx"' in found.message
    assert "scale-down of this node is blocked" in found.message


def test_only_malformed_values_warn() -> None:
    kept = [verdict(**_combined([fault])) for fault in FAULTS]
    assert [v.reason for v in kept] == [reason for reason, _ in FAULTS]
    assert [v.reason for v in kept if v.warning] == [KeptReason.MALFORMED_ANNOTATION]


def test_kept_reasons_use_cluster_autoscaler_names() -> None:
    from_ca = {
        "ScaleDownDisabledAnnotation",
        "NotAutoscaled",
        "NotUnneededLongEnough",
        "NodeGroupMinSizeReached",
        "CurrentlyBeingDeleted",
        "NotUnderutilized",
        "NoPlaceToMovePods",
        "BlockedByPod",
        "UnexpectedError",
    }
    ours = {
        "NodeNotReady",
        "MalformedAnnotation",
        "OutsideAllowedWindow",
        "RecentlyScaledUp",
        "ScaleDownDisabledForGroup",
        "ScaleDownBudgetExceeded",
        "DrainBackoff",
    }
    assert {r.value for r in KeptReason} == from_ca | ours
    assert all(r.value == r.name.title().replace("_", "") for r in KeptReason)


def test_group_state_from_spec_mirrors_the_nodegroup_scale_down() -> None:
    spec = ScaleDown(
        enabled=False,
        utilization_threshold=0.3,
        unneeded_time=20 * MINUTES,
        delay_after_add=5 * MINUTES,
        allowed_windows=(AllowedWindow(days=(Weekday.SAT,), start=dt.time(11), end=dt.time(13)),),
    )
    state = GroupState.from_spec("web", spec=spec, min_nodes=1, current_nodes=4, last_scale_up=NOW)
    assert state == GroupState(
        name="web",
        min_nodes=1,
        current_nodes=4,
        scale_down_enabled=False,
        utilization_threshold=0.3,
        unneeded_time=20 * MINUTES,
        delay_after_add=5 * MINUTES,
        last_scale_up=NOW,
        allowed_windows=(SATURDAY_NOON,),
    )


def test_group_state_defaults_are_cluster_autoscalers() -> None:
    assert GroupState.from_spec(
        "web", spec=ScaleDown(), min_nodes=0, current_nodes=0, last_scale_up=None
    ) == GroupState(name="web", min_nodes=0, current_nodes=0)
    state = group_state()
    assert (state.utilization_threshold, state.unneeded_time, state.delay_after_add) == (
        0.5,
        10 * MINUTES,
        10 * MINUTES,
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        pytest.param({"min_nodes": -1}, "must not be negative", id="negative-min"),
        pytest.param({"current_nodes": -1}, "must not be negative", id="negative-current"),
        pytest.param({"utilization_threshold": 1.5}, r"\[0, 1\]", id="threshold-over-one"),
        pytest.param({"utilization_threshold": math.nan}, r"\[0, 1\]", id="nan-threshold"),
        pytest.param({"unneeded_time": -MINUTES}, "durations", id="negative-unneeded-time"),
        pytest.param({"delay_after_add": -MINUTES}, "durations", id="negative-delay"),
        pytest.param(
            {"last_scale_up": dt.datetime(2026, 8, 1)}, "timezone-aware", id="naive-last-scale-up"
        ),
    ],
)
def test_group_state_refuses_impossible_values(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        group_state(**change)


def test_node_verdict_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        node_verdict(
            node("n", group="web"),
            group=group_state(),
            now=dt.datetime(2026, 8, 1, 12),
            unneeded_since=None,
            utilization=0.1,
            policy=ScaleDownNodePolicy(),
        )


def test_node_verdict_refuses_the_state_of_another_group() -> None:
    with pytest.raises(ValueError, match="in group web, not db"):
        node_verdict(
            node("n", group="web"),
            group=group_state("db"),
            now=NOW,
            unneeded_since=None,
            utilization=0.1,
            policy=ScaleDownNodePolicy(),
        )
