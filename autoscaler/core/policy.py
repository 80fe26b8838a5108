"""The scale-up policy: expander chain, the per-scale-up node cap and cluster-wide limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["DEFAULT_EXPANDERS", "ClusterLimits", "Expander", "ScaleUpPolicy"]


class Expander(enum.StrEnum):
    """A way to choose among the groups that can help; Cluster Autoscaler's names."""

    PRIORITY = "priority"
    """Keep the groups with the highest ``priority``."""
    LEAST_WASTE = "least-waste"
    """Keep the groups leaving the least idle CPU + memory fraction of the new nodes."""
    PRICE = "price"
    """Keep the groups with the lowest monthly price per pod helped."""
    MOST_PODS = "most-pods"
    """Keep the groups that help the most pending pods."""
    LEAST_NODES = "least-nodes"
    """Keep the groups that need the fewest new nodes."""


DEFAULT_EXPANDERS = (Expander.PRIORITY, Expander.LEAST_WASTE, Expander.PRICE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterLimits:
    """Cluster-wide ceilings (``None``: no limit), counting registered and upcoming nodes.

    Cores and memory are summed over node *capacity*, as CA's ``--cores-total`` and
    ``--memory-total`` are; the monthly cost over the prices of the groups' nodes.
    """

    max_nodes: int | None = None
    max_cores: int | None = None
    max_memory: int | None = None
    """Bytes."""
    max_monthly_cost: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("max_nodes", "max_cores", "max_memory"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        cost = self.max_monthly_cost
        if cost is not None and (not cost.is_finite() or cost < 0):
            raise ValueError(f"max_monthly_cost must be a finite, non-negative amount: {cost}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleUpPolicy:
    """How ``plan_scale_up`` chooses and how far it may go in one plan."""

    expanders: tuple[Expander, ...] = DEFAULT_EXPANDERS
    """Applied in order, each filtering the survivors of the one before; ties are broken by
    group name, so a plan never depends on chance (CA breaks them at random)."""
    max_nodes_per_scale_up: int = 1000
    """New nodes in one plan, over all groups (CA's ``--max-nodes-per-scaleup``)."""
    limits: ClusterLimits = field(default_factory=ClusterLimits)

    def __post_init__(self) -> None:
        if self.max_nodes_per_scale_up < 0:
            raise ValueError("max_nodes_per_scale_up must not be negative")
        if len(set(self.expanders)) != len(self.expanders):
            raise ValueError(f"an expander is listed twice: {self.expanders}")
