"""Builders of the workload objects the e2e tests create: Deployments and PDBs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.testenv.objects import pod_manifest

JSON = dict[str, Any]


def deployment_body(
    name: str,
    *,
    namespace: str,
    replicas: int,
    node_selector: Mapping[str, str],
    cpu: str,
    memory: str,
    annotations: Mapping[str, str] | None = None,
    finalizers: Sequence[str] = (),
) -> JSON:
    """A Deployment of ``replicas`` pods labelled ``app=<name>``; its pods carry
    ``annotations`` and ``finalizers`` (the ReplicaSet copies both from the template)."""
    pod = pod_manifest(
        name,
        namespace=namespace,
        labels={"app": name},
        node_selector=node_selector,
        cpu=cpu,
        memory=memory,
    )
    meta: JSON = pod["metadata"]
    meta["annotations"] = dict(annotations or {})
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": meta, "spec": pod["spec"]},
        },
    }


def pdb_body(name: str, *, namespace: str, app: str, min_available: int) -> JSON:
    """A policy/v1 PodDisruptionBudget keeping ``min_available`` pods of ``app=<app>``."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
    }
