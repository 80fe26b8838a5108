"""Properties of ``plan_scale_up`` that hold for any generated cluster (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.core.group_options import GroupOption
from autoscaler.core.interpod import HostPort, peer_of, peers_conflict, unsupported_constraint
from autoscaler.core.limits import cluster_usage, within_limits
from autoscaler.core.policy import ClusterLimits, Expander, ScaleUpPolicy
from autoscaler.core.predicates import node_mismatch
from autoscaler.core.reasons import Disposition, Reason
from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.core.resources_math import as_pod_request, fits, total
from autoscaler.core.scale_up import plan_scale_up
from autoscaler.core.scale_up_plan import ScaleUpPlan
from autoscaler.core.snapshot import ClusterSnapshot, build_snapshot
from tests.core.factories import (
    NOW,
    anti,
    daemonset_pod,
    exists,
    group,
    node,
    pod,
    req,
    taint,
    term,
    toleration,
)

LABELS = [{}, {"disk": "ssd"}, {"pool": "a"}, {"pool": "b", "disk": "ssd"}]
TAINTS = [
    (),
    (),
    (),
    (taint("gpu", "true"),),
    (taint("dedicated", "x", "NoExecute"),),
    (taint("soft", effect="PreferNoSchedule"),),
]
TOLERATIONS = [
    (),
    (),
    (exists(),),
    (exists("gpu"),),
    (toleration("dedicated", "x"),),
    (exists(effect="NoSchedule"),),
]
SELECTORS = [{}, {}, {}, {}, {"disk": "ssd"}, {"pool": "a"}]
TERMS = [
    (),
    (),
    (),
    (),
    (term(req("pool", "In", "a", "b")),),
    (term(req("disk", "DoesNotExist")), term(req("pool", "NotIn", "a"))),
    (term(req("cores", "Gt", "3")),),
]
CPUS = [500, 100, 1000, 2500, 0, 5000]
MEMORY = ["256Mi", "1Gi", 0, "6Gi"]
STATIC_REASONS = {
    Reason.SCALE_UP_DISABLED,
    Reason.NOT_READY_FOR_SCALE_UP,
    Reason.TAINT_NOT_TOLERATED,
    Reason.NODE_AFFINITY_MISMATCH,
    Reason.INSUFFICIENT_RESOURCES,
    Reason.HOST_PORT_CONFLICT,
    Reason.POD_ANTI_AFFINITY,
}


@dataclass(frozen=True)
class Cluster:
    """The inputs of one generated planning pass."""

    nodes: tuple[NodeRecord, ...]
    pods: tuple[PodRecord, ...]
    groups: tuple[GroupOption, ...]
    daemonsets: tuple[PodRecord, ...]
    host_ports: dict[str, tuple[HostPort, ...]]
    policy: ScaleUpPolicy

    def snapshot(self, *, reverse: bool = False) -> ClusterSnapshot:
        order = (lambda xs: tuple(reversed(xs))) if reverse else tuple
        return build_snapshot(
            nodes=order(self.nodes),
            pods=order(self.pods),
            groups=order(self.groups),
            daemonsets=self.daemonsets,
            host_ports=self.host_ports,
        )


@st.composite
def group_options(draw: Any, index: int) -> GroupOption:
    cpu = draw(st.sampled_from([4000, 8000, 1000, 2000]))
    labels = dict(draw(st.sampled_from(LABELS)))
    if draw(st.booleans()):
        labels["cores"] = str(cpu // 1000)
    return group(
        f"g{index}",
        cpu_m=cpu,
        memory=draw(st.sampled_from(["8Gi", "32Gi", "2Gi"])),
        pods=draw(st.sampled_from([110, 5, 2])),
        extended=draw(st.sampled_from([None, None, {"gpu.example/card": 2}])),
        labels=labels,
        taints=draw(st.sampled_from(TAINTS)),
        max_size=draw(st.sampled_from([6, 3, 6, 0])),
        current=draw(st.sampled_from([0, 0, 1, 2])),
        upcoming=draw(st.sampled_from([0, 0, 0, 1, 2])),
        priority=draw(st.integers(0, 2)),
        price=draw(st.sampled_from([Decimal("5"), Decimal("20"), None, Decimal("NaN")])),
        enabled=draw(st.sampled_from([True, True, True, True, True, False])),
        backoff_until=draw(
            st.sampled_from(
                [
                    None,
                    None,
                    None,
                    None,
                    NOW - dt.timedelta(minutes=1),
                    NOW + dt.timedelta(minutes=5),
                ]
            )
        ),
    )


@st.composite
def pending_pods(draw: Any, index: int) -> PodRecord:
    app = draw(st.sampled_from(["web", "db"]))
    hostile = draw(st.sampled_from([False, False, False, True]))
    unsupported = draw(st.sampled_from([False] * 15 + [True]))
    return pod(
        f"p-{index:03d}",
        cpu_m=draw(st.sampled_from(CPUS)),
        memory=draw(st.sampled_from(MEMORY)),
        extended=draw(st.sampled_from([None, None, None, {"gpu.example/card": 1}])),
        owner=draw(st.sampled_from([("ReplicaSet", "a"), ("ReplicaSet", "b"), None])),
        labels={"app": app},
        tolerations=draw(st.sampled_from(TOLERATIONS)),
        node_selector=draw(st.sampled_from(SELECTORS)),
        node_terms=draw(st.sampled_from(TERMS)),
        anti_affinity=[anti({"app": app})] if hostile else [],
        pod_affinity=[anti({"app": "db"})] if unsupported else [],
    )


@st.composite
def clusters(draw: Any) -> Cluster:
    groups = tuple(draw(group_options(i)) for i in range(draw(st.sampled_from([3, 4, 2, 1, 0]))))
    nodes = []
    for i in range(draw(st.integers(0, 3))):
        owner = draw(st.sampled_from([None, *(g.name for g in groups)]))
        nodes.append(
            node(
                f"n{i}",
                cpu_m=draw(st.sampled_from([1000, 4000])),
                memory=draw(st.sampled_from(["2Gi", "8Gi"])),
                pods=draw(st.sampled_from([3, 110])),
                labels=draw(st.sampled_from(LABELS)),
                taints=draw(st.sampled_from(TAINTS)),
                group=owner,
                unschedulable=draw(st.sampled_from([False, False, True])),
            )
        )
    bound = []
    for i in range(draw(st.integers(0, 4)) if nodes else 0):
        app = draw(st.sampled_from(["web", "db"]))
        bound.append(
            pod(
                f"run-{i}",
                cpu_m=draw(st.sampled_from([100, 1000])),
                node_name=draw(st.sampled_from([n.name for n in nodes])),
                labels={"app": app},
                anti_affinity=[anti({"app": app})] if draw(st.booleans()) else [],
            )
        )
    pending = [draw(pending_pods(i)) for i in range(draw(st.sampled_from([12, 16, 4, 1, 0])))]
    daemonsets = [
        daemonset_pod("proxy", cpu_m=100, tolerations=[exists()], labels={"app": "proxy"}),
        daemonset_pod("ssd-agent", cpu_m=200, node_selector={"disk": "ssd"}),
        daemonset_pod("hog", cpu_m=1500, memory=0, tolerations=[exists()]),
    ][: draw(st.integers(0, 3))]
    ported = [
        p for p in (*pending, *bound, *daemonsets) if draw(st.sampled_from([False] * 4 + [True]))
    ]
    chain = draw(st.permutations(list(Expander)))[: draw(st.integers(0, len(Expander)))]
    limits = ClusterLimits(
        max_nodes=draw(st.sampled_from([None, None, 3, 8])),
        max_cores=draw(st.sampled_from([None, None, 10, 40])),
        max_memory=draw(st.sampled_from([None, None, 20 * 2**30])),
        max_monthly_cost=draw(st.sampled_from([None, None, None, Decimal("50")])),
    )
    policy = ScaleUpPolicy(
        expanders=tuple(chain),
        max_nodes_per_scale_up=draw(st.sampled_from([8, 8, 8, 2, 0])),
        limits=limits,
    )
    return Cluster(
        nodes=tuple(nodes),
        pods=(*bound, *pending),
        groups=groups,
        daemonsets=tuple(daemonsets),
        host_ports={p.key: (HostPort(9100),) for p in ported},
        policy=policy,
    )


def run(cluster: Cluster) -> tuple[ClusterSnapshot, ScaleUpPlan]:
    snap = cluster.snapshot()
    return snap, plan_scale_up(snap, policy=cluster.policy, now=NOW)


def _target(snap: ClusterSnapshot, decision: Any) -> tuple[Any, str, tuple[PodRecord, ...]]:
    """(labels, taints, allocatable), node name and the pods already there."""
    if decision.disposition is Disposition.SCALE_UP:
        view = snap.group(decision.group)
        shape = (dict(view.labels), view.taints, view.option.template.allocatable)
        return shape, view.template_hostname, view.daemonsets
    found = next(n for n in (*snap.nodes, *snap.upcoming) if n.name == decision.node)
    assert not found.unschedulable
    assert found.deletion_timestamp is None
    return (
        (dict(found.labels), found.taints, found.allocatable),
        found.name,
        snap.pods_by_node[found.name],
    )


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_every_placed_pod_fits_its_node(cluster):
    snap, result = run(cluster)
    pending = {p.key: p for p in snap.pending}
    on_node: dict[str, list[PodRecord]] = {}
    decisions = {}
    for d in result.pods:
        if d.node is not None:
            on_node.setdefault(d.node, []).append(pending[d.pod])
            decisions[d.node] = d
    ports = snap.host_ports
    for name, placed in on_node.items():
        (labels, taints, allocatable), node_name, base = _target(snap, decisions[name])
        used = total(as_pod_request(p.requests) for p in (*base, *placed))
        assert fits(used, allocatable), name
        everyone = [*base, *placed]
        for p in placed:
            assert node_mismatch(p, labels=labels, taints=taints, node_name=node_name) is None
            assert unsupported_constraint(p) is None
            me = peer_of(p, ports.get(p.key, ()))
            for q in everyone:
                if q is not p:
                    assert not peers_conflict(me, peer_of(q, ports.get(q.key, ()))), (p.key, q.key)


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_plan_never_exceeds_limits(cluster):
    snap, result = run(cluster)
    usage = cluster_usage(snap)
    for up in result.scale_ups:
        view = snap.group(up.group)
        assert view.option.scale_up_enabled
        assert not view.option.in_backoff(NOW)
        assert up.nodes >= 1
        assert all(up.new_nodes)
        assert up.size_before == view.size
        assert up.size_after <= view.option.max_size
        usage = usage.plus(view, up.nodes)
    assert result.total_nodes <= cluster.policy.max_nodes_per_scale_up
    assert result.total_nodes == 0 or within_limits(usage, cluster.policy.limits)


@settings(max_examples=200, deadline=None)
@given(clusters())
def test_plan_is_deterministic(cluster):
    _, first = run(cluster)
    _, again = run(cluster)
    reordered = plan_scale_up(cluster.snapshot(reverse=True), policy=cluster.policy, now=NOW)
    assert first == again == reordered


@settings(max_examples=200, deadline=None)
@given(clusters(), st.sampled_from(["huge", "nowhere"]))
def test_pod_no_group_can_host_is_reported_not_placed(cluster, kind):
    impossible = pod("zz-impossible", owner=None)
    if kind == "huge":
        impossible = replace(impossible, requests=replace(impossible.requests, cpu_m=10**9))
    else:
        impossible = replace(impossible, node_selector=(("nowhere", "true"),))
    cluster = replace(cluster, pods=(*cluster.pods, impossible))
    snap, result = run(cluster)
    decision = result.decision(impossible.key)
    assert decision.disposition is Disposition.NO_SCALE_UP
    assert decision.node is None
    assert [r.group for r in decision.not_taken] == [v.name for v in snap.groups]
    assert {r.reason for r in decision.not_taken} <= STATIC_REASONS
    assert all(impossible.key not in up.pods for up in result.scale_ups)


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_plan_neither_loses_nor_duplicates_a_pod(cluster):
    snap, result = run(cluster)
    assert [d.pod for d in result.pods] == sorted(p.key for p in snap.pending)
    scaled = [key for up in result.scale_ups for key in up.pods]
    assert len(scaled) == len(set(scaled))
    assert set(scaled) == {d.pod for d in result.pods if d.disposition is Disposition.SCALE_UP}
    groups = [v.name for v in snap.groups]
    for d in result.pods:
        if d.disposition in (Disposition.FITS_EXISTING, Disposition.FITS_UPCOMING):
            assert d.not_taken == ()
        elif d.disposition is Disposition.SCALE_UP:
            assert d.node is not None
            assert d.node.startswith(f"{d.group}-new-")
            assert [r.group for r in d.not_taken] == [g for g in groups if g != d.group]
        else:
            assert d.node is None
            assert [r.group for r in d.not_taken] == groups
