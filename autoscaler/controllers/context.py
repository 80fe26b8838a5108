"""What every lifecycle controller shares: caches, the provider, writers, clock and settings.

The caches (informer stores) are the truth a reconcile starts from; ``handles`` (create
handles by VPSieNode UID) is only a memory of this process and may be empty after a
restart, which the recovery path handles. ``spec_of`` caches each NodeGroup's provider
spec per (UID, generation).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from autoscaler.clock import Clock
from autoscaler.controllers.groups import group_spec
from autoscaler.controllers.keys import NODEGROUPS, VPSIENODES
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.core.records import NodeRecord, PodRecord, object_key
from autoscaler.core.resources import API_VERSION, ProviderMode
from autoscaler.kube.events import EventRecorder, EventType, ObjectRef
from autoscaler.kube.status import Mutate, StatusPatchResult
from autoscaler.kube.store import Store
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.settings import LifecycleSettings
from autoscaler.vpsie.provider import CreateHandle, GroupSpec, Provider, VkeGroupSpec, VmGroupSpec

JSON = dict[str, Any]


class Objects(Protocol):
    """The Kubernetes writes the controllers make (``kube.objects.KubeObjects``)."""

    async def create(self, plural: str, namespace: str, body: JSON) -> JSON:
        """Create a custom object."""

    async def patch(self, plural: str, namespace: str, name: str, patch: JSON) -> JSON:
        """Merge-patch a custom object."""

    async def delete(self, plural: str, namespace: str, name: str, *, uid: str = "") -> bool:
        """Delete a custom object; ``False`` if already gone."""

    async def remove_finalizer(
        self, plural: str, namespace: str, name: str, finalizer: str, *, attempts: int = 5
    ) -> bool:
        """Drop a finalizer."""

    async def patch_status(
        self, plural: str, namespace: str, name: str, mutate: Mutate
    ) -> StatusPatchResult:
        """Write status (single writer, 409 retried)."""

    async def patch_node(self, name: str, patch: JSON) -> JSON:
        """Merge-patch a Node."""

    async def delete_node(self, name: str, *, uid: str = "") -> bool:
        """Delete a Node; ``False`` if already gone."""

    async def get_node(self, name: str) -> JSON | None:
        """Read a Node; ``None`` if there is none."""

    async def list_pods_on_node(self, name: str) -> list[JSON]:
        """Every pod bound to a Node, read from the API server."""

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        """One decoded key of a Secret."""


@dataclasses.dataclass(frozen=True, slots=True)
class Caches:
    """The informer stores the controllers read."""

    nodegroups: Store[NodeGroupRecord]
    vpsienodes: Store[VPSieNodeRecord]
    nodes: Store[NodeRecord]
    pods: Store[PodRecord]


@dataclasses.dataclass
class Context:
    """Dependencies of the lifecycle controllers."""

    objects: Objects
    provider: Provider
    events: EventRecorder
    metrics: LifecycleMetrics
    clock: Clock
    settings: LifecycleSettings
    caches: Caches
    namespace: str
    cluster: str | None = None
    unknown_outcome_window_s: float = 180.0
    handles: dict[str, CreateHandle] = dataclasses.field(default_factory=dict)
    on_create_call: Callable[[str], None] | None = None
    """Told the VPSieNode's name just before its VPSie create call (decision latency)."""
    drain_before_delete: Callable[[VPSieNodeRecord], Awaitable[bool]] | None = None
    """Asked before a deleted VPSieNode's worker is deleted: ``True`` once its Node holds no
    pod to move (the drain pool drains it meanwhile); ``None``: no drain."""
    _specs: dict[tuple[str, int], GroupSpec] = dataclasses.field(default_factory=dict)

    def now(self) -> dt.datetime:
        """Wall-clock now (UTC)."""
        return self.clock.now()

    def group_of(self, rec: VPSieNodeRecord) -> NodeGroupRecord | None:
        """The VPSieNode's NodeGroup from the cache, if it is there and owns it."""
        if rec.group is None:
            return None
        group = self.caches.nodegroups.get(object_key(rec.meta.namespace, rec.group))
        if group is None or (rec.meta.owner_uids and group.meta.uid not in rec.meta.owner_uids):
            return None
        return group

    def members(self, namespace: str, group: str) -> list[VPSieNodeRecord]:
        """Every cached VPSieNode of a group."""
        return self.caches.vpsienodes.by_index("by_group", object_key(namespace, group))

    async def spec_of(self, group: NodeGroupRecord) -> GroupSpec:
        """The provider spec of a valid NodeGroup (``GroupSpecError`` on a mismatch)."""
        assert group.resource is not None
        key = (group.meta.uid, group.resource.metadata.generation)
        spec = self._specs.get(key)
        if spec is None:
            spec = await group_spec(
                group.resource,
                mode=self.provider.mode,
                cluster=self.cluster,
                secrets=self.objects,
            )
            self._specs = {k: v for k, v in self._specs.items() if k[0] != key[0]}
            self._specs[key] = spec
        return spec

    def fallback_spec(self, rec: VPSieNodeRecord) -> GroupSpec:
        """A spec for deleting the worker of a VPSieNode whose NodeGroup is gone."""
        assert rec.resource is not None
        for (_, _), spec in self._specs.items():
            if spec.name == rec.group:
                return spec
        if rec.resource.spec.mode == ProviderMode.VM:
            plan = rec.resource.spec.plan_identifier or ""
            return VmGroupSpec(name=rec.resource.spec.node_group, plan_identifier=plan)
        return VkeGroupSpec(name=rec.resource.spec.node_group)

    async def event(
        self, ref: ObjectRef, reason: str, message: str, *, warning: bool = False
    ) -> None:
        """Record an Event (best effort)."""
        kind = EventType.WARNING if warning else EventType.NORMAL
        await self.events.record(ref, type=kind, reason=reason, message=message)


def vpsienode_ref(rec: VPSieNodeRecord) -> ObjectRef:
    """The Event reference of a VPSieNode."""
    m = rec.meta
    return ObjectRef(API_VERSION, "VPSieNode", m.name, m.namespace, m.uid)


def nodegroup_ref(rec: NodeGroupRecord) -> ObjectRef:
    """The Event reference of a NodeGroup."""
    m = rec.meta
    return ObjectRef(API_VERSION, "NodeGroup", m.name, m.namespace, m.uid)


def node_ref(node: NodeRecord) -> ObjectRef:
    """The Event reference of a Node."""
    return ObjectRef("v1", "Node", node.name, "", node.uid)


__all__ = [
    "NODEGROUPS",
    "VPSIENODES",
    "Caches",
    "Context",
    "Objects",
    "node_ref",
    "nodegroup_ref",
    "vpsienode_ref",
]
