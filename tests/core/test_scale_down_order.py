"""The order of scale-down candidates: named weights, balanced across groups and datacenters."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from autoscaler.core.scale_down_order import (
    DATACENTER_LABEL,
    ZONE_LABEL,
    CandidateWeights,
    datacenter_of,
)
from autoscaler.core.scale_down_plan import ScaleDownPolicy
from tests.core.factories import LONG_UNNEEDED, NOW, group_state, node, placed_pod, plan_down


def removal_order(weights: CandidateWeights, **kw: Any) -> list[str]:
    """The empty nodes the plan removes in the order chosen, then the drained ones."""
    policy = ScaleDownPolicy(max_empty_bulk_delete=100, max_drain_parallelism=100, weights=weights)
    result = plan_down(policy=policy, **kw)
    return [r.node for r in result.empty] + [r.node for r in result.drain]


def mixed_cluster() -> dict[str, Any]:
    """Four candidates that each feature ranks differently, plus a node that takes pods.

    ====  =======  ===========  ============  ==================
    node  group    utilization  pods to move  unneeded since
    ====  =======  ===========  ============  ==================
    a     small    0.30         1             an hour ago
    b     big      0.10         3             an hour ago
    c     big      0 (empty)    0             12 minutes ago
    d     small    0 (empty)    0             an hour ago
    ====  =======  ===========  ============  ==================
    """
    nodes = [node("a", group="small"), node("d", group="small")]
    nodes += [node(n, group="big") for n in ("b", "c", "x1", "x2", "sink")]
    pods = [placed_pod("pa", node_name="a", cpu_m=1200)]
    pods += [placed_pod(f"pb{i}", node_name="b", cpu_m=133) for i in range(3)]
    pods += [placed_pod("load-sink", node_name="sink", cpu_m=2200)]
    pods += [placed_pod(f"load-{n}", node_name=n, cpu_m=2200) for n in ("x1", "x2")]
    since = {n.name: LONG_UNNEEDED for n in nodes}
    since["c"] = NOW - dt.timedelta(minutes=12)
    groups = {
        "small": group_state("small", min_nodes=0, current_nodes=2),
        "big": group_state("big", min_nodes=0, current_nodes=5),
    }
    return {"nodes": nodes, "pods": pods, "unneeded_since": since, "groups": groups}


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        pytest.param(CandidateWeights(), ["c", "d", "a", "b"], id="defaults"),
        pytest.param(
            CandidateWeights(smaller_group=0), ["d", "c", "a", "b"], id="no-group-balance"
        ),
        pytest.param(
            CandidateWeights(smaller_group=0, recently_unneeded=0),
            ["c", "d", "a", "b"],
            id="no-balance-no-age-falls-back-to-names",
        ),
        pytest.param(CandidateWeights(pods_to_move=0), ["c", "d", "b", "a"], id="pods-to-move-off"),
        pytest.param(
            CandidateWeights(utilization=50), ["c", "d", "b", "a"], id="utilization-weighs-more"
        ),
        pytest.param(
            CandidateWeights(non_empty=0, pods_to_move=0, utilization=100),
            ["c", "d", "b", "a"],
            id="utilization-over-emptiness",
        ),
        pytest.param(
            CandidateWeights(recently_unneeded=10), ["d", "c", "a", "b"], id="older-unneeded-first"
        ),
    ],
)
def test_candidate_order_uses_named_weights(weights: CandidateWeights, expected: list[str]) -> None:
    assert removal_order(weights, **mixed_cluster()) == expected


def test_balanced_scale_down_alternates_between_groups() -> None:
    nodes = [node(f"a-{i}", group="a") for i in range(3)]
    nodes += [node(f"b-{i}", group="b") for i in range(3)]
    result = plan_down(nodes=nodes, policy=ScaleDownPolicy(max_empty_bulk_delete=4))
    assert [r.node for r in result.empty] == ["a-0", "b-0", "a-1", "b-1"]


def test_balanced_scale_down_takes_from_the_larger_group_first() -> None:
    nodes = [node(f"a-{i}", group="a") for i in range(2)]
    nodes += [node(f"b-{i}", group="b") for i in range(4)]
    result = plan_down(nodes=nodes, policy=ScaleDownPolicy(max_empty_bulk_delete=3))
    assert [r.node for r in result.empty] == ["b-0", "b-1", "a-0"]


def test_balanced_scale_down_across_datacenters_within_a_group() -> None:
    nodes = [node(f"a-{i}", group="web", labels={DATACENTER_LABEL: "ams"}) for i in range(2)]
    nodes += [node(f"b-{i}", group="web", labels={DATACENTER_LABEL: "fra"}) for i in range(3)]
    result = plan_down(nodes=nodes, policy=ScaleDownPolicy(max_empty_bulk_delete=3))
    assert [r.node for r in result.empty] == ["b-0", "a-0", "b-1"]
    off = ScaleDownPolicy(max_empty_bulk_delete=3, weights=CandidateWeights(smaller_datacenter=0))
    assert [r.node for r in plan_down(nodes=nodes, policy=off).empty] == ["a-0", "a-1", "b-0"]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param({DATACENTER_LABEL: "ams", ZONE_LABEL: "z"}, "ams", id="our-label-first"),
        pytest.param({ZONE_LABEL: "z"}, "z", id="zone-label"),
        pytest.param({}, "", id="none"),
    ],
)
def test_datacenter_of(labels: dict[str, str], expected: str) -> None:
    assert datacenter_of(node("n", labels=labels)) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-1.0, id="negative"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="infinite"),
    ],
)
def test_weights_refuse_values_that_break_the_order(value: float) -> None:
    with pytest.raises(ValueError, match="utilization must be finite and >= 0"):
        CandidateWeights(utilization=value)
