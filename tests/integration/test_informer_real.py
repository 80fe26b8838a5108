"""The informer and reflector against the real kube-apiserver (kube-semantics I1-I6).

``tests/kube/test_reflector.py`` checks these behaviours against a scripted server; here the
same production ``KubeListWatch`` talks to the test plane's kube-apiserver, wrapped only by a
recorder (``informer_helpers.RecordingSource``) that can also park a list or watch at a gate
and shorten the server-side watch timeout. The only real 410 a 1.36 API server gives an
informer comes after a restart, so one test restarts kube-apiserver (once). Real time: every
wait is on a condition under a deadline, and timings are never asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import orjson
import pytest
from kubernetes_asyncio.client import CoreV1Api

from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.kube.client import api_client, load_configuration
from autoscaler.kube.informer import Informer, wait_for_all_synced
from autoscaler.kube.listwatch import KubeListWatch
from autoscaler.kube.projection import project_node, project_pod
from autoscaler.kube.reflector import Reflector
from autoscaler.kube.store import DeletedFinalStateUnknown, Store
from tests.integration.informer_helpers import (
    SELECTOR,
    ConfigMapRecord,
    CountingSink,
    RecordingHandler,
    RecordingSource,
    compact_etcd,
    config_map,
    project_config_map,
)
from tests.testenv import ControlPlane, TestNamespace
from tests.testenv.objects import pod_manifest

REQUEST_TIMEOUT = 30.0
SYNC_TIMEOUT = 60.0
CONDITION_TIMEOUT = 60.0
SHORT_WATCH = 5
"""Server-side watch timeout (s) where a test must see a watch end: also > 2 s, so the
server sends its pre-timeout bookmark (``cacheWatcher.nextBookmarkTime``: deadline - 2 s)."""
MANY = 1200
PAGE = 100


@pytest.fixture
async def core(testenv: ControlPlane) -> AsyncIterator[CoreV1Api]:
    cfg = await load_configuration(kubeconfig=testenv.admin_kubeconfig, context=None)
    async with api_client(cfg) as api:
        yield CoreV1Api(api)


@contextlib.asynccontextmanager
async def running(*runners: Informer[Any] | Reflector[Any]) -> AsyncIterator[None]:
    """Run each informer or reflector in a task group; cancel them all when the block ends."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(runner.run()) for runner in runners]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()


def config_map_source(
    core: CoreV1Api, namespace: str, *, max_watch_timeout: int | None = None
) -> RecordingSource:
    """The production adapter over the labelled ConfigMaps of ``namespace``, recorded."""
    lister = functools.partial(
        core.list_namespaced_config_map, str(namespace), label_selector=SELECTOR
    )
    return RecordingSource(
        KubeListWatch(lister, request_timeout=REQUEST_TIMEOUT), max_watch_timeout=max_watch_timeout
    )


def config_map_informer(
    source: RecordingSource, *, page_size: int | None = None
) -> tuple[Informer[ConfigMapRecord], RecordingHandler[ConfigMapRecord]]:
    informer = Informer(
        source, transform=project_config_map, name="configmaps", page_size=page_size
    )
    handler: RecordingHandler[ConfigMapRecord] = RecordingHandler(informer.has_synced)
    informer.add_handler(handler)
    return informer, handler


async def create_config_maps(
    core: CoreV1Api, namespace: str, names: Iterable[str], *, concurrency: int = 16
) -> None:
    """Create labelled ConfigMaps through the async client, ``concurrency`` at a time."""
    slots = asyncio.Semaphore(concurrency)

    create_method: Any = core.create_namespaced_config_map  # returns the raw response here

    async def create(name: str) -> None:
        async with slots:
            resp = await create_method(
                str(namespace),
                config_map(name),
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            async with resp:
                assert resp.status == 201, await resp.text()

    names = list(names)
    async with asyncio.TaskGroup() as group:
        for name in names:
            group.create_task(create(name))
    lister = functools.partial(
        core.list_namespaced_config_map, str(namespace), label_selector=SELECTOR
    )
    await wait_served_at_rv_0(lister, set(names))


async def wait_served_at_rv_0(lister: Callable[..., Awaitable[Any]], names: set[str]) -> None:
    """Poll a list at RV "0" until it holds ``names``.

    RV "0" means "any version": the watch cache answers from whatever it has seen, which may
    lag a write just made. Once it holds ``names`` an informer's first list (also at "0")
    sees them all, so the tests can say which deliveries come from the list.
    """
    async with asyncio.timeout(CONDITION_TIMEOUT):
        while True:
            resp = await lister(
                resource_version="0", _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
            async with resp:
                body = await resp.read()
            if names <= {item["metadata"]["name"] for item in orjson.loads(body)["items"]}:
                return
            await asyncio.sleep(0.1)  # no event tells when the cache has caught up


def cm_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps" + (f"/{name}" if name else "")


async def server_truth(testenv: ControlPlane, namespace: str) -> dict[str, str]:
    """``{key: resourceVersion}`` of the labelled ConfigMaps, read by the admin client."""
    listed = await asyncio.to_thread(testenv.admin.get, cm_path(namespace), labelSelector=SELECTOR)
    return {
        f"{namespace}/{item['metadata']['name']}": item["metadata"]["resourceVersion"]
        for item in listed["items"]
    }


def rvs(store: Store[ConfigMapRecord]) -> dict[str, str]:
    return {record.key: record.resource_version for record in store}


async def wait_until_watch_parked(source: RecordingSource) -> None:
    """Hold new watches and wait until the reflector is parked before opening one."""
    source.watch_gate.hold()
    await source.changes.wait_until(
        lambda: source.watch_gate.parked > 0,
        within=CONDITION_TIMEOUT,
        what="the reflector to wait for a new watch",
    )


async def test_initial_list_at_rv_0_is_served_whole_and_delivered_before_synced(
    testenv: ControlPlane, kube_ns: TestNamespace, core: CoreV1Api
) -> None:
    names = [f"cm-{i:04d}" for i in range(MANY)]
    await create_config_maps(core, kube_ns, names)
    keys = {f"{kube_ns}/{name}" for name in names}
    source = config_map_source(core, kube_ns)
    informer, handler = config_map_informer(source, page_size=PAGE)

    async with running(informer):
        async with asyncio.timeout(SYNC_TIMEOUT):
            await informer.wait_synced()
        await source.changes.wait_until(
            lambda: bool(source.watches), within=CONDITION_TIMEOUT, what="the first watch"
        )
        truth = await server_truth(testenv, kube_ns)

    # I1: the first list is at RV "0" and asks for pages, but the watch cache ignores
    # `limit` at "0" (cacher.go computeListLimit) and answers everything at once. (Paged
    # lists through the real server: test_relist_after_410_... below.)
    assert {(c.resource_version, c.limit, c.continue_token) for c in source.lists} == {
        ("0", PAGE, None)
    }  # (a 429 from a watch cache still initialising would be retried the same way)
    [initial] = [c for c in source.lists if c.outcome == "ok"]
    assert (initial.items, initial.next_token) == (MANY, None)
    assert rvs(informer.store) == truth
    assert set(truth) == keys
    # I5: every object was delivered as an add, all before has_synced() turned true.
    assert sorted(handler.kinds()) == sorted(("add", key) for key in keys)
    assert not any(s.synced for s in handler.seen)
    # I3: the watch starts from the list's RV.
    assert source.watches[0].resource_version == initial.list_resource_version


async def test_watch_delivers_add_update_delete_in_order(
    testenv: ControlPlane, kube_ns: TestNamespace, core: CoreV1Api
) -> None:
    api = testenv.admin
    await create_config_maps(core, kube_ns, ["w-0", "w-1", "w-2"])
    source = config_map_source(core, kube_ns)
    informer, handler = config_map_informer(source)

    async with running(informer):
        async with asyncio.timeout(SYNC_TIMEOUT):
            await informer.wait_synced()
        list_rv = informer.reflector.last_sync_resource_version
        mark = len(handler.seen)
        await asyncio.to_thread(api.post, cm_path(kube_ns), config_map("w-3"))
        await asyncio.to_thread(api.patch, cm_path(kube_ns, "w-0"), {"data": {"value": "1"}})
        await asyncio.to_thread(api.delete, cm_path(kube_ns, "w-1"))
        await handler.changes.wait_until(
            lambda: len(handler.seen) >= mark + 3,
            within=CONDITION_TIMEOUT,
            what="three watch events",
        )
        truth = await server_truth(testenv, kube_ns)
        last_rv = informer.reflector.last_sync_resource_version

    added, updated, deleted = handler.seen[mark:]
    assert handler.kinds(mark) == [
        ("add", f"{kube_ns}/w-3"),
        ("update", f"{kube_ns}/w-0"),
        ("delete", f"{kube_ns}/w-1"),
    ]
    records = [s.obj for s in (added, updated, deleted)]
    assert all(isinstance(r, ConfigMapRecord) for r in records)  # final state, not tombstones
    new, old = updated.obj, updated.old
    assert isinstance(new, ConfigMapRecord)
    assert old is not None
    assert (old.data, new.data) == ((("value", "0"),), (("value", "1"),))
    assert old.uid == new.uid
    assert all(s.synced for s in handler.seen[mark:])
    assert rvs(informer.store) == truth
    assert set(truth) == {f"{kube_ns}/w-{i}" for i in (0, 2, 3)}
    # The last RV follows the events (etcd RVs are integers; clients must not rely on it).
    event_rvs = [int(r.resource_version) for r in records if isinstance(r, ConfigMapRecord)]
    assert int(list_rv) < event_rvs[0] < event_rvs[1] < event_rvs[2] <= int(last_rv)
    assert [line.type for line in source.lines if line.type != "BOOKMARK"] == [
        "ADDED",
        "MODIFIED",
        "DELETED",
    ]


async def test_bookmark_advances_the_resource_version_without_object_changes(
    testenv: ControlPlane, kube_ns: TestNamespace, core: CoreV1Api
) -> None:
    await create_config_maps(core, kube_ns, ["visible"])
    source = config_map_source(core, kube_ns)
    sink: CountingSink[ConfigMapRecord] = CountingSink()
    # timeoutSeconds in [5, 10): the server sends a bookmark 2 s before the deadline
    # (besides one a minute), carrying its latest RV if that is newer than the watch's.
    reflector = Reflector(
        source, transform=project_config_map, sink=sink, name="configmaps", min_watch_timeout=5
    )

    async with running(reflector):
        await source.changes.wait_until(
            lambda: bool(source.watches), within=SYNC_TIMEOUT, what="the first watch"
        )
        list_rv = reflector.last_sync_resource_version
        # A change the watch does not match: it moves the server's RV, not our objects.
        hidden = await asyncio.to_thread(
            testenv.admin.post, cm_path(kube_ns), config_map("hidden", labelled=False)
        )
        hidden_rv = int(hidden["metadata"]["resourceVersion"])

        def bookmarked() -> bool:
            return any(int(b.resource_version) >= hidden_rv for b in source.bookmarks())

        await source.changes.wait_until(
            bookmarked, within=CONDITION_TIMEOUT, what="a bookmark past the hidden change"
        )
        bookmark = next(b for b in source.bookmarks() if int(b.resource_version) >= hidden_rv)
        await source.changes.wait_until(
            lambda: len(source.watches) > bookmark.watch + 1,
            within=CONDITION_TIMEOUT,
            what="the watch after the bookmarked one",
        )
        recorded = reflector.last_sync_resource_version

    assert int(list_rv) < hidden_rv
    assert all(line.type == "BOOKMARK" for line in source.lines), source.lines
    assert sink.calls == {"replace": 1}  # the store never changed after the list
    assert [r.name for r in sink.store] == ["visible"]
    # I3: the bookmark's RV was recorded, and the next watch resumed from it.
    last_in_watch = [b for b in source.bookmarks() if b.watch == bookmark.watch][-1]
    assert source.watches[bookmark.watch + 1].resource_version == last_in_watch.resource_version
    assert int(recorded) >= int(last_in_watch.resource_version) >= hidden_rv


def gone_at(source: RecordingSource, index: int) -> bool:
    """Whether watch ``index`` was refused with 410, as a status or as an ERROR event."""
    lines = [line.type for line in source.lines if line.watch == index]
    return source.watches[index].outcome == "Gone" or lines == ["ERROR"]


async def wait_relisted_and_watching(
    handler: RecordingHandler[ConfigMapRecord], source: RecordingSource, watched: int, *, key: str
) -> None:
    """Wait until ``handler`` was told ``key`` is gone and a later watch is open."""
    await handler.changes.wait_until(
        lambda: ("delete", key) in handler.kinds(),
        within=CONDITION_TIMEOUT,
        what=f"the missed delete of {key}",
    )
    await source.changes.wait_until(
        lambda: any(c.outcome == "open" for c in source.watches[watched + 1 :]),
        within=CONDITION_TIMEOUT,
        what="a watch after the relist",
    )


def assert_missed_changes_delivered(
    handler: RecordingHandler[ConfigMapRecord],
    mark: int,
    *,
    namespace: str,
    last_a: ConfigMapRecord,
) -> None:
    """The relist told ``handler``: tombstone for a, update for b (new data), add for c,
    and an update for every unchanged object (I2, I7)."""
    delivered = {s.key: s for s in handler.seen[mark:]}
    assert len(delivered) == len(handler.seen) - mark  # one delivery per key
    tombstone = delivered.pop(f"{namespace}/a").obj
    assert isinstance(tombstone, DeletedFinalStateUnknown)
    assert (tombstone.key, tombstone.obj) == (f"{namespace}/a", last_a)
    updated_b = delivered.pop(f"{namespace}/b")
    assert updated_b.kind == "update"
    assert isinstance(updated_b.obj, ConfigMapRecord)
    assert updated_b.obj.data == (("value", "1"),)
    assert delivered.pop(f"{namespace}/c").kind == "add"
    assert {s.kind for s in delivered.values()} == {"update"}
    assert len(delivered) == MANY


async def test_relist_after_410_pages_consistently_and_delivers_missed_changes(
    testenv: ControlPlane, kube_ns: TestNamespace, core: CoreV1Api
) -> None:
    api = testenv.admin
    await create_config_maps(core, kube_ns, [*(f"cm-{i:04d}" for i in range(MANY)), "a", "b"])
    # Two informers: one with an explicit page size (client-go's WatchListPageSize, as
    # the daemon configures) and one without (exact-RV relists go to the watch cache).
    paged_source = config_map_source(core, kube_ns, max_watch_timeout=SHORT_WATCH)
    cached_source = config_map_source(core, kube_ns, max_watch_timeout=SHORT_WATCH)
    paged, paged_handler = config_map_informer(paged_source, page_size=PAGE)
    cached, cached_handler = config_map_informer(cached_source)
    sources = (paged_source, cached_source)

    async with running(paged, cached):
        async with asyncio.timeout(SYNC_TIMEOUT):
            await wait_for_all_synced([paged, cached])
        last_a = paged.store.get(f"{kube_ns}/a")
        assert last_a is not None
        assert cached.store.get(f"{kube_ns}/a") == last_a
        # Nobody watches while the objects change; then etcd forgets the history and the
        # restarted API server's watch cache begins past both reflectors' RVs.
        for source in sources:
            await wait_until_watch_parked(source)
        frozen = [informer.reflector.last_sync_resource_version for informer in (paged, cached)]
        marks = [len(paged_handler.seen), len(cached_handler.seen)]
        lists_before = [len(source.lists) for source in sources]
        watches_before = [len(source.watches) for source in sources]
        await asyncio.to_thread(api.delete, cm_path(kube_ns, "a"))
        await asyncio.to_thread(api.patch, cm_path(kube_ns, "b"), {"data": {"value": "1"}})
        created = await asyncio.to_thread(api.post, cm_path(kube_ns), config_map("c"))
        compacted = await asyncio.to_thread(compact_etcd, testenv.ports.etcd)
        try:
            await asyncio.to_thread(testenv.restart, "kube-apiserver")
        finally:
            for source in sources:
                source.watch_gate.release()
        for handler, source, watched in zip(
            (paged_handler, cached_handler), sources, watches_before, strict=True
        ):
            await wait_relisted_and_watching(handler, source, watched, key=f"{kube_ns}/a")
        truth = await server_truth(testenv, kube_ns)

    for source, rv, watched in zip(sources, frozen, watches_before, strict=True):
        # I4: the watch from the frozen RV is refused with 410 (a status or an ERROR event).
        assert any(gone_at(source, i) for i in range(watched, len(source.watches))), (
            source.watches[watched:],
            source.lines[-5:],
        )
        assert source.watches[watched].resource_version == rv
    # I1, paged: relist at the frozen RV with `limit`; etcd serves exact-RV pages and has
    # compacted it, so 410 again; then a consistent list (RV ""), page by page.
    relist = paged_source.lists[lists_before[0] :]
    assert {c.resource_version for c in relist} <= {frozen[0], ""}, relist
    consistent = next(i for i, c in enumerate(relist) if c.resource_version == "")
    exact = relist[consistent - 1]
    assert (exact.resource_version, exact.limit, exact.outcome) == (frozen[0], PAGE, "Gone")
    last_round = max(
        i for i, c in enumerate(relist) if c.resource_version == "" and not c.continue_token
    )
    pages = relist[last_round:]
    assert len(pages) > MANY // PAGE, pages
    assert all(p.outcome == "ok" and p.limit == PAGE and p.items <= PAGE for p in pages), pages
    assert [p.continue_token for p in pages] == [None] + [p.next_token for p in pages[:-1]]
    assert pages[-1].next_token is None
    assert sum(p.items for p in pages) == MANY + 2
    [list_rv] = {p.list_resource_version for p in pages}  # one consistent snapshot
    assert int(list_rv) >= compacted
    # I1, unpaged: the relist at the frozen RV has no `limit`, so the watch cache serves it
    # (not older than the RV asked for): no 410, no consistent read needed.
    relist = cached_source.lists[lists_before[1] :]
    assert {(c.resource_version, c.limit) for c in relist} == {(frozen[1], None)}, relist
    assert relist[-1].outcome == "ok"
    assert relist[-1].items == MANY + 2
    assert int(relist[-1].list_resource_version) >= int(created["metadata"]["resourceVersion"])
    # I2: both delivered the delete they missed as a tombstone, and converged.
    for informer, handler, mark in zip(
        (paged, cached), (paged_handler, cached_handler), marks, strict=True
    ):
        assert_missed_changes_delivered(handler, mark, namespace=kube_ns, last_a=last_a)
        assert rvs(informer.store) == truth
    assert set(truth) == {f"{kube_ns}/cm-{i:04d}" for i in range(MANY)} | {
        f"{kube_ns}/{n}" for n in "bc"
    }
    # The shared plane is healthy again for the tests that follow.
    ready = await asyncio.to_thread(
        api.wait_for, "/readyz", lambda r: r.get("text") == "ok", timeout=CONDITION_TIMEOUT
    )
    assert ready == {"text": "ok"}


async def test_wait_for_all_synced_waits_for_every_informer(
    testenv: ControlPlane, kube_ns: TestNamespace, core: CoreV1Api
) -> None:
    api = testenv.admin
    node_names = [kube_ns.node_name(s) for s in "ab"]
    for name in node_names:
        await asyncio.to_thread(kube_ns.make_node, name, managed=False)
    pod_names = [f"p-{i}" for i in range(3)]
    nowhere = {"testenv.autoscaler.vpsie.com/nowhere": "true"}  # the pods stay Pending
    for name in pod_names:
        pod = pod_manifest(name, namespace=kube_ns, node_selector=nowhere)
        await asyncio.to_thread(api.post, f"/api/v1/namespaces/{kube_ns}/pods", pod)
    lists_nodes = functools.partial(core.list_node, label_selector=kube_ns.node_selector)
    lists_pods = functools.partial(core.list_namespaced_pod, str(kube_ns))
    await wait_served_at_rv_0(lists_nodes, set(node_names))
    await wait_served_at_rv_0(lists_pods, set(pod_names))
    nodes: Informer[NodeRecord] = Informer(
        KubeListWatch(lists_nodes, request_timeout=REQUEST_TIMEOUT),
        transform=project_node,
        name="nodes",
    )
    pod_source = RecordingSource(KubeListWatch(lists_pods, request_timeout=REQUEST_TIMEOUT))
    pods: Informer[PodRecord] = Informer(pod_source, transform=project_pod, name="pods")
    node_handler: RecordingHandler[NodeRecord] = RecordingHandler(nodes.has_synced)
    pod_handler: RecordingHandler[PodRecord] = RecordingHandler(pods.has_synced)
    nodes.add_handler(node_handler)
    pods.add_handler(pod_handler)
    pod_source.list_gate.hold()  # the pods' first list waits until the test lets it go

    async with running(nodes, pods), asyncio.TaskGroup() as group:
        async with asyncio.timeout(SYNC_TIMEOUT):
            await nodes.wait_synced()
        all_synced = group.create_task(wait_for_all_synced([nodes, pods]))
        await pod_source.changes.wait_until(
            lambda: pod_source.list_gate.parked > 0,
            within=CONDITION_TIMEOUT,
            what="the pods' list at the gate",
        )
        for _ in range(10):  # let the waiter run as far as it can
            await asyncio.sleep(0)
        assert not all_synced.done()
        assert (nodes.has_synced(), pods.has_synced()) == (True, False)
        pod_source.list_gate.release()
        async with asyncio.timeout(SYNC_TIMEOUT):
            await all_synced
        assert nodes.has_synced()
        assert pods.has_synced()

    # I5: each handler got every initial add first, before its informer reported synced.
    pod_keys = [f"{kube_ns}/{name}" for name in pod_names]
    for handler, keys in ((node_handler, node_names), (pod_handler, pod_keys)):
        initial = handler.seen[: len(keys)]
        assert {(s.kind, s.key, s.synced) for s in initial} == {("add", k, False) for k in keys}
        assert all(s.synced for s in handler.seen[len(keys) :])
