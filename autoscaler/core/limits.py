"""How many nodes a group may still add: its ``maxNodes`` and the cluster-wide limits.

Upcoming nodes count everywhere (invariant 2): against the group's ``maxNodes`` and against
the cluster's node, core, memory and monthly-cost ceilings, which are summed over node
capacity as CA's ``--cores-total``/``--memory-total`` are. A limit already exceeded leaves
no headroom; it never goes negative. With a cost ceiling set, a group whose price is
unknown gets no headroom: we cannot show that it keeps the ceiling (fail safe).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from autoscaler.core.policy import ClusterLimits
from autoscaler.core.reasons import Reason
from autoscaler.core.snapshot import ClusterSnapshot, GroupView

__all__ = ["ClusterUsage", "Headroom", "cluster_usage", "headroom", "within_limits"]

UNLIMITED = 1 << 62


@dataclass(frozen=True, slots=True)
class ClusterUsage:
    """What the cluster holds, registered and upcoming nodes together."""

    nodes: int
    cpu_m: int
    memory: int
    monthly_cost: Decimal

    def plus(self, view: GroupView, count: int) -> ClusterUsage:
        """Return the usage after adding ``count`` nodes of ``view``."""
        capacity = view.option.template.limit_capacity
        price = view.option.price or Decimal(0)
        return ClusterUsage(
            nodes=self.nodes + count,
            cpu_m=self.cpu_m + capacity.cpu_m * count,
            memory=self.memory + capacity.memory * count,
            monthly_cost=self.monthly_cost + price * count,
        )


def cluster_usage(snapshot: ClusterSnapshot) -> ClusterUsage:
    """Return the usage of ``snapshot``.

    Registered and upcoming nodes count by their capacity; nodes a group reports but the
    snapshot does not show yet count as template copies. The cost sums the price of every
    node of a group with a known price; other nodes (the control plane, say) cost nothing.
    """
    nodes = cpu_m = memory = 0
    for node in (*snapshot.nodes, *snapshot.upcoming):
        known = node.capacity.cpu_m or node.capacity.memory
        capacity = node.capacity if known else node.allocatable
        nodes, cpu_m, memory = nodes + 1, cpu_m + capacity.cpu_m, memory + capacity.memory
    usage = ClusterUsage(nodes=nodes, cpu_m=cpu_m, memory=memory, monthly_cost=Decimal(0))
    for view in snapshot.groups:
        usage = usage.plus(view, max(0, view.option.current - view.registered))
        seen = view.registered + view.option.upcoming
        price = view.option.price or Decimal(0)
        usage = replace(usage, monthly_cost=usage.monthly_cost + price * seen)
    return usage


@dataclass(frozen=True, slots=True)
class Headroom:
    """Nodes a group may add now, and the limit that stops it there."""

    nodes: int
    reason: Reason


def _per_node(limit: int | None, used: int, per_node: int) -> int:
    if limit is None or per_node <= 0:
        return UNLIMITED
    return max(0, limit - used) // per_node


def _by_cost(limit: Decimal | None, used: Decimal, price: Decimal | None) -> int:
    if limit is None:
        return UNLIMITED
    if price is None:
        return 0
    if price == 0:
        return UNLIMITED
    return max(0, int((limit - used) // price))


def headroom(
    view: GroupView, *, usage: ClusterUsage, limits: ClusterLimits, budget: int
) -> Headroom:
    """Return how many nodes ``view`` may add; ``budget`` is the per-scale-up rest.

    On a tie the first binding limit in this order is named: group size, per-scale-up
    cap, cluster nodes, cores, memory, cost.
    """
    capacity = view.option.template.limit_capacity
    max_cores_m = None if limits.max_cores is None else limits.max_cores * 1000
    caps = (
        (max(0, view.option.max_size - view.size), Reason.MAX_NODES_REACHED),
        (max(0, budget), Reason.MAX_NODES_PER_SCALE_UP),
        (_per_node(limits.max_nodes, usage.nodes, 1), Reason.CLUSTER_NODES_LIMIT),
        (_per_node(max_cores_m, usage.cpu_m, capacity.cpu_m), Reason.CLUSTER_CORES_LIMIT),
        (_per_node(limits.max_memory, usage.memory, capacity.memory), Reason.CLUSTER_MEMORY_LIMIT),
        (
            _by_cost(limits.max_monthly_cost, usage.monthly_cost, view.option.price),
            Reason.CLUSTER_COST_LIMIT,
        ),
    )
    nodes, reason = min(caps, key=lambda c: c[0])
    return Headroom(nodes, reason)


def within_limits(usage: ClusterUsage, limits: ClusterLimits) -> bool:
    """Whether ``usage`` keeps every cluster-wide limit."""
    return (
        (limits.max_nodes is None or usage.nodes <= limits.max_nodes)
        and (limits.max_cores is None or usage.cpu_m <= limits.max_cores * 1000)
        and (limits.max_memory is None or usage.memory <= limits.max_memory)
        and (limits.max_monthly_cost is None or usage.monthly_cost <= limits.max_monthly_cost)
    )
