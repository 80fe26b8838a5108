"""The order in which scale-down considers its candidates, from named weights (review MED-3).

Every candidate has a cost; the cheapest is considered first and the node name breaks ties.
The cost is a weighted sum of features, each scaled to [0, 1], so that a weight says how
much its feature counts (the weights are the fields of ``CandidateWeights``):

==================  =================================================  ====================
feature             value                                              weight (default)
==================  =================================================  ====================
has pods            1 when pods must move, 0 for an empty node         ``non_empty`` (100)
utilization         requests utilization of the node                   ``utilization`` (10)
pods to move        its pods to move / the most any candidate moves    ``pods_to_move`` (5)
smaller group       1 - nodes left in its group / the largest group    ``smaller_group`` (1)
smaller datacenter  1 - nodes left in its datacenter / the largest one ``smaller_datacenter``
                                                                       (1)
recently unneeded   1 - time unneeded / the longest of the candidates  ``recently_unneeded``
                                                                       (0.1)
==================  =================================================  ====================

With the defaults, empty nodes come first (the other weights add up to less than 100), then
the least utilized with the fewest pods to move; among nodes alike in those, the group and
the datacenter with the most nodes left lose a node first (balanced scale-down), then the
node unneeded the longest. "Nodes left" counts the removals already chosen in this pass, so
removals alternate between equal groups instead of emptying one of them; the largest group
and datacenter, the most pods and the longest time are taken once, at the start of the pass.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields

from autoscaler.core.records import NodeRecord, PodRecord, lookup

__all__ = [
    "DATACENTER_LABEL",
    "ZONE_LABEL",
    "Candidate",
    "CandidateQueue",
    "CandidateWeights",
    "datacenter_of",
]

DATACENTER_LABEL = "autoscaler.vpsie.com/datacenter"
ZONE_LABEL = "topology.kubernetes.io/zone"


def datacenter_of(node: NodeRecord) -> str:
    """The node's datacenter: our label, else the well-known zone label, else ``""``."""
    return lookup(node.labels, DATACENTER_LABEL) or lookup(node.labels, ZONE_LABEL) or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateWeights:
    """How much each feature of a candidate counts in its cost; cheaper goes first.

    Every weight is finite and not negative; 0 turns a feature off.
    """

    non_empty: float = 100.0
    """Cost of having pods to move at all: empty nodes go before any node that needs a drain."""
    utilization: float = 10.0
    """Cost per unit of requests utilization: less utilized nodes go first."""
    pods_to_move: float = 5.0
    """Cost of the pods to move, relative to the candidate that moves the most: fewer
    evictions go first."""
    smaller_group: float = 1.0
    """Cost of being in a group with fewer nodes left than the largest: the group with the
    most nodes loses one first (balanced scale-down)."""
    smaller_datacenter: float = 1.0
    """The same for datacenters (``datacenter_of``)."""
    recently_unneeded: float = 0.1
    """Cost of having been unneeded for less time than the longest: older go first."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"weight {f.name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node that passed the node checks and the pod rules: it may go if its pods fit."""

    node: NodeRecord
    group: str
    utilization: float
    movable: tuple[PodRecord, ...]
    """Pods to evict and place elsewhere, by key."""
    unneeded_since: dt.datetime
    datacenter: str

    @property
    def name(self) -> str:
        """The node name."""
        return self.node.name


def _share(left: int, largest: int) -> float:
    return 1.0 - left / largest if largest > 0 else 0.0


class CandidateQueue:
    """Candidates by cost, cheapest first; the group and datacenter features follow removals.

    Removals only raise costs (fewer nodes left), so a lazy heap is exact: a popped entry
    whose cost went up since it was pushed is pushed again with its new cost.
    """

    def __init__(
        self,
        candidates: Sequence[Candidate],
        *,
        weights: CandidateWeights,
        group_sizes: Mapping[str, int],
        datacenter_sizes: Mapping[str, int],
        now: dt.datetime,
    ) -> None:
        self._weights = weights
        self._candidates = candidates
        self._group_left = dict(group_sizes)
        self._dc_left = dict(datacenter_sizes)
        self._largest_group = max(self._group_left.values(), default=0)
        self._largest_dc = max(self._dc_left.values(), default=0)
        self._most_pods = max((len(c.movable) for c in candidates), default=0)
        ages = [max((now - c.unneeded_since).total_seconds(), 0.0) for c in candidates]
        longest = max(ages, default=0.0)
        self._recency = [1.0 - age / longest if longest > 0 else 0.0 for age in ages]
        self._heap = [(self.cost(i), c.name, i) for i, c in enumerate(candidates)]
        heapq.heapify(self._heap)

    def cost(self, index: int) -> float:
        """The current cost of the candidate at ``index`` (see the module docstring)."""
        c, w = self._candidates[index], self._weights
        pods = len(c.movable) / self._most_pods if self._most_pods else 0.0
        return (
            w.non_empty * (1.0 if c.movable else 0.0)
            + w.utilization * c.utilization
            + w.pods_to_move * pods
            + w.smaller_group * _share(self._group_left.get(c.group, 0), self._largest_group)
            + w.smaller_datacenter * _share(self._dc_left.get(c.datacenter, 0), self._largest_dc)
            + w.recently_unneeded * self._recency[index]
        )

    def pop(self) -> Candidate | None:
        """Remove and return the cheapest candidate not returned yet, or ``None``."""
        heap = self._heap
        while heap:
            stored, name, index = heapq.heappop(heap)
            current = self.cost(index)
            if current > stored:
                heapq.heappush(heap, (current, name, index))
                continue
            return self._candidates[index]
        return None

    def removed(self, candidate: Candidate) -> None:
        """Count ``candidate``'s node as removed: its group and datacenter have one node less."""
        self._group_left[candidate.group] = self._group_left.get(candidate.group, 0) - 1
        self._dc_left[candidate.datacenter] = self._dc_left.get(candidate.datacenter, 0) - 1

    def in_order(self) -> Iterator[Candidate]:
        """Pop every remaining candidate, cheapest first, each when the caller asks for it."""
        while (found := self.pop()) is not None:
            yield found
