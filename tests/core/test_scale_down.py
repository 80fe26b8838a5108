"""Scale-down planning: which nodes go, where their pods move, and why the others stay."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from autoscaler.core.disruption_keys import ALLOWED_HOURS, CA_SCALE_DOWN_DISABLED
from autoscaler.core.drainability import SAFE_TO_EVICT, BlockReason
from autoscaler.core.node_eligibility import KeptReason
from autoscaler.core.records import TopologySpread
from autoscaler.core.scale_down_plan import ScaleDownPlan, ScaleDownPolicy
from autoscaler.core.time_window import parse_time_window
from tests.core.factories import (
    NOW,
    anti,
    daemonset_pod,
    group_state,
    node,
    pdb,
    placed_pod,
    plan_down,
    selector,
    taint,
    toleration,
)

K = KeptReason
MINUTES = dt.timedelta(minutes=1)
WIDE = ScaleDownPolicy(max_empty_bulk_delete=100, max_drain_parallelism=100)


def busy(name: str, *, used_m: int = 2400, **kw: Any) -> list[Any]:
    """A node of group ``web`` whose pods request ``used_m`` millicores (0.6 by default)."""
    return [
        node(name, group="web", **kw),
        placed_pod(f"{name}-load", node_name=name, cpu_m=used_m, memory="1Gi"),
    ]


def split(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """Nodes and pods out of a mixed list."""
    nodes = [i for i in items if not hasattr(i, "node_name")]
    pods = [i for i in items if hasattr(i, "node_name")]
    return nodes, pods


def outcome(result: ScaleDownPlan, name: str) -> str | KeptReason:
    """``"empty"``, ``"drain"`` or the reason that keeps node ``name``."""
    if any(r.node == name for r in result.empty):
        return "empty"
    if any(r.node == name for r in result.drain):
        return "drain"
    kept = result.kept_node(name)
    assert kept is not None, f"node {name} is neither removed nor kept"
    return kept.reason


def destinations(result: ScaleDownPlan) -> dict[str, str]:
    """Pod name → the node the plan moves it to."""
    return {m.pod.name: m.destination for r in result.removals for m in r.pods}


# One scenario per row: the cluster, the policy, what becomes of node ``a``, and where its
# pods go (when it is drained) or a fragment of the message (when it is kept).
CASES = [
    pytest.param(
        [node("a", group="web"), daemonset_pod("proxy", node_name="a"), *busy("b")],
        {},
        "empty",
        {},
        id="empty-node-removed",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", cpu_m=500),
            placed_pod("p2", node_name="a", cpu_m=300),
            *busy("b"),
        ],
        {},
        "drain",
        {"p1": "b", "p2": "b"},
        id="underutilized-node-drained-when-its-pods-fit",
    ),
    pytest.param(
        [node("a", group="web"), placed_pod("p1", node_name="a", cpu_m=1800), *busy("b")],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "pod default/p1 (cpu 1800m, memory 128Mi) fits on none of the 1 remaining nodes",
        id="pods-that-do-not-fit-keep-the-node",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", cpu_m=1800),
            *busy("b"),
            *busy("c", used_m=500),
        ],
        {"in_progress": ["c"]},
        K.NO_PLACE_TO_MOVE_PODS,
        "none of the 1 remaining nodes",
        id="in-progress-node-is-not-capacity",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", cpu_m=1800),
            *busy("b"),
            *busy("c", used_m=500, ready=False),
            *busy("d", used_m=500, unschedulable=True),
            *busy("e", used_m=500, deleting=True),
        ],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "none of the 1 remaining nodes",
        id="unready-cordoned-and-deleting-nodes-are-not-capacity",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod(
                "p1", node_name="a", labels={"app": "db"}, anti_affinity=[anti({"app": "db"})]
            ),
            *busy("b"),
            placed_pod("b-db", node_name="b", labels={"app": "db"}),
            *busy("c"),
        ],
        {},
        "drain",
        {"p1": "c"},
        id="hostname-anti-affinity-needs-a-node-without-the-peer",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", labels={"app": "db"}),
            *busy("b"),
            placed_pod(
                "b-db", node_name="b", labels={"app": "x"}, anti_affinity=[anti({"app": "db"})]
            ),
        ],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "pod default/p1",
        id="running-pods-anti-affinity-turns-the-pod-away",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", host_ports=[8080]),
            *busy("b"),
            placed_pod("b-port", node_name="b", host_ports=[8080]),
            *busy("c"),
        ],
        {},
        "drain",
        {"p1": "c"},
        id="host-port-conflict-picks-another-node",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", host_ports=[8080]),
            *busy("b"),
            placed_pod("b-port", node_name="b", host_ports=[8080]),
        ],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "host ports",
        id="host-port-conflict-everywhere-keeps-the-node",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a"),
            *busy("b", taints=[taint("dedicated", "ml")]),
            *busy("c", taints=[taint("soft", effect="PreferNoSchedule")]),
        ],
        {},
        "drain",
        {"p1": "c"},
        id="untolerated-taint-on-destination-is-avoided",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", tolerations=[toleration("dedicated", "ml")]),
            *busy("b", taints=[taint("dedicated", "ml")]),
        ],
        {},
        "drain",
        {"p1": "b"},
        id="tolerated-taint-on-destination-is-used",
    ),
    pytest.param(
        [
            node("a", group="web", labels={"disk": "ssd"}),
            placed_pod("p1", node_name="a", node_selector={"disk": "ssd"}),
            *busy("b"),
            *busy("c", labels={"disk": "ssd"}),
        ],
        {},
        "drain",
        {"p1": "c"},
        id="node-selector-picks-a-matching-destination",
    ),
    pytest.param(
        [
            node("a", group="web", labels={"disk": "ssd"}),
            placed_pod("p1", node_name="a", node_selector={"disk": "ssd"}),
            *busy("b"),
        ],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "pod default/p1",
        id="node-selector-without-a-matching-destination-keeps-the-node",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", pods=1),
            *busy("b", pods=1),
            *busy("c", pods=2),
        ],
        {},
        "drain",
        {"p1": "c"},
        id="pod-count-is-a-resource",
    ),
    pytest.param(
        [
            node("a", group="web", extended={"nvidia.com/gpu": 1}),
            placed_pod("p1", node_name="a", extended={"nvidia.com/gpu": 1}),
            *busy("b"),
            *busy("c", extended={"nvidia.com/gpu": 1}),
        ],
        {},
        "drain",
        {"p1": "c"},
        id="extended-resource-is-a-resource",
    ),
    pytest.param(
        [node("a", group="web"), placed_pod("p1", node_name="a", labels={"app": "x"}), *busy("b")],
        {"pdbs": [pdb(selects=selector(app="x"), allowed=0)]},
        K.BLOCKED_BY_POD,
        "pod default/p1 keeps the node (NotEnoughPdb)",
        id="pdb-blocked-node",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod(
                "p1",
                node_name="a",
                spread=[TopologySpread(1, "topology.kubernetes.io/zone", "DoNotSchedule")],
            ),
            *busy("b"),
        ],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "topology spread on topology.kubernetes.io/zone (DoNotSchedule), which the"
        " rescheduling simulation does not model",
        id="unmodelled-constraint-keeps-the-node",
    ),
    pytest.param(
        [
            node("a", group="web"),
            placed_pod("p1", node_name="a", labels={"app": "db"}),
            *busy("b"),
            placed_pod(
                "b-zone",
                node_name="b",
                anti_affinity=[anti({"app": "db"}, topology="topology.kubernetes.io/zone")],
            ),
        ],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "required pod anti-affinity of default/b-zone on topology.kubernetes.io/zone",
        id="unmodelled-anti-affinity-of-a-running-pod-keeps-the-node",
    ),
]


@pytest.mark.parametrize(("items", "kw", "expected", "detail"), CASES)
def test_plan_for_node_a(
    items: list[Any], kw: dict[str, Any], expected: str | KeptReason, detail: Any
) -> None:
    nodes, pods = split(items)
    result = plan_down(nodes=nodes, pods=pods, policy=WIDE, **kw)
    assert outcome(result, "a") == expected
    if isinstance(expected, KeptReason):
        kept = result.kept_node("a")
        assert kept is not None
        assert detail in kept.message
    else:
        assert destinations(result) == detail


def kept_a(items: list[Any], **kw: Any) -> Any:
    nodes, pods = split(items)
    result = plan_down(nodes=nodes, pods=pods, policy=kw.pop("policy", WIDE), **kw)
    return result.kept_node("a")


# Every reason a node can be kept with, from the node checks, the pod rules, the budgets
# and the simulation. ``UnexpectedError`` is for the shell (a check that raised).
REASON_CASES = [
    pytest.param(
        [*busy("a", used_m=3000), *busy("b")],
        {},
        K.NOT_UNDERUTILIZED,
        "utilization 0.75",
        id="NotUnderutilized",
    ),
    pytest.param(
        [node("a", group="web"), *busy("b")],
        {"unneeded_since": {"a": NOW - 3 * MINUTES}},
        K.NOT_UNNEEDED_LONG_ENOUGH,
        "unneeded for 3m",
        id="NotUnneededLongEnough",
    ),
    pytest.param(
        [node("a", group="web", annotations={CA_SCALE_DOWN_DISABLED: "true"}), *busy("b")],
        {},
        K.SCALE_DOWN_DISABLED_ANNOTATION,
        CA_SCALE_DOWN_DISABLED,
        id="ScaleDownDisabledAnnotation",
    ),
    pytest.param(
        [node("a", group="web", annotations={CA_SCALE_DOWN_DISABLED: "yes"}), *busy("b")],
        {},
        K.MALFORMED_ANNOTATION,
        '"yes"',
        id="MalformedAnnotation",
    ),
    pytest.param(
        [node("a", group="other"), *busy("b")],
        {"groups": {"web": group_state("web", min_nodes=0, current_nodes=1)}},
        K.NOT_AUTOSCALED,
        "node group other is not a known NodeGroup",
        id="NotAutoscaled",
    ),
    pytest.param(
        [node("a", group="web", deleting=True), *busy("b")],
        {},
        K.CURRENTLY_BEING_DELETED,
        "being deleted",
        id="CurrentlyBeingDeleted",
    ),
    pytest.param(
        [node("a", group="web"), *busy("b")],
        {"groups": {"web": group_state("web", scale_down_enabled=False, current_nodes=2)}},
        K.SCALE_DOWN_DISABLED_FOR_GROUP,
        "scale-down is disabled for node group web",
        id="ScaleDownDisabledForGroup",
    ),
    pytest.param(
        [node("a", group="web", annotations={ALLOWED_HOURS: "Mon-Fri 09:00-17:00"}), *busy("b")],
        {},
        K.OUTSIDE_ALLOWED_WINDOW,
        "Mon-Fri",
        id="OutsideAllowedWindow",
    ),
    pytest.param(
        [node("a", group="web"), *busy("b")],
        {"groups": {"web": group_state("web", min_nodes=2, current_nodes=2)}},
        K.NODE_GROUP_MIN_SIZE_REACHED,
        "at its minimum of 2",
        id="NodeGroupMinSizeReached",
    ),
    pytest.param(
        [node("a", group="web", ready=False), *busy("b")],
        {},
        K.NODE_NOT_READY,
        "not Ready",
        id="NodeNotReady",
    ),
    pytest.param(
        [node("a", group="web", created=NOW - 2 * MINUTES), *busy("b")],
        {},
        K.RECENTLY_SCALED_UP,
        "node a was created",
        id="RecentlyScaledUp",
    ),
    pytest.param(
        [node("a", group="web"), placed_pod("p1", node_name="a", owner=None), *busy("b")],
        {},
        K.BLOCKED_BY_POD,
        "pod default/p1 keeps the node (NotReplicated): pod default/p1 is not replicated",
        id="BlockedByPod",
    ),
    pytest.param(
        [node("a", group="web"), placed_pod("p1", node_name="a", cpu_m=1800), *busy("b")],
        {},
        K.NO_PLACE_TO_MOVE_PODS,
        "fits on none",
        id="NoPlaceToMovePods",
    ),
    pytest.param(
        [node("a", group="web"), placed_pod("p1", node_name="a"), *busy("b")],
        {"drains_in_progress": 1, "policy": ScaleDownPolicy(max_drain_parallelism=1)},
        K.SCALE_DOWN_BUDGET_EXCEEDED,
        "1 drain(s) in progress and 0 chosen in this pass use all that"
        " max_drain_parallelism (1) allows",
        id="ScaleDownBudgetExceeded",
    ),
    pytest.param(
        [node("a", group="web"), *busy("b")],
        {"backed_off": {"a": NOW + 2 * MINUTES}},
        K.DRAIN_BACKOFF,
        "a drain of this node failed recently; it is not tried again before",
        id="DrainBackoff",
    ),
]


@pytest.mark.parametrize(("items", "kw", "reason", "fragment"), REASON_CASES)
def test_kept_reason(
    items: list[Any], kw: dict[str, Any], reason: KeptReason, fragment: str
) -> None:
    kept = kept_a(items, **kw)
    assert kept is not None
    assert kept.reason is reason
    assert fragment in kept.message


def test_kept_reason_table_covers_every_reason_the_planner_gives() -> None:
    covered = {p.values[2] for p in REASON_CASES}
    assert covered == set(KeptReason) - {KeptReason.UNEXPECTED_ERROR}


def test_pod_that_must_complete_keeps_the_node_with_its_reason() -> None:
    waiting = placed_pod("job", node_name="a", annotations={SAFE_TO_EVICT: "on-completion"})
    kept = kept_a([node("a", group="web"), waiting, *busy("b")])
    assert kept.reason is K.BLOCKED_BY_POD
    assert (kept.blocking_pod, kept.pod_reason) == ("default/job", BlockReason.WAIT_FOR_COMPLETION)
    assert "keeps the node until it completes (WaitForCompletion)" in kept.message


def test_anti_affinity_pods_of_two_removed_nodes_land_apart() -> None:
    db: dict[str, Any] = {"labels": {"app": "db"}, "anti_affinity": [anti({"app": "db"})]}
    nodes = [node("a", group="web"), node("b", group="web"), *busy("c")[:1], *busy("d")[:1]]
    pods = [
        placed_pod("pa", node_name="a", **db),
        placed_pod("pb", node_name="b", **db),
        placed_pod("load-c", node_name="c", cpu_m=2400),
        placed_pod("load-d", node_name="d", cpu_m=2400),
    ]
    result = plan_down(nodes=nodes, pods=pods, policy=WIDE)
    assert [r.node for r in result.drain] == ["a", "b"]
    assert destinations(result) == {"pa": "c", "pb": "d"}


def test_placements_consume_capacity_for_later_candidates() -> None:
    nodes = [node("a", group="web"), node("b", group="web"), *busy("c")[:1]]
    pods = [
        placed_pod("pa", node_name="a", cpu_m=1000),
        placed_pod("pb", node_name="b", cpu_m=1000),
        placed_pod("load", node_name="c", cpu_m=2400),
    ]
    result = plan_down(nodes=nodes, pods=pods, policy=WIDE)
    assert [r.node for r in result.drain] == ["a"]
    assert destinations(result) == {"pa": "c"}
    assert outcome(result, "b") is K.NO_PLACE_TO_MOVE_PODS


def test_pdb_budget_is_shared_between_the_nodes_of_one_plan() -> None:
    nodes = [node("a", group="web"), node("b", group="web"), node("c", group="web")]
    pods = [
        placed_pod("pa", node_name="a", labels={"app": "x"}),
        placed_pod("pb", node_name="b", labels={"app": "x"}),
        placed_pod("load", node_name="c", cpu_m=2400),
    ]
    result = plan_down(
        nodes=nodes, pods=pods, pdbs=[pdb(selects=selector(app="x"), allowed=1)], policy=WIDE
    )
    assert [r.node for r in result.drain] == ["a"]
    kept = result.kept_node("b")
    assert kept is not None
    assert (kept.reason, kept.blocking_pod, kept.pod_reason) == (
        K.BLOCKED_BY_POD,
        "default/pb",
        BlockReason.NOT_ENOUGH_PDB,
    )
    assert "spent on pods of nodes chosen earlier in this pass" in kept.message


@pytest.mark.parametrize(
    ("policy", "in_progress", "empty", "drained"),
    [
        pytest.param(ScaleDownPolicy(), 0, 3, 1, id="defaults-three-empty-one-drain"),
        pytest.param(ScaleDownPolicy(max_empty_bulk_delete=2), 0, 2, 1, id="empty-bulk-limit"),
        pytest.param(ScaleDownPolicy(max_drain_parallelism=2), 0, 3, 2, id="two-drains"),
        pytest.param(ScaleDownPolicy(max_drain_parallelism=2), 1, 3, 1, id="drain-in-progress"),
        pytest.param(ScaleDownPolicy(max_drain_parallelism=1), 3, 3, 0, id="drains-over-budget"),
        pytest.param(ScaleDownPolicy(max_empty_bulk_delete=0), 0, 0, 1, id="no-empty-deletes"),
    ],
)
def test_budgets(policy: ScaleDownPolicy, in_progress: int, empty: int, drained: int) -> None:
    nodes = [node(f"e{i}", group="web") for i in range(3)]
    nodes += [node(f"d{i}", group="web") for i in range(3)]
    nodes.append(node("big", group="web"))
    pods = [placed_pod(f"p{i}", node_name=f"d{i}") for i in range(3)]
    pods.append(placed_pod("load", node_name="big", cpu_m=3000))
    result = plan_down(nodes=nodes, pods=pods, policy=policy, drains_in_progress=in_progress)
    assert (len(result.empty), len(result.drain)) == (empty, drained)
    over = [k for k in result.kept if k.reason is K.SCALE_DOWN_BUDGET_EXCEEDED]
    assert len(over) == 6 - empty - drained
    assert all("tried again next pass" in k.message for k in over)


def test_group_minimum_holds_across_several_candidates() -> None:
    nodes = [node(f"n{i}", group="web") for i in range(5)]
    groups = {"web": group_state("web", min_nodes=2, current_nodes=5)}
    result = plan_down(nodes=nodes, groups=groups, policy=WIDE)
    assert len(result.empty) == 3
    kept = [k for k in result.kept if k.reason is K.NODE_GROUP_MIN_SIZE_REACHED]
    assert len(kept) == 2
    assert "2 are left after the 3 removal(s) already chosen in this pass" in kept[0].message


def test_group_minimum_counts_nodes_in_progress_as_gone() -> None:
    nodes = [node(f"n{i}", group="web") for i in range(4)]
    groups = {"web": group_state("web", min_nodes=2, current_nodes=4)}
    result = plan_down(nodes=nodes, groups=groups, in_progress=["n0"], policy=WIDE)
    assert [r.node for r in result.empty] == ["n1"]
    assert result.kept_node("n0") is None


def test_a_backed_off_node_is_capacity_and_tried_again_once_its_back_off_ends() -> None:
    items = [node("a", group="web"), placed_pod("p1", node_name="a", cpu_m=500)]
    items += busy("b", used_m=1000)
    nodes, pods = split(items)
    held = plan_down(nodes=nodes, pods=pods, backed_off={"b": NOW + MINUTES}, policy=WIDE)
    assert outcome(held, "b") is K.DRAIN_BACKOFF
    assert destinations(held) == {"p1": "b"}
    ended = plan_down(nodes=nodes, pods=pods, backed_off={"a": NOW}, policy=WIDE)
    assert outcome(ended, "a") == "drain"


def test_in_progress_nodes_are_neither_candidates_nor_reported() -> None:
    nodes = [node("a", group="web"), node("b", group="web")]
    result = plan_down(nodes=nodes, in_progress=["a"], policy=WIDE)
    assert [r.node for r in result.removals] == ["b"]
    assert result.kept == ()
    assert "a" not in result.unneeded_since


@pytest.mark.parametrize(
    ("items", "removed_at_most"),
    [
        pytest.param([node("a", group="web"), placed_pod("p", node_name="a")], 0, id="one-node"),
        pytest.param(
            [
                node("a", group="web"),
                node("b", group="web"),
                placed_pod("pa", node_name="a"),
                placed_pod("pb", node_name="b"),
            ],
            1,
            id="two-nodes-each-with-a-pod",
        ),
        pytest.param(
            [
                node("a", group="web"),
                node("b", group="other"),
                node("c", group="web"),
                placed_pod("pa", node_name="a", cpu_m=10),
            ],
            2,
            id="every-node-underutilized-one-pod-in-all",
        ),
        pytest.param(
            [
                node("a", group="web"),
                placed_pod("p", node_name="a"),
                node("b", group="web", ready=False),
            ],
            0,
            id="the-only-other-node-is-not-ready",
        ),
    ],
)
def test_scale_down_never_removes_last_capacity(items: list[Any], removed_at_most: int) -> None:
    nodes, pods = split(items)
    result = plan_down(nodes=nodes, pods=pods, policy=WIDE)
    removed = {r.node for r in result.removals}
    assert len(removed) <= removed_at_most
    assert {n.name for n in nodes} - removed, "some node must stay while pods must move"
    stuck = [k for k in result.kept if k.reason is K.NO_PLACE_TO_MOVE_PODS]
    assert stuck, "the last node with pods is kept with a reason"
    assert all(k.message for k in stuck)


def test_last_node_with_no_other_node_gets_a_reason() -> None:
    result = plan_down(nodes=[node("a", group="web")], pods=[placed_pod("p", node_name="a")])
    kept = result.kept_node("a")
    assert kept is not None
    assert kept.reason is K.NO_PLACE_TO_MOVE_PODS
    assert "no other node can take pods" in kept.message


def test_empty_cluster_gives_an_empty_plan() -> None:
    result = plan_down(nodes=[])
    assert result == ScaleDownPlan((), (), (), {}, {})


def test_pods_moved_onto_a_later_candidate_move_again() -> None:
    from autoscaler.core.scale_down_order import CandidateWeights

    by_name = CandidateWeights(non_empty=0, utilization=0, pods_to_move=0, smaller_group=0)
    nodes = [node(n, group="web") for n in ("a", "b", "c", "d")]
    pods = [
        placed_pod("pa", node_name="a", cpu_m=1000),
        placed_pod("full", node_name="c", cpu_m=3900),
    ]
    policy = ScaleDownPolicy(max_empty_bulk_delete=10, max_drain_parallelism=10, weights=by_name)
    result = plan_down(nodes=nodes, pods=pods, policy=policy)
    # a first: its pod goes to b (c is full); then b goes and the pod moves on to d;
    # then d cannot go: the pod it now holds fits nowhere.
    assert [r.node for r in result.drain] == ["a"]
    assert [r.node for r in result.empty] == ["b"]
    assert destinations(result) == {"pa": "d"}
    kept = result.kept_node("d")
    assert kept is not None
    assert kept.reason is K.NO_PLACE_TO_MOVE_PODS
    assert "moved here from node a earlier in this pass" in kept.message


def test_unneeded_since_is_kept_for_the_next_pass() -> None:
    nodes = [node("a", group="web"), *busy("b")[:1], node("c")]
    pods = [placed_pod("load", node_name="b", cpu_m=3000)]
    earlier = NOW - 5 * MINUTES
    result = plan_down(
        nodes=nodes, pods=pods, unneeded_since={"a": earlier, "b": earlier, "gone": earlier}
    )
    assert dict(result.unneeded_since) == {"a": earlier}
    fresh = plan_down(nodes=[node("a", group="web")], unneeded_since={})
    assert dict(fresh.unneeded_since) == {"a": NOW}
    assert outcome(fresh, "a") is K.NOT_UNNEEDED_LONG_ENOUGH


def test_unmanaged_nodes_take_pods_but_are_not_reported() -> None:
    nodes = [node("a", group="web"), node("plain")]
    pods = [placed_pod("p", node_name="a")]
    result = plan_down(nodes=nodes, pods=pods)
    assert destinations(result) == {"p": "plain"}
    assert result.kept == ()


def test_kept_counts_per_group_and_reason() -> None:
    nodes = [*busy("a", used_m=3000)[:1], node("b", group="web"), node("c", group="db")]
    nodes += [node("d", group="db")]
    pods = [placed_pod("load", node_name="a", cpu_m=3000)]
    groups = {
        "web": group_state("web", min_nodes=0, current_nodes=2),
        "db": group_state("db", min_nodes=2, current_nodes=2),
    }
    result = plan_down(nodes=nodes, pods=pods, groups=groups)
    assert {g: dict(c) for g, c in result.kept_counts.items()} == {
        "db": {K.NODE_GROUP_MIN_SIZE_REACHED: 2},
        "web": {K.NOT_UNDERUTILIZED: 1},
    }


def test_plan_is_frozen() -> None:
    result = plan_down(nodes=[node("a", group="web")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.empty = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.unneeded_since["x"] = NOW  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        pytest.param({"max_empty_bulk_delete": -1}, "must not be negative", id="negative-bulk"),
        pytest.param({"max_drain_parallelism": -1}, "must not be negative", id="negative-drain"),
    ],
)
def test_policy_refuses_impossible_values(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ScaleDownPolicy(**change)


def test_plan_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_down(nodes=[], now=NOW.replace(tzinfo=None))


def test_window_on_the_group_is_honoured() -> None:
    weekdays = parse_time_window("Mon-Fri 09:00-17:00")
    groups = {"web": group_state("web", allowed_windows=(weekdays,), min_nodes=0, current_nodes=1)}
    result = plan_down(nodes=[node("a", group="web")], groups=groups)
    assert outcome(result, "a") is K.OUTSIDE_ALLOWED_WINDOW
