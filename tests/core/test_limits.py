"""Group and cluster-wide limits: headroom, usage with upcoming nodes, fail-safe cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoscaler.core.group_options import valid_price
from autoscaler.core.limits import ClusterUsage, cluster_usage, headroom, within_limits
from autoscaler.core.policy import ClusterLimits
from autoscaler.core.reasons import Reason
from tests.core.factories import group, node, snapshot

GI = 2**30


def usage(nodes: int = 0, cpu_m: int = 0, memory: int = 0, cost: str = "0") -> ClusterUsage:
    return ClusterUsage(nodes=nodes, cpu_m=cpu_m, memory=memory, monthly_cost=Decimal(cost))


@pytest.mark.parametrize(
    ("g", "used", "limits", "budget", "expected"),
    [
        pytest.param(
            group("g", max_size=5),
            usage(),
            ClusterLimits(),
            100,
            (5, Reason.MAX_NODES_REACHED),
            id="group-max",
        ),
        pytest.param(
            group("g", max_size=5, current=2, upcoming=2),
            usage(),
            ClusterLimits(),
            100,
            (1, Reason.MAX_NODES_REACHED),
            id="group-max-counts-upcoming",
        ),
        pytest.param(
            group("g", max_size=5, current=4, upcoming=3),
            usage(),
            ClusterLimits(),
            100,
            (0, Reason.MAX_NODES_REACHED),
            id="group-above-max-has-no-room",
        ),
        pytest.param(
            group("g"),
            usage(),
            ClusterLimits(),
            2,
            (2, Reason.MAX_NODES_PER_SCALE_UP),
            id="per-scale-up-cap",
        ),
        pytest.param(
            group("g"),
            usage(nodes=8),
            ClusterLimits(max_nodes=11),
            100,
            (3, Reason.CLUSTER_NODES_LIMIT),
            id="nodes",
        ),
        pytest.param(
            group("g", cpu_m=4000),
            usage(cpu_m=30_000),
            ClusterLimits(max_cores=40),
            100,
            (2, Reason.CLUSTER_CORES_LIMIT),
            id="cores-by-capacity",
        ),
        pytest.param(
            group("g", memory="16Gi"),
            usage(memory=64 * GI),
            ClusterLimits(max_memory=100 * GI),
            100,
            (2, Reason.CLUSTER_MEMORY_LIMIT),
            id="memory",
        ),
        pytest.param(
            group("g", price="30"),
            usage(cost="100"),
            ClusterLimits(max_monthly_cost=Decimal("200")),
            100,
            (3, Reason.CLUSTER_COST_LIMIT),
            id="cost",
        ),
        pytest.param(
            group("g", price=None),
            usage(),
            ClusterLimits(max_monthly_cost=Decimal("200")),
            100,
            (0, Reason.CLUSTER_COST_LIMIT),
            id="unknown-price-under-a-cost-limit-is-refused",
        ),
        pytest.param(
            group("g", price=Decimal("NaN")),
            usage(),
            ClusterLimits(max_monthly_cost=Decimal("200")),
            100,
            (0, Reason.CLUSTER_COST_LIMIT),
            id="nan-price-counts-as-unknown",
        ),
        pytest.param(
            group("g", price="0"),
            usage(cost="500"),
            ClusterLimits(max_monthly_cost=Decimal("200")),
            7,
            (7, Reason.MAX_NODES_PER_SCALE_UP),
            id="free-nodes-are-not-cost-limited",
        ),
        pytest.param(
            group("g"),
            usage(nodes=20),
            ClusterLimits(max_nodes=10),
            100,
            (0, Reason.CLUSTER_NODES_LIMIT),
            id="exceeded",
        ),
        pytest.param(
            group("g", max_size=3),
            usage(nodes=7),
            ClusterLimits(max_nodes=10),
            100,
            (3, Reason.MAX_NODES_REACHED),
            id="tie-names-the-group-first",
        ),
    ],
)
def test_headroom(g, used, limits, budget, expected):
    view = snapshot(groups=[g]).groups[0]
    room = headroom(view, usage=used, limits=limits, budget=budget)
    assert (room.nodes, room.reason) == expected


def test_usage_counts_registered_upcoming_and_unseen_nodes():
    snap = snapshot(
        nodes=[
            node("a", cpu_m=2000, memory="8Gi", group="g"),
            node("cp", cpu_m=1000, memory="4Gi"),
        ],
        groups=[group("g", cpu_m=4000, memory="16Gi", current=2, upcoming=1, price="10")],
    )
    used = cluster_usage(snap)
    # a + cp registered, one upcoming, one the group reports but the snapshot lacks
    assert used == usage(
        nodes=4, cpu_m=2000 + 1000 + 4000 + 4000, memory=(8 + 4 + 16 + 16) * GI, cost="30"
    )


def test_usage_plus_adds_template_capacity_and_price():
    view = snapshot(groups=[group("g", cpu_m=4000, memory="16Gi", price="12.5")]).groups[0]
    assert usage().plus(view, 2) == usage(nodes=2, cpu_m=8000, memory=32 * GI, cost="25.0")


@pytest.mark.parametrize(
    ("used", "expected"),
    [
        pytest.param(
            usage(nodes=10, cpu_m=40_000, memory=10 * GI, cost="100"), True, id="at-every-limit"
        ),
        pytest.param(usage(nodes=11), False, id="nodes"),
        pytest.param(usage(cpu_m=40_001), False, id="cores"),
        pytest.param(usage(memory=10 * GI + 1), False, id="memory"),
        pytest.param(usage(cost="100.01"), False, id="cost"),
    ],
)
def test_within_limits(used, expected):
    limits = ClusterLimits(
        max_nodes=10, max_cores=40, max_memory=10 * GI, max_monthly_cost=Decimal("100")
    )
    assert within_limits(used, limits) is expected


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        pytest.param(Decimal("9.99"), Decimal("9.99"), id="finite"),
        pytest.param(Decimal("NaN"), None, id="nan"),
        pytest.param(Decimal("Infinity"), None, id="infinite"),
        pytest.param(Decimal("-1"), None, id="negative"),
        pytest.param(None, None, id="unknown"),
    ],
)
def test_valid_price(price, expected):
    assert valid_price(price) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_nodes": -1}, id="negative-nodes"),
        pytest.param({"max_monthly_cost": Decimal("NaN")}, id="nan-cost"),
    ],
)
def test_limits_reject_nonsense(kwargs):
    with pytest.raises(ValueError, match="max_"):
        ClusterLimits(**kwargs)
