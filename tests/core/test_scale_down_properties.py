"""Properties of ``plan_scale_down`` that hold for any generated cluster (Hypothesis).

The plan is checked independently of the planner's own simulation: the pods it moves are
put on the final remainder with the scale-up predicates (``node_mismatch``, every resource
dimension, hostname anti-affinity and host ports) and must fit there together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.core.drainability import matching_pdbs, node_drainability, pods_over_pdb_budget
from autoscaler.core.interpod import peer_of, peers_conflict
from autoscaler.core.node_eligibility import GroupState
from autoscaler.core.predicates import node_mismatch
from autoscaler.core.records import LabelSelector, NodeRecord, PdbRecord, PodRecord
from autoscaler.core.rescheduling_tree import FreeTree
from autoscaler.core.resources_math import as_pod_request, fits, sub, total
from autoscaler.core.scale_down import plan_scale_down
from autoscaler.core.scale_down_order import CandidateWeights
from autoscaler.core.scale_down_pdbs import PdbIndex
from autoscaler.core.scale_down_plan import ScaleDownPlan, ScaleDownPolicy
from autoscaler.core.utilization import TERMINAL_PHASES
from tests.core.factories import (
    LONG_UNNEEDED,
    NOW,
    anti,
    daemonset_pod,
    exists,
    group_state,
    node,
    pdb,
    placed_pod,
    req,
    selector,
    taint,
    toleration,
)

GROUPS = ["a", "b", None]
LABELS = [{}, {}, {"disk": "ssd"}, {"pool": "x"}]
TAINTS = [(), (), (), (taint("dedicated", "ml"),), (taint("soft", effect="PreferNoSchedule"),)]
SELECTORS = [{}, {}, {}, {"disk": "ssd"}, {"pool": "x"}]
TOLERATIONS = [(), (), (toleration("dedicated", "ml"),), (exists(),)]
APPS = ["x", "y", "z"]
CPUS = [0, 100, 200, 300, 500, 1000]
MEMORY = [0, "128Mi", "256Mi", "1Gi"]
WEIGHTS = [
    CandidateWeights(),
    CandidateWeights(non_empty=0, utilization=0, pods_to_move=0),
    CandidateWeights(pods_to_move=50, smaller_group=0),
]


@dataclass(frozen=True)
class Cluster:
    """The inputs of one generated planning pass."""

    nodes: tuple[NodeRecord, ...]
    pods: tuple[PodRecord, ...]
    groups: dict[str, GroupState]
    pdbs: tuple[PdbRecord, ...]
    in_progress: frozenset[str]
    policy: ScaleDownPolicy

    def plan(self, *, shuffle: random.Random | None = None) -> ScaleDownPlan:
        nodes, pods, pdbs = list(self.nodes), list(self.pods), list(self.pdbs)
        if shuffle is not None:
            for items in (nodes, pods, pdbs):
                shuffle.shuffle(items)
        return plan_scale_down(
            nodes=nodes,
            pods=pods,
            groups=self.groups,
            pdbs=pdbs,
            volumes={},
            unneeded_since={n.name: LONG_UNNEEDED for n in self.nodes},
            in_progress=self.in_progress,
            now=NOW,
            policy=self.policy,
        )


@st.composite
def a_node(draw: st.DrawFn, index: int) -> NodeRecord:
    return node(
        f"n{index}",
        group=draw(st.sampled_from(GROUPS)),
        cpu_m=draw(st.sampled_from([2000, 4000, 8000])),
        memory=draw(st.sampled_from(["2Gi", "4Gi", "8Gi"])),
        pods=draw(st.sampled_from([4, 110, 110])),
        labels=draw(st.sampled_from(LABELS)),
        taints=draw(st.sampled_from(TAINTS)),
        ready=draw(st.integers(0, 7)) > 0,
        unschedulable=draw(st.integers(0, 7)) == 0,
    )


@st.composite
def a_pod(draw: st.DrawFn, index: int, node_names: list[str]) -> PodRecord:
    app = draw(st.sampled_from(APPS))
    common: dict[str, Any] = {
        "node_name": draw(st.sampled_from(node_names)),
        "cpu_m": draw(st.sampled_from(CPUS)),
        "memory": draw(st.sampled_from(MEMORY)),
    }
    if draw(st.integers(0, 9)) == 0:
        return daemonset_pod(f"ds{index}", tolerations=(exists(),), **common)
    return placed_pod(
        f"p{index}",
        labels={"app": app},
        node_selector=draw(st.sampled_from(SELECTORS)),
        tolerations=draw(st.sampled_from(TOLERATIONS)),
        anti_affinity=[anti({"app": app})] if draw(st.integers(0, 3)) == 0 else [],
        host_ports=[8080] if draw(st.integers(0, 4)) == 0 else [],
        owner=("ReplicaSet", app) if draw(st.integers(0, 7)) else None,
        **common,
    )


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    nodes = [draw(a_node(i)) for i in range(draw(st.integers(1, 8)))]
    names = [n.name for n in nodes]
    pods = [draw(a_pod(i, names)) for i in range(draw(st.integers(0, 20)))]
    pdbs = [
        pdb(f"pdb-{app}", selects=selector(app=app), allowed=draw(st.integers(0, 3)))
        for app in draw(st.lists(st.sampled_from(APPS), unique=True, max_size=2))
    ]
    sizes: dict[str, int] = {}
    for n in nodes:
        if n.group is not None:
            sizes[n.group] = sizes.get(n.group, 0) + 1
    groups = {
        g: group_state(g, min_nodes=draw(st.sampled_from([0, 0, 1, 2])), current_nodes=k)
        for g, k in sizes.items()
    }
    in_progress = frozenset(draw(st.lists(st.sampled_from(names), max_size=2)))
    policy = ScaleDownPolicy(
        max_empty_bulk_delete=draw(st.integers(0, 4)),
        max_drain_parallelism=draw(st.sampled_from([0, 1, 2, 4, 4])),
        weights=draw(st.sampled_from(WEIGHTS)),
    )
    return Cluster(tuple(nodes), tuple(pods), groups, tuple(pdbs), in_progress, policy)


def _bound(cluster: Cluster) -> dict[str, list[PodRecord]]:
    by_node: dict[str, list[PodRecord]] = {}
    for p in cluster.pods:
        if p.node_name is not None and p.phase not in TERMINAL_PHASES:
            by_node.setdefault(p.node_name, []).append(p)
    return by_node


def _check_moves_fit(cluster: Cluster, result: ScaleDownPlan) -> None:
    """Every moved pod fits, with the others moved to the same node, on the final remainder."""
    removed = {r.node for r in result.removals}
    remainder = {
        n.name: n
        for n in cluster.nodes
        if n.name not in removed
        and n.name not in cluster.in_progress
        and n.ready
        and not n.unschedulable
        and n.deletion_timestamp is None
    }
    bound = _bound(cluster)
    arriving: dict[str, list[PodRecord]] = {}
    for move in (m for r in result.removals for m in r.pods):
        assert move.destination in remainder, f"{move.key} goes to {move.destination}"
        dest = remainder[move.destination]
        found = node_mismatch(
            move.pod, labels=dict(dest.labels), taints=dest.taints, node_name=dest.name
        )
        assert found is None, f"{move.key} on {dest.name}: {found}"
        arriving.setdefault(dest.name, []).append(move.pod)
    for name, moved in arriving.items():
        here = bound.get(name, [])
        free = sub(remainder[name].allocatable, total(as_pod_request(p.requests) for p in here))
        assert fits(total(as_pod_request(p.requests) for p in moved), free), name
        for i, p in enumerate(moved):
            others = [*here, *moved[:i]]
            mine = peer_of(p, p.host_ports)
            assert not any(peers_conflict(mine, peer_of(q, q.host_ports)) for q in others), p.key


def _check_removals(cluster: Cluster, result: ScaleDownPlan) -> None:
    """Removals move exactly their movable pods, within budgets, groups and PDBs."""
    bound = _bound(cluster)
    managed = {
        n.name for n in cluster.nodes if n.group is not None and n.name not in cluster.in_progress
    }
    removed = [r.node for r in result.removals]
    kept = [k.node for k in result.kept]
    assert sorted(removed + kept) == sorted(managed), "every managed node exactly once"
    assert not set(removed) & cluster.in_progress
    for r in result.removals:
        drain = node_drainability(bound.get(r.node, []), pdbs=cluster.pdbs, volumes={}, now=NOW)
        assert not drain.blocked
        assert sorted(m.key for m in r.pods) == sorted(p.key for p in drain.movable)
    assert all(r.pods for r in result.drain)
    assert not any(r.pods for r in result.empty)
    assert len(result.empty) <= cluster.policy.max_empty_bulk_delete
    assert len(result.drain) <= cluster.policy.max_drain_parallelism
    moved = [m.pod for r in result.removals for m in r.pods]
    assert pods_over_pdb_budget(moved, pdbs=cluster.pdbs) == {}
    for name, state in cluster.groups.items():
        members = [
            n
            for n in cluster.nodes
            if n.group == name
            and n.name not in cluster.in_progress
            and n.deletion_timestamp is None
        ]
        gone = sum(1 for r in result.removals if r.group == name)
        assert gone == 0 or len(members) - gone >= state.min_nodes, name


@settings(max_examples=300, deadline=None)
@given(cluster=clusters(), seed=st.integers(0, 2**16))
def test_plan_never_strands_pods(cluster: Cluster, seed: int) -> None:
    result = cluster.plan()
    _check_moves_fit(cluster, result)
    _check_removals(cluster, result)
    assert cluster.plan() == result
    assert cluster.plan(shuffle=random.Random(seed)) == result


@settings(max_examples=200, deadline=None)
@given(
    free=st.lists(st.tuples(*[st.integers(-1, 6)] * 3), min_size=1, max_size=40),
    want=st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 5)),
    start=st.integers(0, 45),
)
def test_free_tree_finds_the_leftmost_node_with_room(
    free: list[tuple[int, int, int]], want: tuple[int, int, int], start: int
) -> None:
    tree = FreeTree(len(free))
    for leaf, amounts in enumerate(free):
        tree.set(leaf, *amounts)
    expected = next(
        (
            i
            for i, f in enumerate(free)
            if i >= start and all(h >= w for h, w in zip(f, want, strict=True))
        ),
        -1,
    )
    assert tree.find(*want, start) == expected


@settings(max_examples=200, deadline=None)
@given(
    labels=st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["x", "y"])),
    namespace=st.sampled_from(["default", "other"]),
    selectors=st.lists(
        st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["app", "tier"]), st.sampled_from(["x", "y"]), max_size=2
            ).map(lambda d: selector(**d)),
            st.sampled_from([LabelSelector(match_expressions=(req("app", "In", "x"),))]),
        ),
        max_size=6,
    ),
)
def test_pdb_index_matches_like_matching_pdbs(
    labels: dict[str, str], namespace: str, selectors: list[LabelSelector | None]
) -> None:
    pdbs = [
        pdb(f"pdb-{i}", sel, namespace=("default", "other")[i % 2])
        for i, sel in enumerate(selectors)
    ]
    subject = placed_pod("p", namespace=namespace, labels=labels)
    index = PdbIndex(pdbs)
    expected = sorted(matching_pdbs(subject, pdbs), key=lambda p: p.key)
    assert list(index.matching(subject)) == expected
    assert set(expected) <= set(index.relevant([subject]))
