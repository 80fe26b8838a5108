"""The scale-down controller over fakes: claim before taint, drain, removal, failure, recovery,
and the three places every kept node's reason shows (Event, status, metric)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from autoscaler.clock import FakeClock
from autoscaler.controllers.drain_pods import DrainSettings
from autoscaler.controllers.keys import DELETION_CANDIDATE_TAINT, DRAIN_STATUS
from autoscaler.controllers.members import new_vpsienode
from autoscaler.controllers.records import VPSieNodeRecord, project_nodegroup
from autoscaler.controllers.scale_down_controller import ScaleDownController
from autoscaler.controllers.scale_down_inputs import ScaleDownCaches
from autoscaler.controllers.vpsienode_deletion import finalize
from autoscaler.core.drainability import SAFE_TO_EVICT
from autoscaler.core.node_eligibility import KeptReason
from autoscaler.core.records import PodRecord
from autoscaler.core.scale_down_plan import Kept, ScaleDownPlan
from autoscaler.kube.eviction import EvictionResult, EvictionStatus
from autoscaler.kube.store import Store
from autoscaler.kube.workqueue import WorkQueue
from autoscaler.observability.controller_metrics import NOOP_CONTROLLER_METRICS
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.settings import ScalingSettings
from tests.controllers import NS, WALL, EventLog, make_context, nodegroup
from tests.controllers.fake_kube import FakeKube, raw_pod
from tests.controllers.fake_provider import FakeProvider
from tests.core.factories import placed_pod

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

JSON = dict[str, Any]
GROUP_LABEL = "autoscaler.vpsie.com/nodegroup"
FAST = {"unneededTime": "0s", "delayAfterAdd": "0s"}


class LoopWallClock(FakeClock):
    """The loop's (virtual) monotonic time; a wall clock that moves only with ``step``."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()


@dataclasses.dataclass
class Evictions:
    """The Eviction API: an evicted pod leaves the cache and the API at once, unless told."""

    kube: FakeKube
    answers: dict[str, EvictionResult] = dataclasses.field(default_factory=dict)
    calls: list[str] = dataclasses.field(default_factory=list)

    async def __call__(self, pod: PodRecord, *, grace_seconds: int | None) -> EvictionResult:
        self.calls.append(pod.key)
        answer = self.answers.get(pod.key, EvictionResult(EvictionStatus.EVICTED))
        if answer.status is EvictionStatus.EVICTED:
            self.kube.caches.pods.delete(pod.key)
            self.kube.pods_api = [
                p for p in self.kube.pods_api if p["metadata"]["name"] != pod.name
            ]
        return answer


@dataclasses.dataclass
class World:
    kube: FakeKube
    controller: ScaleDownController
    events: EventLog
    clock: FakeClock
    registry: CollectorRegistry
    evictions: Evictions
    requeued: list[str]

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    def phase(self, node: str) -> str | None:
        for vn in self.kube.of("vpsienodes"):
            if vn["status"].get("nodeName") == node:
                return str(vn["status"].get("phase"))
        return None

    def vpsienode_deleting(self, node: str) -> bool:
        return any(
            vn["status"].get("nodeName") == node and vn["metadata"].get("deletionTimestamp")
            for vn in self.kube.of("vpsienodes")
        )

    def taints(self, node: str) -> list[str]:
        return [t["key"] for t in self.kube.nodes[node]["spec"].get("taints") or []]

    def reasons(self, node: str | None = None) -> list[str]:
        return [
            e["reason"]
            for e in self.events.events
            if node is None or e["involvedObject"]["name"] == node
        ]

    async def drain(self, node: str) -> None:
        await self.controller.pool.drain(node)
        self.kube.sync()

    async def tick(self) -> ScaleDownPlan:
        plan = await self.controller.tick()
        await self.controller.events.flush()
        self.kube.sync()
        return plan


async def world(
    nodes: dict[str, list[PodRecord]],
    *,
    min_nodes: int = 0,
    scale_down: dict[str, Any] | None = None,
    drain: DrainSettings | None = None,
    **settings: Any,
) -> World:
    """Group ``web`` with one Ready VPSieNode per node (4 CPU, 16 GiB) and these pods."""
    kube, provider = FakeKube(), FakeProvider()
    clock = LoopWallClock(wall=WALL)
    ctx, log = make_context(kube, provider, clock=clock)
    spec = nodegroup(min_nodes=min_nodes, scaleDown=FAST | (scale_down or {}))
    spec["spec"]["template"]["taints"] = []
    await kube.create("nodegroups", NS, spec)
    kube.sync()
    group = project_nodegroup(kube.of("nodegroups")[0])
    for name, pods in nodes.items():
        body = new_vpsienode(group, hostname=name)
        body["metadata"]["finalizers"] = ["autoscaler.vpsie.com/worker"]
        created = await kube.create("vpsienodes", NS, body)
        status = {"phase": "Ready", "hostname": name, "nodeName": name}
        await kube.patch("vpsienodes", NS, created["metadata"]["name"], {"status": status})
        node = kube.add_node(
            name,
            labels={GROUP_LABEL: "web", "autoscaler.vpsie.com/vpsienode": body["metadata"]["name"]},
        )
        node["metadata"]["creationTimestamp"] = "2025-12-31T00:00:00Z"
        node["status"]["allocatable"] = {"cpu": "4", "memory": "16Gi", "pods": "110"}
        node["status"]["capacity"] = node["status"]["allocatable"]
        kube.add_pods(pods)
        kube.pods_api += [raw_pod(p) for p in pods]
    kube.sync()
    registry = CollectorRegistry()
    evictions = Evictions(kube)
    requeued: list[str] = []
    controller = ScaleDownController(
        ctx,
        caches=ScaleDownCaches(pdbs=Store(), pvcs=Store(), pvs=Store()),
        settings=ScalingSettings(**settings),
        drain=drain or DrainSettings(poll_interval_s=0.01, pod_eviction_timeout_s=0.05),
        queue=WorkQueue(name="drain"),
        evict=evictions,
        workers=2,
        metrics=ScaleDownMetrics(registry),
        worker_metrics=NOOP_CONTROLLER_METRICS,
        requeue=requeued.append,
    )
    ctx.drain_before_delete = controller.drain_before_delete
    return World(kube, controller, log, clock, registry, evictions, requeued)


def load(node: str, name: str, cpu_m: int, **kw: Any) -> PodRecord:
    return placed_pod(name, node_name=node, cpu_m=cpu_m, memory="1Gi", **kw)


async def test_an_underutilized_node_is_claimed_before_its_taint_then_drained_and_deleted() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    plan = await w.tick()
    assert [r.node for r in plan.drain] == ["a"]
    assert w.phase("a") == "Draining"
    assert w.taints("a") == []  # the drain pool taints it, after the claim

    await w.drain("a")

    assert w.evictions.calls == ["default/small"]
    assert w.vpsienode_deleting("a")
    assert DELETION_CANDIDATE_TAINT in w.taints("a")
    calls = w.kube.calls
    claimed = calls.index(
        ("patch_status", "vpsienodes", w.kube.of("vpsienodes")[0]["metadata"]["name"])
    )
    tainted = calls.index(("patch_node", "a"))
    assert claimed < tainted
    assert (
        w.metric(
            "vpsie_autoscaler_scaled_down_nodes_total", nodegroup="web", reason="underutilized"
        )
        == 1
    )
    assert "ScaleDown" in w.reasons("a")
    (scaled,) = [e for e in w.events.events if e["reason"] == "ScaledDownGroup"]
    assert scaled["involvedObject"]["name"] == "web"
    assert scaled["message"] == "node a removed (underutilized, 1 pod(s) moved)"
    await w.tick()
    status = w.kube.of("nodegroups")[0]["status"]
    assert status["lastScaleDownTime"] == "2026-01-01T00:00:00Z"


async def test_an_empty_node_is_removed_without_evictions() -> None:
    w = await world({"a": [], "b": [load("b", "big", 2000)]})
    plan = await w.tick()
    assert [r.node for r in plan.empty] == ["a"]
    await w.drain("a")
    assert w.evictions.calls == []
    assert w.vpsienode_deleting("a")
    assert (
        w.metric("vpsie_autoscaler_scaled_down_nodes_total", nodegroup="web", reason="empty") == 1
    )


async def test_a_node_in_progress_is_never_claimed_twice() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    await w.tick()
    second = await w.tick()
    assert second.removals == ()
    assert second.kept_node("a") is None  # in progress: neither a candidate nor kept
    assert w.controller.pool.active == frozenset({"a"})


async def test_a_not_safe_to_evict_pod_keeps_the_node_and_says_why_in_three_places() -> None:
    pinned = load("a", "pinned", 500, annotations={SAFE_TO_EVICT: "false"})
    w = await world({"a": [pinned], "b": [load("b", "big", 2000)]})
    plan = await w.tick()
    assert plan.removals == ()
    kept = plan.kept_node("a")
    assert kept is not None
    assert kept.reason is KeptReason.BLOCKED_BY_POD
    (event,) = [e for e in w.events.events if e["involvedObject"]["name"] == "a"]
    assert event["reason"] == "ScaleDownBlocked"
    assert "BlockedByPod" in event["message"]
    assert "default/pinned" in event["message"]
    summary = w.kube.of("nodegroups")[0]["status"]["keptSummary"]
    assert "1 BlockedByPod (a: pod default/pinned keeps the node" in summary
    labels = {"nodegroup": "web", "reason": "BlockedByPod"}
    assert w.metric("vpsie_autoscaler_scale_down_blocked_total", **labels) == 1
    assert w.metric("vpsie_autoscaler_unremovable_nodes_count", **labels) == 1


async def test_the_same_reason_is_not_told_again_but_a_new_one_is() -> None:
    w = await world({"a": [load("a", "busy", 3000)], "b": [load("b", "big", 3000)]})
    await w.tick()
    await w.tick()
    assert w.reasons("a") == ["ScaleDownBlocked"]
    assert (
        w.metric(
            "vpsie_autoscaler_scale_down_blocked_total", nodegroup="web", reason="NotUnderutilized"
        )
        == 4
    )  # two nodes, two passes: every pass counts
    w.kube.nodes["a"]["metadata"]["annotations"] = {
        "autoscaler.vpsie.com/scale-down-disabled": "true"
    }
    w.kube.sync()
    await w.tick()
    assert w.reasons("a") == ["ScaleDownBlocked", "ScaleDownBlocked"]
    assert "ScaleDownDisabledAnnotation" in w.events.events[-1]["message"]


async def test_a_failed_drain_restores_the_node_releases_the_vpsienode_and_backs_it_off() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    w.evictions.answers["default/small"] = EvictionResult(EvictionStatus.BLOCKED, "PDB says no")
    await w.tick()
    await w.drain("a")
    assert w.phase("a") == "Ready"
    assert w.taints("a") == []
    assert w.kube.nodes["a"]["metadata"]["annotations"][DRAIN_STATUS] == "failed"
    assert "ScaleDownFailed" in w.reasons("a")
    assert (
        w.metric("vpsie_autoscaler_failed_scale_downs_total", nodegroup="web", reason="failed") == 1
    )
    assert w.metric("vpsie_autoscaler_evicted_pods_total", result="blocked") == 1

    held = await w.tick()
    kept = held.kept_node("a")
    assert kept is not None
    assert kept.reason is KeptReason.DRAIN_BACKOFF
    w.clock.step(181)
    again = await w.tick()
    assert [r.node for r in again.drain] == ["a"]


async def test_a_pod_that_arrived_after_the_plan_stops_the_removal() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    await w.tick()
    late = load("a", "late", 100)
    w.kube.pods_api.append(raw_pod(late))  # bound before the taint; the cache has not seen it
    await w.drain("a")
    assert not w.vpsienode_deleting("a")
    assert w.phase("a") == "Ready"
    assert w.taints("a") == []
    assert (
        w.metric(
            "vpsie_autoscaler_failed_scale_downs_total", nodegroup="web", reason="pods_arrived"
        )
        == 1
    )
    failed = [e for e in w.events.events if e["reason"] == "ScaleDownFailed"]
    assert "default/late" in failed[-1]["message"]


async def test_scale_down_cancelled_mid_drain_restores_node_and_vpsienode() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    never, evicting = asyncio.Event(), asyncio.Event()

    async def hang(pod: PodRecord, *, grace_seconds: int | None) -> EvictionResult:
        evicting.set()
        await never.wait()
        raise AssertionError("unreachable")

    w.controller.pool._evict = hang
    await w.tick()
    task = asyncio.create_task(w.controller.pool.drain("a"))
    await evicting.wait()
    assert DELETION_CANDIDATE_TAINT in w.taints("a")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    w.kube.sync()
    assert w.taints("a") == []
    assert w.phase("a") == "Ready"
    assert w.kube.nodes["a"]["metadata"]["annotations"][DRAIN_STATUS] == "interrupted"
    assert (
        w.metric("vpsie_autoscaler_failed_scale_downs_total", nodegroup="web", reason="interrupted")
        == 1
    )


async def test_a_drain_left_by_a_previous_leader_is_restored_or_finished() -> None:
    w = await world(
        {"a": [load("a", "small", 500)], "b": [], "c": [load("c", "big", 3000)]},
        max_empty_bulk_delete=1,
    )
    names = {vn["status"]["nodeName"]: vn["metadata"]["name"] for vn in w.kube.of("vpsienodes")}
    for node in ("a", "b"):
        await w.kube.patch("vpsienodes", NS, names[node], {"status": {"phase": "Draining"}})
        w.kube.nodes[node]["spec"]["taints"] = [
            {"key": DELETION_CANDIDATE_TAINT, "effect": "NoSchedule"}
        ]
    w.kube.nodes["a"]["metadata"]["annotations"] = {DRAIN_STATUS: "running"}
    w.kube.nodes["b"]["metadata"]["annotations"] = {DRAIN_STATUS: "complete"}
    w.kube.sync()

    await w.tick()

    assert w.phase("a") == "Ready"
    assert w.taints("a") == []
    assert w.kube.nodes["a"]["metadata"]["annotations"][DRAIN_STATUS] == "interrupted"
    assert w.vpsienode_deleting("b")
    assert (
        w.metric("vpsie_autoscaler_scaled_down_nodes_total", nodegroup="web", reason="resumed") == 1
    )


async def test_dry_run_explains_and_changes_nothing() -> None:
    w = await world({"a": [], "b": [load("b", "big", 2000)]}, dry_run=True)
    plan = await w.tick()
    assert [r.node for r in plan.empty] == ["a"]
    assert w.phase("a") == "Ready"
    assert w.controller.pool.active == frozenset()
    assert not any(c[0] == "patch_node" for c in w.kube.calls)


async def test_the_group_minimum_is_kept_and_said() -> None:
    w = await world({"a": [], "b": []}, min_nodes=2)
    plan = await w.tick()
    assert plan.removals == ()
    summary = w.kube.of("nodegroups")[0]["status"]["keptSummary"]
    assert summary.startswith("2 node(s) kept: 2 NodeGroupMinSizeReached")


@pytest.mark.parametrize("reason", list(KeptReason), ids=lambda r: r.value)
async def test_every_block_reason_is_counted(reason: KeptReason) -> None:
    """Whatever keeps a node is counted per group and reason, shown in the gauge, and said
    in an Event on the node (a Warning where the user must fix something)."""
    w = await world({"a": [], "b": []})
    kept = Kept("a", "web", reason, f"kept because of {reason.value}")
    plan = ScaleDownPlan(
        empty=(),
        drain=(),
        kept=(kept,),
        unneeded_since={},
        kept_counts={"web": {reason: 1}},
    )
    w.controller.report(plan, {})
    await w.controller.events.flush()
    labels = {"nodegroup": "web", "reason": reason.value}
    assert w.metric("vpsie_autoscaler_scale_down_blocked_total", **labels) == 1
    assert w.metric("vpsie_autoscaler_unremovable_nodes_count", **labels) == 1
    (event,) = w.events.events
    assert event["reason"] == "ScaleDownBlocked"
    assert event["message"] == f"{reason.value}: kept because of {reason.value}"
    warning = reason is KeptReason.MALFORMED_ANNOTATION
    assert event["type"] == ("Warning" if warning else "Normal")


async def test_the_unremovable_gauge_drops_reasons_no_longer_seen() -> None:
    w = await world({"a": [load("a", "busy", 3000)], "b": [load("b", "big", 3000)]})
    await w.tick()
    labels = {"nodegroup": "web", "reason": "NotUnderutilized"}
    assert w.metric("vpsie_autoscaler_unremovable_nodes_count", **labels) == 2
    for key in ("default/busy", "default/big"):
        w.kube.caches.pods.delete(key)
    w.kube.pods_api = []
    await w.tick()
    assert w.metric("vpsie_autoscaler_unremovable_nodes_count", **labels) == 0


async def delete_vpsienode(w: World, node: str) -> VPSieNodeRecord:
    """Delete the node's VPSieNode (as a user would) and return its cached record."""
    (vn,) = [v for v in w.kube.of("vpsienodes") if v["status"]["nodeName"] == node]
    await w.kube.delete("vpsienodes", NS, vn["metadata"]["name"])
    w.kube.sync()
    rec = w.kube.caches.vpsienodes.get(f"{NS}/{vn['metadata']['name']}")
    assert rec is not None
    return rec


async def test_a_deleted_vpsienodes_node_is_drained_before_its_worker_goes() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    ctx = w.controller._ctx
    rec = await delete_vpsienode(w, "a")
    assert await finalize(ctx, rec) is not None  # Deleting first
    w.kube.sync()
    rec = w.kube.caches.vpsienodes.get(rec.key) or rec

    assert await finalize(ctx, rec) is not None
    assert w.controller.pool.active == frozenset({"a"})
    assert ("delete_node", "a") not in w.kube.calls
    assert w.evictions.calls == []
    await w.drain("a")
    assert w.evictions.calls == ["default/small"]
    assert w.requeued == [rec.key]

    await finalize(ctx, w.kube.caches.vpsienodes.get(rec.key) or rec)
    assert ("delete_node", "a") in w.kube.calls  # no worker was ever made here: Node next
    assert "ScaleDown" in w.reasons("a")


async def test_a_node_not_ready_or_empty_is_not_drained_before_deletion() -> None:
    w = await world({"a": [], "b": [load("b", "big", 2000)]})
    w.kube.nodes["b"]["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    w.kube.sync()
    for node in ("a", "b"):
        rec = await delete_vpsienode(w, node)
        assert await w.controller.drain_before_delete(rec)
    assert w.controller.pool.active == frozenset()
    assert w.kube.calls.count(("patch_node", "a")) == 0


async def test_a_failed_drain_before_deletion_is_backed_off_and_tried_again() -> None:
    w = await world({"a": [load("a", "small", 500)], "b": [load("b", "big", 2000)]})
    w.evictions.answers["default/small"] = EvictionResult(EvictionStatus.BLOCKED, "PDB says no")
    rec = await delete_vpsienode(w, "a")
    assert not await w.controller.drain_before_delete(rec)
    await w.drain("a")
    assert w.requeued == []
    assert "a" in w.controller.backoff
    assert not await w.controller.drain_before_delete(rec)
    assert w.controller.pool.active == frozenset()
    w.clock.step(181)
    del w.evictions.answers["default/small"]
    assert not await w.controller.drain_before_delete(rec)
    await w.drain("a")
    assert w.requeued == [rec.key]
    assert await w.controller.drain_before_delete(rec)
