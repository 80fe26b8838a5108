"""Expanders and their chains; ties go to the first group name."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from autoscaler.core.expanders import Candidate, choose, waste
from autoscaler.core.policy import DEFAULT_EXPANDERS, Expander, ScaleUpPolicy


def cand(
    group: str,
    *,
    priority: int = 0,
    nodes: int = 1,
    pods: int = 1,
    cpu: int = 1000,
    memory: int = 1024,
    node_cpu: int = 4000,
    node_memory: int = 4096,
    price: str | None = None,
) -> Candidate:
    return Candidate(
        group=group,
        priority=priority,
        node_count=nodes,
        pod_count=pods,
        requested_cpu_m=cpu,
        requested_memory=memory,
        node_cpu_m=node_cpu,
        node_memory=node_memory,
        monthly_price=None if price is None else Decimal(price),
    )


def test_waste_adds_idle_cpu_and_memory_fractions():
    assert waste(cand("a", nodes=2, cpu=4000, memory=2048)) == Fraction(1, 2) + Fraction(3, 4)


@pytest.mark.parametrize(
    ("chain", "cands", "winner"),
    [
        pytest.param(
            [Expander.PRIORITY],
            [cand("a", priority=1), cand("b", priority=5)],
            "b",
            id="priority-highest-wins",
        ),
        pytest.param(
            [Expander.LEAST_WASTE],
            [cand("a", cpu=1000, node_cpu=8000), cand("b", cpu=1000, node_cpu=2000)],
            "b",
            id="least-waste",
        ),
        pytest.param(
            [Expander.PRICE],
            [cand("a", nodes=1, pods=1, price="10"), cand("b", nodes=2, pods=10, price="15")],
            "b",
            id="price-per-pod-helped",
        ),
        pytest.param(
            [Expander.PRICE],
            [cand("a", price=None), cand("b", price="1000")],
            "b",
            id="known-price-beats-unknown",
        ),
        pytest.param(
            [Expander.PRICE],
            [cand("b", price=None), cand("a", price=None)],
            "a",
            id="no-prices-tie-by-name",
        ),
        pytest.param(
            [Expander.MOST_PODS], [cand("a", pods=3), cand("b", pods=7)], "b", id="most-pods"
        ),
        pytest.param(
            [Expander.LEAST_NODES], [cand("a", nodes=3), cand("b", nodes=2)], "b", id="least-nodes"
        ),
        pytest.param([], [cand("zeta"), cand("alpha")], "alpha", id="empty-chain-first-name"),
        pytest.param(
            [Expander.PRIORITY, Expander.LEAST_WASTE],
            [
                cand("a", priority=1, node_cpu=100_000),
                cand("b", priority=1),
                cand("c", priority=0, node_cpu=1000),
            ],
            "b",
            id="least-waste-among-top-priority",
        ),
        pytest.param(
            list(DEFAULT_EXPANDERS),
            [cand("b", price="5"), cand("a", price="9"), cand("c", price="5", node_cpu=8000)],
            "b",
            id="default-chain-price-breaks-a-waste-tie",
        ),
        pytest.param(
            [Expander.LEAST_WASTE, Expander.PRICE],
            [cand("b", price="3"), cand("a", price="3")],
            "a",
            id="full-tie-goes-to-first-name",
        ),
    ],
)
def test_choose(chain, cands, winner):
    assert choose(cands, chain).group == winner


def test_default_chain_is_priority_then_least_waste_then_price():
    assert ScaleUpPolicy().expanders == (Expander.PRIORITY, Expander.LEAST_WASTE, Expander.PRICE)


def test_choice_does_not_depend_on_candidate_order():
    cands = [cand(n, priority=p, nodes=k) for n, p, k in [("c", 1, 2), ("a", 1, 2), ("b", 0, 1)]]
    chain = [Expander.PRIORITY, Expander.LEAST_NODES]
    assert choose(cands, chain) == choose(list(reversed(cands)), chain)


def test_choose_needs_a_candidate():
    with pytest.raises(ValueError, match="no candidate"):
        choose([], DEFAULT_EXPANDERS)


def test_policy_rejects_a_repeated_expander():
    with pytest.raises(ValueError, match="twice"):
        ScaleUpPolicy(expanders=(Expander.PRICE, Expander.PRICE))
