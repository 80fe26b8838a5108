"""``make demo``: the whole demo on the session's plane, its command line and its pure pieces.

The full run uses the test's namespace and isolation label instead of a private plane
(``Stack(place, plane=testenv)``): the simulator, the daemon, three NodeGroups, the
workload, live progress and the summary, then the check that the demo's own processes
are gone. ``make demo`` itself adds only the private plane's start and stop.
"""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal

import pytest

from autoscaler.core.resources.common import GROUP, VERSION
from autoscaler.simulator.config import SimulatorConfig
from demo import scenario
from demo.metrics import Histogram, Metrics, parse
from demo.observe import NOT_TRIGGERED, TRIGGERED, Node, Pod, PodEvent, Reading, VNode
from demo.progress import Printer, changes, status
from demo.run import OK, demo
from demo.stack import Stack
from demo.summary import Outcome, render
from tests.testenv import ApiError, ControlPlane, TestNamespace
from tests.testenv.kubehttp import JSON
from tests.testenv.pins import REPO_ROOT

WANT = scenario.total_pods()


def test_the_demo_scales_up_the_workload_and_leaves_no_process(
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
    finally:
        _release(testenv, kube_ns.name)
    text = out.getvalue()
    assert code == OK, text
    assert f"workload applied -> all {WANT} pods Running" in text
    assert "scale-up for web pods" in text
    assert "none left behind" in text
    assert stack.pgids.keys() == {"simulator", "daemon"}  # the session's plane is not ours
    assert not stack.leftovers(wait=0)
    assert not stack.dir.exists()
    vns = testenv.admin.get(f"/apis/{GROUP}/{VERSION}/namespaces/{kube_ns}/vpsienodes")["items"]
    groups = {vn["spec"]["nodeGroup"] for vn in vns}
    assert groups == {"general", "large", "batch"}, text
    assert all(vn["metadata"]["annotations"].get("autoscaler.vpsie.com/decision") for vn in vns)


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
