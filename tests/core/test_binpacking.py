"""First-fit-decreasing estimates, named like CA's ``binpacking_estimator_test.go``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from autoscaler.core.binpacking import estimate, ffd_order, refine
from autoscaler.core.equivalence import PodClass, equivalence_classes
from autoscaler.core.group_options import GroupOption
from autoscaler.core.mixing import interleave
from autoscaler.core.peers import inter_pod
from autoscaler.core.records import PodRecord
from autoscaler.core.sim_nodes import Demand, NodePool, extra_dims
from autoscaler.core.snapshot import GroupView
from tests.core.factories import (
    anti,
    daemonset_pod,
    exists,
    group,
    pod,
    replicas,
    resources,
    snapshot,
)


@dataclass
class Case:
    pods: list[PodRecord]
    expected_nodes: int
    expected_pods: int | None = None
    template: GroupOption = field(
        default_factory=lambda: group("g", cpu_m=4000, memory="16Gi", pods=110)
    )
    cap: int = 100
    daemonsets: tuple[PodRecord, ...] = ()
    host_ports: dict[str, tuple[int, ...]] = field(default_factory=dict)


def run(case: Case):
    snap = snapshot(
        pods=case.pods,
        groups=[case.template],
        daemonsets=case.daemonsets,
        host_ports=case.host_ports,
    )
    classes = equivalence_classes(snap.pending, host_ports=snap.host_ports, by_labels=True)
    inter = inter_pod(snap, classes)
    view = snap.groups[0]
    return estimate(
        view,
        [(c, c.size) for c in classes],
        cap=case.cap,
        dims=extra_dims(c.request for c in classes),
        ds_peers=inter.by_group[view.name] if inter else None,
    )


WEB = {"app": "web"}
CASES = [
    pytest.param(Case([], 0), id="no-pods-no-nodes"),
    pytest.param(Case(replicas(4, cpu_m=500), 1), id="four-small-pods-share-one-node"),
    pytest.param(Case(replicas(2, cpu_m=3000), 2), id="large-pods-need-a-node-each"),
    pytest.param(
        Case(replicas(5, cpu_m=100, memory="5Gi"), 2), id="memory-is-the-binding-dimension"
    ),
    pytest.param(
        Case(replicas(20, cpu_m=10, memory="1Mi"), 3, template=group("g", pods=8)),
        id="pod-count-binds",
    ),
    pytest.param(
        Case(replicas(20, cpu_m=0, memory=0), 3, template=group("g", pods=8)),
        id="zero-request-pods-take-pod-slots",
    ),
    pytest.param(
        Case(
            [*replicas(2, "small", cpu_m=1000), *replicas(2, "big", cpu_m=3000)],
            2,
        ),
        id="decreasing-order-fills-the-gaps",
    ),
    pytest.param(
        Case(replicas(10, cpu_m=3000), 3, expected_pods=3, cap=3), id="cap-stops-opening-nodes"
    ),
    pytest.param(
        Case(
            replicas(4, cpu_m=1000),
            2,
            daemonsets=(daemonset_pod("proxy", cpu_m=100, tolerations=[exists()]),),
        ),
        id="daemonset-overhead-leaves-room-for-three",
    ),
    pytest.param(
        Case(replicas(3, labels=WEB, anti_affinity=[anti(WEB)]), 3),
        id="hostname-anti-affinity-puts-one-per-node",
    ),
    pytest.param(
        Case(
            [
                *replicas(3, labels=WEB, anti_affinity=[anti(WEB)]),
                *replicas(3, "db", labels={"app": "db"}),
            ],
            3,
        ),
        id="anti-affinity-leaves-room-for-others",
    ),
    pytest.param(
        Case(replicas(3), 3, host_ports={f"default/web-{i:04d}": (8080,) for i in range(3)}),
        id="host-port-puts-one-per-node",
    ),
    pytest.param(
        Case(
            replicas(4, cpu_m=100, extended={"nvidia.com/gpu": 1}),
            2,
            template=group("g", extended={"nvidia.com/gpu": 2}),
        ),
        id="extended-resource-binds",
    ),
    pytest.param(
        Case(replicas(30, cpu_m=1000), 10, template=group("g", cpu_m=3000)),
        id="exact-fit-leaves-no-waste",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_binpacking_estimate(case: Case):
    result = run(case)
    assert result.node_count == case.expected_nodes
    expected_pods = len(case.pods) if case.expected_pods is None else case.expected_pods
    assert result.pod_count == expected_pods
    assert result.capped is (expected_pods < len(case.pods))
    assert sum(n for node in result.nodes for _, n in node) == expected_pods


def test_ffd_order_weighs_each_dimension_by_the_template():
    snap = snapshot(
        pods=[
            pod("cpu", cpu_m=2000, memory="1Gi", owner=None),
            pod("mem", cpu_m=500, memory="8Gi", owner=None),
        ],
        groups=[group("g", cpu_m=4000, memory="16Gi")],
    )
    classes = equivalence_classes(snap.pending, host_ports={})
    order = ffd_order([(c, 1) for c in classes], snap.groups[0])
    assert [c.representative.name for c, _ in order] == ["mem", "cpu"]


def test_pool_finds_the_leftmost_node_with_room():
    pool = NodePool(interpod=False)
    for i, cpu in enumerate([100, 3000, 500, 3000, 4000] * 20):
        pool.open(f"n{i}", resources(cpu, "1Gi", pods=10), ())
    classes = equivalence_classes([pod(cpu_m=2500, memory="1Mi")], host_ports={})
    d = Demand.of(classes[0].request, (), None, exclusive=False)
    assert pool.first_fit(d) == 1
    assert pool.first_fit(d, start=2) == 3
    pool.place(1, d, 1, 0)
    assert pool.first_fit(d) == 3
    assert pool.first_fit(Demand.of(resources(4001, 0, pods=1), (), None, exclusive=False)) == -1


def _complementary_classes() -> tuple[GroupView, list[tuple[PodClass, int]]]:
    cpu_heavy = replicas(200, "cpu", cpu_m=1900, memory="300Mi")
    mem_heavy = replicas(200, "mem", cpu_m=300, memory="3584Mi")
    snap = snapshot(pods=[*cpu_heavy, *mem_heavy], groups=[group("g", cpu_m=16000, memory="32Gi")])
    classes = equivalence_classes(snap.pending, host_ports={})
    return snap.groups[0], [(c, c.size) for c in classes]


def test_ffd_sorts_complementary_classes_apart():
    view, demands = _complementary_classes()
    # memory-heavy first, 9 a node (23 nodes); the CPU-heavy ones barely fit beside them
    assert estimate(view, demands, cap=1000, dims=(), ds_peers=None).node_count == 45


def test_refine_mixes_complementary_classes_near_the_lower_bound():
    view, demands = _complementary_classes()
    first = estimate(view, demands, cap=1000, dims=(), ds_peers=None)
    refined = refine(view, demands, first, cap=1000, dims=(), ds_peers=None)
    assert refined.pod_count == 400
    assert refined.node_count == 29  # 7 cpu-heavy + 8 memory-heavy pods fill a node


def test_refine_keeps_the_estimate_when_mixing_does_not_help():
    view, demands = _complementary_classes()
    demands = demands[:1]
    first = estimate(view, demands, cap=1000, dims=(), ds_peers=None)
    assert refine(view, demands, first, cap=1000, dims=(), ds_peers=None) is first


def test_interleave_alternates_kinds_until_the_balance_tips():
    view, demands = _complementary_classes()
    runs = interleave(demands, view.free)
    assert sum(n for _, n in runs) == 400
    names = [c.representative.name[:3] for c, _ in runs[:6]]
    assert names == ["mem", "cpu", "mem", "cpu", "mem", "cpu"]
