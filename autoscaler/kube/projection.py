"""Projection at the edge: raw API JSON (``orjson`` output) → slim records (I10).

Each ``project_*`` function is an informer ``transform``: it runs on every list item and
watch event before anything is stored, so ``managedFields``, status details and unrelated
annotations never reach the cache. Equal sub-values are shared through an ``Interner``
(``autoscaler.kube.sharing``). Quantities are parsed strictly; the API server has validated
them, so a ``QuantityError`` here means a broken object and is raised to the reflector.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from autoscaler.core.annotation_text import MAX_VALUE_LENGTH, too_long_marker
from autoscaler.core.records import (
    Affinity,
    HostPort,
    NodeRecord,
    Pairs,
    PdbRecord,
    PodRecord,
    PvcRecord,
    PvKind,
    PvRecord,
    Resources,
    Taint,
    Toleration,
    object_key,
)
from autoscaler.kube.amounts import pod_requests, resources_of
from autoscaler.kube.bodies import (
    NodeBody,
    PdbBody,
    PodBody,
    PodSpecBody,
    PvBody,
    PvcBody,
    TolerationBody,
)
from autoscaler.kube.selectors import affinity_of, label_selector
from autoscaler.kube.sharing import SHARED, Interner, pairs

__all__ = [
    "MAX_ANNOTATION_LENGTH",
    "NODE_ANNOTATIONS",
    "POD_ANNOTATIONS",
    "project_node",
    "project_pdb",
    "project_pod",
    "project_pv",
    "project_pvc",
    "tolerations_of",
]

OUR_PREFIX = "autoscaler.vpsie.com/"
POD_ANNOTATIONS = frozenset(
    {
        "cluster-autoscaler.kubernetes.io/safe-to-evict",
        "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes",
        "cluster-autoscaler.kubernetes.io/enable-ds-eviction",
        "cluster-autoscaler.kubernetes.io/pod-scale-up-delay",
        "karpenter.sh/do-not-disrupt",
        "kubernetes.io/config.mirror",
    }
)
NODE_ANNOTATIONS = frozenset(
    {
        "cluster-autoscaler.kubernetes.io/scale-down-disabled",
        "karpenter.sh/do-not-disrupt",
    }
)
MAX_ANNOTATION_LENGTH = MAX_VALUE_LENGTH
_intern = sys.intern


def _annotations(raw: Mapping[str, str] | None, keys: frozenset[str], shared: Interner) -> Pairs:
    """Keep the annotations we read; an over-long value becomes a marker no parser accepts."""
    if not raw or (keys.isdisjoint(raw) and OUR_PREFIX not in "\n".join(raw)):
        return ()  # the common case, decided without a Python-level loop
    kept = {
        k: v if len(v) <= MAX_ANNOTATION_LENGTH else too_long_marker(len(v))
        for k, v in raw.items()
        if k in keys or k.startswith(OUR_PREFIX)
    }
    return pairs(kept, shared) if kept else ()


def _time(raw: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(raw) if raw else None


def tolerations_of(
    raw: Iterable[TolerationBody], shared: Interner = SHARED
) -> tuple[Toleration, ...]:
    """Return raw tolerations as a shared tuple of ``Toleration`` records."""
    return shared.share(
        tuple(
            Toleration(
                key=_intern(t.get("key", "")),
                operator=_intern(t.get("operator", "Equal")),
                value=_intern(t.get("value", "")),
                effect=_intern(t.get("effect", "")),
                seconds=t.get("tolerationSeconds"),
            )
            for t in raw
        )
    )


def _volumes(name: str, volumes: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, ...], ...]:
    """Return (PVC claim names, names of local-storage volumes) as CA classifies them."""
    claims: list[str] = []
    local: list[str] = []
    for volume in volumes:
        if "persistentVolumeClaim" in volume:
            claims.append(volume["persistentVolumeClaim"].get("claimName", ""))
        elif "ephemeral" in volume:  # a generic ephemeral volume's claim is <pod>-<volume>
            claims.append(f"{name}-{volume.get('name', '')}")
        elif "hostPath" in volume or (
            "emptyDir" in volume and (volume["emptyDir"] or {}).get("medium") != "Memory"
        ):
            local.append(volume.get("name", ""))
    return (tuple(claims) if claims else (), tuple(local) if local else ())


_Template = tuple[Resources, tuple[Toleration, ...], Pairs, Affinity | None]
TEMPLATES = Interner(max_entries=4096)
"""Memo of the template-level parts of pods, keyed on their raw JSON (bounded)."""


def _template(spec: PodSpecBody, shared: Interner, templates: Interner) -> _Template:
    """Return (requests, tolerations, node selector, affinity), shared by equal templates."""
    inits = spec.get("initContainers")
    tolerations = spec.get("tolerations")
    node_selector = spec.get("nodeSelector")
    key = orjson.dumps(
        (
            [c.get("resources") for c in spec.get("containers") or ()],
            [(c.get("restartPolicy"), c.get("resources")) for c in inits] if inits else None,
            spec.get("overhead"),
            tolerations,
            node_selector,
            spec.get("affinity"),
            spec.get("topologySpreadConstraints"),
        )
    )
    return templates.memo(
        key,
        lambda: (
            pod_requests(spec, shared),
            tolerations_of(tolerations, shared) if tolerations else (),
            pairs(node_selector, shared),
            affinity_of(spec, shared),
        ),
    )


def _host_ports(spec: PodSpecBody) -> tuple[HostPort, ...]:
    """The host ports of the pod's containers (init containers too), sorted."""
    found: set[HostPort] = set()
    containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    for container in containers:
        for port in container.get("ports") or ():
            host = port.get("hostPort")
            if host:
                found.add(HostPort(host, port.get("protocol") or "TCP", port.get("hostIP") or ""))
    return tuple(sorted(found)) if found else ()


def project_pod(
    body: PodBody, *, shared: Interner = SHARED, templates: Interner = TEMPLATES
) -> PodRecord:
    """Project a raw Pod into a ``PodRecord``."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    name = meta.get("name", "")
    owner_kind = owner_name = None
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller"):
            owner_kind, owner_name = _intern(ref.get("kind", "")), _intern(ref.get("name", ""))
            break
    unschedulable = False
    since = None
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled":
            unschedulable = (
                condition.get("status") == "False" and condition.get("reason") == "Unschedulable"
            )
            if unschedulable:
                since = _time(condition.get("lastTransitionTime"))
            break
    volumes = spec.get("volumes")
    claims, local = _volumes(name, volumes) if volumes else ((), ())
    requests, tolerations, node_selector, affinity = _template(spec, shared, templates)
    node_name = spec.get("nodeName")
    deletion = meta.get("deletionTimestamp")
    return PodRecord(
        namespace=_intern(meta.get("namespace", "")),
        name=name,
        uid=meta.get("uid", ""),
        resource_version=meta.get("resourceVersion", ""),
        node_name=_intern(node_name) if node_name else None,
        phase=_intern(status.get("phase", "")),
        requests=requests,
        owner_kind=owner_kind,
        owner_name=owner_name,
        priority=spec.get("priority", 0),
        tolerations=tolerations,
        node_selector=node_selector,
        affinity=affinity,
        labels=pairs(meta.get("labels"), shared),
        annotations=_annotations(meta.get("annotations"), POD_ANNOTATIONS, shared),
        pvc_claims=claims,
        local_volumes=local,
        unschedulable=unschedulable,
        deletion_timestamp=_time(deletion) if deletion else None,
        termination_grace_seconds=spec.get("terminationGracePeriodSeconds", 30),
        unschedulable_since=since,
        host_ports=_host_ports(spec),
    )


def project_node(body: NodeBody, *, shared: Interner = SHARED) -> NodeRecord:
    """Project a raw Node into a ``NodeRecord``."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    taints = tuple(
        Taint(key=_intern(t.get("key", "")), value=t.get("value", ""), effect=t.get("effect", ""))
        for t in spec.get("taints") or ()
    )
    return NodeRecord(
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        resource_version=meta.get("resourceVersion", ""),
        labels=pairs(meta.get("labels"), shared),
        taints=shared.share(taints) if taints else (),
        allocatable=resources_of(status.get("allocatable"), shared),
        capacity=resources_of(status.get("capacity"), shared),
        unschedulable=bool(spec.get("unschedulable", False)),
        ready=any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or ()
        ),
        created=_time(meta.get("creationTimestamp")),
        provider_id=spec.get("providerID") or None,
        annotations=_annotations(meta.get("annotations"), NODE_ANNOTATIONS, shared),
        deletion_timestamp=_time(meta.get("deletionTimestamp")),
    )


def project_pdb(body: PdbBody, *, shared: Interner = SHARED) -> PdbRecord:
    """Project a raw PodDisruptionBudget into a ``PdbRecord``."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    selector = spec.get("selector")
    return PdbRecord(
        namespace=_intern(meta.get("namespace", "")),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        resource_version=meta.get("resourceVersion", ""),
        selector=label_selector(selector, shared) if selector is not None else None,
        min_available=spec.get("minAvailable"),
        max_unavailable=spec.get("maxUnavailable"),
        disruptions_allowed=status.get("disruptionsAllowed", 0),
        current_healthy=status.get("currentHealthy", 0),
        desired_healthy=status.get("desiredHealthy", 0),
        expected_pods=status.get("expectedPods", 0),
        generation=meta.get("generation", 0),
        observed_generation=status.get("observedGeneration", 0),
        unhealthy_pod_eviction_policy=spec.get("unhealthyPodEvictionPolicy"),
    )


def _mapping(raw: object) -> Mapping[str, Any]:
    """``raw`` if it is a JSON object, else an empty one (a tolerant read of odd shapes)."""
    return raw if isinstance(raw, Mapping) else {}


def _text(raw: object) -> str | None:
    """``raw`` if it is a non-empty string, else ``None``."""
    return raw if isinstance(raw, str) and raw else None


def project_pvc(body: PvcBody) -> PvcRecord:
    """Project a raw PersistentVolumeClaim into a ``PvcRecord``; missing fields become empty."""
    meta = _mapping(body.get("metadata"))
    spec = _mapping(body.get("spec"))
    status = _mapping(body.get("status"))
    storage_class = _text(spec.get("storageClassName"))
    return PvcRecord(
        namespace=_intern(_text(meta.get("namespace")) or ""),
        name=_text(meta.get("name")) or "",
        uid=_text(meta.get("uid")) or "",
        resource_version=_text(meta.get("resourceVersion")) or "",
        volume_name=_text(spec.get("volumeName")),
        phase=_intern(_text(status.get("phase")) or ""),
        storage_class=_intern(storage_class) if storage_class else None,
    )


def _pv_kind(spec: Mapping[str, Any]) -> PvKind:
    """Classify where a PV's data lives (see ``PvRecord``): pinned by node affinity is local."""
    if spec.get("hostPath") is not None:
        return PvKind.HOST_PATH
    if spec.get("local") is not None or _mapping(spec.get("nodeAffinity")).get("required"):
        return PvKind.LOCAL
    return PvKind.NETWORK


def project_pv(body: PvBody) -> PvRecord:
    """Project a raw PersistentVolume into a ``PvRecord``; missing fields become empty."""
    meta = _mapping(body.get("metadata"))
    spec = _mapping(body.get("spec"))
    status = _mapping(body.get("status"))
    ref = _mapping(spec.get("claimRef"))
    ref_name = _text(ref.get("name"))
    return PvRecord(
        name=_text(meta.get("name")) or "",
        uid=_text(meta.get("uid")) or "",
        resource_version=_text(meta.get("resourceVersion")) or "",
        claim=object_key(_text(ref.get("namespace")) or "", ref_name) if ref_name else None,
        kind=_pv_kind(spec),
        phase=_intern(_text(status.get("phase")) or ""),
    )
