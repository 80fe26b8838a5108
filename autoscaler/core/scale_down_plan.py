"""What ``plan_scale_down`` is told to do (``ScaleDownPolicy``) and what it returns.

A ``ScaleDownPlan`` is frozen: the nodes to delete at once (``empty``), the nodes to drain
(``drain``) with a simulated destination for every pod that must move, a reason for every
managed node that stays (``kept``), the ``unneeded_since`` map the shell keeps for the next
pass, and per-group counts of the reasons (status summaries, the
``scale_down_blocked_total{nodegroup,reason}`` metric).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from autoscaler.core.drainability import BlockReason
from autoscaler.core.node_eligibility import KeptReason, ScaleDownNodePolicy
from autoscaler.core.records import PodRecord
from autoscaler.core.scale_down_order import CandidateWeights

__all__ = ["Kept", "PodMove", "Removal", "ScaleDownPlan", "ScaleDownPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleDownPolicy:
    """Cluster-wide choices of the planner; per-group ones are in ``GroupState``."""

    max_empty_bulk_delete: int = 10
    """Nodes with no pod to move that one pass deletes at most (CA's
    ``--max-empty-bulk-delete``)."""
    max_drain_parallelism: int = 1
    """Nodes with pods to move drained at the same time, those in progress included (CA's
    ``--max-drain-parallelism``)."""
    weights: CandidateWeights = field(default_factory=CandidateWeights)
    """The order in which candidates are considered."""
    node: ScaleDownNodePolicy = field(default_factory=ScaleDownNodePolicy)
    """The choices of the node checks."""

    def __post_init__(self) -> None:
        if self.max_empty_bulk_delete < 0 or self.max_drain_parallelism < 0:
            raise ValueError("scale-down budgets must not be negative")


@dataclass(frozen=True, slots=True)
class PodMove:
    """One pod to evict and the node the simulation found for it (a hint, not a binding)."""

    pod: PodRecord
    destination: str

    @property
    def key(self) -> str:
        """The pod's key, ``namespace/name``."""
        return self.pod.key


@dataclass(frozen=True, slots=True)
class Removal:
    """A node to remove, its group, and where each of its pods that must move can go."""

    node: str
    group: str
    utilization: float
    """Its requests utilization (the larger of the CPU and memory fractions)."""
    pods: tuple[PodMove, ...] = ()
    """The pods to evict, by key; empty for a node deleted at once."""


@dataclass(frozen=True, slots=True)
class Kept:
    """A managed node that stays this pass, and the first reason it stays."""

    node: str
    group: str
    """The node's group label (possibly a group that is not known)."""
    reason: KeptReason
    message: str
    blocking_pod: str | None = None
    """The key of the pod that keeps the node, when one does."""
    pod_reason: BlockReason | None = None
    """That pod's reason (CA's ``BlockingPodReason``), when a pod rule decided."""


@dataclass(frozen=True, slots=True)
class ScaleDownPlan:
    """The outcome of one scale-down pass; immutable and deterministic for its inputs."""

    empty: tuple[Removal, ...]
    """Nodes with no pod to move, in the order chosen."""
    drain: tuple[Removal, ...]
    """Nodes whose pods must move first, in the order chosen."""
    kept: tuple[Kept, ...]
    """Every managed node that stays (not those already in progress), by node name."""
    unneeded_since: Mapping[str, dt.datetime]
    """Since when each node has been under its group's threshold: input of the next pass."""
    kept_counts: Mapping[str, Mapping[KeptReason, int]]
    """Per group, how many nodes each reason keeps."""

    @property
    def removals(self) -> tuple[Removal, ...]:
        """Every node to remove: the empty ones, then the drained ones."""
        return self.empty + self.drain

    def kept_node(self, name: str) -> Kept | None:
        """The entry of node ``name`` among ``kept``, or ``None``."""
        return next((k for k in self.kept if k.node == name), None)
