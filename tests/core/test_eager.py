"""Cutting a plan down to its full new nodes (``core.eager``)."""

from __future__ import annotations

import pytest

from autoscaler.core.eager import fill, full_nodes_only
from autoscaler.core.records import Resources
from tests.core.factories import group, plan, pod, resources, snapshot


@pytest.mark.parametrize(
    ("used", "free", "expected"),
    [
        (resources(1900, "1Gi", pods=3), resources(1900, "8Gi", pods=110), 1.0),
        (resources(500, "6Gi", pods=3), resources(1000, "8Gi", pods=110), 0.75),
        (resources(100, "1Gi", pods=110), resources(4000, "16Gi", pods=110), 1.0),
        (resources(0, 0, pods=0), resources(0, 0, pods=0), 0.0),
    ],
    ids=["cpu-full", "memory-most", "pods-full", "nothing-offered"],
)
def test_fill_is_the_fullest_dimension(used: Resources, free: Resources, expected: float) -> None:
    assert fill(used, free) == expected


def test_only_full_new_nodes_and_their_pods_are_kept() -> None:
    pods = [pod(f"p{i}", cpu_m=1300) for i in range(7)]  # 3 per 4-CPU node: 3900m of 4000m
    snap = snapshot(pods=pods, groups=[group("g", max_size=10)])
    whole = plan(snap)
    by_key = {p.key: p for p in snap.pending}

    cut = full_nodes_only(whole, snap, by_key)

    assert whole.node_counts == (("g", 3),)
    assert cut.node_counts == (("g", 2),)
    on_full_nodes = sorted(k for node in cut.scale_ups[0].new_nodes for k in node)
    assert sorted(d.pod for d in cut.pods) == on_full_nodes
    assert len(cut.pods) == 6
    assert full_nodes_only(whole, snap, by_key, threshold=1.0).scale_ups == ()
    last = next(d.pod for d in whole.pods if d.pod not in on_full_nodes)
    due = full_nodes_only(whole, snap, by_key, due=frozenset({last}))
    assert due.node_counts == (("g", 3),)


def test_a_bad_threshold_is_refused() -> None:
    snap = snapshot(pods=[pod("p")], groups=[group("g")])
    with pytest.raises(ValueError, match="threshold"):
        full_nodes_only(plan(snap), snap, {}, threshold=0.0)
