"""The planner's view of a node group: a template node, bounds, counts, price and state.

These are the minimal inputs the scale-up planner needs; the controllers fill them from
the NodeGroup resource and its status, and from the VPSieNodes in flight.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from autoscaler.core.records import Pairs, Resources, Taint

__all__ = ["GroupOption", "TemplateNode", "valid_price"]


def valid_price(price: Decimal | None) -> Decimal | None:
    """Return ``price`` if it is a finite, non-negative amount, else ``None`` (unknown).

    A NaN or negative price from a broken catalogue must not poison a total or win a
    comparison, so it is treated as unknown.
    """
    if price is None or not price.is_finite() or price < 0:
        return None
    return price


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateNode:
    """What one new node of the group offers before any pod lands on it."""

    allocatable: Resources
    """Capacity minus kube/system reserved and the eviction threshold, with a pod count.
    DaemonSet overhead is *not* subtracted here: the snapshot does that."""
    capacity: Resources | None = None
    """For cluster limits and least-waste; the allocatable stands in when unknown."""
    labels: Pairs = ()
    taints: tuple[Taint, ...] = ()

    @property
    def limit_capacity(self) -> Resources:
        """The capacity counted against cluster limits."""
        return self.capacity if self.capacity is not None else self.allocatable


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupOption:
    """A node group the planner may grow."""

    name: str
    template: TemplateNode
    max_size: int
    min_size: int = 0
    current: int = 0
    """Registered nodes."""
    upcoming: int = 0
    """Requested nodes not registered yet; they count against ``max_size`` and limits."""
    priority: int = 0
    monthly_price: Decimal | None = None
    """Price of one node per month; ``None`` when unknown."""
    scale_up_enabled: bool = True
    backoff_until: dt.datetime | None = None
    """After a failed scale-up the group is skipped until this instant."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a group needs a name")
        if min(self.min_size, self.max_size, self.current, self.upcoming) < 0:
            raise ValueError(f"group {self.name}: sizes and counts must not be negative")
        if self.min_size > self.max_size:
            raise ValueError(f"group {self.name}: min_size {self.min_size} > max {self.max_size}")

    @property
    def price(self) -> Decimal | None:
        """The monthly price per node if it is a usable number."""
        return valid_price(self.monthly_price)

    def in_backoff(self, now: dt.datetime) -> bool:
        """Whether the group is backed off at ``now``."""
        return self.backoff_until is not None and now < self.backoff_until
