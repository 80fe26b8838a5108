"""``controllers.drain.drain_node`` with recording fakes, in virtual time."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from autoscaler.clock import LoopClock
from autoscaler.controllers.drain import (
    DrainOutcome,
    DrainResult,
    DrainSettings,
    PodOutcome,
    drain_node,
)
from autoscaler.controllers.keys import (
    DELETION_CANDIDATE_TAINT,
    DRAIN_CORDONED,
    DRAIN_FINISHED,
    DRAIN_STATUS,
)
from autoscaler.core.records import MIRROR_ANNOTATION, PodRecord
from autoscaler.kube import errors
from autoscaler.kube.events import EventType
from tests.controllers.drain_fakes import (
    BLOCKED,
    EVICTED,
    GONE,
    FakeEvents,
    FakeEviction,
    FakeNodes,
    now,
)
from tests.core.factories import daemonset_pod, pod

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

NODE = "n1"
SETTINGS = DrainSettings(pod_eviction_timeout_s=120, drain_timeout_s=600, cleanup_timeout_s=30)
OTHER_TAINT = {"key": "dedicated", "value": "web", "effect": "NoSchedule"}


def web_pod(name: str, *, grace: int = 30) -> PodRecord:
    p = pod(name, namespace="shop", node_name=NODE)
    return dataclasses.replace(p, uid=f"uid-{name}", termination_grace_seconds=grace)


@dataclasses.dataclass
class Rig:
    nodes: FakeNodes
    eviction: FakeEviction
    events: FakeEvents

    async def drain(self, pods: list[PodRecord], settings: DrainSettings = SETTINGS) -> DrainResult:
        return await drain_node(
            NODE,
            pods=pods,
            evict=self.eviction,
            lookup=self.eviction.lookup,
            nodes=self.nodes,
            events=self.events,
            clock=LoopClock(),
            settings=settings,
        )

    def expect_restored(self, status: str) -> None:
        assert self.nodes.taint_keys == ["dedicated"]
        assert not self.nodes.unschedulable
        assert self.nodes.annotations[DRAIN_STATUS] == status
        assert DRAIN_FINISHED in self.nodes.annotations
        assert DRAIN_CORDONED not in self.nodes.annotations
        [event] = [e for e in self.events.events if e.reason == "ScaleDownFailed"]
        assert event.type is EventType.WARNING
        assert (event.ref.kind, event.ref.name, event.ref.uid) == ("Node", NODE, "node-uid")

    def expect_marked(self) -> None:
        assert DELETION_CANDIDATE_TAINT in self.nodes.taint_keys
        assert "dedicated" in self.nodes.taint_keys
        assert self.nodes.unschedulable


def rig(*pods: PodRecord, unschedulable: bool = False) -> Rig:
    nodes = FakeNodes(NODE, unschedulable=unschedulable, taints=[OTHER_TAINT])
    return Rig(nodes, FakeEviction({p.key: p for p in pods}), FakeEvents())


async def test_drain_taints_cordons_evicts_and_annotates_complete() -> None:
    a, b = web_pod("a"), web_pod("b", grace=900)
    r = rig(a, b)
    result = await r.drain([a, b])
    assert result.outcome is DrainOutcome.DRAINED
    assert [p.outcome for p in result.pods] == [PodOutcome.EVICTED, PodOutcome.EVICTED]
    assert sorted((k, g) for k, g, _ in r.eviction.calls) == [("shop/a", 30), ("shop/b", 600)]
    r.expect_marked()
    assert r.nodes.annotations[DRAIN_STATUS] == "complete"
    assert r.events.reasons == ["ScaleDown"]
    first = r.nodes.patches[0]
    assert first["metadata"]["resourceVersion"] == "1"  # taints are replaced under a precondition


async def test_drain_retries_blocked_eviction_with_backoff() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, BLOCKED, BLOCKED, BLOCKED, EVICTED)
    result = await r.drain([a])
    assert result.outcome is DrainOutcome.DRAINED
    assert r.eviction.times(a.key) == pytest.approx([0, 0.1, 0.3, 0.7])
    assert result.pods[0].attempts == 4


async def test_drain_backoff_is_capped() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, *[BLOCKED] * 10, EVICTED)
    await r.drain([a])
    gaps = [
        t2 - t1
        for t1, t2 in zip(r.eviction.times(a.key), r.eviction.times(a.key)[1:], strict=False)
    ]
    assert gaps[-3:] == pytest.approx([10, 10, 10])


async def test_drain_fails_at_pod_eviction_deadline_and_restores_node() -> None:
    a, b = web_pod("a"), web_pod("b")
    r = rig(a, b)
    r.eviction.script(a.key, BLOCKED)
    r.eviction.terminates_after[b.key] = float("inf")  # evicted, never goes
    result = await r.drain([a, b])
    assert result.outcome is DrainOutcome.FAILED
    assert result.restored
    assert now() == pytest.approx(60, abs=1)  # b fails first: its 30 s grace + 30 s headroom
    by_key = {p.key: p.outcome for p in result.pods}
    assert by_key == {a.key: PodOutcome.UNFINISHED, b.key: PodOutcome.NOT_TERMINATED}
    r.expect_restored("failed")


async def test_drain_blocked_past_deadline_fails() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, BLOCKED)
    result = await r.drain([a])
    assert result.outcome is DrainOutcome.FAILED
    assert result.pods[0].outcome is PodOutcome.BLOCKED
    assert "disruption budget" in result.message
    assert r.eviction.times(a.key)[-1] == pytest.approx(120)
    r.expect_restored("failed")


async def test_drain_pod_already_gone_is_done() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, GONE)
    result = await r.drain([a])
    assert result.outcome is DrainOutcome.DRAINED
    assert result.pods[0].outcome is PodOutcome.GONE


async def test_drain_waits_for_termination() -> None:
    a = web_pod("a", grace=40)
    r = rig(a)
    r.eviction.terminates_after[a.key] = 25
    result = await r.drain([a])
    assert result.outcome is DrainOutcome.DRAINED
    assert result.pods[0].gone_at_s == pytest.approx(25, abs=1)
    assert result.duration_s == pytest.approx(25, abs=1)


async def test_drain_skips_daemonset_and_mirror_pods() -> None:
    a = web_pod("a")
    ds = daemonset_pod("agent", node_name=NODE)
    mirror = dataclasses.replace(web_pod("etcd"), annotations=((MIRROR_ANNOTATION, "x"),))
    r = rig(a, ds, mirror)
    result = await r.drain([a, ds, mirror])
    assert [k for k, _, _ in r.eviction.calls] == [a.key]
    skipped = PodOutcome.SKIPPED
    assert [p.outcome for p in result.pods] == [PodOutcome.EVICTED, skipped, skipped]


async def test_drain_terminal_api_error_fails_pod_at_once() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, errors.Forbidden("no", status=403))
    result = await r.drain([a])
    assert result.outcome is DrainOutcome.FAILED
    assert now() == 0
    r.expect_restored("failed")


async def test_drain_transient_api_error_is_retried() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, errors.ServerError("etcd", status=500), EVICTED)
    assert (await r.drain([a])).outcome is DrainOutcome.DRAINED


async def test_drain_times_out_and_restores_node() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, BLOCKED)
    result = await r.drain([a], dataclasses.replace(SETTINGS, drain_timeout_s=50))
    assert result.outcome is DrainOutcome.TIMED_OUT
    assert result.pods[0].outcome is PodOutcome.UNFINISHED
    r.expect_restored("timeout")


async def test_failed_drain_keeps_a_cordon_it_did_not_set() -> None:
    a = web_pod("a")
    r = rig(a, unschedulable=True)
    r.eviction.script(a.key, BLOCKED)
    await r.drain([a])
    assert r.nodes.unschedulable
    assert r.nodes.taint_keys == ["dedicated"]


async def test_drain_of_missing_node_fails_without_evicting() -> None:
    a = web_pod("a")
    r = rig(a)

    async def no_node(name: str) -> None:
        return None

    r.nodes.get_node = no_node  # type: ignore[method-assign]
    result = await r.drain([a])
    assert result.outcome is DrainOutcome.FAILED
    assert r.eviction.calls == []


async def wait_marked(r: Rig) -> None:
    """The Node is marked before the first eviction."""
    await r.eviction.called.wait()


async def test_drain_cancelled_by_shutdown_restores_node() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, BLOCKED)
    r.nodes.delay = 1.0  # every Node write takes a second: the cleanup outlives the cancel
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(r.drain([a]))
        await wait_marked(r)
        r.expect_marked()
        task.cancel()
    assert task.cancelled()
    r.expect_restored("interrupted")


async def test_drain_cancelled_twice_still_finishes_cleanup() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, BLOCKED)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(r.drain([a]))
        await wait_marked(r)
        r.nodes.delay = 5.0
        task.cancel()
        await asyncio.sleep(1)  # the cleanup's patch is in flight
        task.cancel()
    assert task.cancelled()
    r.expect_restored("interrupted")


async def test_drain_cancelled_cleanup_that_hangs_is_bounded() -> None:
    a = web_pod("a")
    r = rig(a)
    r.eviction.script(a.key, BLOCKED)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(r.drain([a]))
        await wait_marked(r)
        r.nodes.hang = True
        cancelled_at = now()
        task.cancel()
    assert task.cancelled()
    assert now() - cancelled_at == pytest.approx(SETTINGS.cleanup_timeout_s, abs=0.1)
    assert r.nodes.annotations[DRAIN_STATUS] == "running"  # the cleanup could not write
