"""The lifecycle controllers in-process on the real control plane and the real VPSie client.

The simulator runs in-process on a real clock with one-second stages, and its bridge turns
workers into kwok Nodes; the controllers run exactly as in the daemon's leader scope
(informers, queues, workers, garbage collector). Everything is awaited with deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from autoscaler.app import build_informers
from autoscaler.clock import LoopClock
from autoscaler.controllers.keys import FINALIZER, MANAGED_LABEL, NODEGROUP_LABEL, VPSIENODE_LABEL
from autoscaler.controllers.scale_down_inputs import ScaleDownCaches
from autoscaler.controllers.wiring import (
    ControllerMetricSources,
    Controllers,
    LifecycleInformers,
    build_controllers,
)
from autoscaler.core.resources import API_VERSION, GROUP, VERSION
from autoscaler.kube.client import api_client, load_configuration
from autoscaler.kube.events import EventRecorder
from autoscaler.kube.eviction import evict
from autoscaler.kube.informer import wait_for_all_synced
from autoscaler.kube.objects import KubeObjects
from autoscaler.observability.controller_metrics import ControllerMetricsProvider
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.observability.registry import new_registry
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.observability.workqueue_metrics import WorkqueueMetricsProvider
from autoscaler.settings import Settings
from autoscaler.simulator import SimulatorConfig
from autoscaler.simulator.bridge import open_bridge
from autoscaler.simulator.bridge_nodes import NodeOptions
from autoscaler.vpsie import VPSieClientConfig, build_client, build_provider
from tests.simulator import CLUSTER, LARGE, TOKEN, Sim, running_simulator
from tests.testenv import ControlPlane, TestNamespace
from tests.testenv.kubehttp import JSON, condition

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds")]

WAIT = 90.0  # one condition, on a loaded 2-core machine
STAGE = 1.0  # every simulated provisioning stage, in real seconds
TEMPLATE_LABELS = {"team": "web", "tier": "frontend"}
TEMPLATE_TAINT = {"key": "dedicated", "value": "web", "effect": "NoSchedule"}


@dataclass
class World:
    testenv: ControlPlane
    ns: TestNamespace
    sim: Sim
    controllers: Controllers
    registry: Any

    def path(self, plural: str, name: str = "") -> str:
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.ns.name}/{plural}"
        return f"{base}/{name}" if name else base

    async def get(self, path: str, **params: str) -> JSON:
        return await asyncio.to_thread(self.testenv.admin.get, path, **params)

    async def vpsienodes(self) -> list[JSON]:
        return list((await self.get(self.path("vpsienodes")))["items"])

    async def nodes(self) -> list[JSON]:
        found = await self.get("/api/v1/nodes", labelSelector=self.ns.node_selector)
        return [n for n in found["items"] if n["metadata"].get("deletionTimestamp") is None]

    async def wait(self, what: str, probe: Callable[[], Any], *, within: float = WAIT) -> Any:
        """Poll the async ``probe`` until it returns something truthy."""
        last: Any = None
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            last = await probe()
            if last:
                return last
            await asyncio.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def sim_config(ns: TestNamespace, *, list_delay: float = STAGE) -> SimulatorConfig:
    stages = {f"{s}_delay": STAGE for s in ("boot", "join", "ready", "delete")}
    stages |= {"pending_delay": 0, "list_delay": list_delay}
    return SimulatorConfig.model_validate(
        {
            "seed": int(ns.test_hash, 16) % 10**6,
            "run_id": ns.name,
            "clock": {"mode": "real", "tick_interval": 0.2},
            # the controllers, not the bridge, delete the Nodes of deleted workers
            "knobs": {"provision": stages, "bridge": {"leave_node_behind": True}},
        }
    )


def settings_for(ns: TestNamespace) -> Settings:
    return Settings(
        kube={"namespace": ns.name, "request_timeout_s": 15},
        vpsie={"cluster_identifier": CLUSTER},
        lifecycle={
            "poll_interval_s": 0.5,
            "gc_interval_s": 2,
            "provisioning_timeout_s": 60,
            "joining_timeout_s": 60,
            "backoff_base_s": 2,
            "backoff_max_s": 10,
        },
        queue={"max_delay_s": 2},
    )


@contextlib.asynccontextmanager
async def running_controllers(
    testenv: ControlPlane, ns: TestNamespace, sim: Sim, *, free_finalizers: bool = True
) -> AsyncIterator[World]:
    settings = settings_for(ns)
    clock = LoopClock()
    config = VPSieClientConfig(
        api_url=str(sim.client.make_url("/apps/v2")), allow_http=True, token=SecretStr(TOKEN),
        cluster_identifier=CLUSTER, poll_interval_s=0.5, unknown_outcome_window_s=10,
        request_timeout_s=10, rate_per_s=50, burst=100, max_in_flight=8,
    )  # fmt: skip
    cfg = await load_configuration(kubeconfig=testenv.admin_kubeconfig, context=None)
    registry = new_registry(process_metrics=False)
    async with api_client(cfg) as api, build_client(config, clock=clock) as http:
        provider = build_provider(config, http=http, clock=clock)
        informers = build_informers(api, settings, clock=clock)
        objects = KubeObjects(api, group=GROUP, version=VERSION, request_timeout=15)
        async with asyncio.TaskGroup() as tg:
            tasks: list[asyncio.Task[Any]] = [tg.create_task(i.run()) for i in informers.values()]
            async with asyncio.timeout(WAIT):
                await wait_for_all_synced(informers.values())
            controllers = build_controllers(
                objects=objects, provider=provider,
                events=EventRecorder(objects, clock=clock, instance="test"),
                informers=LifecycleInformers(
                    nodegroups=informers["nodegroups"], vpsienodes=informers["vpsienodes"],
                    nodes=informers["nodes"], pods=informers["pods"],
                    scale_down=ScaleDownCaches(
                        pdbs=informers["pdbs"].store, pvcs=informers["pvcs"].store,
                        pvs=informers["pvs"].store,
                    ),
                ),
                settings=settings,
                metrics=ControllerMetricSources(
                    WorkqueueMetricsProvider(registry), ControllerMetricsProvider(registry),
                    ScaleUpMetrics(registry), ScaleDownMetrics(registry),
                ),
                lifecycle_metrics=LifecycleMetrics(registry), clock=clock,
                evict=functools.partial(evict, api, timeout=15),
            )  # fmt: skip
            tasks.append(tg.create_task(controllers.run()))
            try:
                yield World(testenv, ns, sim, controllers, registry)
            finally:
                for task in tasks:
                    task.cancel()
        if free_finalizers:
            _free_finalizers(testenv, ns)


def _free_finalizers(testenv: ControlPlane, ns: TestNamespace) -> None:
    """After a failure, let the namespace go: no controller is left to finalize."""
    for plural in ("vpsienodes", "nodegroups"):
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{ns.name}/{plural}"
        for obj in testenv.admin.get(base)["items"]:
            if obj["metadata"].get("finalizers"):
                path = f"{base}/{obj['metadata']['name']}"
                testenv.admin.patch(path, {"metadata": {"finalizers": None}})


@contextlib.asynccontextmanager
async def simulated(
    testenv: ControlPlane, ns: TestNamespace, *, list_delay: float = STAGE
) -> AsyncIterator[Sim]:
    """The simulator with its Node bridge (Nodes carry this test's label)."""
    options = NodeOptions(extra_labels=ns.node_labels)
    async with (
        open_bridge(testenv.admin_kubeconfig, options=options) as bridge,
        running_simulator(sim_config(ns, list_delay=list_delay), hook=bridge) as sim,
    ):
        yield sim


@pytest.fixture
async def world(testenv: ControlPlane, kube_ns: TestNamespace) -> AsyncIterator[World]:
    async with simulated(testenv, kube_ns) as sim, running_controllers(testenv, kube_ns, sim) as w:
        yield w


def nodegroup(ns: str, *, min_nodes: int, max_nodes: int = 6) -> JSON:
    return {
        "apiVersion": API_VERSION,
        "kind": "NodeGroup",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "minNodes": min_nodes,
            "maxNodes": max_nodes,
            "provider": {"clusterIdentifier": CLUSTER, "nodeGroupId": LARGE},
            "template": {"labels": TEMPLATE_LABELS, "taints": [TEMPLATE_TAINT]},
        },
    }


def ready_members(items: list[JSON]) -> list[JSON]:
    return [v for v in items if (v.get("status") or {}).get("phase") == "Ready"]


def managed_and_ready(node: JSON, vpsienodes: set[str]) -> bool:
    labels = node["metadata"].get("labels") or {}
    taints = node.get("spec", {}).get("taints") or []
    return (
        condition(node, "Ready") == "True"
        and labels.items() >= TEMPLATE_LABELS.items()
        and labels.get(MANAGED_LABEL) == "true"
        and labels.get(NODEGROUP_LABEL) == "web"
        and labels.get(VPSIENODE_LABEL) in vpsienodes
        and any(t.get("key") == "dedicated" and t.get("value") == "web" for t in taints)
        and node["spec"].get("providerID", "").startswith("vpsie://")
    )


async def expect_group_of(w: World, size: int) -> list[JSON]:
    """Wait until ``size`` VPSieNodes are Ready with ``size`` managed Ready Nodes."""

    async def probe() -> list[JSON] | None:
        members = ready_members(await w.vpsienodes())
        names = {v["metadata"]["name"] for v in members}
        nodes = [n for n in await w.nodes() if managed_and_ready(n, names)]
        return members if len(members) == size and len(nodes) == size else None

    members: list[JSON] = await w.wait(f"{size} Ready VPSieNodes and Nodes", probe)
    for v in members:
        assert FINALIZER in v["metadata"]["finalizers"]
        owner = v["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("NodeGroup", "web", True)
        status = v["status"]
        assert status["vpsieIdentifier"]
        assert status["hostname"]
        assert status["nodeName"] == status["hostname"].lower()
        types = {c["type"]: c["status"] for c in status["conditions"]}
        assert types | {"Launched": "True", "Registered": "True", "Ready": "True"} == types
    return members


async def expect_status(w: World, *, ready: int, min_nodes: int) -> JSON:
    async def probe() -> JSON | None:
        group = await w.get(w.path("nodegroups", "web"))
        status = group.get("status") or {}
        fits = (
            status.get("readyNodes") == ready
            and status.get("currentNodes") == ready
            and status.get("upcomingNodes") == 0
            and status.get("targetNodes") == ready
            and status.get("observedGeneration") == group["metadata"]["generation"]
        )
        return status if fits else None

    status: JSON = await w.wait(f"NodeGroup status with {ready} ready", probe)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Scaling"]["status"] == "False"
    assert conditions["AtMinCapacity"]["status"] == ("True" if ready == min_nodes else "False")
    assert conditions["AtMaxCapacity"]["status"] == "False"
    assert conditions["Backoff"]["status"] == "False"
    assert status["monthlyCost"]
    return status


async def event_reasons(w: World) -> set[str]:
    events = await w.get(f"/api/v1/namespaces/{w.ns.name}/events")
    return {e["reason"] for e in events["items"]}


async def test_nodegroup_grows_to_min_then_deletes_every_worker(world: World) -> None:
    w = world
    ng_path = w.path("nodegroups", "web")
    await asyncio.to_thread(
        w.testenv.admin.post, w.path("nodegroups"), nodegroup(w.ns, min_nodes=2)
    )

    await expect_group_of(w, 2)
    await expect_status(w, ready=2, min_nodes=2)

    await asyncio.to_thread(w.testenv.admin.patch, ng_path, {"spec": {"minNodes": 4}})
    members = await expect_group_of(w, 4)
    await expect_status(w, ready=4, min_nodes=4)
    assert len({v["status"]["vpsieIdentifier"] for v in members}) == 4

    reasons = await event_reasons(w)
    expected = {
        "ProvisioningStarted",
        "WorkerCreated",
        "WorkerIdentified",
        "NodeJoined",
        "ScaledUpToMinimum",
    }
    assert expected <= reasons, reasons

    await asyncio.to_thread(w.testenv.admin.delete, ng_path)

    async def all_gone() -> bool:
        left = await w.vpsienodes()
        exists = await asyncio.to_thread(w.testenv.admin.exists, ng_path)
        return not left and not exists

    await w.wait("every VPSieNode and the NodeGroup gone", all_gone)
    identifiers = {v["status"]["vpsieIdentifier"] for v in members}
    listed = {n["identifier"] for n in await w.sim.nodes()}
    assert not identifiers & listed, "a worker was left in VPSie"
    await w.wait("every managed Node gone", lambda: _no_nodes(w))
    assert {"WorkerDeleted", "NodeDeleted", "DeletingWorker"} <= await event_reasons(w)


async def _no_nodes(w: World) -> bool:
    return not [
        n for n in await w.nodes() if (n["metadata"].get("labels") or {}).get(MANAGED_LABEL)
    ]


async def k4_calls(sim: Sim) -> int:
    calls = (await sim.get("/__sim/calls", auth=False)).json["calls"]
    return sum(1 for c in calls if c["route_id"] == "K4")


async def test_a_restart_mid_provisioning_recovers_the_worker_without_a_second_create(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    async with simulated(testenv, kube_ns, list_delay=6) as sim:
        async with running_controllers(testenv, kube_ns, sim, free_finalizers=False) as first:
            await asyncio.to_thread(
                testenv.admin.post, first.path("nodegroups"), nodegroup(kube_ns, min_nodes=1)
            )

            async def launched() -> bool:
                items = await first.vpsienodes()
                return any(
                    c["type"] == "Launched" and c["reason"] == "WorkerCreated"
                    for v in items
                    for c in (v.get("status") or {}).get("conditions", [])
                )

            await first.wait("the create call accepted", launched)
        # the first process is gone with its claims; the worker is not listed yet
        (before,) = await first.vpsienodes()
        assert before["status"]["phase"] == "Provisioning"
        assert "vpsieIdentifier" not in before["status"]
        async with running_controllers(testenv, kube_ns, sim) as second:
            (member,) = await expect_group_of(second, 1)
            assert member["metadata"]["uid"] == before["metadata"]["uid"]
            assert await k4_calls(sim) == 1
            assert "WorkerRecovered" in await event_reasons(second)
            await asyncio.to_thread(testenv.admin.delete, second.path("nodegroups", "web"))
            await second.wait("the group gone", lambda: _group_gone(second))


async def _group_gone(w: World) -> bool:
    return not await w.vpsienodes() and not await asyncio.to_thread(
        w.testenv.admin.exists, w.path("nodegroups", "web")
    )
