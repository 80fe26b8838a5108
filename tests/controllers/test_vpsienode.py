"""The VPSieNode phase machine over an in-memory API server and a recording fake provider."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from autoscaler.clock import FakeClock
from autoscaler.controllers.context import Context
from autoscaler.controllers.keys import (
    CREATE_ATTEMPT,
    FINALIZER,
    KNOWN_WORKERS,
    MANAGED_LABEL,
    NODEGROUP_LABEL,
    VPSIENODE_LABEL,
)
from autoscaler.controllers.members import new_vpsienode
from autoscaler.controllers.vpsienode import VPSieNodeReconciler
from autoscaler.vpsie.errors import ConnectError, QuotaExceeded, UnknownOutcome
from tests.controllers import NS, WALL, make_context, nodegroup
from tests.controllers.fake_kube import FakeKube
from tests.controllers.fake_provider import FakeProvider

JSON = dict[str, Any]


class World:
    def __init__(self, *, list_after: int = 0, **settings: Any) -> None:
        self.kube = FakeKube()
        self.provider = FakeProvider(list_after=list_after)
        self.clock = FakeClock(wall=WALL)
        self.ctx: Context
        self.ctx, self.log = make_context(self.kube, self.provider, clock=self.clock, **settings)
        self.reconciler = VPSieNodeReconciler(self.ctx)

    async def group(self, **spec: Any) -> None:
        obj = await self.kube.create("nodegroups", NS, nodegroup(**spec))
        self.kube.sync()
        self.group_record = self.kube.caches.nodegroups.get(f"{NS}/web")
        assert obj

    async def member(self) -> str:
        assert self.group_record is not None
        body = new_vpsienode(self.group_record)
        await self.kube.create("vpsienodes", NS, body)
        self.kube.sync()
        return str(body["metadata"]["name"])

    async def reconcile(self, name: str, *, sync: bool = True) -> Any:
        result = await self.reconciler.reconcile(f"{NS}/{name}")
        if sync:
            self.kube.sync()
        return result

    def vn(self, name: str) -> JSON:
        obj = self.kube.get_object("vpsienodes", NS, name)
        assert obj is not None
        return obj

    def phase(self, name: str) -> str | None:
        return (self.vn(name).get("status") or {}).get("phase")

    async def until_phase(self, name: str, phase: str, *, passes: int = 10) -> None:
        for _ in range(passes):
            if self.phase(name) == phase:
                return
            await self.reconcile(name)
        assert self.phase(name) == phase, self.vn(name)


@pytest.fixture
async def world() -> World:
    w = World()
    await w.group()
    return w


async def test_intent_is_written_before_the_one_create_call(world: World) -> None:
    name = await world.member()
    seen: list[JSON] = []
    world.provider.before_create = lambda intent: seen.append(world.vn(name))

    await world.reconcile(name)

    assert len(world.provider.create_calls) == 1
    (at_call,) = seen
    assert at_call["status"]["phase"] == "Provisioning"
    assert at_call["metadata"]["annotations"][CREATE_ATTEMPT]
    assert KNOWN_WORKERS in at_call["metadata"]["annotations"]
    assert "ProvisioningStarted" in world.log.reasons()


async def test_a_stale_cache_never_creates_twice(world: World) -> None:
    name = await world.member()
    await world.reconcile(name, sync=False)
    await world.reconcile(name, sync=False)  # the cache still says Pending
    assert len(world.provider.create_calls) == 1


async def test_worker_joins_with_the_group_identity_and_turns_ready() -> None:
    w = World(list_after=1)
    await w.group()
    name = await w.member()
    await w.until_phase(name, "Joining")
    hostname = w.vn(name)["status"]["hostname"]
    w.kube.add_node(hostname.lower(), ready=True)
    w.kube.sync()

    await w.until_phase(name, "Ready")

    node = w.kube.nodes[hostname.lower()]
    labels = node["metadata"]["labels"]
    assert labels["team"] == "web"
    assert (labels[MANAGED_LABEL], labels[NODEGROUP_LABEL], labels[VPSIENODE_LABEL]) == (
        "true",
        "web",
        name,
    )
    assert node["spec"]["taints"] == [{"key": "dedicated", "effect": "NoSchedule"}]
    assert node["spec"]["providerID"] == f"vpsie://{w.vn(name)['status']['vpsieIdentifier']}"
    status = w.vn(name)["status"]
    assert status["nodeName"] == hostname.lower()
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Launched": "True",
        "Registered": "True",
        "Ready": "True",
    }
    assert {"WorkerCreated", "WorkerIdentified", "NodeRegistered", "NodeJoined"} <= set(
        w.log.reasons()
    )
    assert w.provider.forgotten  # the claim is dropped once Ready


async def test_a_restart_recovers_a_lost_vke_create_without_taking_older_workers() -> None:
    w = World(list_after=2)
    await w.group()
    older = w.provider.add_worker("web")  # someone else's, listed before our create
    name = await w.member()
    await w.reconcile(name)
    assert w.phase(name) == "Provisioning"
    w.ctx.handles.clear()  # the process restarted: claims are gone
    w.provider.handles.clear()

    await w.until_phase(name, "Joining")

    ours = w.vn(name)["status"]["vpsieIdentifier"]
    assert ours != older.identifier
    assert len(w.provider.create_calls) == 1
    assert "WorkerRecovered" in w.log.reasons()


async def test_a_create_never_sent_before_a_restart_fails_at_once_and_holds_nothing() -> None:
    w = World()
    await w.group()
    lost = await w.member()

    async def die(*_: Any, **__: Any) -> Any:
        raise asyncio.CancelledError  # the process stops before the call goes out

    real, w.provider.create_worker = w.provider.create_worker, die  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await w.reconcile(lost)
    w.kube.sync()
    assert w.phase(lost) == "Provisioning"
    w.provider.create_worker = real  # type: ignore[method-assign]
    w.ctx.handles.clear()

    await w.reconcile(lost)
    assert w.phase(lost) == "Failed"
    assert w.vn(lost)["status"]["lastError"].startswith("CreateNotSent")
    later = await w.member()
    await w.until_phase(later, "Joining")  # no hold: nothing of the lost one can turn up
    await w.reconcile(lost)  # the Failed path: nothing to look for, nothing deleted
    assert len(w.provider.create_calls) == 1
    assert w.provider.delete_calls == []


async def test_the_create_is_marked_sent_before_the_call_goes_out(world: World) -> None:
    name = await world.member()
    seen: list[str] = []

    def before(intent: Any) -> None:
        launched = [c for c in world.vn(name)["status"]["conditions"] if c["type"] == "Launched"]
        seen.append(launched[0]["reason"])

    world.provider.before_create = before
    await world.until_phase(name, "Provisioning")
    assert seen == ["CreateSent"]


async def test_a_lost_create_holds_its_group_until_it_can_no_longer_claim_a_worker() -> None:
    w = World(list_after=100)  # provisioning timeout 60 s, unknown-outcome window 30 s
    await w.group()
    lost = await w.member()
    await w.reconcile(lost)
    assert w.phase(lost) == "Provisioning"
    w.provider._pending.clear()  # its create call went out, but VPSie never lists a worker
    w.ctx.handles.clear()
    w.provider.handles.clear()

    later = await w.member()
    for step in (0, 31):  # its create call may have waited for the cluster's create lock
        w.clock.step(step)
        for _ in range(3):
            await w.reconcile(later)
        assert len(w.provider.create_calls) == 1, f"a new create {step}s into the hold"
    w.clock.step(30)  # past the provisioning timeout: the lost create claims nothing now
    await w.reconcile(lost)
    assert w.phase(lost) == "Failed"
    w.provider.list_after = 0
    await w.reconcile(later)  # created now, and listed at the next listing
    await w.reconcile(lost)  # the Failed path looks for a worker to delete: none is its own
    await w.until_phase(later, "Joining")

    assert len(w.provider.create_calls) == 2
    assert w.provider.delete_calls == []
    assert "WorkerRecovered" not in w.log.reasons()
    assert "DuplicateOwner" not in w.log.reasons()
    assert w.vn(later)["status"]["vpsieIdentifier"] == w.provider.workers["web"][0].identifier


@pytest.mark.parametrize(
    ("error", "phase", "reason"),
    [
        pytest.param(QuotaExceeded("quota"), "Failed", "QuotaExceeded", id="quota-fails"),
        pytest.param(
            UnknownOutcome("lost"), "Failed", "UnknownOutcome", id="unknown-outcome-fails"
        ),
        pytest.param(
            UnknownOutcome("lost", verified_absent=True),
            "Failed",
            "CreateNotAccepted",
            id="verified-absent-fails-and-claims-nothing",
        ),
        pytest.param(
            ConnectError("refused"), "Pending", None, id="nothing-sent-goes-back-to-pending"
        ),
    ],
)
async def test_create_errors_are_never_blindly_retried(
    world: World, error: Exception, phase: str, reason: str | None
) -> None:
    name = await world.member()
    world.provider.next_create_error = error
    await world.reconcile(name)
    assert world.phase(name) == phase
    if reason is not None:
        assert world.vn(name)["status"]["lastError"].startswith(reason)
        assert reason in world.log.reasons()
        await world.reconcile(name)
        assert len(world.provider.create_calls) == 1


async def test_provisioning_times_out_into_failed() -> None:
    w = World(list_after=100, provisioning_timeout_s=30)
    await w.group()
    name = await w.member()
    await w.reconcile(name)
    w.clock.step(31)
    await w.reconcile(name)
    assert w.phase(name) == "Failed"
    assert "ProvisioningTimedOut" in w.log.reasons()


async def test_deletion_deletes_the_worker_waits_until_gone_then_the_node_then_the_finalizer() -> (
    None
):
    w = World()
    await w.group()
    name = await w.member()
    await w.until_phase(name, "Joining")
    hostname = w.vn(name)["status"]["hostname"].lower()
    identifier = w.vn(name)["status"]["vpsieIdentifier"]
    w.kube.add_node(hostname)
    w.kube.sync()
    await w.until_phase(name, "Ready")

    await w.kube.delete("vpsienodes", NS, name)
    w.kube.sync()
    for _ in range(6):
        if w.kube.get_object("vpsienodes", NS, name) is None:
            break
        await w.reconcile(name)

    assert w.kube.get_object("vpsienodes", NS, name) is None
    assert hostname not in w.kube.nodes
    assert w.provider.delete_calls[0] == ("web", hostname, identifier)
    assert w.provider.workers["web"] == []
    assert {"DeletingWorker", "WorkerDeleteRequested", "WorkerDeleted", "NodeDeleted"} <= set(
        w.log.reasons()
    )


async def test_a_never_created_vpsienode_is_let_go_at_once(world: World) -> None:
    name = await world.member()
    await world.kube.delete("vpsienodes", NS, name)
    world.kube.sync()
    await world.reconcile(name)  # -> Deleting
    await world.reconcile(name)  # nothing was created: finalizer dropped
    assert world.kube.get_object("vpsienodes", NS, name) is None
    assert world.provider.delete_calls == []


async def test_gone_is_not_trusted_before_the_worker_was_seen() -> None:
    w = World(list_after=100)
    await w.group()
    name = await w.member()
    await w.reconcile(name)  # created, not listed yet
    w.provider.handles.clear()
    w.ctx.handles.clear()
    await w.kube.delete("vpsienodes", NS, name)
    w.kube.sync()
    for _ in range(3):
        await w.reconcile(name)
    obj = w.vn(name)
    assert FINALIZER in obj["metadata"]["finalizers"], "let go before the worker could be found"
