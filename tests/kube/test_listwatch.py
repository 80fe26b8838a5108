"""The production ``KubeListWatch`` adapter: requests it sends and errors it maps (§3).

kubernetes_asyncio does not check the status of an unpreloaded response, so the adapter
must: every non-2xx answer becomes a typed error before any line is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api

from autoscaler.kube import errors
from autoscaler.kube.listwatch import KubeListWatch
from tests.kube.scripted_api import (
    CLOSE,
    GONE,
    TOO_LARGE,
    TOO_MANY,
    HttpStatus,
    ListReply,
    RawReply,
    ScriptedApi,
    added,
    core_v1_client,
    pod,
)

pytestmark = pytest.mark.looptime

PODS = "/api/v1/pods"


@pytest.fixture
async def api() -> AsyncIterator[ScriptedApi]:
    async with ScriptedApi() as server:
        yield server


@pytest.fixture
async def source(api: ScriptedApi) -> AsyncIterator[KubeListWatch]:
    async with core_v1_client(api) as core_v1:
        yield KubeListWatch(core_v1.list_pod_for_all_namespaces)


STATUSES = [
    pytest.param(HttpStatus(403, "Forbidden"), errors.Forbidden, id="forbidden"),
    pytest.param(GONE, errors.Gone, id="gone"),
    pytest.param(TOO_LARGE, errors.ResourceVersionTooLarge, id="too-large"),
    pytest.param(TOO_MANY, errors.TooManyRequests, id="too-many"),
    pytest.param(HttpStatus(503, "ServiceUnavailable"), errors.ServerError, id="unavailable"),
]


@pytest.mark.parametrize(("status", "expected"), STATUSES)
async def test_list_statuses_become_typed_errors(
    api: ScriptedApi, source: KubeListWatch, status: HttpStatus, expected: type[errors.KubeError]
) -> None:
    api.resource(PODS).lists.append(status)
    with pytest.raises(expected):
        await source.list_page(resource_version="0", limit=500, continue_token=None)


@pytest.mark.parametrize(("status", "expected"), STATUSES)
async def test_watch_statuses_become_typed_errors_when_opening(
    api: ScriptedApi, source: KubeListWatch, status: HttpStatus, expected: type[errors.KubeError]
) -> None:
    api.resource(PODS).watches.append(status)
    with pytest.raises(expected):
        await source.open_watch(resource_version="7", timeout_seconds=300)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"items": {"a": 1}}', b'{"metadata": "x", "items": []}'],
    ids=["not-json", "array", "items-not-a-list", "metadata-not-an-object"],
)
async def test_a_malformed_list_answer_is_a_typed_error(
    api: ScriptedApi, source: KubeListWatch, body: bytes
) -> None:
    api.resource(PODS).lists.append(RawReply(body))
    with pytest.raises(errors.ServerError, match="list answer"):
        await source.list_page(resource_version="", limit=None, continue_token=None)


async def test_too_many_requests_carries_retry_after(
    api: ScriptedApi, source: KubeListWatch
) -> None:
    api.resource(PODS).lists.append(TOO_MANY)
    with pytest.raises(errors.TooManyRequests) as caught:
        await source.list_page(resource_version="", limit=None, continue_token=None)
    assert caught.value.retry_after == 1


async def test_list_page_sends_paging_parameters(api: ScriptedApi, source: KubeListWatch) -> None:
    pods_api = api.resource(PODS)
    pods_api.lists.extend(
        [ListReply([pod("a")], "5", continue_token="next"), ListReply([pod("b")], "5")]
    )
    first = await source.list_page(resource_version="0", limit=500, continue_token=None)
    second = await source.list_page(resource_version="", limit=500, continue_token="next")

    assert (first.resource_version, first.continue_token) == ("5", "next")
    assert [i["metadata"]["name"] for i in first.items + second.items] == ["a", "b"]
    assert second.continue_token is None
    assert [r.query for r in pods_api.list_requests] == [
        {"resourceVersion": "0", "limit": "500"},
        {"limit": "500", "continue": "next"},
    ]


async def test_watch_streams_raw_lines(api: ScriptedApi, source: KubeListWatch) -> None:
    pods_api = api.resource(PODS)
    pods_api.watches.append([added(pod("a", rv="8")), b"\n", CLOSE])
    stream = await source.open_watch(resource_version="7", timeout_seconds=321)
    lines = [line async for line in stream]
    await stream.aclose()

    assert len(lines) == 1
    assert b'"resourceVersion":"8"' in lines[0]
    [request] = pods_api.watch_requests
    assert request.resource_version == "7"
    assert request.timeout_seconds == 321
    assert request.query["allowWatchBookmarks"].lower() == "true"


async def test_connection_refused_is_reported_as_such() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with ApiClient(Configuration(host=f"http://127.0.0.1:{port}")) as client:
        source = KubeListWatch(CoreV1Api(client).list_pod_for_all_namespaces)
        with pytest.raises(errors.Timeout) as caught:
            await source.open_watch(resource_version="1", timeout_seconds=300)
    assert caught.value.reason == "ConnectionRefused"


async def test_a_silent_server_hits_the_client_deadline(api: ScriptedApi) -> None:
    api.resource(PODS).lists.append(ListReply([], "1", delay=120))
    async with core_v1_client(api) as core_v1:
        source = KubeListWatch(core_v1.list_pod_for_all_namespaces, request_timeout=60)
        with pytest.raises(errors.Timeout) as caught:
            await source.list_page(resource_version="0", limit=500, continue_token=None)
    assert caught.value.reason == "ClientTimeout"
    assert asyncio.get_running_loop().time() == pytest.approx(60, abs=0.01)
