"""The raw JSON shapes we read from the API server, as ``TypedDict``s (kopf ``bodies.py``).

Only the fields the projection reads are declared; everything is optional (``total=False``)
because the server omits empty fields. These types describe ``orjson.loads`` output and
exist for the type checker only: nothing is validated or copied into them.
"""

from __future__ import annotations

from typing import Any, TypedDict


class OwnerReferenceBody(TypedDict, total=False):
    """``metav1.OwnerReference``."""

    kind: str
    name: str
    uid: str
    controller: bool


class ObjectMetaBody(TypedDict, total=False):
    """``metav1.ObjectMeta``."""

    namespace: str
    name: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReferenceBody]


class RequirementBody(TypedDict, total=False):
    """A label or node selector requirement (``key``, ``operator``, ``values``)."""

    key: str
    operator: str
    values: list[str]


class LabelSelectorBody(TypedDict, total=False):
    """``metav1.LabelSelector``."""

    matchLabels: dict[str, str]
    matchExpressions: list[RequirementBody]


class ResourceRequirementsBody(TypedDict, total=False):
    """``core/v1.ResourceRequirements``; values are quantity strings."""

    requests: dict[str, str]
    limits: dict[str, str]


class ContainerPortBody(TypedDict, total=False):
    """``core/v1.ContainerPort``; only host ports matter to the simulation."""

    containerPort: int
    hostPort: int
    hostIP: str
    protocol: str


class ContainerBody(TypedDict, total=False):
    """``core/v1.Container`` (init containers may set ``restartPolicy: Always``)."""

    name: str
    resources: ResourceRequirementsBody
    restartPolicy: str
    ports: list[ContainerPortBody]


class TolerationBody(TypedDict, total=False):
    """``core/v1.Toleration``."""

    key: str
    operator: str
    value: str
    effect: str
    tolerationSeconds: int


class VolumeBody(TypedDict, total=False):
    """``core/v1.Volume``: only the sources we classify."""

    name: str
    persistentVolumeClaim: dict[str, Any]
    emptyDir: dict[str, Any]
    hostPath: dict[str, Any]
    ephemeral: dict[str, Any]


class NodeSelectorTermBody(TypedDict, total=False):
    """``core/v1.NodeSelectorTerm``."""

    matchExpressions: list[RequirementBody]
    matchFields: list[RequirementBody]


class PodAffinityTermBody(TypedDict, total=False):
    """``core/v1.PodAffinityTerm``."""

    labelSelector: LabelSelectorBody
    namespaces: list[str]
    namespaceSelector: LabelSelectorBody
    topologyKey: str


class AffinityBody(TypedDict, total=False):
    """``core/v1.Affinity``; only the required parts are projected."""

    nodeAffinity: dict[str, Any]
    podAffinity: dict[str, Any]
    podAntiAffinity: dict[str, Any]


class TopologySpreadConstraintBody(TypedDict, total=False):
    """``core/v1.TopologySpreadConstraint``."""

    maxSkew: int
    topologyKey: str
    whenUnsatisfiable: str
    labelSelector: LabelSelectorBody
    minDomains: int


class PodSpecBody(TypedDict, total=False):
    """``core/v1.PodSpec``."""

    nodeName: str
    containers: list[ContainerBody]
    initContainers: list[ContainerBody]
    overhead: dict[str, str]
    priority: int
    tolerations: list[TolerationBody]
    nodeSelector: dict[str, str]
    affinity: AffinityBody
    topologySpreadConstraints: list[TopologySpreadConstraintBody]
    volumes: list[VolumeBody]
    terminationGracePeriodSeconds: int


class ConditionBody(TypedDict, total=False):
    """A status condition (pods and nodes)."""

    type: str
    status: str
    reason: str
    lastTransitionTime: str


class PodStatusBody(TypedDict, total=False):
    """``core/v1.PodStatus``."""

    phase: str
    conditions: list[ConditionBody]


class PodBody(TypedDict, total=False):
    """``core/v1.Pod``."""

    metadata: ObjectMetaBody
    spec: PodSpecBody
    status: PodStatusBody


class TaintBody(TypedDict, total=False):
    """``core/v1.Taint``."""

    key: str
    value: str
    effect: str


class NodeSpecBody(TypedDict, total=False):
    """``core/v1.NodeSpec``."""

    unschedulable: bool
    taints: list[TaintBody]
    providerID: str


class NodeStatusBody(TypedDict, total=False):
    """``core/v1.NodeStatus``."""

    allocatable: dict[str, str]
    capacity: dict[str, str]
    conditions: list[ConditionBody]


class NodeBody(TypedDict, total=False):
    """``core/v1.Node``."""

    metadata: ObjectMetaBody
    spec: NodeSpecBody
    status: NodeStatusBody


class PdbSpecBody(TypedDict, total=False):
    """``policy/v1.PodDisruptionBudgetSpec``; the budgets are int or percent strings."""

    selector: LabelSelectorBody
    minAvailable: int | str
    maxUnavailable: int | str
    unhealthyPodEvictionPolicy: str


class PdbStatusBody(TypedDict, total=False):
    """``policy/v1.PodDisruptionBudgetStatus``."""

    observedGeneration: int
    disruptionsAllowed: int
    currentHealthy: int
    desiredHealthy: int
    expectedPods: int


class PdbBody(TypedDict, total=False):
    """``policy/v1.PodDisruptionBudget``."""

    metadata: ObjectMetaBody
    spec: PdbSpecBody
    status: PdbStatusBody


class WatchEventBody(TypedDict, total=False):
    """One line of a watch stream: ``{"type": ..., "object": ...}``."""

    type: str
    object: dict[str, Any]


class PvcSpecBody(TypedDict, total=False):
    """``core/v1.PersistentVolumeClaimSpec``."""

    volumeName: str
    storageClassName: str


class PvcStatusBody(TypedDict, total=False):
    """``core/v1.PersistentVolumeClaimStatus``."""

    phase: str


class PvcBody(TypedDict, total=False):
    """``core/v1.PersistentVolumeClaim``."""

    metadata: ObjectMetaBody
    spec: PvcSpecBody
    status: PvcStatusBody


class ObjectReferenceBody(TypedDict, total=False):
    """``core/v1.ObjectReference`` (a PV's ``claimRef``)."""

    namespace: str
    name: str
    uid: str


class VolumeNodeAffinityBody(TypedDict, total=False):
    """``core/v1.VolumeNodeAffinity``; ``required`` is a ``NodeSelector``."""

    required: dict[str, Any]


class PvSpecBody(TypedDict, total=False):
    """``core/v1.PersistentVolumeSpec``: only what tells where the data lives."""

    claimRef: ObjectReferenceBody
    local: dict[str, Any]
    hostPath: dict[str, Any]
    nodeAffinity: VolumeNodeAffinityBody
    storageClassName: str


class PvStatusBody(TypedDict, total=False):
    """``core/v1.PersistentVolumeStatus``."""

    phase: str


class PvBody(TypedDict, total=False):
    """``core/v1.PersistentVolume``."""

    metadata: ObjectMetaBody
    spec: PvSpecBody
    status: PvStatusBody
