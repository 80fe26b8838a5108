"""Pod Events of the scale-up path, written off the decision path and not repeated.

A decision may concern thousands of pending pods; writing their Events inline would delay
the next decision. ``PodEventWriter.add`` queues an Event (bounded; the oldest are dropped
first) unless the same reason and message went to the same pod less than five minutes ago
(Cluster Autoscaler's suppression of repeated Events); a few writer tasks drain the queue.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Container

from autoscaler.controllers.context import Context
from autoscaler.controllers.keys import Reason
from autoscaler.core.records import PodRecord
from autoscaler.kube.events import EventType, ObjectRef

__all__ = ["EVENT_REPEAT_S", "PodEventWriter"]

EVENT_REPEAT_S = 300.0  # Cluster Autoscaler suppresses repeated Events for 5 minutes
EVENT_BACKLOG = 20_000
EVENT_WRITERS = 4


class PodEventWriter:
    """Pod Events off the decision path, deduplicated per pod for ``EVENT_REPEAT_S``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._queue: collections.deque[tuple[ObjectRef, str, str]] = collections.deque(
            maxlen=EVENT_BACKLOG
        )
        self._wake = asyncio.Event()
        self._last: dict[str, tuple[str, str, float]] = {}

    def add(self, pod: PodRecord, reason: str, message: str) -> None:
        """Queue an Event about ``pod``, unless it repeats the last one within the window."""
        now = self._ctx.clock.monotonic()
        last = self._last.get(pod.uid)
        if last is not None and last[:2] == (reason, message) and now - last[2] < EVENT_REPEAT_S:
            return
        self._last[pod.uid] = (reason, message, now)
        ref = ObjectRef("v1", "Pod", pod.name, pod.namespace, pod.uid)
        self._queue.append((ref, reason, message))
        self._wake.set()

    def keep_only(self, uids: Container[str]) -> None:
        """Forget what was said to pods no longer pending."""
        for uid in [u for u in self._last if u not in uids]:
            del self._last[uid]

    async def _one(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            ref, reason, message = self._queue.popleft()
            kind = EventType.WARNING if reason == Reason.NOT_TRIGGER_SCALE_UP else EventType.NORMAL
            await self._ctx.events.record(ref, type=kind, reason=reason, message=message)

    async def run(self) -> None:
        """Write queued Events until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for i in range(EVENT_WRITERS):
                tg.create_task(self._one(), name=f"scale-up-events-{i}")
