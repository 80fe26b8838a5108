"""What the pod drainability rules decide: per pod an outcome and reason, per node a summary."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from autoscaler.core.records import PodRecord

__all__ = ["BlockReason", "NodeDrain", "Outcome", "PodDisposition", "VolumeFacts", "VolumeState"]


class Outcome(enum.Enum):
    """What scale-down does with one pod of a node it would remove."""

    SKIP = "skip"
    """Not moved and no obstacle."""
    MOVE = "move"
    """Evicted and placed elsewhere."""
    BLOCK = "block"
    """The node is kept."""
    WAIT = "wait"
    """The node is kept until the pod completes."""

    @property
    def keeps_node(self) -> bool:
        """Whether this outcome keeps the node (``BLOCK`` or ``WAIT``)."""
        return self in (Outcome.BLOCK, Outcome.WAIT)


class BlockReason(enum.StrEnum):
    """Why a pod keeps its node; CA's ``BlockingPodReason`` names where CA has one."""

    NOT_REPLICATED = "NotReplicated"
    UNMOVABLE_KUBE_SYSTEM_POD = "UnmovableKubeSystemPod"
    NOT_SAFE_TO_EVICT_ANNOTATION = "NotSafeToEvictAnnotation"
    """CA's ``safe-to-evict: "false"`` or Karpenter's ``do-not-disrupt``."""
    LOCAL_STORAGE_REQUESTED = "LocalStorageRequested"
    """An emptyDir on disk, a hostPath, or a claim bound to a local or node-pinned volume."""
    VOLUME_UNKNOWN = "VolumeUnknown"
    """A claim whose PVC or PV is not in the caches (ours: review MED-2)."""
    NOT_ENOUGH_PDB = "NotEnoughPdb"
    MULTIPLE_PDBS = "MultiplePdbs"
    """More than one PDB selects the pod, which the Eviction API refuses (ours)."""
    MALFORMED_ANNOTATION = "MalformedAnnotation"
    """An annotation value we read does not parse (ours: review SEC-1)."""
    WAIT_FOR_COMPLETION = "WaitForCompletion"
    """``safe-to-evict: "on-completion"`` (the ``WAIT`` outcome; CA's outcome name)."""


class VolumeState(enum.Enum):
    """What the caches say about one PVC claim of a pod."""

    BOUND_NETWORK = "bound-network"
    """Bound to a volume that can follow the pod to another node."""
    BOUND_LOCAL = "bound-local"
    """Bound to a ``local`` or ``hostPath`` PV, or one whose node affinity pins it."""
    UNBOUND = "unbound"
    """Not bound yet: no data lives on this node; it binds where the pod lands."""


VolumeFacts = Mapping[str, VolumeState]
"""Claim key ``namespace/claim`` → state. A claim whose PVC, or whose bound PV, is not in the
caches is left out, and a pod using it blocks with ``VolumeUnknown``."""


@dataclass(frozen=True, slots=True)
class PodDisposition:
    """The decision for one pod: outcome, reason (``BLOCK``/``WAIT`` only), why, which rule."""

    outcome: Outcome
    reason: BlockReason | None
    message: str
    rule: str
    """Name of the deciding rule (one of ``RULES``), or ``"default"`` when none decided."""


@dataclass(frozen=True, slots=True)
class NodeDrain:
    """The decision for one node's pods: which move, which one keeps the node, each pod's."""

    movable: tuple[PodRecord, ...]
    """Pods to evict and place elsewhere, in input order."""
    blocking_pod: PodRecord | None
    """The pod that keeps the node: the first ``BLOCK``, else the first ``WAIT``; or ``None``."""
    blocking: PodDisposition | None
    """Its disposition."""
    dispositions: tuple[PodDisposition, ...]
    """One per input pod, in input order, PDB budgets of the node applied."""

    @property
    def blocked(self) -> bool:
        """Whether some pod keeps the node."""
        return self.blocking is not None

    @property
    def reason(self) -> BlockReason | None:
        """The reason of the pod that keeps the node, or ``None``."""
        return self.blocking.reason if self.blocking is not None else None
