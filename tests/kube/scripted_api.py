"""A scripted fake Kubernetes API server for list/watch tests (in the manner of kopf's kmock).

Each resource path has two queues: list replies (``ListReply`` or ``HttpStatus``) and watch
scripts (``HttpStatus`` answered at open, or a list of items streamed as JSON lines: event
dicts, raw ``bytes``, ``Delay(seconds)``, then ``CLOSE``, ``HANG`` or ``ABORT``). An exhausted list
queue answers 500; an exhausted watch queue hangs. Every request is recorded with its query
parameters and loop time, so a test can assert RVs, limits, continue tokens and timeouts.
The real ``KubeListWatch`` adapter reaches it through a kubernetes_asyncio ``ApiClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api

from autoscaler.core.records import PodRecord
from autoscaler.kube.store import Store

Raw = dict[str, Any]


class Marker(enum.Enum):
    """How a watch script ends."""

    CLOSE = "close"
    HANG = "hang"
    ABORT = "abort"


CLOSE = Marker.CLOSE
HANG = Marker.HANG
ABORT = Marker.ABORT


@dataclass(frozen=True)
class Delay:
    """Pause the stream (or a list reply) for ``seconds`` of loop time."""

    seconds: float


@dataclass(frozen=True)
class HttpStatus:
    """Answer with a ``metav1.Status`` body and this HTTP status."""

    code: int
    reason: str = ""
    message: str = ""
    causes: tuple[Raw, ...] = ()
    retry_after: int | None = None

    def status_object(self) -> Raw:
        details: Raw = {"causes": list(self.causes)} if self.causes else {}
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message or self.reason,
            "reason": self.reason,
            "details": details,
            "code": self.code,
        }


GONE = HttpStatus(410, "Expired", "too old resource version")
TOO_MANY = HttpStatus(429, "TooManyRequests", "too many requests", retry_after=1)
TOO_LARGE = HttpStatus(
    504,
    "Timeout",
    "Too large resource version",
    causes=({"reason": "ResourceVersionTooLarge", "message": "Too large resource version"},),
)


@dataclass(frozen=True)
class ListReply:
    """One list page."""

    items: list[Raw]
    resource_version: str
    continue_token: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class RawReply:
    """A 200 answer with exactly these body bytes (for malformed answers)."""

    body: bytes


WatchItem = Raw | bytes | Delay | Marker
WatchScript = HttpStatus | list[WatchItem]


@dataclass(frozen=True)
class Request:
    """A request as the server saw it."""

    path: str
    query: dict[str, str]
    time: float

    @property
    def resource_version(self) -> str:
        return self.query.get("resourceVersion", "")

    @property
    def limit(self) -> int | None:
        return int(self.query["limit"]) if "limit" in self.query else None

    @property
    def continue_token(self) -> str | None:
        return self.query.get("continue")

    @property
    def timeout_seconds(self) -> int | None:
        raw = self.query.get("timeoutSeconds")
        return int(raw) if raw is not None else None


@dataclass
class Resource:
    """The script and the request log of one collection path."""

    path: str
    lists: deque[ListReply | HttpStatus | RawReply] = field(default_factory=deque)
    watches: deque[WatchScript] = field(default_factory=deque)
    list_requests: list[Request] = field(default_factory=list)
    watch_requests: list[Request] = field(default_factory=list)
    open_watches: int = 0

    def list_rvs(self) -> list[str]:
        return [r.resource_version for r in self.list_requests]

    def watch_rvs(self) -> list[str]:
        return [r.resource_version for r in self.watch_requests]


class ScriptedApi:
    """The server; use ``async with ScriptedApi() as api`` and ``api.url``."""

    def __init__(self) -> None:
        self._resources: dict[str, Resource] = {}
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def resource(self, path: str) -> Resource:
        return self._resources.setdefault(path, Resource(path))

    async def __aenter__(self) -> ScriptedApi:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def wait_for(self, predicate: Callable[[], bool], *, within: float = 600.0) -> None:
        """Wait until ``predicate()`` holds; checked after every request and ended watch.

        Fails after ``within`` seconds of loop time (virtual under looptime), so a broken
        reflector that retries forever fails the test instead of spinning.
        """
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            log = {p: (r.list_rvs(), r.watch_rvs()) for p, r in self._resources.items()}
            raise AssertionError(f"not met within {within} s; (list, watch) RVs: {log}") from None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        recorded = Request(request.path, dict(request.query), loop.time())
        resource = self.resource(request.path)
        watching = request.query.get("watch") in ("true", "1", "True")
        (resource.watch_requests if watching else resource.list_requests).append(recorded)
        self._changed.set()
        if watching:
            return await self._watch(request, resource)
        reply = resource.lists.popleft() if resource.lists else HttpStatus(500, "ScriptEnded")
        if isinstance(reply, HttpStatus):
            return _status_response(reply)
        if isinstance(reply, RawReply):
            return web.Response(body=reply.body, content_type="application/json")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        meta: Raw = {"resourceVersion": reply.resource_version}
        if reply.continue_token:
            meta["continue"] = reply.continue_token
        body = {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": reply.items}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _watch(self, request: web.Request, resource: Resource) -> web.StreamResponse:
        script = resource.watches.popleft() if resource.watches else [HANG]
        if isinstance(script, HttpStatus):
            return _status_response(script)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        resource.open_watches += 1
        try:
            for item in script:
                if isinstance(item, Delay):
                    await asyncio.sleep(item.seconds)
                elif item is HANG:
                    await self._closing.wait()
                    break
                elif item is CLOSE:
                    break
                elif item is ABORT:  # cut the connection mid-stream
                    assert request.transport is not None
                    request.transport.abort()
                    return response
                else:
                    line = item if isinstance(item, bytes) else orjson.dumps(item) + b"\n"
                    await response.write(line)
            await response.write_eof()
        finally:
            resource.open_watches -= 1
            self._changed.set()
        return response


def _status_response(status: HttpStatus) -> web.Response:
    headers = {"Retry-After": str(status.retry_after)} if status.retry_after is not None else {}
    return web.Response(
        status=status.code,
        body=orjson.dumps(status.status_object()),
        content_type="application/json",
        headers=headers,
    )


class RecordingSink:
    """A reflector sink: a store that also records what it was asked to do."""

    def __init__(self) -> None:
        self.store: Store[PodRecord] = Store()
        self.calls: list[tuple[str, Any]] = []

    def replace(self, objs: list[PodRecord]) -> None:
        self.calls.append(("replace", [o.name for o in objs]))
        self.store.replace(objs)

    def upsert(self, obj: PodRecord) -> None:
        self.calls.append(("upsert", obj.name))
        self.store.upsert(obj)

    def remove(self, obj: PodRecord) -> None:
        self.calls.append(("remove", obj.name))
        self.store.delete(obj.key)

    def rvs(self) -> dict[str, str]:
        return {p.name: p.resource_version for p in self.store}


@contextlib.asynccontextmanager
async def core_v1_client(api: ScriptedApi) -> AsyncIterator[CoreV1Api]:
    """A real kubernetes_asyncio ``CoreV1Api`` whose host is the scripted server."""
    async with ApiClient(Configuration(host=api.url)) as client:
        yield CoreV1Api(client)


@contextlib.asynccontextmanager
async def running(*runs: Callable[[], Coroutine[Any, Any, Any]]) -> AsyncIterator[None]:
    """Run each coroutine function in a task group; cancel them all when the block ends."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run()) for run in runs]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()


# Builders of raw objects and watch events, shaped as the API server sends them.


def pod(
    name: str,
    *,
    rv: str = "1",
    namespace: str = "default",
    uid: str | None = None,
    node: str | None = None,
    cpu: str = "100m",
    memory: str = "64Mi",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Raw:
    requests = {"cpu": cpu, "memory": memory}
    spec: Raw = {"containers": [{"name": "app", "resources": {"requests": requests}}]}
    if node:
        spec["nodeName"] = node
    meta: Raw = {
        "name": name,
        "namespace": namespace,
        "uid": uid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}")),
        "resourceVersion": rv,
        "labels": labels or {"app": name.rsplit("-", 1)[0]},
    }
    if annotations:
        meta["annotations"] = annotations
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}


def node(name: str, *, rv: str = "1", group: str | None = None) -> Raw:
    labels = {"kubernetes.io/hostname": name}
    if group:
        labels["autoscaler.vpsie.com/nodegroup"] = group
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": rv, "labels": labels},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def event(kind: str, obj: Raw) -> Raw:
    return {"type": kind, "object": obj}


def added(obj: Raw) -> Raw:
    return event("ADDED", obj)


def modified(obj: Raw) -> Raw:
    return event("MODIFIED", obj)


def deleted(obj: Raw) -> Raw:
    return event("DELETED", obj)


def bookmark(rv: str, kind: str = "Pod") -> Raw:
    return event(
        "BOOKMARK", {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": rv}}
    )


def error_event(status: HttpStatus) -> Raw:
    return event("ERROR", status.status_object())
