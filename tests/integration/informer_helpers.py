"""Helpers for the informer tests on the real API server (``test_informer_real.py``).

``RecordingSource`` wraps the production ``KubeListWatch``: every request still goes to the
real kube-apiserver, and the wrapper only records what was asked and answered, can park
lists or watches at a gate (so a test knows the reflector is not watching), and can cap the
server-side watch timeout. ``RecordingHandler`` records what an informer delivered, and
``ConfigMapRecord`` is the frozen record the tests project ConfigMaps into. The etcd
helpers talk to etcd's HTTP gateway (compaction).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from autoscaler.core.records import object_key
from autoscaler.kube import errors
from autoscaler.kube.listwatch import ListPage, ListWatchSource, WatchStream
from autoscaler.kube.store import DeletedFinalStateUnknown, Keyed, Store

LABEL = "testenv.autoscaler.vpsie.com/informer"
SELECTOR = f"{LABEL}=yes"

T = TypeVar("T", bound=Keyed)


def config_map(name: str, *, labelled: bool = True, value: str = "0") -> dict[str, Any]:
    """A ConfigMap manifest; only ``labelled`` ones match :data:`SELECTOR`."""
    labels = {LABEL: "yes"} if labelled else {}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"value": value},
    }


@dataclass(frozen=True, slots=True)
class ConfigMapRecord:
    """What the tests keep of a ConfigMap."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    data: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        """The store key, ``namespace/name``."""
        return object_key(self.namespace, self.name)


def project_config_map(obj: Mapping[str, Any]) -> ConfigMapRecord:
    """The informer transform: raw ConfigMap → :class:`ConfigMapRecord`."""
    meta = obj["metadata"]
    return ConfigMapRecord(
        namespace=meta.get("namespace", ""),
        name=meta["name"],
        uid=meta["uid"],
        resource_version=meta["resourceVersion"],
        data=tuple(sorted((obj.get("data") or {}).items())),
    )


class Changes:
    """Wakes every :meth:`wait_until` whenever :meth:`notify` is called."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Something changed: re-check every waiting predicate."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], *, within: float, what: str) -> None:
        """Wait until ``predicate()`` holds, re-checking on every notification."""
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    await self._event.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {within} s waiting for {what}") from None


@dataclass(frozen=True, slots=True)
class ListCall:
    """One ``list_page`` request and its outcome (``"ok"`` or the error class name)."""

    resource_version: str
    limit: int | None
    continue_token: str | None
    outcome: str
    items: int = 0
    next_token: str | None = None
    list_resource_version: str = ""


@dataclass(frozen=True, slots=True)
class WatchCall:
    """One ``open_watch`` request (the timeout as sent, maybe shortened) and its outcome."""

    resource_version: str
    timeout_seconds: int
    outcome: str


@dataclass(frozen=True, slots=True)
class Line:
    """One watch line as the reflector received it; ``watch`` indexes ``source.watches``."""

    type: str
    resource_version: str
    watch: int


class _Gate:
    def __init__(self, changes: Changes) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._changes = changes
        self.parked = 0

    async def pass_through(self) -> None:
        if self._open.is_set():
            return
        self.parked += 1
        self._changes.notify()
        try:
            await self._open.wait()
        finally:
            self.parked -= 1

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()


class RecordingSource:
    """A ``ListWatchSource`` around a real one that records requests and watch lines."""

    def __init__(self, inner: ListWatchSource, *, max_watch_timeout: int | None = None) -> None:
        self.inner = inner
        self.max_watch_timeout = max_watch_timeout
        self.lists: list[ListCall] = []
        self.watches: list[WatchCall] = []
        self.lines: list[Line] = []
        self.changes = Changes()
        self.list_gate = _Gate(self.changes)
        self.watch_gate = _Gate(self.changes)

    def bookmarks(self) -> list[Line]:
        """The BOOKMARK lines received so far."""
        return [line for line in self.lines if line.type == "BOOKMARK"]

    async def list_page(
        self, *, resource_version: str, limit: int | None, continue_token: str | None
    ) -> ListPage:
        """Pass the gate, then list through the real source and record the outcome."""
        await self.list_gate.pass_through()
        call = ListCall(resource_version, limit, continue_token, "ok")
        try:
            page = await self.inner.list_page(
                resource_version=resource_version, limit=limit, continue_token=continue_token
            )
        except errors.KubeError as err:
            self._record(self.lists, dataclasses.replace(call, outcome=type(err).__name__))
            raise
        done = dataclasses.replace(
            call,
            items=len(page.items),
            next_token=page.continue_token,
            list_resource_version=page.resource_version,
        )
        self._record(self.lists, done)
        return page

    async def open_watch(self, *, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Pass the gate, then open a real watch (maybe shortened) and record it."""
        await self.watch_gate.pass_through()
        if self.max_watch_timeout is not None:
            timeout_seconds = min(timeout_seconds, self.max_watch_timeout)
        call = WatchCall(resource_version, timeout_seconds, "open")
        try:
            stream = await self.inner.open_watch(
                resource_version=resource_version, timeout_seconds=timeout_seconds
            )
        except errors.KubeError as err:
            self._record(self.watches, dataclasses.replace(call, outcome=type(err).__name__))
            raise
        self._record(self.watches, call)
        return _RecordingStream(stream, self, len(self.watches) - 1)

    def record_line(self, line: Line) -> None:
        """Note a watch line the reflector is about to receive."""
        self._record(self.lines, line)

    def _record(self, log: list[Any], item: object) -> None:
        log.append(item)
        self.changes.notify()


class _RecordingStream:
    def __init__(self, inner: WatchStream, source: RecordingSource, index: int) -> None:
        self._inner = inner
        self._source = source
        self._index = index

    def __aiter__(self) -> _RecordingStream:
        return self

    async def __anext__(self) -> bytes:
        line = await anext(self._inner)
        try:
            event = orjson.loads(line)
            kind = str(event.get("type"))
            rv = str(((event.get("object") or {}).get("metadata") or {}).get("resourceVersion", ""))
        except (orjson.JSONDecodeError, AttributeError):
            kind, rv = "unparsable", ""
        self._source.record_line(Line(kind, rv, self._index))
        return line

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class Seen(Generic[T]):
    """One delivery: ``add``/``update``/``delete``, and whether the informer had synced."""

    kind: str
    key: str
    obj: T | DeletedFinalStateUnknown[T]
    old: T | None
    synced: bool


class RecordingHandler(Generic[T]):
    """An ``EventHandler`` that records every delivery in order."""

    def __init__(self, has_synced: Callable[[], bool]) -> None:
        self.seen: list[Seen[T]] = []
        self.changes = Changes()
        self._has_synced = has_synced

    def on_add(self, obj: T) -> None:
        self._record(Seen("add", obj.key, obj, None, self._has_synced()))

    def on_update(self, old: T, new: T) -> None:
        self._record(Seen("update", new.key, new, old, self._has_synced()))

    def on_delete(self, obj: T | DeletedFinalStateUnknown[T]) -> None:
        self._record(Seen("delete", obj.key, obj, None, self._has_synced()))

    def kinds(self, start: int = 0) -> list[tuple[str, str]]:
        """``(kind, key)`` of every delivery from index ``start`` on."""
        return [(s.kind, s.key) for s in self.seen[start:]]

    def _record(self, seen: Seen[T]) -> None:
        self.seen.append(seen)
        self.changes.notify()


class CountingSink(Generic[T]):
    """A reflector sink: a store that also counts the calls it received."""

    def __init__(self) -> None:
        self.store: Store[T] = Store()
        self.calls: Counter[str] = Counter()

    def replace(self, objs: list[T]) -> None:
        self.calls["replace"] += 1
        self.store.replace(objs)

    def upsert(self, obj: T) -> None:
        self.calls["upsert"] += 1
        self.store.upsert(obj)

    def remove(self, obj: T) -> None:
        self.calls["remove"] += 1
        self.store.remove(obj)


# etcd's JSON gateway (blocking; call through asyncio.to_thread).


def _etcd(port: int, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    return answer


def etcd_revision(port: int) -> int:
    """The current etcd revision (from the header of a one-key range request)."""
    key = base64.b64encode(b"/registry/namespaces/default").decode()
    return int(_etcd(port, "/v3/kv/range", {"key": key, "count_only": True})["header"]["revision"])


def compact_etcd(port: int) -> int:
    """Compact etcd's history up to its current revision (physically); return that revision."""
    revision = etcd_revision(port)
    _etcd(port, "/v3/kv/compaction", {"revision": str(revision), "physical": True})
    return revision
