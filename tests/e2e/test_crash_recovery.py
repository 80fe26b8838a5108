"""Crash recovery: SIGKILL the daemon mid-way, start a new one, and it converges cleanly.

A SIGKILL leaves no chance to clean up: in-memory state is gone and the Lease is not
released. The new daemon must rebuild everything from the API server and VPSie (vpsie-api.md
§5.3 step 4) and converge with zero orphaned and zero duplicate workers, judged through
``/__sim/state`` and ``/__sim/calls``. The time from the restart to convergence is printed
as ``CONVERGENCE <scenario> <seconds>``; it is reported, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e import invariants as inv
from tests.e2e.harness import E2E
from tests.e2e.invariants import JSON

GROUP = "web"
MIN_NODES = 2
RECOVERY = 180.0  # the new daemon waits out the old Lease, then re-lists and re-matches
EARLY = ("accepted", "pending")  # simulator stages before a worker is listed
STALE_TAINT = "autoscaler.vpsie.com/deletion-candidate"


def report_convergence(
    capsys: pytest.CaptureFixture[str],
    record: Callable[[str, object], None],
    scenario: str,
    seconds: float,
) -> None:
    record(f"convergence_{scenario}_s", round(seconds, 1))
    with capsys.disabled():
        print(f"\nCONVERGENCE {scenario} {seconds:.1f}")


def in_phase(e2e: E2E, phase: str, *, k4_accepted: bool) -> Callable[[], list[str]]:
    """Probe: a VPSieNode of the group is in ``phase`` (and VPSie accepted a K4 for it)."""

    def probe() -> list[str]:
        phases = [inv.status(vn).get("phase") for vn in e2e.vpsienodes(GROUP)]
        missing = [] if phase in phases else [f"no VPSieNode in {phase}: {phases}"]
        if k4_accepted and not e2e.created():
            missing.append("no K4 accepted yet")
        return missing

    return probe


@pytest.mark.parametrize(
    ("scenario", "phase", "k4_accepted", "delays"),
    [
        # The worker stays unlisted for ~10 s after K4: the crash falls between the create call
        # and the moment the daemon can tell which worker is its own.
        pytest.param(
            "provisioning", "Provisioning", True, {"list_delay": 10.0}, id="after-k4-before-listed"
        ),
        # Listed and identified, not yet a Ready Node.
        pytest.param("joining", "Joining", False, {"join_delay": 10.0}, id="joining"),
    ],
)
def test_sigkill_while_provisioning_converges_without_orphans_or_duplicates(
    e2e: E2E,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
    scenario: str,
    phase: str,
    k4_accepted: bool,
    delays: dict[str, float],
) -> None:
    e2e.start_simulator(**delays)
    e2e.start_daemon()
    e2e.apply_nodegroup(GROUP, min_nodes=MIN_NODES, max_nodes=MIN_NODES + 2)
    e2e.wait_until(in_phase(e2e, phase, k4_accepted=k4_accepted), what=f"a VPSieNode in {phase}")
    e2e.kill_daemon()
    caught_mid_way(e2e, phase)

    began = time.monotonic()
    e2e.start_daemon()
    e2e.wait_until(
        e2e.group_ready(GROUP, MIN_NODES), what="Ready nodes after the restart", timeout=RECOVERY
    )
    e2e.expect_invariants(creates=MIN_NODES)

    report_convergence(capsys, record_property, scenario, time.monotonic() - began)


def test_sigkill_while_deleting_converges_with_every_worker_gone(
    e2e: E2E,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    e2e.start_simulator(delete_delay=10.0)  # a deleted worker lingers ~10 s in "deleting"
    e2e.start_daemon()
    e2e.apply_nodegroup(GROUP, min_nodes=MIN_NODES, max_nodes=MIN_NODES + 1)
    e2e.wait_until(e2e.group_ready(GROUP, MIN_NODES), what="Ready nodes")
    e2e.expect_invariants(creates=MIN_NODES)

    e2e.delete_nodegroup(GROUP)
    e2e.wait_sim(
        lambda state: any(w["state"] == "deleting" for w in group_workers(e2e, state)),
        what="VPSie to accept a worker's delete (K5)",
    )
    e2e.kill_daemon()
    assert any(inv.deleting(vn) for vn in e2e.vpsienodes(GROUP)), "no finalizer holds them"
    assert e2e.vpsienodes(GROUP), "the crash came too late: every VPSieNode is gone already"

    began = time.monotonic()
    e2e.start_daemon()
    e2e.wait_until(e2e.group_gone(GROUP), what="everything of the group gone", timeout=RECOVERY)
    e2e.expect_invariants(creates=MIN_NODES)

    report_convergence(capsys, record_property, "deletion", time.monotonic() - began)


def test_after_a_restart_a_refused_create_never_claims_the_next_creates_worker(
    e2e: E2E,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    sim = e2e.start_simulator(list_delay=10.0)
    # The first create is answered 503: it made nothing, but the client cannot know, waits
    # out its unknown-outcome window and fails that VPSieNode; the group then tries again.
    sim.set_faults([{"route": "K4", "calls": [1], "error_5xx_rate": 1, "error_5xx_codes": [503]}])
    e2e.start_daemon()
    e2e.apply_nodegroup(GROUP, min_nodes=1, max_nodes=2)

    def retried() -> list[str]:
        phases = [inv.status(vn).get("phase") for vn in e2e.vpsienodes(GROUP)]
        missing = in_phase(e2e, "Provisioning", k4_accepted=True)()
        return missing + ([] if "Failed" in phases else [f"none Failed yet: {phases}"])

    e2e.wait_until(retried, what="the refused create Failed and the next one accepted")
    e2e.kill_daemon()
    caught_mid_way(e2e, "Provisioning")
    (refused,) = [vn for vn in e2e.vpsienodes(GROUP) if inv.status(vn).get("phase") == "Failed"]

    began = time.monotonic()
    e2e.start_daemon()
    e2e.wait_until(e2e.group_ready(GROUP, 1), what="the retried create Ready", timeout=RECOVERY)
    # The worker belongs to the create VPSie accepted; the refused one never names it.
    e2e.expect_invariants(creates=1)
    assert refused["metadata"]["uid"] not in e2e.history().owned, "the refused create took it"

    report_convergence(capsys, record_property, "refused-then-retried", time.monotonic() - began)


def group_workers(e2e: E2E, state: JSON) -> list[JSON]:
    return inv.workers(state, [e2e.groups[GROUP]])


def caught_mid_way(e2e: E2E, phase: str) -> None:
    """The dead daemon left the state the scenario is about (read after the SIGKILL)."""
    vns = e2e.vpsienodes(GROUP)
    stuck = [vn for vn in vns if inv.status(vn).get("phase") == phase]
    assert stuck, f"no VPSieNode left in {phase}"
    if phase == "Provisioning":
        # A create was accepted, and its worker is not listed yet: no claim can have been made.
        unlisted = [w for w in group_workers(e2e, sim_state(e2e)) if w["stage"] in EARLY]
        assert unlisted, "the K4-created worker was listed before the crash"
        assert any(inv.identifier(vn) is None for vn in stuck)
    else:
        assert all(inv.identifier(vn) for vn in stuck)


def sim_state(e2e: E2E) -> JSON:
    assert e2e.sim is not None
    return e2e.sim.state()


def test_a_taint_of_ours_left_by_a_crash_is_removed_by_the_recovery_pass(e2e: E2E) -> None:
    e2e.start_simulator()
    e2e.start_daemon()
    e2e.apply_nodegroup(GROUP, min_nodes=1, max_nodes=2)
    e2e.wait_until(e2e.group_ready(GROUP, 1), what="1 Ready node")
    (vn,) = e2e.vpsienodes(GROUP)
    node = inv.status(vn)["nodeName"]
    e2e.kill_daemon()
    # As a drain interrupted by the crash would have left it: unschedulable.
    taint = {"key": STALE_TAINT, "value": "1", "effect": "NoSchedule"}
    e2e.api.patch(f"/api/v1/nodes/{node}", {"spec": {"taints": [taint]}})

    e2e.start_daemon()

    e2e.wait_until(
        lambda: [] if STALE_TAINT not in taint_keys(e2e, node) else [f"{STALE_TAINT} still on"],
        what="the recovery pass to remove our stale taint",
    )
    assert e2e.events("TaintRemoved", node=node), "no Event on the Node explains the change"
    e2e.expect_invariants(creates=1)


def taint_keys(e2e: E2E, node: str) -> list[str]:
    return [t["key"] for t in e2e.api.get(f"/api/v1/nodes/{node}")["spec"].get("taints") or []]
