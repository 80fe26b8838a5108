"""Small pure helpers of the scale-up controller: its policy, node view, failure labels and
the NodeGroup pending summaries."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from decimal import Decimal

from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.core.policy import ClusterLimits, Expander, ScaleUpPolicy
from autoscaler.core.reasons import Disposition
from autoscaler.core.records import NodeRecord
from autoscaler.core.scale_up_plan import ScaleUpPlan
from autoscaler.settings import ScalingSettings

__all__ = ["failure_reason", "pending_summaries", "policy_of", "settled"]

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
SUMMARY_CHARS = 1000


def settled(node: NodeRecord) -> NodeRecord:
    """A Ready node as it is about to be: without the not-ready taint.

    The node lifecycle controller removes that taint a moment after the Node turns Ready;
    in that moment the node would seem to offer nothing and its pods' room asked for again.
    """
    if not node.ready or not any(t.key == NOT_READY_TAINT for t in node.taints):
        return node
    return dataclasses.replace(
        node, taints=tuple(t for t in node.taints if t.key != NOT_READY_TAINT)
    )


def failure_reason(rec: VPSieNodeRecord) -> str:
    """The reason a member failed (``lastError`` starts with it), for the metric label."""
    error = rec.resource.status.last_error if rec.resource else None
    reason = (error or "").partition(":")[0].strip()
    return reason if reason.isalnum() else "Failed"


def policy_of(settings: ScalingSettings) -> ScaleUpPolicy:
    """The planner's policy from the settings (0 means no limit)."""
    s = settings
    return ScaleUpPolicy(
        expanders=tuple(Expander(n) for n in s.expander_chain),
        max_nodes_per_scale_up=s.max_nodes_per_scale_up,
        limits=ClusterLimits(
            max_nodes=s.max_nodes_total or None,
            max_cores=s.max_cores_total * 1000 if s.max_cores_total else None,
            max_memory=s.max_memory_total_gib * 2**30 if s.max_memory_total_gib else None,
            max_monthly_cost=Decimal(str(s.max_monthly_cost)) if s.max_monthly_cost else None,
        ),
    )


def pending_summaries(plan: ScaleUpPlan, groups: Sequence[str]) -> dict[str, str]:
    """Per group, how many pending pods it could not take and why (``pendingSummary``)."""
    whys: dict[str, collections.Counter[str]] = {name: collections.Counter() for name in groups}
    for d in plan.pods:
        if d.disposition is Disposition.NO_SCALE_UP:
            for r in d.not_taken:
                if r.group in whys:
                    whys[r.group][r.message] += 1
    return {
        name: (
            "; ".join(f"{n} pod(s): {why}" for why, n in counts.most_common())[:SUMMARY_CHARS]
            if counts
            else "no pending pods left out"
        )
        for name, counts in whys.items()
    }
