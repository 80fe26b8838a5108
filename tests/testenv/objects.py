"""Manifests the fixtures create: kwok-managed Nodes (always with capacity) and simple pods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
TEST_LABEL = "testenv.autoscaler.vpsie.com/test"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def node_manifest(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
    annotations: Mapping[str, str] | None = None,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: int = 110,
    ephemeral_storage: str = "100Gi",
    managed: bool = True,
    extra_capacity: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Node created together with its ``status.capacity``/``allocatable``.

    ``managed`` adds ``kwok.x-k8s.io/node=fake`` so kwok makes it Ready and renews its Lease;
    without it the Node never becomes Ready (useful for NotReady cases). Without explicit
    capacity kwok would fill in 1k CPUs and 1 TiB, so capacity is always set here.
    """
    capacity = {
        "cpu": cpu,
        "memory": memory,
        "pods": str(pods),
        "ephemeral-storage": ephemeral_storage,
        **(extra_capacity or {}),
    }
    ann = dict(annotations or {})
    if managed:
        ann[KWOK_ANNOTATION] = "fake"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                **(labels or {}),
            },
            "annotations": ann,
        },
        "spec": {"taints": [dict(t) for t in taints]} if taints else {},
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }


def pod_manifest(
    name: str,
    *,
    namespace: str,
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    cpu: str = "100m",
    memory: str = "64Mi",
    tolerations: Sequence[Mapping[str, Any]] = (),
    grace_seconds: int | None = None,
) -> dict[str, Any]:
    """A one-container pod whose image is never pulled (kwok only fakes its status).

    With the default grace period a deletion leaves the pod Terminating until kwok's
    ``pod-delete`` stage confirms it, as a kubelet would.
    """
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": "registry.invalid/testenv/pause:0",
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }
        ],
        "automountServiceAccountToken": False,
    }
    if grace_seconds is not None:
        spec["terminationGracePeriodSeconds"] = grace_seconds
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": spec,
    }


def is_node_ready(node: Mapping[str, Any]) -> bool:
    """Ready=True and the ``not-ready``/``unreachable`` taints are gone (KCM node lifecycle)."""
    conditions = node.get("status", {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    taints = node.get("spec", {}).get("taints") or []
    blocked = any(t.get("key") in (NOT_READY_TAINT, UNREACHABLE_TAINT) for t in taints)
    return ready and not blocked


def is_pod_running(pod: Mapping[str, Any]) -> bool:
    """Phase Running and Ready=True."""
    status = pod.get("status", {})
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return status.get("phase") == "Running" and ready
