"""``kube.eviction.evict`` against an in-process HTTP server answering like kube-apiserver."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from kubernetes_asyncio.client import ApiClient, Configuration

from autoscaler.kube import errors
from autoscaler.kube.eviction import MULTIPLE_PDBS, EvictionStatus, evict
from tests.core.factories import pod

POD = dataclasses.replace(pod("web-1", namespace="shop", node_name="n1"), uid="uid-1")
PATH = "/api/v1/namespaces/shop/pods/web-1/eviction"


def status(code: int, reason: str, message: str, **details: Any) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    body |= {"reason": reason, "message": message, "details": details}
    return web.Response(status=code, body=orjson.dumps(body), content_type="application/json")


@dataclasses.dataclass
class Server:
    answer: web.Response | None = None
    hang: bool = False
    seen: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Server, ApiClient]]:
    state = Server()

    async def handle(request: web.Request) -> web.StreamResponse:
        state.seen.append((request.path, orjson.loads(await request.read())))
        if state.hang:
            await asyncio.Event().wait()
        return state.answer or web.json_response(
            {"kind": "Status", "status": "Success"}, status=201
        )

    app = web.Application()
    app.router.add_post(PATH, handle)
    server = TestServer(app)
    await server.start_server()
    try:
        async with ApiClient(Configuration(host=str(server.make_url("")))) as api:
            yield state, api
    finally:
        await server.close()


async def test_eviction_posts_uid_precondition_and_grace(
    served: tuple[Server, ApiClient],
) -> None:
    state, api = served
    result = await evict(api, POD, grace_seconds=45, timeout=5)
    assert result.status is EvictionStatus.EVICTED
    [(path, body)] = state.seen
    assert path == PATH
    assert body == {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "deleteOptions": {"preconditions": {"uid": "uid-1"}, "gracePeriodSeconds": 45},
    }


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(web.json_response({}, status=200), EvictionStatus.EVICTED, id="200-evicted"),
        pytest.param(status(404, "NotFound", "pods not found"), EvictionStatus.GONE, id="404-gone"),
        pytest.param(
            status(409, "Conflict", "Precondition failed: UID in precondition: uid-1"),
            EvictionStatus.GONE,
            id="409-uid-precondition-gone",
        ),
        pytest.param(
            status(
                429,
                "TooManyRequests",
                "Cannot evict pod as it would violate the pod's disruption budget.",
            ),
            EvictionStatus.BLOCKED,
            id="429-pdb-blocked",
        ),
        pytest.param(
            status(
                500,
                "InternalError",
                f"This pod has {MULTIPLE_PDBS}, which the eviction subresource does not support.",
            ),
            EvictionStatus.BLOCKED,
            id="500-multiple-pdbs-blocked",
        ),
    ],
)
async def test_eviction_answers_are_classified(
    served: tuple[Server, ApiClient], answer: web.Response, expected: EvictionStatus
) -> None:
    state, api = served
    state.answer = answer
    assert (await evict(api, POD, grace_seconds=None, timeout=5)).status is expected
    assert "gracePeriodSeconds" not in state.seen[0][1]["deleteOptions"]


async def test_eviction_429_carries_retry_after(served: tuple[Server, ApiClient]) -> None:
    state, api = served
    state.answer = status(429, "TooManyRequests", "slow down", retryAfterSeconds=3)
    result = await evict(api, POD, grace_seconds=None, timeout=5)
    assert (result.status, result.retry_after) == (EvictionStatus.BLOCKED, 3.0)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(status(403, "Forbidden", "no"), errors.Forbidden, id="403-forbidden"),
        pytest.param(status(500, "InternalError", "etcd"), errors.ServerError, id="500-server"),
        pytest.param(status(422, "Invalid", "bad"), errors.Invalid, id="422-invalid"),
    ],
)
async def test_eviction_errors_are_typed(
    served: tuple[Server, ApiClient], answer: web.Response, error: type[errors.KubeError]
) -> None:
    state, api = served
    state.answer = answer
    with pytest.raises(error, match="evicting pod shop/web-1"):
        await evict(api, POD, grace_seconds=None, timeout=5)


@pytest.mark.looptime
async def test_eviction_has_a_deadline(served: tuple[Server, ApiClient]) -> None:
    state, api = served
    state.hang = True
    with pytest.raises(errors.Timeout):
        await evict(api, POD, grace_seconds=None, timeout=7)
    assert asyncio.get_running_loop().time() == pytest.approx(7, abs=0.5)
