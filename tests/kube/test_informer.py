"""Informer behaviour (kube-semantics I2, I5-I8) over the real adapter and a scripted server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio.client import CoreV1Api

from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.kube.informer import Informer, wait_for_all_synced
from autoscaler.kube.listwatch import KubeListWatch
from autoscaler.kube.projection import project_node, project_pod
from autoscaler.kube.store import DeletedFinalStateUnknown, nodes_by_group, pods_by_node
from tests.kube.scripted_api import (
    CLOSE,
    GONE,
    HANG,
    ListReply,
    ScriptedApi,
    added,
    core_v1_client,
    deleted,
    error_event,
    modified,
    node,
    pod,
    running,
)

pytestmark = pytest.mark.looptime

PODS, NODES = "/api/v1/pods", "/api/v1/nodes"


@pytest.fixture
async def api() -> AsyncIterator[ScriptedApi]:
    async with ScriptedApi() as server:
        yield server


@pytest.fixture
async def core_v1(api: ScriptedApi) -> AsyncIterator[CoreV1Api]:
    async with core_v1_client(api) as client:
        yield client


def pod_informer(core_v1: CoreV1Api, **kwargs: Any) -> Informer[PodRecord]:
    return Informer(
        KubeListWatch(core_v1.list_pod_for_all_namespaces),
        transform=project_pod,
        name="pods",
        indexers={"pods_by_node": pods_by_node},
        rand=random.Random(3),
        **kwargs,
    )


class Recorder:
    """A handler that records notifications (and what the store held at that moment)."""

    def __init__(self, informer: Informer[Any] | None = None) -> None:
        self.informer = informer
        self.events: list[tuple[Any, ...]] = []
        self.changed = asyncio.Event()

    def _record(self, *entry: Any) -> None:
        self.events.append(entry)
        self.changed.set()

    def on_add(self, obj: Any) -> None:
        in_store = self.informer is not None and self.informer.store.get(obj.key) is obj
        self._record("add", obj.name, obj.resource_version, in_store)

    def on_update(self, old: Any, new: Any) -> None:
        self._record("update", new.name, old.uid, new.uid)

    def on_delete(self, obj: Any) -> None:
        self._record("delete", obj)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(600):  # loop time: fail rather than spin forever
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_handlers_are_notified_after_the_store_update(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("a", rv="1", node="n1")], resource_version="1"))
    pods_api.watches.append([added(pod("b", rv="2", node="n1")), HANG])
    informer = pod_informer(core_v1)
    recorder = Recorder(informer)
    informer.add_handler(recorder)
    async with running(informer.run):
        await recorder.wait_for(2)

    assert recorder.events == [("add", "a", "1", True), ("add", "b", "2", True)]
    assert sorted(informer.store.index_keys("pods_by_node", "n1")) == ["default/a", "default/b"]


async def test_uid_change_under_same_key_is_seen_in_on_update(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("web", rv="1", uid="uid-1")], resource_version="1"))
    # Deleted and re-created under the same name, seen as one update.
    pods_api.watches.append([modified(pod("web", rv="7", uid="uid-2")), HANG])
    informer = pod_informer(core_v1)
    recorder = Recorder()
    informer.add_handler(recorder)
    async with running(informer.run):
        await recorder.wait_for(2)

    assert recorder.events[1] == ("update", "web", "uid-1", "uid-2")


async def test_replace_makes_deletions(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend(
        [
            ListReply([pod("keep", rv="1"), pod("gone", rv="1", node="n1")], "1"),
            ListReply([pod("keep", rv="1")], "5"),
        ]
    )
    pods_api.watches.append([error_event(GONE)])  # relist; "gone" vanished meanwhile
    informer = pod_informer(core_v1)
    recorder = Recorder()
    informer.add_handler(recorder)
    async with running(informer.run):
        await recorder.wait_for(4)

    kind, tombstone = recorder.events[3]
    assert kind == "delete"
    assert isinstance(tombstone, DeletedFinalStateUnknown)
    assert tombstone.key == "default/gone"
    assert tombstone.obj.node_name == "n1"  # the last known state
    assert recorder.events[2][:2] == ("update", "keep")  # a relist also updates survivors
    assert "default/gone" not in informer.store
    assert informer.store.index_keys("pods_by_node", "n1") == []


async def test_delete_event_notifies_with_final_state(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("a", rv="1")], "1"))
    pods_api.watches.append([deleted(pod("a", rv="2")), deleted(pod("never-seen", rv="3")), CLOSE])
    informer = pod_informer(core_v1)
    recorder = Recorder()
    informer.add_handler(recorder)
    async with running(informer.run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert [e[0] for e in recorder.events] == ["add", "delete"]
    assert recorder.events[1][1].resource_version == "2"
    assert len(informer.store) == 0
    assert pods_api.watch_rvs() == ["1", "3"]


async def test_has_synced_after_the_first_list_is_delivered(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("a")], "1", delay=3))
    informer = pod_informer(core_v1)
    recorder = Recorder()
    informer.add_handler(recorder)
    assert not informer.has_synced()
    async with running(informer.run):
        await informer.wait_synced()
        assert informer.has_synced()
        assert recorder.events == [("add", "a", "1", False)]
        assert asyncio.get_running_loop().time() == pytest.approx(3, abs=0.01)


async def test_a_handler_added_after_sync_gets_the_cached_objects(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    api.resource(PODS).lists.append(ListReply([pod("a"), pod("b")], "1"))
    informer = pod_informer(core_v1)
    async with running(informer.run):
        await informer.wait_synced()
        late = Recorder()
        informer.add_handler(late)
    assert [e[:2] for e in late.events] == [("add", "a"), ("add", "b")]


async def test_resync_delivers_updates_without_api_calls(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("a")], "1"))
    informer = pod_informer(core_v1, resync_period=30)
    recorder = Recorder()
    informer.add_handler(recorder)
    async with running(informer.run):
        await recorder.wait_for(3)

    assert [e[0] for e in recorder.events] == ["add", "update", "update"]
    assert len(pods_api.list_requests) == 1
    assert len(pods_api.watch_requests) == 1


def test_resync_period_below_one_second_is_refused() -> None:
    async def never_called(**_: Any) -> None:
        raise AssertionError

    source = KubeListWatch(never_called)
    with pytest.raises(ValueError, match="at least"):
        Informer(source, transform=project_pod, resync_period=0.5)


async def test_workers_wait_for_all_informers_synced(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    api.resource(PODS).lists.append(ListReply([pod("a", node="n1")], "1"))
    api.resource(NODES).lists.append(ListReply([node("n1", group="web")], "1", delay=5))
    pods = pod_informer(core_v1)
    nodes: Informer[NodeRecord] = Informer(
        KubeListWatch(core_v1.list_node),
        transform=project_node,
        name="nodes",
        indexers={"nodes_by_group": nodes_by_group},
    )
    gate = asyncio.Event()
    seen_at_start: list[tuple[int, int, float]] = []

    async def worker() -> None:
        await wait_for_all_synced([pods, nodes])
        loop = asyncio.get_running_loop()
        seen_at_start.append((len(pods.store), len(nodes.store), loop.time()))
        gate.set()

    async with running(pods.run, nodes.run, worker):
        await gate.wait()

    [(pod_count, node_count, started)] = seen_at_start
    assert (pod_count, node_count) == (1, 1)
    assert started == pytest.approx(5, abs=0.01)  # not before the slow node list
    assert nodes.store.index_keys("nodes_by_group", "web") == ["n1"]
