"""Cache records of NodeGroups and VPSieNodes: the parsed model plus the metadata we act on.

The resource models (``autoscaler.core.resources``) keep only the metadata the planner
reads; the lifecycle controllers also need labels, annotations, finalizers and owner UIDs.
A projection never raises: an object the strict parser rejects is cached with ``error``
set (and ``resource`` ``None``), so one bad object cannot stop an informer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from autoscaler.controllers.keys import ADOPTED, ADOPTED_HOSTNAME, CREATE_ATTEMPT, KNOWN_WORKERS
from autoscaler.core.records import object_key
from autoscaler.core.resources import (
    InvalidResource,
    NodeGroup,
    Phase,
    VPSieNode,
    nodegroup_from_dict,
    vpsienode_from_dict,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Meta:
    """The metadata of a custom object the controllers read."""

    name: str
    namespace: str
    uid: str
    resource_version: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    finalizers: tuple[str, ...]
    owner_uids: tuple[str, ...]
    created: dt.datetime | None
    deleting: bool

    @property
    def key(self) -> str:
        """The store key, ``namespace/name``."""
        return object_key(self.namespace, self.name)


def _time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def meta_of(raw: Mapping[str, Any]) -> Meta:
    """The ``Meta`` of a raw object."""
    meta = raw.get("metadata") or {}
    return Meta(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        finalizers=tuple(meta.get("finalizers") or ()),
        owner_uids=tuple(str(o.get("uid", "")) for o in meta.get("ownerReferences") or ()),
        created=_time(meta.get("creationTimestamp")),
        deleting=meta.get("deletionTimestamp") is not None,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class NodeGroupRecord:
    """A cached NodeGroup."""

    meta: Meta
    resource: NodeGroup | None
    error: str | None = None

    @property
    def key(self) -> str:
        """The store key."""
        return self.meta.key


@dataclasses.dataclass(frozen=True, slots=True)
class VPSieNodeRecord:
    """A cached VPSieNode."""

    meta: Meta
    resource: VPSieNode | None
    error: str | None = None

    @property
    def key(self) -> str:
        """The store key."""
        return self.meta.key

    @property
    def group(self) -> str | None:
        """The owning NodeGroup's name."""
        return self.resource.spec.node_group if self.resource else None

    @property
    def phase(self) -> Phase:
        """The phase; an object without status is Pending."""
        if self.resource is None or self.resource.status.phase is None:
            return Phase.PENDING
        return self.resource.status.phase

    @property
    def identifier(self) -> str | None:
        """The VPSie identifier, once known (adopted workers: from the annotation)."""
        if self.resource is not None and self.resource.status.vpsie_identifier:
            return self.resource.status.vpsie_identifier
        return self.meta.annotations.get(ADOPTED) or None

    @property
    def hostname(self) -> str | None:
        """The worker's hostname: status, else spec (vm), else the adoption annotation."""
        if self.resource is None:
            return None
        status, spec = self.resource.status, self.resource.spec
        return (
            status.hostname or spec.hostname or self.meta.annotations.get(ADOPTED_HOSTNAME) or None
        )

    @property
    def adopted(self) -> bool:
        """Whether this VPSieNode adopted an existing worker (it never creates one)."""
        return ADOPTED in self.meta.annotations

    @property
    def attempt(self) -> str | None:
        """The create attempt id written before the create call."""
        return self.meta.annotations.get(CREATE_ATTEMPT) or None

    @property
    def known_workers(self) -> frozenset[str]:
        """The group's worker aliases just before this node's create call."""
        raw = self.meta.annotations.get(KNOWN_WORKERS, "")
        return frozenset(a for a in raw.split(",") if a)

    def aliases(self) -> frozenset[str]:
        """Identifier and lowercased hostname: what names this node's worker."""
        names = {self.identifier or "", (self.hostname or "").lower()}
        return frozenset(n for n in names if n)


def project_nodegroup(raw: Mapping[str, Any]) -> NodeGroupRecord:
    """Project a raw NodeGroup; an invalid one keeps its parse error."""
    meta = meta_of(raw)
    try:
        return NodeGroupRecord(meta, nodegroup_from_dict(raw))
    except InvalidResource as err:
        return NodeGroupRecord(meta, None, str(err))


def project_vpsienode(raw: Mapping[str, Any]) -> VPSieNodeRecord:
    """Project a raw VPSieNode; an invalid one keeps its parse error."""
    meta = meta_of(raw)
    try:
        return VPSieNodeRecord(meta, vpsienode_from_dict(raw))
    except InvalidResource as err:
        return VPSieNodeRecord(meta, None, str(err))


def vpsienodes_by_group(rec: VPSieNodeRecord) -> tuple[str, ...]:
    """Index VPSieNodes by ``namespace/group``."""
    group = rec.group
    return (object_key(rec.meta.namespace, group),) if group else ()


def vpsienodes_by_hostname(rec: VPSieNodeRecord) -> tuple[str, ...]:
    """Index VPSieNodes by lowercased hostname and Node name (how a Node finds its owner)."""
    names = {(rec.hostname or "").lower()}
    if rec.resource is not None and rec.resource.status.node_name:
        names.add(rec.resource.status.node_name)
    return tuple(sorted(n for n in names if n))
