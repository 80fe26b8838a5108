"""Expanders: which of the groups that can help is grown (CA's ``--expander``).

Each expander keeps the best of the candidates it is given; a chain applies them in
order, each to the survivors of the one before, as ``--expander=priority,least-waste``
does. Whatever tie is left is broken by group name, never at random. Scores are exact
(``Fraction``): two runs, or two machines, always agree.

- ``priority``: the highest group priority.
- ``least-waste``: the least ``idle CPU fraction + idle memory fraction`` of the new nodes'
  capacity after the pods are placed (CA's ``waste.go``, both fractions added).
- ``price``: the lowest monthly price per pod helped (CA divides by the pods' value, too);
  a candidate with a known price beats one without.
- ``most-pods``: the most pending pods helped.
- ``least-nodes``: the fewest new nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from autoscaler.core.policy import Expander

__all__ = ["EXPANDERS", "Candidate", "choose", "waste"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One group's offer: how many nodes, for how many pods, at what price."""

    group: str
    priority: int
    node_count: int
    pod_count: int
    requested_cpu_m: int
    requested_memory: int
    node_cpu_m: int
    """Capacity of one new node."""
    node_memory: int
    monthly_price: Decimal | None
    """Of one node; ``None`` when unknown."""


def _fraction_idle(capacity: int, requested: int) -> Fraction:
    return Fraction(capacity - requested, capacity) if capacity > 0 else Fraction(0)


def waste(c: Candidate) -> Fraction:
    """Return the idle CPU fraction plus the idle memory fraction of the new nodes."""
    cpu = _fraction_idle(c.node_cpu_m * c.node_count, c.requested_cpu_m)
    return cpu + _fraction_idle(c.node_memory * c.node_count, c.requested_memory)


def _keep_min(
    cands: Sequence[Candidate], score: Callable[[Candidate], Fraction]
) -> list[Candidate]:
    best = min(score(c) for c in cands)
    return [c for c in cands if score(c) == best]


def _priority(cands: Sequence[Candidate]) -> list[Candidate]:
    return _keep_min(cands, lambda c: Fraction(-c.priority))


def _least_waste(cands: Sequence[Candidate]) -> list[Candidate]:
    return _keep_min(cands, waste)


def _price(cands: Sequence[Candidate]) -> list[Candidate]:
    priced = [c for c in cands if c.monthly_price is not None and c.pod_count > 0]
    if not priced:
        return list(cands)
    return _keep_min(priced, lambda c: Fraction(c.monthly_price or 0) * c.node_count / c.pod_count)


def _most_pods(cands: Sequence[Candidate]) -> list[Candidate]:
    return _keep_min(cands, lambda c: Fraction(-c.pod_count))


def _least_nodes(cands: Sequence[Candidate]) -> list[Candidate]:
    return _keep_min(cands, lambda c: Fraction(c.node_count))


EXPANDERS: dict[Expander, Callable[[Sequence[Candidate]], list[Candidate]]] = {
    Expander.PRIORITY: _priority,
    Expander.LEAST_WASTE: _least_waste,
    Expander.PRICE: _price,
    Expander.MOST_PODS: _most_pods,
    Expander.LEAST_NODES: _least_nodes,
}


def choose(cands: Sequence[Candidate], chain: Sequence[Expander]) -> Candidate:
    """Return the candidate the chain prefers; the remaining tie goes to the first name."""
    if not cands:
        raise ValueError("no candidate to choose from")
    survivors = list(cands)
    for expander in chain:
        survivors = EXPANDERS[expander](survivors)
    return min(survivors, key=lambda c: c.group)
