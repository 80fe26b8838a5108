"""Why a pod did or did not trigger a scale-up, as machine-readable reasons (invariant 7).

``Reason`` values are what the plan, the NodeGroup status and the metric labels carry.
``CA_WORDING`` maps each one to Cluster Autoscaler's phrase where CA has one, so that a
``NotTriggerScaleUp`` event reads like CA's: ``pod didn't trigger scale-up: 2 max node group
size reached, 1 node(s) didn't match Pod's node affinity/selector``.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable

__all__ = [
    "CA_WORDING",
    "CLUSTER_LIMIT_REASONS",
    "Disposition",
    "Reason",
    "not_triggered_message",
    "wording",
]


class Disposition(enum.StrEnum):
    """What the plan does for one pending pod; the values are the pod Event reasons."""

    FITS_EXISTING = "FitsExistingNode"
    """Free capacity of a registered node holds it: no scale-up is needed."""
    FITS_UPCOMING = "FitsUpcomingNode"
    """A node already requested (not yet registered) will hold it."""
    SCALE_UP = "TriggeredScaleUp"
    """A node of a chosen group will be added for it."""
    NO_SCALE_UP = "NotTriggerScaleUp"
    """No option can help it now; the per-group reasons say why."""


class Reason(enum.StrEnum):
    """Why one node group was not used for one pod."""

    SCALE_UP_DISABLED = "ScaleUpDisabled"
    NOT_READY_FOR_SCALE_UP = "NotReadyForScaleUp"
    """The group is backed off after a failed scale-up."""
    MAX_NODES_REACHED = "MaxNodesReached"
    """The group is at ``maxNodes``, counting upcoming nodes."""
    MAX_NODES_PER_SCALE_UP = "MaxNodesPerScaleUpReached"
    TAINT_NOT_TOLERATED = "TaintNotTolerated"
    NODE_AFFINITY_MISMATCH = "NodeAffinityMismatch"
    """``nodeSelector`` or required node affinity does not match the template."""
    INSUFFICIENT_RESOURCES = "InsufficientResources"
    """The pod is larger than an empty node of the group (after DaemonSet overhead)."""
    HOST_PORT_CONFLICT = "HostPortConflict"
    """A DaemonSet pod of the template already uses a host port the pod needs."""
    POD_ANTI_AFFINITY = "PodAntiAffinityConflict"
    """A DaemonSet pod of the template and the pod exclude each other per hostname."""
    UNSUPPORTED_CONSTRAINT = "UnsupportedConstraint"
    """The pod uses a constraint the simulation does not model; it is never planned."""
    CLUSTER_NODES_LIMIT = "MaxNodesTotalReached"
    CLUSTER_CORES_LIMIT = "CpuLimitReached"
    CLUSTER_MEMORY_LIMIT = "MemoryLimitReached"
    CLUSTER_COST_LIMIT = "CostLimitReached"
    EXPANDER_CHOSE_OTHER = "ExpanderChoseOther"
    """The group could have helped, but the expander chose another group for this pod."""


CLUSTER_LIMIT_REASONS = frozenset(
    {
        Reason.CLUSTER_NODES_LIMIT,
        Reason.CLUSTER_CORES_LIMIT,
        Reason.CLUSTER_MEMORY_LIMIT,
        Reason.CLUSTER_COST_LIMIT,
    }
)

CA_WORDING: dict[Reason, str] = {
    Reason.SCALE_UP_DISABLED: "scale-up disabled for node group",
    Reason.NOT_READY_FOR_SCALE_UP: "in backoff after failed scale-up",
    Reason.MAX_NODES_REACHED: "max node group size reached",
    Reason.MAX_NODES_PER_SCALE_UP: "max nodes per scale-up reached",
    Reason.TAINT_NOT_TOLERATED: "node(s) had untolerated taint",
    Reason.NODE_AFFINITY_MISMATCH: "node(s) didn't match Pod's node affinity/selector",
    Reason.INSUFFICIENT_RESOURCES: "Insufficient resources",
    Reason.HOST_PORT_CONFLICT: "node(s) didn't have free ports for the requested pod ports",
    Reason.POD_ANTI_AFFINITY: "node(s) didn't match pod anti-affinity rules",
    Reason.UNSUPPORTED_CONSTRAINT: "pod has a constraint the autoscaler cannot simulate",
    Reason.CLUSTER_NODES_LIMIT: "max node total count already reached",
    Reason.CLUSTER_CORES_LIMIT: "max cluster cpu limit reached",
    Reason.CLUSTER_MEMORY_LIMIT: "max cluster memory limit reached",
    Reason.CLUSTER_COST_LIMIT: "max cluster monthly cost reached",
    Reason.EXPANDER_CHOSE_OTHER: "another node group was chosen",
}


def wording(reason: Reason, detail: str = "") -> str:
    """Return CA's phrase for ``reason``, with ``detail`` where CA shows one.

    ``Insufficient cpu`` and ``node(s) had untolerated taint {dedicated: gpu}`` carry the
    resource name and the taint as CA prints them.
    """
    if reason is Reason.INSUFFICIENT_RESOURCES and detail:
        return f"Insufficient {detail}"
    if reason is Reason.TAINT_NOT_TOLERATED and detail:
        return f"{CA_WORDING[reason]} {{{detail}}}"
    return CA_WORDING[reason]


def not_triggered_message(reasons: Iterable[tuple[Reason, str]]) -> str:
    """Return a ``NotTriggerScaleUp`` message: the count of groups per phrase, as CA does."""
    counts = Counter(wording(reason, detail) for reason, detail in reasons)
    parts = ", ".join(f"{n} {phrase}" for phrase, n in sorted(counts.items()))
    return f"pod didn't trigger scale-up: {parts}" if parts else "pod didn't trigger scale-up"
