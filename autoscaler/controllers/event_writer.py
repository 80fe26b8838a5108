"""Events written off a decision path, and not repeated while they say the same thing.

A pass may concern thousands of pods or nodes; writing their Events inline would delay the
next pass. ``EventWriter.add`` queues an Event (bounded; the oldest are dropped first)
unless the same object was told the same thing (its ``reason`` and ``same`` key, by
default the message) less than ``repeat_s`` seconds ago; a few writer tasks drain the
queue. The ``EventRecorder`` under it aggregates what still repeats into counts.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Container

from autoscaler.controllers.context import Context
from autoscaler.kube.events import EventType, ObjectRef

__all__ = ["EVENT_BACKLOG", "EventWriter"]

EVENT_BACKLOG = 20_000
EVENT_WRITERS = 4


class EventWriter:
    """Events off the decision path, deduplicated per object for ``repeat_s`` seconds."""

    def __init__(self, ctx: Context, *, repeat_s: float, name: str) -> None:
        self._ctx = ctx
        self._repeat_s = repeat_s
        self._name = name
        self._queue: collections.deque[tuple[ObjectRef, str, str, EventType]] = collections.deque(
            maxlen=EVENT_BACKLOG
        )
        self._wake = asyncio.Event()
        self._last: dict[str, tuple[str, str, float]] = {}

    def add(
        self,
        ref: ObjectRef,
        *,
        key: str,
        reason: str,
        message: str,
        warning: bool = False,
        same: str | None = None,
    ) -> bool:
        """Queue an Event about ``ref`` (remembered under ``key``), unless it repeats the
        last one within the window; ``same`` (default: the message) decides what repeats.
        Returns whether it was queued."""
        now = self._ctx.clock.monotonic()
        said = message if same is None else same
        last = self._last.get(key)
        if last is not None and last[:2] == (reason, said) and now - last[2] < self._repeat_s:
            return False
        self._last[key] = (reason, said, now)
        kind = EventType.WARNING if warning else EventType.NORMAL
        self._queue.append((ref, reason, message, kind))
        self._wake.set()
        return True

    def keep_only(self, keys: Container[str]) -> None:
        """Forget what was said about objects no longer concerned."""
        for key in [k for k in self._last if k not in keys]:
            del self._last[key]

    async def flush(self) -> None:
        """Write every queued Event now (tests, and a writer's own loop)."""
        while self._queue:
            ref, reason, message, kind = self._queue.popleft()
            await self._ctx.events.record(ref, type=kind, reason=reason, message=message)

    async def _one(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            ref, reason, message, kind = self._queue.popleft()
            await self._ctx.events.record(ref, type=kind, reason=reason, message=message)

    async def run(self) -> None:
        """Write queued Events until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for i in range(EVENT_WRITERS):
                tg.create_task(self._one(), name=f"{self._name}-events-{i}")
