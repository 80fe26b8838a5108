"""``drain_node`` on the real control plane: real Eviction API, PDBs computed by KCM, kwok pods.

The Deployment's pods start on the source Node; once it is drained (tainted and cordoned)
the ReplicaSet's replacements are scheduled on the second Node. The pod informer is the
production one, so "gone" is what the watch delivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from autoscaler.app import build_informers
from autoscaler.clock import LoopClock
from autoscaler.controllers.drain import DrainOutcome, DrainResult, DrainSettings, drain_node
from autoscaler.controllers.keys import (
    DELETION_CANDIDATE_TAINT,
    DRAIN_FINISHED,
    DRAIN_STATUS,
)
from autoscaler.core.resources import GROUP, VERSION
from autoscaler.kube.client import api_client, load_configuration
from autoscaler.kube.events import EventRecorder
from autoscaler.kube.eviction import evict
from autoscaler.kube.objects import KubeObjects
from autoscaler.settings import Settings
from tests.testenv import ControlPlane, TestNamespace
from tests.testenv.kubehttp import JSON
from tests.testenv.objects import is_pod_running

pytestmark = [pytest.mark.integration]

WAIT = 90.0
REPLICAS = 3
APP = {"app": "web"}


def deployment(ns: str, selector: dict[str, str]) -> JSON:
    template = {
        "metadata": {"labels": APP},
        "spec": {
            "nodeSelector": selector,
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "main",
                    "image": "registry.invalid/testenv/pause:0",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                }
            ],
        },
    }
    spec = {"replicas": REPLICAS, "selector": {"matchLabels": APP}, "template": template}
    meta = {"name": "web", "namespace": ns}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def pdb(ns: str, max_unavailable: int) -> JSON:
    spec = {"maxUnavailable": max_unavailable, "selector": {"matchLabels": APP}}
    meta = {"name": "web", "namespace": ns}
    kind = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget"}
    return {**kind, "metadata": meta, "spec": spec}


async def poll(what: str, probe: Callable[[], Any], *, within: float = WAIT) -> Any:
    """Call the sync ``probe`` in a thread until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await asyncio.to_thread(probe)
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Cluster:
    def __init__(self, testenv: ControlPlane, ns: TestNamespace) -> None:
        self.admin, self.ns = testenv.admin, ns
        self.src, self.dst = ns.node_name("src"), ns.node_name("dst")

    def pods(self) -> list[JSON]:
        items = self.admin.get(f"/api/v1/namespaces/{self.ns}/pods")["items"]
        return [p for p in items if p["metadata"].get("deletionTimestamp") is None]

    def running_on(self, node: str) -> list[JSON]:
        return [p for p in self.pods() if p["spec"].get("nodeName") == node and is_pod_running(p)]

    def pdb(self) -> JSON:
        return self.admin.get(f"/apis/policy/v1/namespaces/{self.ns}/poddisruptionbudgets/web")

    def node(self, name: str) -> JSON:
        return self.admin.get(f"/api/v1/nodes/{name}")

    def node_events(self, name: str, reason: str) -> list[JSON]:
        items = self.admin.get("/api/v1/namespaces/default/events")["items"]
        return [
            e
            for e in items
            if e["involvedObject"].get("name") == name and e.get("reason") == reason
        ]


async def setup(testenv: ControlPlane, ns: TestNamespace, *, max_unavailable: int) -> Cluster:
    c = Cluster(testenv, ns)
    await asyncio.to_thread(ns.make_node, c.src, wait_ready=True)
    admin = testenv.admin
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    await asyncio.to_thread(admin.post, path, deployment(ns, ns.node_labels))
    await poll("pods running on src", lambda: len(c.running_on(c.src)) == REPLICAS)
    await asyncio.to_thread(ns.make_node, c.dst, wait_ready=True)
    path = f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets"
    await asyncio.to_thread(admin.post, path, pdb(ns, max_unavailable))

    def pdb_computed() -> bool:
        status = c.pdb().get("status") or {}
        return status.get("expectedPods") == REPLICAS and status.get("currentHealthy") == REPLICAS

    await poll("PDB status computed", pdb_computed)
    return c


@contextlib.asynccontextmanager
async def drainer(testenv: ControlPlane, ns: TestNamespace) -> AsyncIterator[Callable[..., Any]]:
    clock = LoopClock()
    cfg = await load_configuration(kubeconfig=testenv.admin_kubeconfig, context=None)
    settings = Settings(kube={"namespace": ns.name, "request_timeout_s": 15})
    async with api_client(cfg) as api, asyncio.TaskGroup() as tg:
        pods = build_informers(api, settings, clock=clock)["pods"]
        task = tg.create_task(pods.run())
        async with asyncio.timeout(WAIT):
            await pods.wait_synced()
        objects = KubeObjects(api, group=GROUP, version=VERSION, request_timeout=15)

        async def drain(node: str, drain_settings: DrainSettings) -> DrainResult:
            to_move = pods.store.by_index("pods_by_node", node)
            return await drain_node(
                node,
                pods=to_move,
                evict=functools.partial(evict, api, timeout=15),
                lookup=pods.store.get,
                nodes=objects,
                events=EventRecorder(objects, clock=clock, instance="test"),
                clock=clock,
                settings=drain_settings,
            )

        try:
            yield drain
        finally:
            task.cancel()


async def test_drain_evicts_through_pdb_one_at_a_time(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    c = await setup(testenv, kube_ns, max_unavailable=1)
    samples: list[tuple[int, int]] = []
    done = asyncio.Event()

    async def sample_pdb() -> None:
        while not done.is_set():
            status = (await asyncio.to_thread(c.pdb)).get("status") or {}
            samples.append((status.get("currentHealthy", 0), status.get("desiredHealthy", 0)))
            await asyncio.sleep(0.1)

    async with drainer(testenv, kube_ns) as drain, asyncio.TaskGroup() as tg:
        tg.create_task(sample_pdb())
        try:
            async with asyncio.timeout(WAIT):
                result = await drain(c.src, DrainSettings(pod_eviction_timeout_s=60))
        finally:
            done.set()
    assert result.outcome is DrainOutcome.DRAINED, result
    assert len(result.pods) == REPLICAS
    assert max(p.attempts for p in result.pods) > 1, "the PDB refused no eviction"
    assert samples
    assert all(current >= desired for current, desired in samples), samples
    node = await asyncio.to_thread(c.node, c.src)
    assert node["spec"].get("unschedulable") is True
    assert DELETION_CANDIDATE_TAINT in [t["key"] for t in node["spec"].get("taints") or []]
    assert node["metadata"]["annotations"][DRAIN_STATUS] == "complete"
    await poll("replacements on dst", lambda: len(c.running_on(c.dst)) == REPLICAS)


async def test_drain_blocked_by_pdb_fails_and_restores_node(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    c = await setup(testenv, kube_ns, max_unavailable=0)
    async with drainer(testenv, kube_ns) as drain:
        async with asyncio.timeout(WAIT):
            result = await drain(c.src, DrainSettings(pod_eviction_timeout_s=3))
    assert result.outcome is DrainOutcome.FAILED, result
    assert result.restored
    assert "disruption budget" in result.message
    node = await asyncio.to_thread(c.node, c.src)
    assert not node["spec"].get("unschedulable")
    assert DELETION_CANDIDATE_TAINT not in [t["key"] for t in node["spec"].get("taints") or []]
    annotations = node["metadata"]["annotations"]
    assert annotations[DRAIN_STATUS] == "failed"
    assert DRAIN_FINISHED in annotations
    assert await asyncio.to_thread(c.node_events, c.src, "ScaleDownFailed")
    assert len(await asyncio.to_thread(c.running_on, c.src)) == REPLICAS
