"""``make demo``: the whole demo on the session's plane, its command line and its pure pieces.

The full run uses the test's namespace and isolation label instead of a private plane
(``Stack(place, plane=testenv)``): the simulator, the daemon, three NodeGroups, the
workload, live progress of the scale-up, the shrink, live progress of the scale-down until
the cluster settles, the summary, then the check that the demo's own processes are gone.
``make demo`` itself adds only the private plane's start and stop.
"""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from autoscaler.core.resources.common import GROUP, VERSION
from autoscaler.core.resources.nodegroup import nodegroup_from_dict
from autoscaler.simulator.config import SimulatorConfig
from demo import scenario
from demo.metrics import Histogram, Metrics, parse
from demo.observe import (
    NOT_TRIGGERED,
    SCALE_DOWN,
    SCALE_DOWN_FAILED,
    TRIGGERED,
    GroupStatus,
    Node,
    NodeEvent,
    Pod,
    PodEvent,
    Reading,
    VNode,
)
from demo.progress import Printer, changes, status
from demo.progress_down import Removal, down_changes, down_status, removal_of
from demo.run import OK, demo
from demo.settle import QUIET_PASSES, fingerprint, kept_count, unsettled
from demo.shrink import survivors
from demo.stack import Stack
from demo.summary import Outcome, render
from demo.summary_down import DownOutcome, describe_shrink, render_down
from tests.testenv import ApiError, ControlPlane, TestNamespace
from tests.testenv.kubehttp import JSON
from tests.testenv.objects import is_pod_running
from tests.testenv.pins import REPO_ROOT

WANT = scenario.total_pods()
AFTER_SHRINK = scenario.pods_after_shrink()
WORKERS = re.compile(r"VPSie workers\s+(\d+) deleted, (\d+) left \(simulator\)")


def test_the_demo_scales_up_then_down_and_leaves_no_process(
    testenv: ControlPlane, kube_ns: TestNamespace, crds: dict[str, JSON]
) -> None:
    place = scenario.Place(
        system_namespace=kube_ns.name,
        workload_namespace=kube_ns.name,
        node_labels=tuple(kube_ns.node_labels.items()),
    )
    stack = Stack(place, plane=testenv)
    out = io.StringIO()
    try:
        code = demo(stack, Printer(out, want=WANT, tty=False), timeout=150.0)
        api = testenv.admin
        pods = api.get(f"/api/v1/namespaces/{kube_ns}/pods")["items"]
        vns = api.get(f"/apis/{GROUP}/{VERSION}/namespaces/{kube_ns}/vpsienodes")["items"]
        nodes = api.get("/api/v1/nodes", labelSelector=place.node_selector)["items"]
    finally:
        _release(testenv, kube_ns.name)
    text = out.getvalue()
    assert code == OK, text
    # the scale-up, as before
    assert f"workload applied -> all {WANT} pods Running" in text
    assert "scale-up for web pods" in text
    # the scale-down: empty nodes go at once, underutilized ones are drained first
    assert "workload shrunk at t+" in text
    assert "removed (empty)" in text
    assert "removed (underutilized, 1 pod(s) moved)" in text
    assert re.search(r"pod web-\S+ evicted from node demo-general-", text), text
    assert re.search(r"new pod web-\S+ Running on node ", text), text
    assert "settled: " in text
    for line in (
        "nodes removed",
        "pods evicted",
        "nodes kept and why",
        r"batch\s+0 node\(s\) kept",
    ):
        assert re.search(line, text), f"{line!r} missing:\n{text}"
    assert "$336.00 after the scale-up -> $" in text, text
    assert "none left behind" in text
    # the end state: fewer nodes, every pod of the shrunk workload Running, workers gone
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == AFTER_SHRINK, [p["metadata"]["name"] for p in live]
    assert all(is_pod_running(p) for p in live)
    assert {p["metadata"]["labels"]["app"] for p in live} == {"web", "api"}
    held = {vn["status"].get("nodeName") or vn["status"]["hostname"].lower() for vn in vns}
    assert {n["metadata"]["name"] for n in nodes} == held
    assert 2 <= len(nodes) < 9, held
    assert {vn["spec"]["nodeGroup"] for vn in vns} <= {"general", "large"}
    assert all(vn["metadata"]["annotations"].get("autoscaler.vpsie.com/decision") for vn in vns)
    workers = WORKERS.search(text)
    assert workers is not None, text
    assert (int(workers[1]), int(workers[2])) == (9 - len(nodes), len(nodes))
    # the processes
    assert stack.pgids.keys() == {"simulator", "daemon"}  # the session's plane is not ours
    assert not stack.leftovers(wait=0)
    assert not stack.dir.exists()


def _release(plane: ControlPlane, ns: str) -> None:
    """Drop the finalizers no stopped daemon will remove, so the namespace can go."""
    for plural in ("vpsienodes", "nodegroups"):
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{plural}"
        for obj in plane.admin.get(base)["items"]:
            path = f"{base}/{obj['metadata']['name']}"
            try:
                plane.admin.patch(path, {"metadata": {"finalizers": None}})
            except ApiError as err:
                if err.status != 404:
                    raise


def test_help_describes_the_demo() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "VPSie account" in " ".join(proc.stdout.split())
    assert "--timeout" in proc.stdout


# --- pure pieces ---------------------------------------------------------------------------
def _pod(name: str, app: str, node: str = "", running: bool = False) -> Pod:
    return Pod(name=name, app=app, node=node, running=running)


BEFORE = Reading(elapsed=1.0, pods=(_pod("web-1", "web"), _pod("web-2", "web")))
AFTER = Reading(
    elapsed=12.5,
    pods=(_pod("web-1", "web", "n1", True), _pod("web-2", "web", "n1", True)),
    vnodes=(VNode("general-a", "general", "Ready", "d-1", node="n1"),),
    nodes=(Node("n1", "", True),),
    events=(
        PodEvent(TRIGGERED, "web-1", "pod triggered scale-up: [general 0->1]", 1),
        PodEvent(TRIGGERED, "web-2", "pod triggered scale-up: [general 0->1]", 1),
    ),
)


def test_changes_name_decisions_nodes_and_finished_deployments() -> None:
    assert changes(BEFORE, AFTER) == [
        "scale-up for web pods: [general 0->1]",
        "VPSieNodes requested in general: +1 (decision d-1)",
        "Nodes joined: general +1",
        "Nodes Ready: general +1",
        "web: all 2 pods Running on 1 node(s)",
    ]
    assert changes(AFTER, AFTER) == []


def test_not_triggered_pods_are_reported_once_per_message() -> None:
    why = "pod didn't trigger scale-up: 3 max node group size reached"
    after = Reading(
        elapsed=2.0,
        pods=BEFORE.pods,
        events=(PodEvent(NOT_TRIGGERED, "web-1", why, 1), PodEvent(NOT_TRIGGERED, "web-2", why, 2)),
    )
    assert changes(BEFORE, after) == ["no scale-up for web pods: 3 max node group size reached"]


def test_without_a_terminal_the_status_is_printed_only_when_it_changes() -> None:
    out = io.StringIO()
    printer = Printer(out, want=2, tty=False)
    printer.update(BEFORE)
    printer.update(Reading(elapsed=1.5, pods=BEFORE.pods))
    printer.update(AFTER)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"[t+  1.0s] {status(BEFORE, 2)}"
    assert lines[-1] == f"[t+ 12.5s] {status(AFTER, 2)}"
    assert len(lines) == 2 + len(changes(BEFORE, AFTER))
    assert "\r" not in out.getvalue()


def test_on_a_terminal_the_status_line_is_redrawn_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = io.StringIO()
    printer = Printer(out, want=2, tty=True)
    printer.update(BEFORE)
    printer.update(Reading(elapsed=1.5, pods=BEFORE.pods))
    printer.finish()
    assert out.getvalue().count("\r\x1b[K") == 2
    assert out.getvalue().endswith(f"{status(BEFORE, 2)}\n")


def test_on_a_narrow_terminal_the_status_line_fits_one_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    Printer(out, want=2, tty=True).update(BEFORE)
    assert out.getvalue() == f"\r\x1b[K[t+  1.0s] {status(BEFORE, 2)}"[: len("\r\x1b[K") + 39]


METRICS = """\
# TYPE vpsie_autoscaler_scale_up_decisions_total counter
vpsie_autoscaler_scale_up_decisions_total{outcome="scaled_up"} 2.0
vpsie_autoscaler_scale_up_decisions_total{outcome="no_scale_up"} 5.0
# TYPE vpsie_autoscaler_scale_ups_total counter
vpsie_autoscaler_scale_ups_total{nodegroup="general",result="requested"} 6.0
# TYPE vpsie_autoscaler_scale_up_decision_latency_seconds histogram
vpsie_autoscaler_scale_up_decision_latency_seconds_bucket{le="1.0"} 10.0
vpsie_autoscaler_scale_up_decision_latency_seconds_bucket{le="2.5"} 17.0
vpsie_autoscaler_scale_up_decision_latency_seconds_bucket{le="5.0"} 18.0
vpsie_autoscaler_scale_up_decision_latency_seconds_bucket{le="+Inf"} 18.0
vpsie_autoscaler_scale_up_decision_latency_seconds_count 18.0
vpsie_autoscaler_scale_up_decision_latency_seconds_sum 27.0
"""


def test_metrics_keep_decisions_and_histogram_bounds() -> None:
    m = parse(METRICS)
    assert m.decisions == {"scaled_up": 2, "no_scale_up": 5}
    assert m.scale_ups == {("general", "requested"): 6}
    assert m.latency == Histogram(count=18, total=27.0, max_bound=5.0)
    assert m.latency.mean == 1.5
    assert m.planning is None


def test_summary_shows_decisions_latencies_nodes_and_cost() -> None:
    outcome = Outcome(
        want=2,
        final=AFTER,
        all_running_s=12.5,
        first_create_s=1.2,
        creates=1,
        vpsie_calls=40,
        monthly_cost={"general": "24.00"},
        metrics=Metrics(decisions={"scaled_up": 1}, latency=Histogram(2, 3.0, 2.5)),
    )
    text = "\n".join(render(outcome))
    assert "scale-up decisions  1" in text
    assert "d-1: general +1" in text
    assert "2 pods TriggeredScaleUp, 0 pods NotTriggerScaleUp" in text
    assert "scaled_up=1" in text
    lines = {line.strip().split("  ")[0]: line.split()[-2:] for line in render(outcome)}
    assert lines["workload applied -> first VPSie create call"] == ["1.2", "s"]
    assert "all 2 pods Running" in text
    assert "2 pods, mean 1.50 s, all <= 2.5 s" in text
    rows = {line.split()[0]: line.split() for line in render(outcome) if line.startswith("    ")}
    assert rows["general"][1:7] == ["k8s-2c-4g", "$24.00", "1", "1", "$24.00", "web"]
    assert rows["large"][3:6] == ["0", "0", "$0.00*"]  # no status: nodes x plan price
    assert rows["total"][1:4] == ["1", "1", f"${Decimal('24.00')}"]


def test_the_simulated_world_is_valid() -> None:
    SimulatorConfig.model_validate(scenario.sim_world())


@pytest.mark.parametrize("group", scenario.GROUPS, ids=lambda g: g.name)
def test_every_nodegroup_has_a_vpsie_group_of_its_plan(group: scenario.Group) -> None:
    world = scenario.sim_world()
    (cluster,) = world["clusters"]
    by_name = {g["group_name"]: g for g in cluster["groups"]}
    assert by_name[group.name]["offer_id"] == group.plan.offer_id
    offer = next(o for o in world["offers"] if o["id"] == group.plan.offer_id)
    assert Decimal(str(offer["price"])) == group.plan.monthly
    spec = scenario.nodegroup_manifest(group)["spec"]
    assert spec["minNodes"] == 0
    assert spec["provider"]["nodeGroupName"] == group.name


def test_every_nodegroup_has_the_demos_short_scale_down_timers() -> None:
    for g in scenario.GROUPS:
        spec = nodegroup_from_dict(scenario.nodegroup_manifest(g)).spec.scale_down
        assert spec.unneeded_time.total_seconds() == 10
        assert spec.delay_after_add.total_seconds() == 20
        assert spec.utilization_threshold == 0.5
    assert "shortens both timers from the 10m defaults" in scenario.describe_timers()


def test_after_the_shrink_web_and_api_remain() -> None:
    assert scenario.pods_after_shrink() == 5
    assert describe_shrink() == "web 12 -> 3 pods, Deployment batch deleted"


# --- the shrink ----------------------------------------------------------------------------
def _nodes(*names: str) -> tuple[Node, ...]:
    groups = {"g": "general", "l": "large", "b": "batch"}
    return tuple(Node(n, groups[n[0]], True) for n in names)


UP = Reading(
    elapsed=19.0,
    pods=(
        _pod("api-1", "api", "l1", True),
        _pod("web-1", "web", "g1", True),
        _pod("web-2", "web", "g1", True),
        _pod("web-3", "web", "g2", True),
        _pod("web-4", "web", "l1", True),
        _pod("web-5", "web", "g3", True),
        _pod("web-6", "web", "g4", True),
        _pod("web-7", "web", "g5", False),
    ),
    nodes=_nodes("g1", "g2", "g3", "g4", "g5", "l1"),
)


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        pytest.param(UP.pods, ["web-1", "web-3", "web-5"], id="one-on-each-of-the-first-nodes"),
        pytest.param(UP.pods[:3], ["web-1", "web-2"], id="fewer-pods-than-wanted"),
        pytest.param(UP.pods[:5], ["web-1", "web-2", "web-3"], id="other-pods-when-too-few-nodes"),
        pytest.param(UP.pods[3:5], ["web-3", "web-4"], id="outside-the-group-if-need-be"),
    ],
)
def test_survivors_spread_over_general_nodes(pods: tuple[Pod, ...], expected: list[str]) -> None:
    reading = Reading(elapsed=0.0, pods=pods, nodes=UP.nodes)
    assert [p.name for p in survivors(reading)] == expected


# --- scale-down progress -------------------------------------------------------------------
def _removing(name: str, node: str, message: str) -> NodeEvent:
    return NodeEvent(name, SCALE_DOWN, node, "removing the node: " + message)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            _removing("e", "b1", "empty; 0 pod(s) to move"), Removal("b1", None, 0), id="empty"
        ),
        pytest.param(
            _removing(
                "e",
                "g1",
                "underutilized (0.47); 2 pod(s) to move: demo/web-1 -> g2, demo/web-2 -> l1",
            ),
            Removal("g1", 0.47, 2, (("web-1", "g2"), ("web-2", "l1"))),
            id="underutilized",
        ),
        pytest.param(
            _removing("e", "g1", "underutilized (0.1); 6 pod(s) to move: d/a -> g2 ..."),
            Removal("g1", 0.1, 6, (("a", "g2"),)),
            id="more-moves-than-shown",
        ),
        pytest.param(
            NodeEvent("e", SCALE_DOWN, "g1", "drained: 1 pod(s) evicted"), None, id="drained"
        ),
        pytest.param(
            NodeEvent("e", SCALE_DOWN_FAILED, "g1", "removing the node: empty; 0 pod(s) to move"),
            None,
            id="other-reason",
        ),
    ],
)
def test_removal_events_are_read_back(event: NodeEvent, expected: Removal | None) -> None:
    assert removal_of(event) == expected


DOWN_BEFORE = Reading(
    elapsed=30.0,
    pods=(_pod("api-1", "api", "l1", True), _pod("web-1", "web", "g1", True)),
    nodes=_nodes("b1", "g1", "g2", "g3", "l1"),
)
DOWN_AFTER = Reading(
    elapsed=31.0,
    pods=(_pod("api-1", "api", "l1", True), _pod("web-9", "web", "g2", True)),
    nodes=_nodes("b1", "g1", "g2", "l1"),
    node_events=(
        _removing("e1", "g3", "empty; 0 pod(s) to move"),
        _removing("e2", "b1", "empty; 0 pod(s) to move"),
        _removing("e3", "g1", "underutilized (0.47); 1 pod(s) to move: demo/web-1 -> g2"),
        _removing("e4", "elsewhere", "empty; 0 pod(s) to move"),  # not a node of ours
    ),
)


def test_scale_down_changes_name_removals_moves_and_nodes_gone() -> None:
    assert down_changes(DOWN_BEFORE, DOWN_AFTER) == [
        "scale-down in batch: removing 1 empty node(s): b1",
        "scale-down in general: removing 1 empty node(s): g3",
        "scale-down in general: draining node g1 (underutilized, 0.47): 1 pod(s) to move:"
        " web-1 (planned for g2)",
        "pod web-1 evicted from node g1",
        "new pod web-9 Running on node g2",
        "scale-down in general: node g3 removed (empty)",
    ]
    failed = NodeEvent("e5", SCALE_DOWN_FAILED, "b1", "drain failed: x")
    last = Reading(
        elapsed=35.0,
        pods=DOWN_AFTER.pods,
        nodes=_nodes("b1", "g2", "l1"),
        node_events=(*DOWN_AFTER.node_events, failed),
    )
    assert down_changes(DOWN_AFTER, last) == [
        "scale-down in batch: node b1 stays: drain failed: x",
        "scale-down in general: node g1 removed (underutilized, 1 pod(s) moved)",
    ]
    assert down_changes(last, last) == []


def test_why_the_last_pass_keeps_nodes_is_told_when_it_changes() -> None:
    waiting = (
        ("batch", "RecentlyScaledUp", 2),
        ("general", "NotUnderutilized", 1),
        ("general", "RecentlyScaledUp", 3),
    )
    first = dataclasses.replace(DOWN_BEFORE, kept=waiting)
    assert down_changes(DOWN_BEFORE, first) == [
        "the last scale-down pass keeps: batch 2 RecentlyScaledUp;"
        " general 1 NotUnderutilized, 3 RecentlyScaledUp"
    ]
    assert down_changes(first, dataclasses.replace(first, elapsed=40.0)) == []


def test_pods_the_shrink_deletes_are_counted_per_deployment() -> None:
    shrunk = Reading(elapsed=20.0, pods=(UP.pods[0], UP.pods[1], UP.pods[3]), nodes=UP.nodes)
    assert down_changes(UP, shrunk) == ["pods deleted: web 5"]


def test_scale_down_status_counts_pods_and_nodes_by_phase() -> None:
    r = Reading(
        elapsed=1.0,
        pods=(_pod("web-1", "web", "g1", True), _pod("web-2", "web")),
        vnodes=(
            VNode("v1", "general", "Ready", "d"),
            VNode("v2", "general", "Draining", "d"),
            VNode("v3", "batch", "Deleting", "d"),
        ),
        nodes=_nodes("g1", "g2", "b1"),
    )
    assert down_status(r, 5) == (
        "pods 1 running (want 5), 1 pending | nodes 3 (1 Deleting, 1 Draining), 3 Ready"
    )


def test_the_printer_switches_to_the_scale_down_functions() -> None:
    out = io.StringIO()
    printer = Printer(out, want=WANT, tty=False)
    printer.update(DOWN_BEFORE)
    printer.switch(want=2, changes=down_changes, status=down_status)
    printer.update(DOWN_AFTER)
    lines = out.getvalue().splitlines()
    first = lines.index(f"[t+ 30.0s] {status(DOWN_BEFORE, WANT)}")
    assert lines[first + 1] == "[t+ 31.0s] scale-down in batch: removing 1 empty node(s): b1"
    assert lines[-1] == f"[t+ 31.0s] {down_status(DOWN_AFTER, 2)}"


# --- settling ------------------------------------------------------------------------------
SETTLED = Reading(
    elapsed=45.0,
    pods=(_pod("api-1", "api", "l1", True), _pod("web-1", "web", "g1", True)),
    vnodes=(
        VNode("vg1", "general", "Ready", "d", node="g1"),
        VNode("vl1", "large", "Ready", "d", node="l1"),
    ),
    nodes=_nodes("g1", "l1"),
    groups=(
        GroupStatus("batch", "0 node(s) kept"),
        GroupStatus("general", "1 node(s) kept: 1 NotUnderutilized (g1: utilization 0.95)"),
        GroupStatus("large", "1 node(s) kept: 1 NoPlaceToMovePods (l1: ...)"),
    ),
)
KEPT = {("general", "NotUnderutilized"): 1, ("large", "NoPlaceToMovePods"): 1}


def _with(**changes: Any) -> Reading:
    return dataclasses.replace(SETTLED, **changes)


def _summary(group: str, text: str) -> tuple[GroupStatus, ...]:
    return tuple(GroupStatus(g.name, text) if g.name == group else g for g in SETTLED.groups)


@pytest.mark.parametrize(
    ("reading", "kept", "quiet", "expected"),
    [
        pytest.param(SETTLED, KEPT, QUIET_PASSES, None, id="settled"),
        pytest.param(
            SETTLED,
            {**KEPT, ("general", "DrainBackoff"): 1, ("general", "NotUnderutilized"): 0},
            QUIET_PASSES,
            None,
            id="a-drain-back-off-lasts-minutes",
        ),
        pytest.param(
            _with(pods=(SETTLED.pods[0], _pod("web-1", "web", "g1", False))),
            KEPT,
            QUIET_PASSES,
            "1 of 2 pods running",
            id="a-pod-not-running",
        ),
        pytest.param(
            _with(pods=SETTLED.pods[:1]), KEPT, QUIET_PASSES, "1 of 2 pods", id="a-pod-missing"
        ),
        pytest.param(
            _with(vnodes=(VNode("vg1", "general", "Draining", "d", node="g1"), SETTLED.vnodes[1])),
            KEPT,
            QUIET_PASSES,
            "1 node(s) being removed (vg1)",
            id="a-node-draining",
        ),
        pytest.param(
            SETTLED,
            {("large", "NoPlaceToMovePods"): 1},
            QUIET_PASSES,
            "general: the last pass accounted for 0 of 1 node(s)",
            id="a-node-the-last-pass-did-not-see",
        ),
        pytest.param(
            SETTLED,
            {("general", "NotUnneededLongEnough"): 1, ("large", "NoPlaceToMovePods"): 1},
            QUIET_PASSES,
            "general: kept for now: 1 NotUnneededLongEnough",
            id="a-timer-still-running",
        ),
        pytest.param(
            _with(groups=_summary("general", "2 node(s) kept: 2 NotUnderutilized (g1: x)")),
            KEPT,
            QUIET_PASSES,
            "general: status.keptSummary not up to date",
            id="a-stale-kept-summary",
        ),
        pytest.param(
            _with(
                groups=_summary("general", "1 node(s) kept: 1 NotUnderutilized; 1 being removed")
            ),
            KEPT,
            QUIET_PASSES,
            "general: status.keptSummary not up to date",
            id="a-removal-in-the-kept-summary",
        ),
        pytest.param(
            SETTLED, KEPT, QUIET_PASSES - 1, "scale-down passes without a change", id="too-soon"
        ),
    ],
)
def test_the_cluster_settles_when_every_node_left_is_kept_for_good(
    reading: Reading, kept: dict[tuple[str, str], int], quiet: int, expected: str | None
) -> None:
    last_pass = tuple((g, why, n) for (g, why), n in sorted(kept.items()))
    waits = unsettled(dataclasses.replace(reading, kept=last_pass), want=2, quiet_passes=quiet)
    if expected is None:
        assert waits == []
    else:
        assert any(expected in w for w in waits), waits


def test_the_fingerprint_changes_when_a_pod_moves_or_a_node_goes() -> None:
    moved = _with(pods=(SETTLED.pods[0], _pod("web-1", "web", "l1", True)))
    assert fingerprint(SETTLED) == fingerprint(_with(elapsed=99.0, groups=()))
    assert fingerprint(moved) != fingerprint(SETTLED)
    assert fingerprint(_with(nodes=SETTLED.nodes[:1])) != fingerprint(SETTLED)


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        pytest.param("0 node(s) kept", 0, id="none"),
        pytest.param("2 node(s) kept: 2 NotUnderutilized (g1: x; y)", 2, id="some"),
        pytest.param("1 node(s) kept: 1 X (g1: x); 2 being removed", None, id="removing"),
        pytest.param(None, None, id="unset"),
    ],
)
def test_kept_summaries_are_counted(summary: str | None, expected: int | None) -> None:
    assert kept_count(summary) == expected


# --- scale-down metrics and summary --------------------------------------------------------
METRICS_DOWN = """\
# TYPE vpsie_autoscaler_scaled_down_nodes_total counter
vpsie_autoscaler_scaled_down_nodes_total{nodegroup="general",reason="empty"} 3.0
vpsie_autoscaler_scaled_down_nodes_total{nodegroup="general",reason="underutilized"} 2.0
# TYPE vpsie_autoscaler_failed_scale_downs_total counter
vpsie_autoscaler_failed_scale_downs_total{nodegroup="general",reason="pods_arrived"} 0.0
# TYPE vpsie_autoscaler_evicted_pods_total counter
vpsie_autoscaler_evicted_pods_total{result="evicted"} 2.0
# TYPE vpsie_autoscaler_drain_duration_seconds histogram
vpsie_autoscaler_drain_duration_seconds_bucket{le="1.0",outcome="drained"} 4.0
vpsie_autoscaler_drain_duration_seconds_bucket{le="2.5",outcome="drained"} 5.0
vpsie_autoscaler_drain_duration_seconds_bucket{le="+Inf",outcome="drained"} 5.0
vpsie_autoscaler_drain_duration_seconds_count{outcome="drained"} 5.0
vpsie_autoscaler_drain_duration_seconds_sum{outcome="drained"} 3.0
vpsie_autoscaler_drain_duration_seconds_bucket{le="1.0",outcome="failed"} 0.0
vpsie_autoscaler_drain_duration_seconds_bucket{le="2.5",outcome="failed"} 1.0
vpsie_autoscaler_drain_duration_seconds_bucket{le="+Inf",outcome="failed"} 1.0
vpsie_autoscaler_drain_duration_seconds_count{outcome="failed"} 1.0
vpsie_autoscaler_drain_duration_seconds_sum{outcome="failed"} 1.5
# TYPE vpsie_autoscaler_scale_down_planning_duration_seconds histogram
vpsie_autoscaler_scale_down_planning_duration_seconds_bucket{le="+Inf"} 12.0
vpsie_autoscaler_scale_down_planning_duration_seconds_count 12.0
vpsie_autoscaler_scale_down_planning_duration_seconds_sum 0.02
# TYPE vpsie_autoscaler_unremovable_nodes_count gauge
vpsie_autoscaler_unremovable_nodes_count{nodegroup="general",reason="NotUnderutilized"} 1.0
vpsie_autoscaler_unremovable_nodes_count{nodegroup="batch",reason="NotUnneededLongEnough"} 0.0
"""


def test_metrics_keep_removals_evictions_drains_and_kept_nodes() -> None:
    m = parse(METRICS_DOWN)
    assert m.scaled_down == {("general", "empty"): 3, ("general", "underutilized"): 2}
    assert m.failed_down == {}
    assert m.evicted == {"evicted": 2}
    assert m.drains == Histogram(count=6, total=4.5, max_bound=2.5)
    assert m.down_passes == 12
    assert m.unremovable == {("general", "NotUnderutilized"): 1}
    assert parse(METRICS).down_passes == 0


FINAL = Reading(
    elapsed=45.0,
    pods=(
        _pod("api-1", "api", "l1", True),
        _pod("web-1", "web", "g1", True),
        _pod("web-2", "web", "l1", True),
    ),
    vnodes=(
        VNode("vg1", "general", "Ready", "d", node="g1"),
        VNode("vl1", "large", "Ready", "d", node="l1"),
    ),
    nodes=_nodes("g1", "l1"),
    groups=(
        GroupStatus("batch", "0 node(s) kept", "0"),
        GroupStatus("general", "1 node(s) kept: 1 NoPlaceToMovePods (g1: ...)", "24"),
        GroupStatus("large", "1 node(s) kept: 1 NotUnderutilized (l1: ...)", "96.00"),
    ),
)


def test_scale_down_summary_shows_removals_reasons_and_cost_before_and_after() -> None:
    outcome = DownOutcome(
        final=FINAL,
        first_removed_s=8.5,
        settled_s=19.46,
        cost_before=Decimal("336.00"),
        workers_deleted=7,
        workers_left=2,
        delete_calls=51,
        vpsie_calls=189,
        metrics=Metrics(
            scaled_down={
                ("batch", "empty"): 2,
                ("general", "empty"): 3,
                ("general", "underutilized"): 2,
            },
            evicted={"evicted": 2},
            drains=Histogram(7, 2.8, 2.5),
        ),
    )
    lines = render_down(outcome)
    text = "\n".join(lines)
    assert (
        lines[0]
        == "  scale-down          after the shrink (web 12 -> 3 pods, Deployment batch deleted)"
    )
    assert "nodes removed     7 (batch: 2 empty; general: 3 empty, 2 underutilized)" in text
    assert "pods evicted      2 evicted" in text
    assert "drains            7, mean 0.40 s, all <= 2.5 s" in text
    assert "failed removals   none" in text
    assert "workload shrunk -> first node removed  8.5 s" in text
    assert "workload shrunk -> cluster settled     19.5 s" in text
    assert "VPSie workers     7 deleted, 2 left (simulator); 51 delete calls" in text
    assert "    general  1 node(s) kept: 1 NoPlaceToMovePods (g1: ...)" in lines
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("    ")}
    assert rows["general"][1:7] == ["k8s-2c-4g", "$24.00", "1", "1", "$24.00", "web"]
    assert rows["batch"][3:6] == ["0", "0", "$0.00"]
    assert rows["total"][1:4] == ["2", "2", "$120.00"]
    assert lines[-1] == (
        "  monthly cost        $336.00 after the scale-up -> $120.00 after the scale-down"
        " ($216.00 or 64% less)"
    )


def test_scale_down_summary_without_metrics_says_so() -> None:
    lines = render_down(DownOutcome(final=FINAL, first_removed_s=None, settled_s=None))
    assert "    daemon metrics    (could not be read)" in lines
    assert "      workload shrunk -> cluster settled     n/a" in lines
    assert lines[-1] == "  monthly cost        $120.00 after the scale-down"
