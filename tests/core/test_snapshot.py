"""The snapshot: DaemonSet overhead per template, virtual upcoming nodes, pending pods."""

from __future__ import annotations

import pytest

from autoscaler.core.records import NODE_GROUP_LABEL
from autoscaler.core.snapshot import daemonset_template
from tests.core.factories import (
    daemonset_pod,
    exists,
    group,
    node,
    pod,
    req,
    resources,
    snapshot,
    taint,
    term,
    toleration,
)

GPU_TAINT = taint("nvidia.com/gpu", "true")
EVERYWHERE = daemonset_pod("kube-proxy", cpu_m=100, memory="128Mi", tolerations=[exists()])


@pytest.mark.parametrize(
    ("ds", "template_taints", "template_labels", "lands"),
    [
        pytest.param(daemonset_pod("plain"), (), {}, True, id="plain-daemonset-on-plain-template"),
        pytest.param(daemonset_pod("plain"), (GPU_TAINT,), {}, False, id="untolerated-taint"),
        pytest.param(
            daemonset_pod("all", tolerations=[exists()]),
            (GPU_TAINT,),
            {},
            True,
            id="exists-without-key",
        ),
        pytest.param(
            daemonset_pod("gpu", tolerations=[exists("nvidia.com/gpu")]),
            (GPU_TAINT,),
            {},
            True,
            id="exists-with-key",
        ),
        pytest.param(
            daemonset_pod("other", tolerations=[exists("dedicated")]),
            (GPU_TAINT,),
            {},
            False,
            id="exists-with-other-key",
        ),
        pytest.param(
            daemonset_pod("noexec", tolerations=[exists(effect="NoExecute")]),
            (GPU_TAINT,),
            {},
            False,
            id="exists-without-key-for-another-effect",
        ),
        pytest.param(
            daemonset_pod("eq", tolerations=[toleration("nvidia.com/gpu", "true")]),
            (GPU_TAINT,),
            {},
            True,
            id="equal-toleration",
        ),
        pytest.param(
            daemonset_pod("soft"),
            (taint("a", effect="PreferNoSchedule"),),
            {},
            True,
            id="prefer-no-schedule-does-not-repel",
        ),
        pytest.param(
            daemonset_pod("sel", node_selector={"disk": "ssd"}),
            (),
            {"disk": "ssd"},
            True,
            id="selector-matches",
        ),
        pytest.param(
            daemonset_pod("sel", node_selector={"disk": "ssd"}), (), {}, False, id="selector-misses"
        ),
        pytest.param(
            daemonset_pod("linux", node_selector={"kubernetes.io/os": "linux"}),
            (),
            {},
            True,
            id="well-known-os-label-defaults-to-linux",
        ),
        pytest.param(
            daemonset_pod("aff", node_terms=[term(req("disk", "In", "ssd", "nvme"))]),
            (),
            {"disk": "nvme"},
            True,
            id="node-affinity-in",
        ),
        pytest.param(
            daemonset_pod("aff", node_terms=[term(req("disk", "DoesNotExist"))]),
            (),
            {"disk": "nvme"},
            False,
            id="node-affinity-does-not-exist",
        ),
        pytest.param(
            daemonset_pod("grp", node_selector={NODE_GROUP_LABEL: "g"}),
            (),
            {},
            True,
            id="group-label-is-on-the-template",
        ),
    ],
)
def test_daemonset_overhead_counts_only_daemonsets_that_land(
    ds, template_taints, template_labels, lands
):
    g = group("g", cpu_m=4000, memory="16Gi", taints=template_taints, labels=template_labels)
    view = snapshot(groups=[g], daemonsets=[ds]).group("g")
    expected = ds.requests if lands else resources()
    assert view.overhead == expected
    assert view.free == resources(
        4000 - expected.cpu_m, 16 * 2**30 - expected.memory, pods=110 - expected.pods
    )


def test_overhead_sums_every_landing_daemonset():
    dss = [
        EVERYWHERE,
        daemonset_pod("exporter", cpu_m=50, memory="64Mi", tolerations=[exists()]),
        daemonset_pod("gpu-plugin", cpu_m=200, memory="256Mi", node_selector={"gpu": "yes"}),
    ]
    view = snapshot(groups=[group("g", taints=[GPU_TAINT])], daemonsets=dss).group("g")
    assert view.overhead == resources(150, "192Mi", pods=2)
    assert [d.owner_name for d in view.daemonsets] == ["kube-proxy", "exporter"]


def _running_proxy(node_name: str):
    pin = term(fields=[req("metadata.name", "In", node_name)])
    return pod(
        f"kube-proxy-{node_name}",
        owner=("DaemonSet", "kube-proxy"),
        namespace="kube-system",
        cpu_m=100,
        memory="100Mi",
        tolerations=[exists()],
        node_terms=[pin],
        node_name=node_name,
    )


def test_daemonsets_are_taken_once_from_running_pods_when_not_given():
    running = [_running_proxy("n1"), _running_proxy("n2")]
    snap = snapshot(
        nodes=[node("n1"), node("n2")], pods=running, groups=[group("g", taints=[GPU_TAINT])]
    )
    assert snap.group("g").overhead == resources(100, "100Mi", pods=1)


def test_daemonset_template_drops_the_node_pinning():
    pinned = daemonset_pod(
        "ds", node_terms=[term(fields=[req("metadata.name", "In", "n1")])], node_name="n1"
    )
    assert daemonset_template(pinned).affinity is None
    own = daemonset_pod(
        "ds", node_terms=[term(req("disk", "In", "ssd"), fields=[req("metadata.name", "In", "n1")])]
    )
    kept = daemonset_template(own).affinity
    assert kept is not None
    assert kept.node_terms == (term(req("disk", "In", "ssd")),)


def test_upcoming_nodes_are_virtual_template_copies_carrying_daemonsets():
    snap = snapshot(groups=[group("g", upcoming=2, taints=[GPU_TAINT])], daemonsets=[EVERYWHERE])
    assert [n.name for n in snap.upcoming] == ["g-upcoming-0", "g-upcoming-1"]
    virtual = snap.upcoming[0]
    assert virtual.group == "g"
    assert virtual.taints == (GPU_TAINT,)
    assert ("kubernetes.io/hostname", "g-upcoming-0") in virtual.labels
    assert snap.pods_by_node["g-upcoming-1"] == (EVERYWHERE,)


def test_pending_pods_are_the_unschedulable_unbound_ones():
    bound = pod("bound", node_name="n1")
    ds = daemonset_pod("ds")
    done = pod("done", phase="Succeeded")
    waiting = pod("waiting")
    snap = snapshot(nodes=[node("n1")], pods=[waiting, bound, ds, done])
    assert snap.pending == (waiting,)
    assert snap.pods_by_node["n1"] == (bound,)


def test_terminal_pods_do_not_hold_node_capacity():
    snap = snapshot(nodes=[node("n1")], pods=[pod("old", node_name="n1", phase="Succeeded")])
    assert snap.pods_by_node["n1"] == ()


def test_group_size_counts_labelled_nodes_and_upcoming():
    snap = snapshot(
        nodes=[node("a", group="g"), node("b", group="g")],
        groups=[group("g", current=1, upcoming=3)],
    )
    assert snap.group("g").registered == 2
    assert snap.group("g").size == 5


def test_group_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        snapshot(groups=[group("g"), group("g")])
