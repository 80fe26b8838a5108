"""A scripted fake of the ``metrics.k8s.io`` API, served in-process by aiohttp.

``GET /apis/metrics.k8s.io/v1beta1/nodes`` answers from a queue of replies: a list of
``NodeMetrics`` items, a ``Status(code)``, raw ``bytes`` (an unreadable body), or ``HANG``, a
handler that never answers while the test runs (it waits on an event set only when the
server shuts down, so the server can still close cleanly). When the queue is empty, the
``then`` reply is used. Every request is recorded with its loop time; ``hanging`` counts
handlers blocked right now and ``abandoned`` the hanging requests the client gave up (the
handler is cancelled when the client drops the connection). The real kubernetes_asyncio
``ApiClient`` reaches it through ``node_metrics_source``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from kubernetes_asyncio.client import ApiClient, Configuration

from autoscaler.controllers.usage_collector import node_metrics_source
from autoscaler.kube.listwatch import KubeListWatch

Raw = dict[str, Any]
PATH = "/apis/metrics.k8s.io/v1beta1/nodes"


class Marker(enum.Enum):
    """A reply that is not an answer."""

    HANG = "hang"


HANG = Marker.HANG


@dataclass(frozen=True)
class Status:
    """Answer with a ``metav1.Status`` body and this HTTP status."""

    code: int
    reason: str = ""

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": self.reason or f"HTTP {self.code}",
                "reason": self.reason,
                "code": self.code,
            }
        )


NOT_FOUND = Status(404, "NotFound")
UNAVAILABLE = Status(503, "ServiceUnavailable")

Reply = list[Raw] | Status | bytes | Marker


class FakeMetricsApi:
    """The server; use ``async with FakeMetricsApi() as api`` and ``api.url``."""

    def __init__(self, *replies: Reply, then: Reply = HANG) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.then = then
        self.requests: list[float] = []
        self.hanging = 0
        self.abandoned = 0
        self.url = ""
        self._changed = asyncio.Event()
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeMetricsApi:
        app = web.Application()
        app.router.add_get(PATH, self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._released.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def wait_for(self, predicate: Callable[[], bool], *, within: float = 3600.0) -> None:
        """Wait (in loop time) until ``predicate()`` holds; checked after every change."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(asyncio.get_running_loop().time())
        reply = self.replies.popleft() if self.replies else self.then
        self._changed.set()
        if reply is HANG:
            return await self._hang()
        if isinstance(reply, Status):
            return web.Response(
                status=reply.code, body=reply.body(), content_type="application/json"
            )
        if isinstance(reply, bytes):
            return web.Response(body=reply, content_type="application/json")
        doc = {"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}}
        return web.Response(
            body=orjson.dumps({**doc, "items": reply}), content_type="application/json"
        )

    async def _hang(self) -> web.StreamResponse:
        self.hanging += 1
        try:
            await self._released.wait()
        except asyncio.CancelledError:
            self.abandoned += 1
            raise
        finally:
            self.hanging -= 1
            self._changed.set()
        return web.Response(status=503)


def node_metrics(
    name: str, *, cpu: str = "250m", memory: str = "1Gi", at: str = "2026-01-01T00:00:00Z"
) -> Raw:
    """A ``NodeMetrics`` item shaped as metrics-server sends it."""
    return {
        "metadata": {"name": name, "creationTimestamp": at},
        "timestamp": at,
        "window": "10.5s",
        "usage": {"cpu": cpu, "memory": memory},
    }


@contextlib.asynccontextmanager
async def serving(
    *replies: Reply, then: Reply = HANG, request_timeout: float = 60.0
) -> AsyncIterator[tuple[FakeMetricsApi, KubeListWatch]]:
    """Serve ``replies``; yield the server and the production lister over a real client.

    The lister's own deadline (``request_timeout``) is longer than the collector's tick
    deadline by default, so a hanging request is ended by the tick.
    """
    async with (
        FakeMetricsApi(*replies, then=then) as api,
        ApiClient(Configuration(host=api.url)) as client,
    ):
        yield api, node_metrics_source(client, request_timeout=request_timeout)
