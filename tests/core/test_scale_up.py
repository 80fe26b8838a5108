"""``plan_scale_up`` end to end: what is placed where, and why each other group was not."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from autoscaler.core.policy import ClusterLimits, Expander, ScaleUpPolicy
from autoscaler.core.reasons import Disposition, Reason
from autoscaler.core.scale_up_plan import GroupReason
from tests.core.factories import (
    NOW,
    anti,
    daemonset_pod,
    exists,
    group,
    node,
    plan,
    pod,
    replicas,
    req,
    snapshot,
    taint,
    term,
    toleration,
)


def reasons_of(decision) -> dict[str, Reason]:
    return {r.group: r.reason for r in decision.not_taken}


def test_pod_that_fits_a_registered_node_triggers_nothing():
    result = plan(snapshot(nodes=[node("n1")], pods=[pod("p")], groups=[group("g")]))
    assert result.scale_ups == ()
    assert result.decision("default/p").disposition is Disposition.FITS_EXISTING
    assert result.decision("default/p").node == "n1"
    assert result.decision("default/p").not_taken == ()


def test_pod_that_fits_an_upcoming_node_triggers_nothing():
    result = plan(snapshot(pods=[pod("p")], groups=[group("g", upcoming=1)]))
    decision = result.decision("default/p")
    assert result.scale_ups == ()
    assert (decision.disposition, decision.node, decision.group) == (
        Disposition.FITS_UPCOMING,
        "g-upcoming-0",
        "g",
    )


def test_registered_capacity_is_used_before_upcoming():
    snap = snapshot(
        nodes=[node("z-real", group="g")], pods=[pod("p")], groups=[group("g", upcoming=1)]
    )
    assert plan(snap).decision("default/p").node == "z-real"


@pytest.mark.parametrize(
    "unusable",
    [
        pytest.param(node("n1", unschedulable=True), id="cordoned"),
        pytest.param(node("n1", deleting=True), id="deleting"),
        pytest.param(node("n1", taints=[taint("ToBeDeletedByClusterAutoscaler")]), id="tainted"),
        pytest.param(node("n1", cpu_m=50), id="too-small"),
        pytest.param(node("n1", pods=0), id="no-pod-slots"),
    ],
)
def test_nodes_that_cannot_take_the_pod_do_not_absorb_it(unusable):
    result = plan(snapshot(nodes=[unusable], pods=[pod("p")], groups=[group("g")]))
    assert result.decision("default/p").disposition is Disposition.SCALE_UP
    assert result.node_counts == (("g", 1),)


def test_bound_pods_hold_their_node_capacity():
    snap = snapshot(
        nodes=[node("n1", cpu_m=1000)],
        pods=[pod("running", cpu_m=800, node_name="n1"), pod("p", cpu_m=500)],
        groups=[group("g")],
    )
    assert plan(snap).decision("default/p").disposition is Disposition.SCALE_UP


def test_equivalent_pods_fill_nodes_in_key_order():
    result = plan(snapshot(pods=replicas(5, cpu_m=1500), groups=[group("g", cpu_m=3000)]))
    assert result.node_counts == (("g", 3),)
    nodes = [result.decision(f"default/web-{i:04d}").node for i in range(5)]
    assert nodes == ["g-new-0", "g-new-0", "g-new-1", "g-new-1", "g-new-2"]
    (up,) = result.scale_ups
    assert up.new_nodes == (
        ("default/web-0000", "default/web-0001"),
        ("default/web-0002", "default/web-0003"),
        ("default/web-0004",),
    )
    assert up.message == "pod triggered scale-up: [g 0->3]"


def test_daemonset_overhead_is_reserved_on_new_nodes():
    snap = snapshot(
        pods=replicas(4, cpu_m=1000),
        groups=[group("g", cpu_m=4000)],
        daemonsets=[daemonset_pod("proxy", cpu_m=100, tolerations=[exists()])],
    )
    assert plan(snap).node_counts == (("g", 2),)


GPU = taint("nvidia.com/gpu", "true")


@pytest.mark.parametrize(
    ("g", "p", "reason", "detail"),
    [
        pytest.param(
            group("g", enabled=False),
            pod("p"),
            Reason.SCALE_UP_DISABLED,
            "",
            id="scale-up-disabled",
        ),
        pytest.param(
            group("g", backoff_until=NOW + dt.timedelta(minutes=5)),
            pod("p"),
            Reason.NOT_READY_FOR_SCALE_UP,
            "until 2026-08-01T12:05:00+00:00",
            id="backoff",
        ),
        pytest.param(
            group("g", max_size=1, current=1),
            pod("p"),
            Reason.MAX_NODES_REACHED,
            "",
            id="max-reached",
        ),
        pytest.param(
            group("g", taints=[GPU]),
            pod("p"),
            Reason.TAINT_NOT_TOLERATED,
            "nvidia.com/gpu: true",
            id="taint",
        ),
        pytest.param(
            group("g"),
            pod("p", node_selector={"disk": "ssd"}),
            Reason.NODE_AFFINITY_MISMATCH,
            "nodeSelector",
            id="selector",
        ),
        pytest.param(
            group("g", labels={"disk": "hdd"}),
            pod("p", node_terms=[term(req("disk", "In", "ssd"))]),
            Reason.NODE_AFFINITY_MISMATCH,
            "required node affinity",
            id="node-affinity",
        ),
        pytest.param(
            group("g", cpu_m=2000),
            pod("p", cpu_m=3000),
            Reason.INSUFFICIENT_RESOURCES,
            "cpu",
            id="pod-larger-than-a-node",
        ),
        pytest.param(
            group("g", pods=0), pod("p"), Reason.INSUFFICIENT_RESOURCES, "pods", id="no-pod-slots"
        ),
    ],
)
def test_reason_a_group_was_not_used(g, p, reason, detail):
    decision = plan(snapshot(pods=[p], groups=[g])).decision(p.key)
    assert decision.disposition is Disposition.NO_SCALE_UP
    assert decision.not_taken == (GroupReason("g", reason, detail),)


def test_backoff_ends_at_its_deadline():
    g = group("g", backoff_until=NOW)
    assert plan(snapshot(pods=[pod("p")], groups=[g])).node_counts == (("g", 1),)


def test_not_triggered_message_counts_groups_per_reason():
    groups = [group("a", cpu_m=1000), group("b", cpu_m=1000), group("c", taints=[GPU])]
    decision = plan(snapshot(pods=[pod("p", cpu_m=2000)], groups=groups)).decision("default/p")
    assert decision.message == (
        "pod didn't trigger scale-up: 2 Insufficient cpu,"
        " 1 node(s) had untolerated taint {nvidia.com/gpu: true}"
    )


def test_host_port_taken_by_a_daemonset_is_reported():
    ds = daemonset_pod("agent", tolerations=[exists()])
    snap = snapshot(
        pods=[pod("p")],
        groups=[group("g")],
        daemonsets=[ds],
        host_ports={ds.key: [9100], "default/p": [9100]},
    )
    assert reasons_of(plan(snap).decision("default/p")) == {"g": Reason.HOST_PORT_CONFLICT}


def test_anti_affinity_with_a_daemonset_is_reported():
    ds = daemonset_pod("agent", tolerations=[exists()], labels={"app": "agent"})
    p = pod("p", anti_affinity=[anti({"app": "agent"}, namespaces=("kube-system",))])
    snap = snapshot(pods=[p], groups=[group("g")], daemonsets=[ds])
    assert reasons_of(plan(snap).decision("default/p")) == {"g": Reason.POD_ANTI_AFFINITY}


def test_anti_affinity_with_a_running_pod_keeps_the_pod_off_its_node():
    guard = pod("db", labels={"app": "db"}, anti_affinity=[anti({"app": "web"})], node_name="n1")
    snap = snapshot(
        nodes=[node("n1")], pods=[guard, pod("w", labels={"app": "web"})], groups=[group("g")]
    )
    assert plan(snap).decision("default/w").disposition is Disposition.SCALE_UP


@pytest.mark.parametrize(
    "p",
    [
        pytest.param(pod("p", pod_affinity=[anti({"app": "db"})]), id="pod-affinity"),
        pytest.param(
            pod("p", anti_affinity=[anti({"app": "x"}, topology="topology.kubernetes.io/zone")]),
            id="zone-anti-affinity",
        ),
    ],
)
def test_unsupported_constraint_is_reported_never_planned(p):
    result = plan(snapshot(nodes=[node("n1")], pods=[p], groups=[group("a"), group("b")]))
    decision = result.decision(p.key)
    assert result.scale_ups == ()
    assert decision.disposition is Disposition.NO_SCALE_UP
    assert decision.unsupported
    assert {r.reason for r in decision.not_taken} == {Reason.UNSUPPORTED_CONSTRAINT}
    assert [r.group for r in decision.not_taken] == ["a", "b"]


def test_running_pod_with_zone_anti_affinity_makes_the_pods_it_selects_unsupported():
    guard = pod(
        "db",
        anti_affinity=[anti({"app": "web"}, topology="topology.kubernetes.io/zone")],
        node_name="n1",
    )
    snap = snapshot(
        nodes=[node("n1")],
        pods=[guard, pod("w", labels={"app": "web"}), pod("o", labels={"app": "other"})],
        groups=[group("g")],
    )
    result = plan(snap)
    assert (
        result.decision("default/w").unsupported
        == "required pod anti-affinity of default/db on topology.kubernetes.io/zone"
    )
    assert result.decision("default/o").disposition is Disposition.FITS_EXISTING


def test_volume_topology_is_unsupported():
    snap = snapshot(
        pods=[pod("p", pvc_claims=["data"])],
        groups=[group("g")],
        volume_topology_claims=["default/data"],
    )
    assert plan(snap).decision("default/p").unsupported == "volume with node topology (claim data)"


def test_priority_expander_prefers_the_high_priority_group():
    snap = snapshot(
        pods=[pod("p")], groups=[group("cheap", priority=1), group("pricey", priority=10)]
    )
    result = plan(snap)
    assert result.node_counts == (("pricey", 1),)
    assert reasons_of(result.decision("default/p")) == {"cheap": Reason.EXPANDER_CHOSE_OTHER}


def test_least_waste_prefers_the_snug_group():
    snap = snapshot(
        pods=replicas(3, cpu_m=1000, memory="4Gi"),
        groups=[group("big", cpu_m=16000, memory="64Gi"), group("snug", cpu_m=3000, memory="12Gi")],
    )
    assert plan(snap).node_counts == (("snug", 1),)


def test_price_expander_prefers_the_cheapest_per_pod():
    policy = ScaleUpPolicy(expanders=(Expander.PRICE,))
    snap = snapshot(
        pods=replicas(4, cpu_m=1000),
        groups=[group("a", cpu_m=2000, price="10"), group("b", cpu_m=4000, price="15")],
    )
    assert plan(snap, policy).node_counts == (("b", 1),)


def test_pods_for_different_groups_scale_both():
    pods = [
        *replicas(
            2,
            "gpu",
            tolerations=[toleration("nvidia.com/gpu", "true")],
            node_selector={"gpu": "yes"},
        ),
        *replicas(2, "web"),
    ]
    groups = [group("gpu", taints=[GPU], labels={"gpu": "yes"}), group("web")]
    result = plan(snapshot(pods=pods, groups=groups))
    assert result.node_counts == (("gpu", 1), ("web", 1))
    assert reasons_of(result.decision("default/web-0000")) == {"gpu": Reason.TAINT_NOT_TOLERATED}
    assert reasons_of(result.decision("default/gpu-0000")) == {"web": Reason.NODE_AFFINITY_MISMATCH}


def test_overflow_of_a_full_group_goes_to_the_next_one():
    snap = snapshot(
        pods=replicas(5, cpu_m=3000),
        groups=[group("a", max_size=2, priority=5), group("b", max_size=10)],
    )
    result = plan(snap)
    assert [(s.group, s.nodes) for s in result.scale_ups] == [("a", 2), ("b", 3)]
    first, last = result.decision("default/web-0000"), result.decision("default/web-0004")
    assert (first.group, reasons_of(first)) == ("a", {"b": Reason.EXPANDER_CHOSE_OTHER})
    assert (last.group, reasons_of(last)) == ("b", {"a": Reason.MAX_NODES_REACHED})


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        pytest.param(ClusterLimits(max_nodes=3), Reason.CLUSTER_NODES_LIMIT, id="nodes"),
        pytest.param(ClusterLimits(max_cores=12), Reason.CLUSTER_CORES_LIMIT, id="cores"),
        pytest.param(
            ClusterLimits(max_memory=48 * 2**30), Reason.CLUSTER_MEMORY_LIMIT, id="memory"
        ),
        pytest.param(
            ClusterLimits(max_monthly_cost=Decimal("20")), Reason.CLUSTER_COST_LIMIT, id="cost"
        ),
    ],
)
def test_cluster_limit_stops_the_scale_up(limits, reason):
    snap = snapshot(
        nodes=[node("cp", cpu_m=4000, memory="16Gi", taints=[taint("control-plane")])],
        pods=replicas(5, cpu_m=3000),
        groups=[group("g", price="10")],
    )
    result = plan(snap, ScaleUpPolicy(limits=limits))
    assert result.node_counts == (("g", 2),)
    unplaced = result.decision("default/web-0004")
    assert unplaced.disposition is Disposition.NO_SCALE_UP
    assert reasons_of(unplaced) == {"g": reason}


def test_max_nodes_per_scale_up_caps_the_whole_plan():
    pods = [
        *replicas(3, "a", cpu_m=3000, node_selector={"pool": "a"}),
        *replicas(3, "b", cpu_m=3000, node_selector={"pool": "b"}),
    ]
    groups = [group("a", labels={"pool": "a"}), group("b", labels={"pool": "b"})]
    result = plan(snapshot(pods=pods, groups=groups), ScaleUpPolicy(max_nodes_per_scale_up=4))
    assert result.total_nodes == 4
    assert reasons_of(result.decision("default/b-0002"))["b"] is Reason.MAX_NODES_PER_SCALE_UP


def test_every_pending_pod_has_one_decision_by_key():
    pods = [pod("b"), pod("a", cpu_m=10**6), pod("c", pod_affinity=[anti({"x": "y"})])]
    result = plan(snapshot(nodes=[node("n1")], pods=pods, groups=[group("g")]))
    assert [d.pod for d in result.pods] == ["default/a", "default/b", "default/c"]
    with pytest.raises(KeyError):
        result.decision("default/zzz")


def test_no_groups_means_no_scale_up():
    decision = plan(snapshot(pods=[pod("p")])).decision("default/p")
    assert decision.disposition is Disposition.NO_SCALE_UP
    assert decision.not_taken == ()
    assert decision.message == "pod didn't trigger scale-up"


def test_event_messages_use_ca_wording():
    snap = snapshot(
        nodes=[node("n1", cpu_m=500)],
        pods=[pod("small", cpu_m=400), pod("big", cpu_m=3000), pod("huge", cpu_m=9000)],
        groups=[group("g", current=1)],
    )
    result = plan(snap)
    assert result.message("default/small") == "pod fits on node n1"
    assert result.message("default/big") == "pod triggered scale-up: [g 1->2]"
    assert result.message("default/huge") == "pod didn't trigger scale-up: 1 Insufficient cpu"


def test_group_whose_daemonsets_overfill_a_node_takes_no_pod():
    ds = daemonset_pod("hog", cpu_m=5000, tolerations=[exists()])
    snap = snapshot(
        pods=[pod("p", cpu_m=0, memory=0)], groups=[group("g", cpu_m=4000)], daemonsets=[ds]
    )
    decision = plan(snap).decision("default/p")
    assert decision.disposition is Disposition.NO_SCALE_UP
    assert decision.not_taken == (
        GroupReason("g", Reason.INSUFFICIENT_RESOURCES, "cpu (DaemonSet overhead)"),
    )
