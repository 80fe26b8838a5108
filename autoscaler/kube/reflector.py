"""List and watch one resource into a sink (client-go ``tools/cache/reflector.go``, I1-I4).

``run()`` repeats *list, then watch until something goes wrong*, waiting one backoff step
between rounds. What happens on each outcome (I4):

=========================================  =============================================
stream ended, broke, or was silent 70 s     re-watch from the last RV at once
410 Gone (opening or in the stream)         end the round: one backoff step, relist at the
                                            last RV (a 410 there relists with ``""``, I1)
429, connection refused (opening)           back off, re-watch from the same RV, no relist
anything else, incl. a very short watch     end the round: one backoff step, list again
=========================================  =============================================

Lists page with ``limit``/``continue`` at RV ``"0"`` and ``""``; a relist at an exact RV
asks for everything at once so the watch cache can serve it, unless the first list came
back paged (the watch cache is off). Objects go through ``transform`` before the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, Protocol, TypeVar

import orjson

from autoscaler.clock import Clock, LoopClock
from autoscaler.kube import errors
from autoscaler.kube.backoff import Backoff
from autoscaler.kube.listwatch import ListWatchSource, WatchStream

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MalformedEvent",
    "Reflector",
    "ReflectorStatistics",
    "Sink",
    "Transform",
    "VeryShortWatchError",
]

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 500
T = TypeVar("T")
Transform = Callable[[Any], T]
"""Raw object (``orjson`` output; a ``TypedDict`` such as ``PodBody`` to the callee) → record."""
_EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})


class Sink(Protocol[T]):
    """Where a reflector puts records: a ``Store`` or an informer's delivery."""

    def replace(self, objs: list[T]) -> object:
        """Make the cache hold exactly ``objs`` (the result of a list)."""

    def upsert(self, obj: T) -> object:
        """Apply an ADDED or MODIFIED event."""

    def remove(self, obj: T) -> object:
        """Apply a DELETED event (``obj`` is the final state)."""


class VeryShortWatchError(Exception):
    """A watch ended within a second without a single event (client-go ``reflector.go``)."""


class MalformedEvent(ValueError):
    """A watch line or list item that cannot be understood."""


@dataclass(frozen=True, slots=True)
class ReflectorStatistics:
    """Counters for introspection and metrics."""

    lists: int
    watches: int
    last_sync_resource_version: str


def _is_too_large(err: errors.KubeError) -> bool:
    # Servers before 1.18.6 said so only in the message of a 504 (client-go L1176).
    return isinstance(err, errors.ResourceVersionTooLarge) or (
        isinstance(err, errors.Timeout) and "too large resource version" in str(err).lower()
    )


def _rewatch_in_place(err: errors.KubeError) -> bool:
    return isinstance(err, errors.TooManyRequests) or err.reason == "ConnectionRefused"


class Reflector(Generic[T]):
    """Keeps a sink in step with one API collection."""

    def __init__(
        self,
        source: ListWatchSource,
        *,
        transform: Transform[T],
        sink: Sink[T],
        name: str = "reflector",
        clock: Clock | None = None,
        rand: random.Random | None = None,
        backoff: Backoff | None = None,
        page_size: int | None = None,
        min_watch_timeout: int = 300,
        max_watch_timeout: int | None = None,
        inactivity_timeout: float = 70.0,
    ) -> None:
        self.name = name
        self._source = source
        self._transform = transform
        self._sink = sink
        self._clock = clock or LoopClock()
        self._rand = rand or random.Random()
        self._backoff = backoff or Backoff(clock=self._clock, rand=self._rand.random)
        self._page_size = page_size
        self._min_watch_timeout = min_watch_timeout
        self._max_watch_timeout = max_watch_timeout or 2 * min_watch_timeout
        self._inactivity_timeout = inactivity_timeout
        self._last_rv = ""
        self._rv_unavailable = False
        self._paginated = False
        self._lists = 0
        self._watches = 0

    @property
    def last_sync_resource_version(self) -> str:
        """The RV of the last list or event applied (``""`` before the first list)."""
        return self._last_rv

    def statistics(self) -> ReflectorStatistics:
        """Return the counters."""
        return ReflectorStatistics(self._lists, self._watches, self._last_rv)

    async def run(self) -> NoReturn:
        """List and watch until cancelled, one backoff step between rounds."""
        while True:
            try:
                await self.list_and_watch()
            except (errors.KubeError, VeryShortWatchError, ValueError) as err:
                logger.warning("%s: list and watch failed: %r", self.name, err)
            await asyncio.sleep(self._backoff.next_delay())

    async def list_and_watch(self) -> None:
        """List into the sink, then watch until the watch must be given up (one round)."""
        await self._list()
        await self._watch()

    def process_line(self, line: bytes) -> None:
        """Apply one watch line: transform, sink, then record its RV; raise ERROR events."""
        try:
            event = orjson.loads(line)
            kind, obj = event.get("type"), event.get("object")
            if kind == "ERROR" or (kind is None and event.get("kind") == "Status"):
                raise errors.from_status_object(obj if kind == "ERROR" else event)
            if kind not in _EVENT_TYPES:
                raise MalformedEvent(f"{self.name}: unknown watch event type {kind!r}")
            rv = obj["metadata"]["resourceVersion"]
            record = self._transform(obj) if kind != "BOOKMARK" else None
        except (KeyError, TypeError, AttributeError) as err:
            raise MalformedEvent(f"{self.name}: malformed watch event: {line[:200]!r}") from err
        if record is not None:
            if kind == "DELETED":
                self._sink.remove(record)
            else:
                self._sink.upsert(record)
        self._last_rv = rv

    def _relist_resource_version(self) -> str:
        if self._rv_unavailable:
            return ""
        return self._last_rv or "0"

    async def _list(self) -> None:
        rv = self._relist_resource_version()
        try:
            records, list_rv = await self._list_pages(rv)
        except errors.KubeError as err:
            if not (isinstance(err, errors.Gone) or _is_too_large(err)):
                raise
            logger.info("%s: list at RV %r failed (%r), listing consistently", self.name, rv, err)
            self._rv_unavailable = True
            records, list_rv = await self._list_pages(self._relist_resource_version())
        self._rv_unavailable = False
        self._sink.replace(records)
        self._last_rv = list_rv

    async def _list_pages(self, rv: str) -> tuple[list[T], str]:
        limit: int | None = self._page_size or DEFAULT_PAGE_SIZE
        if self._page_size is None and not self._paginated and rv not in ("", "0"):
            limit = None  # let the watch cache serve an exact-RV relist
        self._lists += 1
        page = await self._source.list_page(resource_version=rv, limit=limit, continue_token=None)
        records = [self._transform(item) for item in page.items]
        if rv == "0" and page.continue_token:
            self._paginated = True
        while page.continue_token:
            try:
                page = await self._source.list_page(
                    resource_version="", limit=limit, continue_token=page.continue_token
                )
            except errors.Gone:  # the continue token expired: one full list at the same RV
                page = await self._source.list_page(
                    resource_version=rv, limit=None, continue_token=None
                )
                return [self._transform(item) for item in page.items], page.resource_version
            records.extend(self._transform(item) for item in page.items)
        return records, page.resource_version

    async def _watch(self) -> None:
        while True:
            low, high = self._min_watch_timeout, self._max_watch_timeout
            timeout_seconds = int(low + (high - low) * self._rand.random())
            started = self._clock.monotonic()
            self._watches += 1
            try:
                stream = await self._source.open_watch(
                    resource_version=self._last_rv, timeout_seconds=timeout_seconds
                )
                events = await self._consume(stream)
            except errors.Gone as err:
                logger.info("%s: watch closed with %r; relisting", self.name, err)
                return
            except errors.KubeError as err:
                if not _rewatch_in_place(err):
                    raise
                logger.info("%s: watch refused (%r); backing off", self.name, err)
                await asyncio.sleep(self._backoff.next_delay())
                continue
            if events == 0 and self._clock.monotonic() - started < 1.0:
                raise VeryShortWatchError(f"{self.name}: very short watch")

    async def _consume(self, stream: WatchStream) -> int:
        """Apply lines until the stream ends or stays silent too long; return the count.

        A broken connection (``errors.Timeout`` while reading) ends the watch like a clean
        close, as client-go's ``StreamWatcher`` treats EOF and timeouts.
        """
        loop = asyncio.get_running_loop()
        events = 0
        async with contextlib.aclosing(stream):
            try:
                async with asyncio.timeout(self._inactivity_timeout) as deadline:
                    while True:
                        try:
                            line = await anext(stream)
                        except StopAsyncIteration:
                            break
                        except errors.Timeout as err:
                            logger.info("%s: watch stream broke: %r", self.name, err)
                            break
                        self.process_line(line)
                        events += 1
                        deadline.reschedule(loop.time() + self._inactivity_timeout)
            except TimeoutError:
                if not deadline.expired():
                    raise
                logger.info(
                    "%s: no event for %.0f s; re-watching", self.name, self._inactivity_timeout
                )
        return events
