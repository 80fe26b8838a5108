"""Slim, frozen records of the Kubernetes objects we cache (architecture §4, I10).

A record keeps only what the autoscaler reads, in plain immutable values: integer
quantities (millicores, bytes), tuples instead of lists, ``(key, value)`` pairs instead of
dicts. Equal sub-values (label sets, tolerations, requests) are shared between records by
the projection, so a cached pod costs well under 1.5 KiB. Preferred (soft) affinity terms
are dropped: they never decide whether a pod fits.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

Pairs = tuple[tuple[str, str], ...]
"""A string map as ``(key, value)`` pairs in the server's (sorted) order."""

NODE_GROUP_LABEL = "autoscaler.vpsie.com/nodegroup"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def lookup(pairs: Pairs, key: str) -> str | None:
    """Return the value for ``key`` in ``pairs``, or ``None``."""
    for k, v in pairs:
        if k == key:
            return v
    return None


def object_key(namespace: str, name: str) -> str:
    """Return the store key: ``namespace/name``, or ``name`` when cluster-scoped (I8)."""
    return f"{namespace}/{name}" if namespace else name


@dataclass(frozen=True, slots=True)
class Resources:
    """Amounts of resources as integers: millicores, bytes, a pod count, extended units."""

    cpu_m: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    pods: int = 0
    extended: tuple[tuple[str, int], ...] = ()
    """Other resources (``nvidia.com/gpu``, hugepages) as ``(name, integer value)``."""


@dataclass(frozen=True, slots=True)
class Toleration:
    """``core/v1.Toleration``; ``seconds`` is ``tolerationSeconds`` (``None``: forever)."""

    key: str
    operator: str
    value: str
    effect: str
    seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Taint:
    """``core/v1.Taint``."""

    key: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class Requirement:
    """A selector requirement: ``key``, ``operator`` (In, NotIn, Exists, ...), ``values``."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """``metav1.LabelSelector``; an empty selector matches everything."""

    match_labels: Pairs = ()
    match_expressions: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """One term of required node affinity; a node must match all of its requirements."""

    match_expressions: tuple[Requirement, ...] = ()
    match_fields: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True)
class PodAffinityTerm:
    """A required pod (anti-)affinity term."""

    topology_key: str
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None


@dataclass(frozen=True, slots=True)
class TopologySpread:
    """A topology spread constraint (``when_unsatisfiable`` DoNotSchedule or ScheduleAnyway)."""

    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    label_selector: LabelSelector | None = None
    min_domains: int | None = None


@dataclass(frozen=True, slots=True)
class Affinity:
    """The hard scheduling constraints beyond ``nodeSelector``; most pods have none."""

    node_terms: tuple[NodeSelectorTerm, ...] = ()
    """Required node affinity: the terms are ORed; empty means no constraint."""
    pod_affinity: tuple[PodAffinityTerm, ...] = ()
    pod_anti_affinity: tuple[PodAffinityTerm, ...] = ()
    topology_spread: tuple[TopologySpread, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class HostPort:
    """A ``hostPort`` a container asks for."""

    port: int
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True, slots=True)
class PodRecord:
    """What we read of a Pod."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    node_name: str | None
    phase: str
    requests: Resources
    """Effective requests: containers summed, init containers by the max rule, overhead."""
    owner_kind: str | None
    owner_name: str | None
    priority: int
    tolerations: tuple[Toleration, ...]
    node_selector: Pairs
    affinity: Affinity | None
    labels: Pairs
    annotations: Pairs
    """Only the annotations the autoscaler reads; over-long values are replaced by a marker."""
    pvc_claims: tuple[str, ...]
    local_volumes: tuple[str, ...]
    """Names of ``emptyDir`` (not memory-backed) and ``hostPath`` volumes."""
    unschedulable: bool
    """``PodScheduled=False`` with reason ``Unschedulable``."""
    deletion_timestamp: dt.datetime | None
    termination_grace_seconds: int
    unschedulable_since: dt.datetime | None = None
    """``lastTransitionTime`` of the ``Unschedulable`` condition (whole seconds)."""
    host_ports: tuple[HostPort, ...] = ()
    """Host ports its containers ask for, sorted."""

    @property
    def key(self) -> str:
        """The store key, ``namespace/name``."""
        return object_key(self.namespace, self.name)

    @property
    def is_daemonset(self) -> bool:
        """Whether a DaemonSet controls this pod."""
        return self.owner_kind == "DaemonSet"

    @property
    def is_mirror(self) -> bool:
        """Whether this is the API mirror of a static pod (kubelet-managed)."""
        return lookup(self.annotations, MIRROR_ANNOTATION) is not None


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What we read of a Node."""

    name: str
    uid: str
    resource_version: str
    labels: Pairs
    taints: tuple[Taint, ...]
    allocatable: Resources
    capacity: Resources
    unschedulable: bool
    ready: bool
    created: dt.datetime | None
    provider_id: str | None
    annotations: Pairs
    deletion_timestamp: dt.datetime | None = None

    @property
    def namespace(self) -> str:
        """Nodes are cluster-scoped: always ``""``."""
        return ""

    @property
    def key(self) -> str:
        """The store key, the node's name."""
        return self.name

    @property
    def group(self) -> str | None:
        """The node group from the ``autoscaler.vpsie.com/nodegroup`` label, if any."""
        return lookup(self.labels, NODE_GROUP_LABEL)


@dataclass(frozen=True, slots=True)
class PdbRecord:
    """What we read of a PodDisruptionBudget; budgets stay ``int`` or ``"50%"``."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    selector: LabelSelector | None
    min_available: int | str | None
    max_unavailable: int | str | None
    disruptions_allowed: int
    current_healthy: int
    desired_healthy: int
    expected_pods: int
    generation: int
    observed_generation: int
    unhealthy_pod_eviction_policy: str | None = None

    @property
    def key(self) -> str:
        """The store key, ``namespace/name``."""
        return object_key(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class PvcRecord:
    """What we read of a PersistentVolumeClaim."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    volume_name: str | None
    """``spec.volumeName``: the PV it is (or is being) bound to; ``None`` while unbound."""
    phase: str
    """``status.phase``: ``Pending``, ``Bound`` or ``Lost`` (``""`` if the server sent none)."""
    storage_class: str | None
    """``spec.storageClassName``, if set."""

    @property
    def key(self) -> str:
        """The store key, ``namespace/name`` (also the claim key of ``VolumeFacts``)."""
        return object_key(self.namespace, self.name)


class PvKind(enum.StrEnum):
    """Where a PersistentVolume's data lives, as far as moving a pod is concerned."""

    LOCAL = "local"
    """A ``local`` PV, or any PV whose required node affinity pins it to some nodes."""
    HOST_PATH = "hostPath"
    """A ``hostPath`` PV: the data is a directory on one node."""
    NETWORK = "network"
    """Any other PV (CSI, NFS, ...) without node affinity: the data can follow the pod."""


@dataclass(frozen=True, slots=True)
class PvRecord:
    """What we read of a PersistentVolume (cluster-scoped).

    ``kind`` says whether the data can follow a pod: ``HOST_PATH`` for ``spec.hostPath``,
    ``LOCAL`` for ``spec.local`` *or* for any PV with required node affinity
    (``spec.nodeAffinity.required``): a zonal or node-local CSI disk is reachable only from
    the nodes its affinity names, which we cannot follow, so it counts as local. Everything
    else is ``NETWORK``. This is all the scale-down rules need: the StorageClass adds
    nothing the PV does not already say, so StorageClasses are not cached.
    """

    name: str
    uid: str
    resource_version: str
    claim: str | None
    """``spec.claimRef`` as ``namespace/name``, or ``None`` when unclaimed."""
    kind: PvKind
    phase: str
    """``status.phase``: ``Available``, ``Bound``, ``Released``, ``Failed`` (or ``""``)."""

    @property
    def namespace(self) -> str:
        """PersistentVolumes are cluster-scoped: always ``""``."""
        return ""

    @property
    def key(self) -> str:
        """The store key, the volume's name."""
        return self.name

    @property
    def is_local(self) -> bool:
        """Whether the data lives on one node (``local``, ``hostPath`` or node-pinned)."""
        return self.kind is not PvKind.NETWORK
