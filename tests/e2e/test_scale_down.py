"""Scale-down, seen from outside: underused nodes go, their pods move, PDBs hold, and a node
that must stay says why; a drain interrupted by SIGTERM leaves its node schedulable.

The daemon runs as a process against the VPSie simulator (``harness.py``); the group is the
default world's "large" VKE group (4 CPU, 8 GiB: 3900m and 7836Mi allocatable). Nodes come
from ``minNodes``; lowering it to 0 hands them to scale-down, whose timers are set short on
the NodeGroup (unneeded for 5 s, no delay after add). Where a test needs a pod on a given
node it cordons the other node while the pod is scheduled (the scheduler's own choice
between two empty nodes is not something to rely on).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from autoscaler.core.resources.common import GROUP, VERSION
from tests.e2e import invariants as inv
from tests.e2e.harness import E2E, Probe
from tests.e2e.invariants import JSON
from tests.e2e.test_scale_up import POOL, template_labels, world
from tests.e2e.workloads import deployment_body, pdb_body
from tests.testenv.kubehttp import MERGE_PATCH
from tests.testenv.objects import is_pod_running

FAST = {"unneededTime": "5s", "delayAfterAdd": "0s", "utilizationThreshold": 0.5}
TAINT = "autoscaler.vpsie.com/deletion-candidate"
DRAIN_STATUS = "autoscaler.vpsie.com/drain-status"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
HOLD = "e2e.vpsie.com/hold"
SCALED_DOWN = "vpsie_autoscaler_scaled_down_nodes_total"
EVICTED = "vpsie_autoscaler_evicted_pods_total"
BLOCKED = "vpsie_autoscaler_scale_down_blocked_total"
DOWN_WAIT = 180.0  # unneeded time + a pass + drain + VPSie delete + Node gone, loaded machine


def start(e2e: E2E, nodes: int) -> None:
    """Simulator, daemon and group ``web`` with ``nodes`` Ready nodes held by ``minNodes``."""
    e2e.start_simulator_in(world())
    e2e.start_daemon()
    e2e.apply_nodegroup(
        "web", min_nodes=nodes, max_nodes=4, labels=template_labels(e2e), group_name="large"
    )
    e2e.patch_nodegroup("web", {"scaleDown": FAST})
    e2e.wait_until(e2e.group_ready("web", nodes), what=f"{nodes} Ready nodes in web")


def deployment(
    e2e: E2E,
    name: str,
    *,
    replicas: int = 1,
    cpu: str,
    memory: str = "1Gi",
    annotations: Mapping[str, str] | None = None,
    finalizers: Sequence[str] = (),
) -> None:
    """Create a Deployment of pods selecting the group's nodes; wait until they all run."""
    body = deployment_body(
        name,
        namespace=e2e.ns.name,
        replicas=replicas,
        node_selector={**POOL, **e2e.ns.node_labels},
        cpu=cpu,
        memory=memory,
        annotations=annotations,
        finalizers=finalizers,
    )
    e2e.api.post(f"/apis/apps/v1/namespaces/{e2e.ns.name}/deployments", body)
    e2e.wait_until(e2e.pods_running(name, replicas, group="web"), what=f"{name} Running")


def group_nodes(e2e: E2E) -> list[str]:
    """Names of the group's Nodes."""
    return sorted(
        n["metadata"]["name"]
        for n in e2e.nodes()
        if (n["metadata"].get("labels") or {}).get(inv.GROUP_LABEL) == "web"
    )


def node(e2e: E2E, name: str) -> JSON:
    return e2e.api.get(f"/api/v1/nodes/{name}")


def cordon(e2e: E2E, name: str, on: bool) -> None:
    e2e.api.patch(
        f"/api/v1/nodes/{name}", {"spec": {"unschedulable": on or None}}, content_type=MERGE_PATCH
    )


def node_of(e2e: E2E, app: str) -> str:
    (pod,) = [p for p in e2e.pods(app) if not p["metadata"].get("deletionTimestamp")]
    return str(pod["spec"]["nodeName"])


def place_on_other_node(e2e: E2E, busy: str, make: Any) -> None:
    """Run ``make()`` (creating pods) while node ``busy`` is cordoned."""
    cordon(e2e, busy, True)
    try:
        make()
    finally:
        cordon(e2e, busy, False)


def shrunk_to(e2e: E2E, count: int) -> Probe:
    """Probe: the group has ``count`` nodes, members and live workers."""

    def probe() -> list[str]:
        vns = [vn for vn in e2e.vpsienodes("web") if inv.counted(vn)]
        live = [w for w in e2e.sim_workers("web") if w["state"] not in inv.DEAD]
        missing = [] if len(vns) == count else [f"{len(vns)} VPSieNodes, want {count}"]
        missing += [] if len(live) == count else [f"{len(live)} live workers, want {count}"]
        nodes = group_nodes(e2e)
        missing += [] if len(nodes) == count else [f"Nodes {nodes}, want {count}"]
        return missing

    return probe


def test_an_underutilized_nodes_pods_move_and_the_node_and_its_worker_go(e2e: E2E) -> None:
    start(e2e, 2)
    deployment(e2e, "first", cpu="1500m")
    first_node = node_of(e2e, "first")
    place_on_other_node(e2e, first_node, lambda: deployment(e2e, "second", cpu="1500m"))
    assert node_of(e2e, "second") != first_node
    before = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in e2e.pods()}

    e2e.patch_nodegroup("web", {"minNodes": 0})  # both nodes 38% requested: one can go
    e2e.wait_until(shrunk_to(e2e, 1), what="web down to one node", timeout=DOWN_WAIT)
    for app in ("first", "second"):
        e2e.wait_until(e2e.pods_running(app, 1, group="web"), what=f"{app} Running")

    (kept,) = group_nodes(e2e)
    (removed,) = set(before.values()) - {kept}
    moved = [name for name, where in before.items() if where == removed]
    assert moved, "no pod was on the removed node"
    now = {p["metadata"]["name"] for p in e2e.pods()}
    assert not set(moved) & now, f"the removed node's pods {moved} were not evicted"
    assert all(p["spec"]["nodeName"] == kept for p in e2e.pods())
    assert e2e.daemon_metric(SCALED_DOWN, nodegroup="web", reason="underutilized") == 1
    assert (e2e.daemon_metric(EVICTED, result="evicted") or 0) >= 1
    started = e2e.events("ScaleDown", node=removed)
    assert any("underutilized" in e["message"] for e in started), started
    status = e2e.nodegroups()[0]["status"]
    assert status.get("lastScaleDownTime"), status
    e2e.expect_invariants(creates=2)


class Availability:
    """Samples the Ready, not terminating pods of ``app`` until stopped; keeps the lowest."""

    def __init__(self, e2e: E2E, app: str) -> None:
        self._e2e = e2e
        self._app = app
        self._stop = threading.Event()
        self.samples: list[int] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pods = self._e2e.pods(self._app)
            ready = [
                p
                for p in pods
                if is_pod_running(p)
                and not p["metadata"].get("deletionTimestamp")
                and any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in p.get("status", {}).get("conditions") or []
                )
            ]
            self.samples.append(len(ready))
            self._stop.wait(0.1)

    def __enter__(self) -> Availability:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def scale(e2e: E2E, name: str, replicas: int) -> None:
    """Set the Deployment's replicas and wait until they all run."""
    path = f"/apis/apps/v1/namespaces/{e2e.ns.name}/deployments/{name}"
    e2e.api.patch(path, {"spec": {"replicas": replicas}}, content_type=MERGE_PATCH)
    e2e.wait_until(e2e.pods_running(name, replicas, group="web"), what=f"{name} x{replicas}")


def test_a_pdb_is_never_violated_while_draining(e2e: E2E) -> None:
    start(e2e, 2)
    deployment(e2e, "anchor", cpu="2000m")  # 51%: its node is not underutilized
    anchor = node_of(e2e, "anchor")
    place_on_other_node(e2e, anchor, lambda: deployment(e2e, "web", replicas=2, cpu="300m"))
    (drained,) = {p["spec"]["nodeName"] for p in e2e.pods("web")}
    place_on_other_node(e2e, drained, lambda: scale(e2e, "web", 4))
    # Two pods of web on each node; the PDB lets exactly the drained node's two go at once.
    pdb = pdb_body("web", namespace=e2e.ns.name, app="web", min_available=2)
    e2e.api.post(f"/apis/policy/v1/namespaces/{e2e.ns.name}/poddisruptionbudgets", pdb)

    with Availability(e2e, "web") as sampled:
        e2e.patch_nodegroup("web", {"minNodes": 0})
        e2e.wait_until(shrunk_to(e2e, 1), what="web down to one node", timeout=DOWN_WAIT)
        e2e.wait_until(e2e.pods_running("web", 4, group="web"), what="web's 4 pods Running")

    assert group_nodes(e2e) == [anchor]
    assert len(sampled.samples) > 1, "availability was not sampled during the drain"
    assert min(sampled.samples) >= 2, f"PDB minAvailable 2 broken: {sampled.samples}"
    assert (e2e.daemon_metric(EVICTED, result="evicted") or 0) >= 2
    e2e.expect_invariants(creates=2)


def test_a_node_with_a_not_safe_to_evict_pod_is_kept_and_says_why(e2e: E2E) -> None:
    start(e2e, 1)
    deployment(e2e, "pinned", cpu="500m", annotations={SAFE_TO_EVICT: "false"})
    (only,) = group_nodes(e2e)
    e2e.patch_nodegroup("web", {"minNodes": 0})

    def explained() -> list[str]:
        missing = []
        events = [e["message"] for e in e2e.events("ScaleDownBlocked", node=only)]
        if not any("BlockedByPod" in m and "NotSafeToEvictAnnotation" in m for m in events):
            missing.append(f"no ScaleDownBlocked Event naming the pod's reason: {events}")
        summary = e2e.nodegroups()[0].get("status", {}).get("keptSummary") or ""
        if "1 BlockedByPod" not in summary:
            missing.append(f"keptSummary {summary!r}")
        if not e2e.daemon_metric(BLOCKED, nodegroup="web", reason="BlockedByPod"):
            missing.append("scale_down_blocked_total{reason=BlockedByPod} not counted")
        return missing

    e2e.wait_until(explained, what="the kept node's reason in Event, status and metric")
    assert group_nodes(e2e) == [only]
    assert [vn["status"]["phase"] for vn in e2e.vpsienodes("web")] == ["Ready"]
    assert TAINT not in [t["key"] for t in node(e2e, only)["spec"].get("taints") or []]
    assert e2e.daemon_metric(SCALED_DOWN) is None
    e2e.expect_invariants(creates=1)


def test_sigterm_mid_drain_restores_the_node(e2e: E2E) -> None:
    start(e2e, 2)
    deployment(e2e, "anchor", cpu="2400m")
    anchor = node_of(e2e, "anchor")
    place_on_other_node(e2e, anchor, lambda: deployment(e2e, "held", cpu="500m", finalizers=[HOLD]))
    drained = node_of(e2e, "held")
    e2e.patch_nodegroup("web", {"minNodes": 0})

    def draining() -> list[str]:
        seen = node(e2e, drained)
        taints = [t["key"] for t in seen["spec"].get("taints") or []]
        held = [p for p in e2e.pods("held") if p["metadata"].get("deletionTimestamp")]
        return [] if TAINT in taints and held else [f"taints {taints}, held pods {len(held)}"]

    # The evicted pod stays Terminating (its finalizer): the drain waits for it to go.
    e2e.wait_until(draining, what="the drain of the held pod's node", timeout=DOWN_WAIT)
    assert e2e.daemon.stop() == "", "the daemon did not stop cleanly on SIGTERM"

    restored = node(e2e, drained)
    assert TAINT not in [t["key"] for t in restored["spec"].get("taints") or []]
    assert not restored["spec"].get("unschedulable")
    assert restored["metadata"]["annotations"][DRAIN_STATUS] == "interrupted"
    phases = {vn["status"].get("nodeName"): vn["status"]["phase"] for vn in e2e.vpsienodes("web")}
    assert phases[drained] == "Ready", phases
    assert e2e.events("ScaleDownFailed", node=drained)

    for pod in e2e.pods("held"):  # let the evicted pod go; a new daemon finishes the job
        path = f"/api/v1/namespaces/{e2e.ns.name}/pods/{pod['metadata']['name']}"
        e2e.api.patch(path, {"metadata": {"finalizers": None}}, content_type=MERGE_PATCH)
    e2e.start_daemon()
    e2e.wait_until(shrunk_to(e2e, 1), what="web down to one node", timeout=DOWN_WAIT)
    assert group_nodes(e2e) == [anchor]
    e2e.wait_until(e2e.pods_running("held", 1, group="web"), what="held Running again")
    e2e.expect_invariants(creates=2)


def test_a_deleted_vpsienodes_pods_are_evicted_before_its_worker_goes(e2e: E2E) -> None:
    start(e2e, 2)
    deployment(e2e, "web", cpu="500m")
    doomed = node_of(e2e, "web")
    (member,) = [vn for vn in e2e.vpsienodes("web") if vn["status"].get("nodeName") == doomed]
    name = member["metadata"]["name"]
    e2e.api.delete(f"/apis/{GROUP}/{VERSION}/namespaces/{e2e.ns.name}/vpsienodes/{name}")

    def replaced() -> list[str]:
        missing = e2e.pods_running("web", 1, group="web")()
        if doomed in group_nodes(e2e):
            missing.append(f"Node {doomed} still exists")
        return missing

    e2e.wait_until(replaced, what="the pod moved and the node gone", timeout=DOWN_WAIT)
    assert node_of(e2e, "web") != doomed
    drained = e2e.events("ScaleDown", node=doomed)
    assert any("before its worker is deleted" in e["message"] for e in drained), drained
    assert (e2e.daemon_metric(EVICTED, result="evicted") or 0) >= 1
    e2e.wait_until(e2e.group_ready("web", 2), what="minNodes 2 again")
    e2e.expect_invariants(creates=3)
