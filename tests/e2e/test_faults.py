"""Faults on the VPSie side: the lifecycle still converges and the invariants still hold.

The simulator injects faults through ``PUT /__sim/faults`` (vpsie-api.md §8). A faulted
call never reaches its handler, so it creates nothing; the number of accepted creates must
therefore still equal the number of nodes asked for, whatever the client retried.
"""

from __future__ import annotations

from collections import Counter

from tests.e2e.harness import E2E
from tests.e2e.invariants import JSON

GROUP = "web"
CONVERGE = 300.0  # retries, backoff, Retry-After pauses and unknown-outcome windows add up

NOISE: list[JSON] = [
    # Certain hits first, so each kind of fault meets each kind of call whatever the draws:
    # a create refused with 503 (it did nothing, but the client cannot know), a delete
    # answered by a proxy's HTML 502, and a 429 on a read.
    {"route": "K4", "calls": [1], "error_5xx_rate": 1, "error_5xx_codes": [503]},
    {"route": "K5", "calls": [1], "error_5xx_rate": 1, "error_5xx_codes": [502], "html_502": True},
    {"route": "K2", "calls": [2], "429_rate": 1, "retry_after_seconds": 2},
    # Then noise on every call: 10 % 5xx, 5 % 429 with Retry-After, and latency.
    {"route": "*", "error_5xx_rate": 0.1, "error_5xx_codes": [500, 502, 503, 504]},
    {"route": "*", "429_rate": 0.05, "retry_after": "seconds", "retry_after_seconds": 1},
    {"route": "*", "latency": 0.05, "latency_jitter": 0.3, "latency_distribution": "exponential"},
]


def faults_seen(e2e: E2E) -> Counter[tuple[str, str]]:
    """How many calls of each route each kind of fault answered so far."""
    assert e2e.sim is not None
    calls = e2e.sim.calls()["calls"]
    return Counter((c["route_id"], str(c["fault"]).split(":")[0]) for c in calls if c["fault"])


def test_scale_to_min_and_delete_converge_under_5xx_429_and_latency(e2e: E2E) -> None:
    sim = e2e.start_simulator()
    sim.set_faults(NOISE)
    e2e.start_daemon()

    e2e.apply_nodegroup(GROUP, min_nodes=3, max_nodes=4)
    e2e.wait_until(e2e.group_ready(GROUP, 3), what="3 Ready nodes under faults", timeout=CONVERGE)
    e2e.expect_invariants(creates=3)

    e2e.delete_nodegroup(GROUP)
    e2e.wait_until(e2e.group_gone(GROUP), what="the group gone under faults", timeout=CONVERGE)
    e2e.expect_invariants(creates=3)

    seen = faults_seen(e2e)  # the faults did happen, so the run proves something
    assert {("K4", "error_5xx"), ("K5", "error_5xx"), ("K2", "rate_limited")} <= set(seen), seen


def test_a_create_whose_answer_is_lost_is_not_sent_again(e2e: E2E) -> None:
    sim = e2e.start_simulator()
    # The first K4 creates its worker, then the connection hangs until the client gives up.
    sim.set_faults([{"route": "K4", "calls": [1], "hang_rate": 1, "hang_mode": "commit_then_hang"}])
    e2e.start_daemon()

    e2e.apply_nodegroup(GROUP, min_nodes=2, max_nodes=3)
    e2e.wait_until(e2e.group_ready(GROUP, 2), what="2 Ready nodes", timeout=CONVERGE)
    e2e.expect_invariants(creates=2)

    assert faults_seen(e2e) == {("K4", "hang"): 1}
