"""A scripted fake VPSie API served in-process (the transport seam of style.md).

``ScriptedVPSie`` answers each ``(method, path)`` from a queue of replies: ``Reply`` values
(status, JSON or raw body, headers, delay, hang, drop) or handlers ``(Seen) -> Reply`` for
stateful fakes. ``always(...)`` sets a sticky reply. Every request is recorded as ``Seen``
(headers, raw body, decoded JSON or form, loop time) so tests assert exactly what the client
sent. Unscripted requests get 418 and are listed in ``unscripted``.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

_NO_JSON = object()


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = _NO_JSON
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    drop: bool = False
    stream: int = 0  # stream this many bytes with chunked encoding (no Content-Length)


def ok(data: Any = True, *, total: int | None = None, **more: Any) -> Reply:
    """``{"error": false, "data": ...}``."""
    body: dict[str, Any] = {"error": False, "data": data}
    if total is not None:
        body["total"] = total
    return Reply(json=body | more)


def fail(message: str, *, status: int = 200, code: int | None = None, **kw: Any) -> Reply:
    """``{"error": true, "code": ..., "message": ...}`` with any HTTP status."""
    return Reply(
        status=status,
        json={"error": True, "code": code or status, "message": message, "stack": "at x"},
        **kw,
    )


HTML_502 = Reply(status=502, body=b"<html><body><h1>502 Bad Gateway</h1></body></html>")
HANG = Reply(hang=True)
DROP = Reply(drop=True)

Handler = Callable[["Seen"], Reply]


@dataclass(frozen=True)
class Seen:
    """A request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class ScriptedVPSie:
    """The server; use ``async with ScriptedVPSie() as api`` and ``api.url``."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], deque[Reply | Handler]] = defaultdict(deque)
        self._sticky: dict[tuple[str, str], Reply | Handler] = {}
        self.requests: list[Seen] = []
        self.unscripted: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: TestServer | None = None
        self.url = ""

    def on(self, method: str, path: str, *replies: Reply | Handler) -> ScriptedVPSie:
        """Queue replies for ``method path`` (each used once, in order)."""
        self._queues[(method, path)].extend(replies)
        return self

    def always(self, method: str, path: str, reply: Reply | Handler) -> ScriptedVPSie:
        """Answer ``method path`` with ``reply`` whenever its queue is empty."""
        self._sticky[(method, path)] = reply
        return self

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """Recorded requests, optionally filtered."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    async def __aenter__(self) -> ScriptedVPSie:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app)
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await self._server.close()

    def _next(self, key: tuple[str, str]) -> Reply | Handler | None:
        queue = self._queues.get(key)
        if queue:
            return queue.popleft()
        return self._sticky.get(key)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        body = await request.read()
        seen = Seen(
            request.method, request.path, dict(request.query), dict(request.headers), body,
            loop.time(),
        )  # fmt: skip
        self.requests.append(seen)
        script = self._next((request.method, request.path))
        if script is None:
            self.unscripted.append(seen)
            return web.json_response({"error": True, "message": "unscripted"}, status=418)
        reply = script(seen) if callable(script) else script
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, reply)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.hang:
            await asyncio.sleep(3600)
        if reply.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if reply.stream:
            response = web.StreamResponse(status=reply.status, headers=dict(reply.headers))
            response.enable_chunked_encoding()
            await response.prepare(request)
            chunk = b"x" * 65536
            for start in range(0, reply.stream, len(chunk)):
                await response.write(chunk[: reply.stream - start])
            await response.write_eof()
            return response
        if reply.json is not _NO_JSON:
            body = orjson.dumps(reply.json)
            headers = {"Content-Type": "application/json", **reply.headers}
        else:
            body = reply.body or b""
            headers = (
                {"Content-Type": "text/html", **reply.headers} if body else dict(reply.headers)
            )
        return web.Response(status=reply.status, body=body, headers=headers)
