"""Reflector behaviour (kube-semantics I1-I4), through the real adapter and a scripted server.

Every test runs ``KubeListWatch`` over a kubernetes_asyncio ``ApiClient`` whose host is the
in-process ``ScriptedApi``; waits (backoff, watchdog) run in looptime's virtual time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio.client import CoreV1Api

from autoscaler.core.records import PodRecord
from autoscaler.kube.bodies import PodBody
from autoscaler.kube.listwatch import KubeListWatch
from autoscaler.kube.projection import project_pod
from autoscaler.kube.reflector import Reflector
from tests.kube.scripted_api import (
    ABORT,
    CLOSE,
    GONE,
    HANG,
    TOO_LARGE,
    TOO_MANY,
    Delay,
    HttpStatus,
    ListReply,
    RecordingSink,
    ScriptedApi,
    added,
    bookmark,
    core_v1_client,
    error_event,
    modified,
    pod,
    running,
)

pytestmark = pytest.mark.looptime

PODS = "/api/v1/pods"


@pytest.fixture
async def api() -> AsyncIterator[ScriptedApi]:
    async with ScriptedApi() as server:
        yield server


@pytest.fixture
async def core_v1(api: ScriptedApi) -> AsyncIterator[CoreV1Api]:
    async with core_v1_client(api) as client:
        yield client


def reflector(core_v1: CoreV1Api, sink: Any, **kwargs: Any) -> Reflector[PodRecord]:
    source = KubeListWatch(core_v1.list_pod_for_all_namespaces)
    return Reflector(source, transform=project_pod, sink=sink, rand=random.Random(7), **kwargs)


def pods(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [pod(f"pod-{i}", rv=str(i)) for i in range(start, start + n)]


async def test_looptime_virtualises_time() -> None:
    loop = asyncio.get_running_loop()
    wall, virtual = time.perf_counter(), loop.time()
    await asyncio.sleep(600)
    assert loop.time() - virtual == pytest.approx(600)
    assert time.perf_counter() - wall < 5


async def test_reflector_list_and_watch(
    api: ScriptedApi, core_v1: CoreV1Api, looptime: Any
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("foo", rv="1")], resource_version="1"))
    pods_api.watches.append(
        [
            modified(pod("foo", rv="2")),
            added(pod("bar", rv="3")),
            added(pod("baz", rv="4")),
            added(pod("qux", rv="5")),
            added(pod("zoo", rv="6")),
            CLOSE,
        ]
    )
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert sink.rvs() == {"foo": "2", "bar": "3", "baz": "4", "qux": "5", "zoo": "6"}
    [listed] = pods_api.list_requests
    assert (listed.resource_version, listed.limit, listed.continue_token) == ("0", 500, None)
    assert pods_api.watch_rvs() == ["1", "6"]
    assert all(r.query["allowWatchBookmarks"].lower() == "true" for r in pods_api.watch_requests)
    assert looptime == 0  # a clean end re-watches at once, without any backoff


async def test_reflector_expired_exact_resource_version(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend(
        [ListReply(pods(4), resource_version="10"), GONE, ListReply(pods(8), "11")]
    )
    pods_api.watches.append([error_event(GONE)])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert pods_api.list_rvs() == ["0", "10", ""]
    assert [r.limit for r in pods_api.list_requests] == [500, None, 500]
    assert len(sink.store) == 8
    assert pods_api.watch_rvs() == ["10", "11"]
    backoff = pods_api.list_requests[1].time - pods_api.watch_requests[0].time
    assert 0.8 <= backoff <= 1.6  # one backoff step before relisting after a 410


async def test_reflector_full_list_if_expired(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend(
        [
            ListReply(pods(4), resource_version="10"),
            ListReply(pods(4), resource_version="11", continue_token="C1"),
            GONE,  # the continue token expired
            ListReply(pods(8), resource_version="11"),
        ]
    )
    pods_api.watches.append([error_event(GONE)])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink, page_size=4).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    requests = pods_api.list_requests
    assert pods_api.list_rvs() == ["0", "10", "", "10"]
    assert [(r.limit, r.continue_token) for r in requests] == [
        (4, None),
        (4, None),
        (4, "C1"),
        (None, None),
    ]
    assert len(sink.store) == 8
    assert pods_api.watch_rvs() == ["10", "11"]


async def test_reflector_full_list_if_too_large(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    old_cause = HttpStatus(
        504, "Timeout", "too large resource version", ({"message": "Too large resource version"},)
    )
    old_message = HttpStatus(504, "Timeout", "Too large resource version")
    pods_api.lists.extend(
        [
            ListReply([], resource_version="20"),
            TOO_LARGE,
            ListReply([], resource_version="30"),
            old_cause,
            ListReply([], resource_version="40"),
            old_message,
            ListReply([], resource_version="50"),
        ]
    )
    pods_api.watches.extend([[error_event(GONE)]] * 3)
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 4)

    assert pods_api.list_rvs() == ["0", "20", "", "30", "", "40", ""]
    assert pods_api.watch_rvs() == ["20", "30", "40", "50"]


async def test_backoff_on_too_many_requests(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.extend([TOO_MANY, [error_event(TOO_MANY)]])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 3)

    first, second, third = (r.time for r in pods_api.watch_requests)
    assert 0.8 <= second - first <= 1.6  # 429 when opening: first step
    assert 1.6 <= third - second <= 3.2  # 429 in the stream: second step
    assert pods_api.watch_rvs() == ["1", "1", "1"]
    assert len(pods_api.list_requests) == 1


async def test_no_relist_on_too_many_requests(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.extend([TOO_MANY] * 4)
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 5)

    assert len(pods_api.list_requests) == 1
    assert pods_api.watch_rvs() == ["1"] * 5


async def test_watch_timeout(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.extend([[bookmark(str(i)), CLOSE] for i in range(2, 22)])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 21)

    timeouts = [r.timeout_seconds for r in pods_api.watch_requests]
    assert all(t is not None and 300 <= t <= 600 for t in timeouts)
    assert len(set(timeouts)) > 5  # drawn at random, to spread reconnects


async def test_watch_timeout_is_drawn_between_the_configured_bounds(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.extend([[bookmark(str(i)), CLOSE] for i in range(2, 22)])
    sink = RecordingSink()
    bounded = reflector(core_v1, sink, min_watch_timeout=60, max_watch_timeout=90)
    async with running(bounded.run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 21)

    timeouts = [r.timeout_seconds for r in pods_api.watch_requests]
    assert all(t is not None and 60 <= t <= 90 for t in timeouts), timeouts


async def test_reflector_respect_store_transformer(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    heavy = {"kubectl.kubernetes.io/last-applied-configuration": "x" * 10_000}
    listed, watched = pod("listed", rv="1"), pod("watched", rv="2")
    for obj in (listed, watched):
        obj["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
        obj["metadata"]["annotations"] = {**heavy, "karpenter.sh/do-not-disrupt": "true"}
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([listed], resource_version="1"))
    pods_api.watches.append([added(watched), CLOSE])
    seen: list[str] = []

    def transform(raw: PodBody) -> PodRecord:
        seen.append(raw["metadata"]["name"])
        return project_pod(raw)

    sink = RecordingSink()
    source = KubeListWatch(core_v1.list_pod_for_all_namespaces)
    r = Reflector(source, transform=transform, sink=sink, rand=random.Random(1))
    async with running(r.run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert seen == ["listed", "watched"]
    for record in sink.store.values():
        assert isinstance(record, PodRecord)
        assert record.annotations == (("karpenter.sh/do-not-disrupt", "true"),)


async def test_reflector_pages_large_lists(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend(
        [
            ListReply(pods(500), resource_version="100", continue_token="c1"),
            ListReply(pods(500, 500), resource_version="100", continue_token="c2"),
            ListReply(pods(200, 1000), resource_version="100"),
            ListReply(pods(1200), resource_version="101"),
        ]
    )
    pods_api.watches.append([error_event(GONE)])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    requests = pods_api.list_requests
    assert [(r.resource_version, r.limit, r.continue_token) for r in requests[:3]] == [
        ("0", 500, None),
        ("", 500, "c1"),
        ("", 500, "c2"),
    ]
    # The first list came back paged, so the watch cache is off: relists page too.
    assert (requests[3].resource_version, requests[3].limit) == ("100", 500)
    assert len(sink.store) == 1200
    assert sink.calls[0] == ("replace", [f"pod-{i}" for i in range(1200)])


async def test_bookmark_only_advances_resource_version(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([pod("a", rv="5")], resource_version="5"))
    pods_api.watches.append([bookmark("9"), CLOSE])
    sink = RecordingSink()
    r = reflector(core_v1, sink)
    async with running(r.run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert sink.calls == [("replace", ["a"])]
    assert sink.rvs() == {"a": "5"}
    assert pods_api.watch_rvs() == ["5", "9"]
    assert r.last_sync_resource_version == "9"


async def test_very_short_watch_is_an_error(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend([ListReply([], resource_version="1")] * 2)
    pods_api.watches.append([CLOSE])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert pods_api.list_rvs() == ["0", "1"]  # the round ended: relist
    relist = pods_api.list_requests[1].time - pods_api.watch_requests[0].time
    assert 0.8 <= relist <= 1.6


async def test_quiet_watch_longer_than_a_second_is_not_an_error(
    api: ScriptedApi, core_v1: CoreV1Api, looptime: Any
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.append([Delay(2), CLOSE])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert len(pods_api.list_requests) == 1
    assert pods_api.watch_requests[1].time == pytest.approx(2, abs=0.01)


async def test_broken_stream_rewatches_without_relist(
    api: ScriptedApi, core_v1: CoreV1Api, looptime: Any
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.append([added(pod("a", rv="2")), ABORT])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert pods_api.watch_rvs() == ["1", "2"]
    assert len(pods_api.list_requests) == 1
    assert looptime == 0


async def test_inactivity_watchdog_reconnects_from_last_resource_version(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.append([added(pod("a", rv="2")), Delay(30), added(pod("b", rv="3")), HANG])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert pods_api.watch_rvs() == ["1", "3"]
    assert len(pods_api.list_requests) == 1
    # 30 s until the last event, then 70 s of silence: the watchdog counts from that event.
    assert pods_api.watch_requests[1].time == pytest.approx(100, abs=0.01)


async def test_a_two_mebibyte_event_is_one_line(api: ScriptedApi, core_v1: CoreV1Api) -> None:
    big = pod("big", rv="2", annotations={"autoscaler.vpsie.com/note": "n" * (2 * 1024 * 1024)})
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.append([added(big), CLOSE])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    record = sink.store.get("default/big")
    assert record is not None
    assert record.annotations == (("autoscaler.vpsie.com/note", "<too long: 2097152 characters>"),)
    assert pods_api.watch_rvs() == ["1", "2"]


async def test_gone_in_the_stream_relists_at_the_last_event(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend([ListReply([], resource_version="1"), ListReply([], "3")])
    pods_api.watches.append(
        [added(pod("a", rv="2")), added(pod("b", rv="3")), error_event(GONE), HANG]
    )
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: len(pods_api.watch_requests) == 2)

    assert [(r.resource_version, r.limit) for r in pods_api.list_requests] == [
        ("0", 500),
        ("3", None),
    ]
    assert sink.calls[-1] == ("replace", [])  # the relist removed what the list lacks


async def test_watch_cancelled_with_the_reflector_is_closed(
    api: ScriptedApi, core_v1: CoreV1Api
) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.append(ListReply([], resource_version="1"))
    pods_api.watches.append([added(pod("a", rv="2")), HANG])
    sink = RecordingSink()
    async with running(reflector(core_v1, sink).run):
        await api.wait_for(lambda: pods_api.open_watches == 1)
    async with asyncio.timeout(60):  # virtual seconds: fails rather than hangs
        await api.wait_for(lambda: pods_api.open_watches == 0)  # the server saw the disconnect
