"""An in-memory API server for the controllers' writes, and the caches they read.

``FakeKube`` implements the controllers' ``Objects`` protocol with the semantics that
matter here: resourceVersion preconditions (409), finalizers holding a deleted object,
UID preconditions on delete, and status written through the real ``patch_status``. The
caches are refreshed only by ``sync()``, so a test can reconcile on a stale cache.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from autoscaler.controllers.context import Caches
from autoscaler.controllers.records import (
    project_nodegroup,
    project_vpsienode,
    vpsienodes_by_group,
    vpsienodes_by_hostname,
)
from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.kube import errors
from autoscaler.kube.projection import project_node
from autoscaler.kube.status import Mutate, StatusPatchResult, merge_patch, patch_status
from autoscaler.kube.store import Store, nodes_by_group, pods_by_node

JSON = dict[str, Any]
STAMP = "2026-01-01T00:00:00Z"


def apply_merge(target: JSON, patch: JSON) -> JSON:
    """RFC 7386 merge patch."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = apply_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def raw_pod(pod: PodRecord) -> JSON:
    """The pod the API server would list for ``pod`` (what ``list_pods_on_node`` returns)."""
    owner = {"kind": pod.owner_kind, "name": pod.owner_name, "controller": True}
    return {
        "metadata": {
            "name": pod.name,
            "namespace": pod.namespace,
            "uid": pod.uid,
            "ownerReferences": [owner] if pod.owner_kind else [],
        },
        "spec": {"nodeName": pod.node_name, "containers": []},
        "status": {"phase": pod.phase},
    }


class FakeKube:
    """Custom objects and Nodes in memory; see the module docstring."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], JSON] = {}
        self.nodes: dict[str, JSON] = {}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.calls: list[tuple[str, ...]] = []
        self.pods_api: list[JSON] = []
        """Raw pods the API server holds (only ``list_pods_on_node`` reads them)."""
        self._rv = itertools.count(1)
        self._uid = itertools.count(1)
        self.caches = Caches(
            nodegroups=Store(),
            vpsienodes=Store(
                {"by_group": vpsienodes_by_group, "by_hostname": vpsienodes_by_hostname}
            ),
            nodes=Store({"nodes_by_group": nodes_by_group}),
            pods=Store({"pods_by_node": pods_by_node}),
        )

    # --- the informers ------------------------------------------------------------------
    def sync(self) -> None:
        """Make the caches show the current objects (what the watches would deliver)."""
        items = list(self.objects.items())
        self.caches.nodegroups.replace(
            project_nodegroup(o) for k, o in items if k[0] == "nodegroups"
        )
        self.caches.vpsienodes.replace(
            project_vpsienode(o) for k, o in items if k[0] == "vpsienodes"
        )
        self.caches.nodes.replace(project_node(n) for n in self.nodes.values())  # type: ignore[arg-type]

    def add_pods(self, pods: list[PodRecord]) -> None:
        """Put pods in the pod cache."""
        for pod in pods:
            self.caches.pods.upsert(pod)

    def node_records(self) -> list[NodeRecord]:
        return self.caches.nodes.values()

    # --- helpers ------------------------------------------------------------------------
    def _bump(self, obj: JSON) -> JSON:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        return obj

    def _gc(self, key: tuple[str, str, str]) -> None:
        meta = self.objects[key]["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self.objects[key]

    def get_object(self, plural: str, namespace: str, name: str) -> JSON | None:
        obj = self.objects.get((plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def of(self, plural: str) -> list[JSON]:
        return [copy.deepcopy(o) for k, o in self.objects.items() if k[0] == plural]

    # --- Objects ------------------------------------------------------------------------
    async def create(self, plural: str, namespace: str, body: JSON) -> JSON:
        self.calls.append(("create", plural, body["metadata"]["name"]))
        key = (plural, namespace, body["metadata"]["name"])
        if key in self.objects:
            raise errors.AlreadyExists("exists", status=409, reason="AlreadyExists")
        obj = copy.deepcopy(body)
        obj["metadata"] |= {
            "uid": f"uid-{next(self._uid)}",
            "creationTimestamp": STAMP,
            "generation": 1,
        }
        self.objects[key] = self._bump(obj)
        return copy.deepcopy(obj)

    async def get(self, plural: str, namespace: str, name: str) -> JSON | None:
        return self.get_object(plural, namespace, name)

    async def patch(self, plural: str, namespace: str, name: str, patch: JSON) -> JSON:
        self.calls.append(("patch", plural, name))
        key = (plural, namespace, name)
        if key not in self.objects:
            raise errors.NotFound("not found", status=404)
        current = self.objects[key]
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != current["metadata"]["resourceVersion"]:
            raise errors.Conflict("conflict", status=409)
        self.objects[key] = self._bump(apply_merge(current, patch))
        updated = copy.deepcopy(self.objects[key])
        self._gc(key)
        return updated

    async def delete(self, plural: str, namespace: str, name: str, *, uid: str = "") -> bool:
        self.calls.append(("delete", plural, name))
        key = (plural, namespace, name)
        obj = self.objects.get(key)
        if obj is None or (uid and obj["metadata"]["uid"] != uid):
            return False
        obj["metadata"].setdefault("deletionTimestamp", STAMP)
        self._bump(obj)
        self._gc(key)
        return True

    async def remove_finalizer(
        self, plural: str, namespace: str, name: str, finalizer: str, *, attempts: int = 5
    ) -> bool:
        obj = self.get_object(plural, namespace, name)
        if obj is None or finalizer not in (obj["metadata"].get("finalizers") or []):
            return False
        rest = [f for f in obj["metadata"]["finalizers"] if f != finalizer]
        await self.patch(plural, namespace, name, {"metadata": {"finalizers": rest}})
        return True

    async def patch_status(
        self, plural: str, namespace: str, name: str, mutate: Mutate
    ) -> StatusPatchResult:
        return await patch_status(
            _StatusApi(self),
            group="g",
            version="v",
            plural=plural,
            namespace=namespace,
            name=name,
            mutate=mutate,
            retry_delay=0,
        )

    async def patch_node(self, name: str, patch: JSON) -> JSON:
        self.calls.append(("patch_node", name))
        node = self.nodes[name]
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != node["metadata"]["resourceVersion"]:
            raise errors.Conflict("conflict", status=409)
        self.nodes[name] = self._bump(apply_merge(node, patch))
        return copy.deepcopy(self.nodes[name])

    async def delete_node(self, name: str, *, uid: str = "") -> bool:
        self.calls.append(("delete_node", name))
        return self.nodes.pop(name, None) is not None

    async def get_node(self, name: str) -> JSON | None:
        node = self.nodes.get(name)
        return copy.deepcopy(node) if node is not None else None

    async def list_pods_on_node(self, name: str) -> list[JSON]:
        """The pods of ``self.pods_api`` bound to the node (what a fresh list would say)."""
        self.calls.append(("list_pods", name))
        return [copy.deepcopy(p) for p in self.pods_api if p["spec"].get("nodeName") == name]

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        value = self.secrets.get((namespace, name), {}).get(key)
        if value is None:
            raise errors.NotFound(f"secret {namespace}/{name} has no key {key}", status=404)
        return value

    def add_node(
        self, name: str, *, ready: bool = True, labels: dict[str, str] | None = None
    ) -> JSON:
        node = {
            "metadata": {"name": name, "uid": f"node-{name}", "labels": labels or {}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
        }
        self.nodes[name] = self._bump(node)
        return node


class _StatusApi:
    """The two calls ``patch_status`` makes, on ``FakeKube``'s objects."""

    def __init__(self, kube: FakeKube) -> None:
        self._kube = kube

    async def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, **_: Any
    ) -> JSON:
        obj = self._kube.get_object(plural, namespace, name)
        if obj is None:
            raise errors.NotFound("not found", status=404)
        return obj

    async def patch_namespaced_custom_object_status(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: JSON, **_: Any
    ) -> JSON:
        key = (plural, namespace, name)
        current = self._kube.objects.get(key)
        if current is None:
            raise errors.NotFound("not found", status=404)
        if body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise errors.Conflict("conflict", status=409)
        self._kube.calls.append(("patch_status", plural, name))
        updated = apply_merge(current, {"status": body["status"]})
        self._kube.objects[key] = self._kube._bump(updated)
        return copy.deepcopy(updated)


__all__ = ["FakeKube", "apply_merge", "merge_patch", "raw_pod"]
