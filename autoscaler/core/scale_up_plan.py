"""The frozen result of ``plan_scale_up``: node counts per group and a decision per pod."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from autoscaler.core.reasons import Disposition, Reason, not_triggered_message, wording

__all__ = ["GroupReason", "GroupScaleUp", "PodDecision", "ScaleUpPlan"]


@dataclass(frozen=True, slots=True)
class GroupReason:
    """Why one group was not used for one pod."""

    group: str
    reason: Reason
    detail: str = ""
    """E.g. the resource (``cpu``) or the taint (``dedicated: gpu``)."""

    @property
    def message(self) -> str:
        """Cluster Autoscaler's wording."""
        return wording(self.reason, self.detail)


@dataclass(frozen=True, slots=True)
class PodDecision:
    """What the plan does for one pending pod, and why every other group was not used."""

    pod: str
    """The pod key, ``namespace/name``."""
    disposition: Disposition
    node: str | None = None
    """The registered or upcoming node it fits on, or its new node (``<group>-new-<i>``)."""
    group: str | None = None
    """The group of ``node`` when it is a new or upcoming node."""
    not_taken: tuple[GroupReason, ...] = ()
    """One entry per group not used for this pod, by group name; empty when it fits."""
    unsupported: str | None = None
    """The unsimulated constraint, for ``UnsupportedConstraint``."""

    @property
    def message(self) -> str:
        """A human-readable line; for ``NotTriggerScaleUp``, CA's aggregated wording.

        For ``TriggeredScaleUp`` use ``ScaleUpPlan.message``, which knows the group sizes.
        """
        if self.disposition is Disposition.FITS_EXISTING:
            return f"pod fits on node {self.node}"
        if self.disposition is Disposition.FITS_UPCOMING:
            return f"pod will fit on upcoming node {self.node} of group {self.group}"
        if self.disposition is Disposition.SCALE_UP:
            return f"pod triggered scale-up: [{self.group}]"
        return not_triggered_message((r.reason, r.detail) for r in self.not_taken)


@dataclass(frozen=True, slots=True)
class GroupScaleUp:
    """New nodes for one group."""

    group: str
    nodes: int
    size_before: int
    """Registered (or reported) plus upcoming nodes before this plan."""
    new_nodes: tuple[tuple[str, ...], ...]
    """Per new node, the keys of the pending pods it is for."""

    @property
    def size_after(self) -> int:
        """The group size this plan asks for."""
        return self.size_before + self.nodes

    @property
    def pods(self) -> tuple[str, ...]:
        """Keys of the pods the new nodes are for."""
        return tuple(key for node in self.new_nodes for key in node)

    @property
    def message(self) -> str:
        """CA's ``TriggeredScaleUp`` wording: ``pod triggered scale-up: [web 3->5]``."""
        return f"pod triggered scale-up: [{self.group} {self.size_before}->{self.size_after}]"


@dataclass(frozen=True, slots=True)
class ScaleUpPlan:
    """Scale-ups in the order chosen, and one decision per pending pod (by key)."""

    scale_ups: tuple[GroupScaleUp, ...]
    pods: tuple[PodDecision, ...]

    @property
    def node_counts(self) -> tuple[tuple[str, int], ...]:
        """(group, new nodes) for every group that grows, by group name."""
        return tuple(sorted((s.group, s.nodes) for s in self.scale_ups))

    @property
    def total_nodes(self) -> int:
        """New nodes over all groups."""
        return sum(s.nodes for s in self.scale_ups)

    def message(self, pod_key: str) -> str:
        """The Event message for a pod, with ``[group before->after]`` on a scale-up."""
        decision = self.decision(pod_key)
        for up in self.scale_ups:
            if decision.disposition is Disposition.SCALE_UP and up.group == decision.group:
                return up.message
        return decision.message

    def decision(self, pod_key: str) -> PodDecision:
        """Return the decision for ``pod_key``."""
        i = bisect.bisect_left(self.pods, pod_key, key=lambda d: d.pod)
        if i == len(self.pods) or self.pods[i].pod != pod_key:
            raise KeyError(pod_key)
        return self.pods[i]
