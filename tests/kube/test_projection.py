"""Projection at the edge: raw API JSON becomes slim records holding only what we read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autoscaler.core.quantity import QuantityError
from autoscaler.core.records import (
    Affinity,
    HostPort,
    LabelSelector,
    NodeSelectorTerm,
    PodAffinityTerm,
    Requirement,
    Resources,
    Taint,
    Toleration,
    TopologySpread,
)
from autoscaler.kube.projection import project_node, project_pdb, project_pod
from autoscaler.kube.sharing import Interner

GI, MI = 2**30, 2**20


def raw_pod(**spec: Any) -> Any:
    meta = spec.pop("metadata", {})
    status = spec.pop("status", {})
    return {
        "metadata": {
            "name": "web-1",
            "namespace": "shop",
            "uid": "u-1",
            "resourceVersion": "42",
            **meta,
        },
        "spec": {"containers": [], **spec},
        "status": status,
    }


def container(cpu: str | None = None, memory: str | None = None, **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    restart = extra.pop("restart", None)
    body: dict[str, Any] = {"name": "c", "resources": {"requests": {**requests, **extra}}}
    if restart:
        body["restartPolicy"] = restart
    return body


def test_pod_record_keeps_identity_placement_and_lifecycle() -> None:
    record = project_pod(
        raw_pod(
            nodeName="n1",
            priority=1000,
            terminationGracePeriodSeconds=60,
            metadata={"deletionTimestamp": "2026-01-02T03:04:05Z", "managedFields": [{}]},
            status={"phase": "Running"},
        )
    )
    assert (record.namespace, record.name, record.uid, record.resource_version) == (
        "shop",
        "web-1",
        "u-1",
        "42",
    )
    assert (record.key, record.node_name, record.phase) == ("shop/web-1", "n1", "Running")
    assert (record.priority, record.termination_grace_seconds) == (1000, 60)
    assert record.deletion_timestamp == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_pod_defaults() -> None:
    record = project_pod(raw_pod())
    assert record.node_name is None
    assert (record.priority, record.termination_grace_seconds) == (0, 30)
    assert record.deletion_timestamp is None
    assert record.requests == Resources(pods=1)
    assert (record.tolerations, record.labels, record.annotations, record.affinity) == (
        (),
        (),
        (),
        None,
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"containers": [container("100m", "64Mi"), container("250m", "128Mi")]},
            Resources(cpu_m=350, memory=192 * MI, pods=1),
            id="containers-are-summed",
        ),
        pytest.param(
            {"containers": [container("500m", "1Gi")], "initContainers": [container("2", "64Mi")]},
            Resources(cpu_m=2000, memory=GI, pods=1),
            id="init-containers-by-max-per-resource",
        ),
        pytest.param(
            {
                "containers": [container("200m")],
                "initContainers": [container("100m", restart="Always"), container("500m")],
            },
            Resources(cpu_m=600, pods=1),
            id="sidecars-add-to-the-sum-and-to-later-inits",
        ),
        pytest.param(
            {"containers": [container("1", "1Gi")], "overhead": {"cpu": "250m", "memory": "120Mi"}},
            Resources(cpu_m=1250, memory=GI + 120 * MI, pods=1),
            id="overhead-is-added",
        ),
        pytest.param(
            {
                "containers": [
                    container("1", **{"nvidia.com/gpu": "1", "ephemeral-storage": "2Gi"}),
                    container(**{"nvidia.com/gpu": "2"}),
                ]
            },
            Resources(
                cpu_m=1000, ephemeral_storage=2 * GI, pods=1, extended=(("nvidia.com/gpu", 3),)
            ),
            id="extended-and-ephemeral",
        ),
        pytest.param({"containers": [{"name": "c"}]}, Resources(pods=1), id="no-requests"),
    ],
)
def test_pod_requests(spec: dict[str, Any], expected: Resources) -> None:
    assert project_pod(raw_pod(**spec)).requests == expected


def test_owner_is_the_controller_reference() -> None:
    refs = [
        {"kind": "ConfigMap", "name": "cm", "uid": "1"},
        {"kind": "DaemonSet", "name": "fluentd", "uid": "2", "controller": True},
    ]
    record = project_pod(raw_pod(metadata={"ownerReferences": refs}))
    assert (record.owner_kind, record.owner_name, record.is_daemonset) == (
        "DaemonSet",
        "fluentd",
        True,
    )
    bare = project_pod(raw_pod(metadata={"ownerReferences": refs[:1]}))
    assert (bare.owner_kind, bare.owner_name, bare.is_daemonset) == (None, None, False)


def test_mirror_pods_are_recognised() -> None:
    annotations = {"kubernetes.io/config.mirror": "abc", "kubernetes.io/config.hash": "abc"}
    assert project_pod(raw_pod(metadata={"annotations": annotations})).is_mirror
    assert not project_pod(raw_pod()).is_mirror


@pytest.mark.parametrize(
    ("condition", "unschedulable"),
    [
        pytest.param({"status": "False", "reason": "Unschedulable"}, True, id="unschedulable"),
        pytest.param({"status": "False", "reason": "SchedulingGated"}, False, id="gated"),
        pytest.param({"status": "True"}, False, id="scheduled"),
    ],
)
def test_unschedulable_condition(condition: dict[str, str], unschedulable: bool) -> None:
    status = {"phase": "Pending", "conditions": [{"type": "PodScheduled", **condition}]}
    assert project_pod(raw_pod(status=status)).unschedulable is unschedulable


def test_volumes_are_classified() -> None:
    volumes = [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}},
        {"name": "cache", "emptyDir": {}},
        {"name": "shm", "emptyDir": {"medium": "Memory"}},
        {"name": "logs", "hostPath": {"path": "/var/log"}},
        {"name": "token", "projected": {"sources": []}},
    ]
    record = project_pod(raw_pod(volumes=volumes))
    assert record.pvc_claims == ("data-web-1", "web-1-scratch")
    assert record.local_volumes == ("cache", "logs")


def test_only_relevant_annotations_are_kept() -> None:
    annotations = {
        "kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 5000 + "}",
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
        "autoscaler.vpsie.com/scale-down-allowed-hours": "y" * 2000,
        "prometheus.io/scrape": "true",
    }
    record = project_pod(raw_pod(metadata={"annotations": annotations}))
    assert record.annotations == (
        ("cluster-autoscaler.kubernetes.io/safe-to-evict", "false"),
        ("autoscaler.vpsie.com/scale-down-allowed-hours", "<too long: 2000 characters>"),
    )


def test_equal_values_are_shared_between_records() -> None:
    shared = Interner()
    spec = {
        "containers": [container("100m", "64Mi")],
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
        "nodeSelector": {"disk": "ssd"},
    }
    labels = {"app": "web", "pod-template-hash": "5d8f"}
    one, two = (
        project_pod(raw_pod(**spec, metadata={"name": n, "labels": dict(labels)}), shared=shared)
        for n in ("web-1", "web-2")
    )
    assert one.labels is two.labels
    assert one.requests is two.requests
    assert one.tolerations is two.tolerations
    assert one.node_selector is two.node_selector
    assert one.tolerations == (Toleration("node.kubernetes.io/not-ready", "Exists", "", ""),)


def test_interner_forgets_when_full() -> None:
    shared = Interner(max_entries=2)
    first = shared.share(tuple("a"))
    assert shared.share(tuple("a")) is first
    shared.share(tuple("b"))
    shared.share(tuple("c"))  # full: starts over
    assert len(shared) == 1
    assert shared.share(tuple("a")) is not first


def test_affinity_keeps_only_hard_constraints() -> None:
    selector = {"matchLabels": {"app": "web"}}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}],
        },
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}
            ]
        },
    }
    spread = [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
    ]
    record = project_pod(raw_pod(affinity=affinity, topologySpreadConstraints=spread))
    assert record.affinity == Affinity(
        node_terms=(NodeSelectorTerm(match_expressions=(Requirement("zone", "In", ("a",)),)),),
        pod_anti_affinity=(
            PodAffinityTerm(
                topology_key="kubernetes.io/hostname",
                label_selector=LabelSelector(match_labels=(("app", "web"),)),
            ),
        ),
        topology_spread=(TopologySpread(1, "zone", "DoNotSchedule"),),
    )
    soft_only: Any = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{}]}}
    assert project_pod(raw_pod(affinity=soft_only)).affinity is None


def test_malformed_quantity_is_an_error() -> None:
    with pytest.raises(QuantityError):
        project_pod(raw_pod(containers=[container("lots")]))


def test_node_record() -> None:
    raw: Any = {
        "metadata": {
            "name": "n1",
            "uid": "u-n1",
            "resourceVersion": "7",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"autoscaler.vpsie.com/nodegroup": "web", "kubernetes.io/os": "linux"},
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
            },
            "managedFields": [{"manager": "kubelet"}],
        },
        "spec": {
            "providerID": "vpsie://123",
            "unschedulable": True,
            "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
        },
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "80Gi"},
            "allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": "110", "hugepages-2Mi": "0"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "images": [{"names": ["a"], "sizeBytes": 1}],
        },
    }
    record = project_node(raw)
    assert (record.key, record.namespace, record.uid, record.resource_version) == (
        "n1",
        "",
        "u-n1",
        "7",
    )
    assert (record.group, record.provider_id, record.unschedulable, record.ready) == (
        "web",
        "vpsie://123",
        True,
        True,
    )
    assert record.taints == (Taint("dedicated", "db", "NoSchedule"),)
    assert record.capacity == Resources(
        cpu_m=4000, memory=8 * GI, ephemeral_storage=80 * GI, pods=110
    )
    assert record.allocatable == Resources(
        cpu_m=3800, memory=7 * GI, pods=110, extended=(("hugepages-2Mi", 0),)
    )
    assert record.created == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert record.annotations == (("cluster-autoscaler.kubernetes.io/scale-down-disabled", "true"),)


def test_node_not_ready_without_a_true_ready_condition() -> None:
    raw: Any = {
        "metadata": {"name": "n"},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
    }
    record = project_node(raw)
    assert (record.ready, record.group, record.created, record.provider_id) == (
        False,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("budget", "min_available", "max_unavailable"),
    [
        pytest.param({"minAvailable": 2}, 2, None, id="min-available-count"),
        pytest.param({"maxUnavailable": "25%"}, None, "25%", id="max-unavailable-percent"),
    ],
)
def test_pdb_record(
    budget: dict[str, Any], min_available: int | str | None, max_unavailable: int | str | None
) -> None:
    raw: Any = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "u", "resourceVersion": "3"},
        "spec": {
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "Exists"}],
            },
            **budget,
        },
        "status": {"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2},
    }
    record = project_pdb(raw)
    assert record.key == "shop/web"
    assert record.selector == LabelSelector(
        match_labels=(("app", "web"),), match_expressions=(Requirement("tier", "Exists"),)
    )
    assert (record.min_available, record.max_unavailable) == (min_available, max_unavailable)
    assert (record.disruptions_allowed, record.current_healthy, record.desired_healthy) == (1, 3, 2)


def test_unschedulable_since_and_host_ports() -> None:
    body: Any = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "initContainers": [{"name": "i", "ports": [{"containerPort": 1, "hostPort": 9000}]}],
            "containers": [
                {
                    "name": "c",
                    "ports": [
                        {"containerPort": 80},
                        {
                            "containerPort": 53,
                            "hostPort": 53,
                            "protocol": "UDP",
                            "hostIP": "10.0.0.1",
                        },
                    ],
                }
            ],
        },
        "status": {
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "lastTransitionTime": "2026-11-27T03:00:05Z",
                }
            ]
        },
    }
    record = project_pod(body)
    assert record.unschedulable_since == dt.datetime(2026, 11, 27, 3, 0, 5, tzinfo=dt.UTC)
    assert record.host_ports == (HostPort(53, "UDP", "10.0.0.1"), HostPort(9000, "TCP", ""))
    body["status"]["conditions"][0]["reason"] = "SchedulerError"
    assert project_pod(body).unschedulable_since is None
    assert project_pod({"metadata": {"name": "q"}}).host_ports == ()
