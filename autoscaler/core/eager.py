"""Acting on part of a plan before its batch window closes: ``full_nodes_only(plan, ...)``.

A long stream of pending pods (a scheduler marking a few thousand pods, a Deployment
scaled up in slow-start batches) keeps the batch window open up to its maximum, and the
first pods would wait that long. While a window stays open, a plan over the backlog so far
is cut down to the new nodes worth asking for now:

* *full* ones (a dimension used to at least ``threshold`` of what the node offers after
  DaemonSets): waiting cannot improve them, more pods can only need more nodes;
* nodes for a pod that is *due* (has waited as long as the caller allows): a node not
  full yet is filled by later pods of the stream, which fit the upcoming node's free room
  before any new node is planned.

The rest of the backlog waits for the window to close as usual. Pods are interchangeable
within their class, so the next plan places the remaining pods on the same terms.
"""

from __future__ import annotations

from collections.abc import Mapping

from autoscaler.core.records import PodRecord, Resources
from autoscaler.core.resources_math import as_pod_request, total
from autoscaler.core.scale_up_plan import GroupScaleUp, ScaleUpPlan
from autoscaler.core.snapshot import ClusterSnapshot

__all__ = ["fill", "full_nodes_only"]


def fill(used: Resources, free: Resources) -> float:
    """The largest fraction of ``free`` that ``used`` takes in CPU, memory or pods."""
    parts = [
        used.cpu_m / free.cpu_m if free.cpu_m > 0 else 0.0,
        used.memory / free.memory if free.memory > 0 else 0.0,
        used.pods / free.pods if free.pods > 0 else 0.0,
    ]
    return max(parts)


def full_nodes_only(
    plan: ScaleUpPlan,
    snapshot: ClusterSnapshot,
    pods: Mapping[str, PodRecord],
    *,
    threshold: float = 0.9,
    due: frozenset[str] = frozenset(),
) -> ScaleUpPlan:
    """Return ``plan`` with only its new nodes filled to ``threshold`` or holding a pod
    whose key is in ``due``, and their pods."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    ups: list[GroupScaleUp] = []
    kept: set[str] = set()
    for up in plan.scale_ups:
        free = snapshot.group(up.group).free
        full = tuple(
            node
            for node in up.new_nodes
            if not due.isdisjoint(node)
            or fill(total(as_pod_request(pods[k].requests) for k in node), free) >= threshold
        )
        if full:
            ups.append(GroupScaleUp(up.group, len(full), up.size_before, full))
            kept.update(k for node in full for k in node)
    return ScaleUpPlan(scale_ups=tuple(ups), pods=tuple(d for d in plan.pods if d.pod in kept))
