"""The controller work queue: an asyncio port of client-go's rate-limiting queue (Q1-Q6).

Keys are strings (``namespace/name``). Three sets carry the state: ``queue`` (FIFO of keys
waiting for a worker), ``dirty`` (keys that need work) and ``processing`` (keys a worker
holds); every queued key is dirty and not processing, so two workers never hold the same
key and an event during a reconcile causes exactly one more pass.

On one event loop a sync method is atomic, so there are no locks: everything is plain
``def`` except ``get()`` and ``shut_down_with_drain()``, which wait. ``add_after`` keys
wait in a ``DelayTimer`` whose **one timer task, ``run()``, the owner starts in its own
TaskGroup**; it returns once the queue shuts down::

    queue = WorkQueue(name="nodes", metrics=provider.for_queue("nodes"))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(queue.run())
        tg.create_task(run_workers(queue, reconcile, workers=2, name="nodes"))
        ...
        queue.shut_down()
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import deque
from collections.abc import AsyncIterator

from autoscaler.clock import Clock, LoopClock
from autoscaler.kube.delaying import DelayTimer
from autoscaler.kube.ratelimit import RateLimiter, default_controller_rate_limiter
from autoscaler.observability.workqueue_metrics import NOOP_QUEUE_METRICS, QueueMetrics


class QueueShutDown(Exception):
    """``get()`` on a queue that is shutting down and has nothing left to hand out.

    Named after ``asyncio.QueueShutDown``, which needs Python 3.13.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class QueueStatistics:
    """A snapshot of a queue's state (``WorkQueue.statistics()``)."""

    name: str
    queued: int  # keys waiting for a worker (``len(queue)``)
    dirty: int  # keys that need work, queued or held
    processing: int  # keys held by workers
    delayed: int  # keys waiting in ``add_after``
    waiting_getters: int  # ``get()`` calls waiting for a key
    shutting_down: bool


class WorkQueue:
    """A deduplicating, delaying, rate-limiting work queue of string keys."""

    def __init__(
        self,
        *,
        name: str = "",
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self.name = name
        clock = LoopClock() if clock is None else clock
        if rate_limiter is None:
            rate_limiter = default_controller_rate_limiter(clock=clock)
        self._limiter = rate_limiter
        self._metrics = NOOP_QUEUE_METRICS if metrics is None else metrics
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._delayed = DelayTimer(clock=clock)
        self._getters: deque[asyncio.Future[None]] = deque()
        self._drainers: list[asyncio.Future[None]] = []
        self._shutting_down = False
        self._drain = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        """Mark ``key`` as needing work (Q1): a no-op if it already does or on shutdown."""
        if self._shutting_down or key in self._dirty:
            return
        self._metrics.add(key)
        self._dirty.add(key)
        if key in self._processing:
            return  # done() requeues it
        self._queue.append(key)
        self._wake_one_getter()

    async def get(self) -> str:
        """Wait for a key and hold it until ``done`` (Q2); raise ``QueueShutDown`` at the end.

        After ``shut_down`` getters still receive whatever is queued, then ``QueueShutDown``.
        """
        loop = asyncio.get_running_loop()
        while not self._queue and not self._shutting_down:
            waiter = loop.create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(waiter)
                if self._queue and not waiter.cancelled():
                    self._wake_one_getter()  # pass on a wake-up this getter cannot use
                raise
        if not self._queue:
            raise QueueShutDown(self.name)
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        self._metrics.get(key)
        return key

    def done(self, key: str) -> None:
        """Release ``key`` (Q3); if it was added meanwhile, queue it again."""
        self._metrics.done(key)
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one_getter()
        elif not self._processing:
            self._wake_drainers()

    @contextlib.asynccontextmanager
    async def claim(self) -> AsyncIterator[str]:
        """Hold the next key for the ``async with`` block; ``done`` is called on exit."""
        key = await self.get()
        try:
            yield key
        finally:
            self.done(key)

    def shut_down(self) -> None:
        """Stop accepting adds and wake every getter, without waiting for held keys (Q4).

        Also ends a pending ``shut_down_with_drain``.
        """
        self._drain = False
        self._begin_shutdown()
        self._wake_drainers()

    async def shut_down_with_drain(self) -> None:
        """Shut down, then wait until workers have called ``done`` for every held key (Q4)."""
        self._drain = True
        self._begin_shutdown()
        loop = asyncio.get_running_loop()
        while self._processing and self._drain:
            waiter = loop.create_future()
            self._drainers.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._drainers.remove(waiter)

    def shutting_down(self) -> bool:
        """Return whether ``shut_down`` or ``shut_down_with_drain`` was called."""
        return self._shutting_down

    def add_after(self, key: str, delay: float) -> None:
        """Add ``key`` after ``delay`` seconds (Q5); a waiting key only moves earlier."""
        if self._shutting_down:
            return
        self._metrics.retry()
        if delay <= 0:
            self.add(key)
        else:
            self._delayed.schedule(key, delay)

    def add_rate_limited(self, key: str) -> None:
        """Add ``key`` after the rate limiter's delay for it (Q6)."""
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: str) -> None:
        """Clear the rate limiter's history of ``key`` (``done`` is still needed)."""
        self._limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        """Return how many rate-limited requeues of ``key`` are on record."""
        return self._limiter.num_requeues(key)

    def statistics(self) -> QueueStatistics:
        """Return a snapshot of the queue's state."""
        return QueueStatistics(
            name=self.name,
            queued=len(self._queue),
            dirty=len(self._dirty),
            processing=len(self._processing),
            delayed=len(self._delayed),
            waiting_getters=sum(1 for w in self._getters if not w.done()),
            shutting_down=self._shutting_down,
        )

    async def run(self) -> None:
        """Run the delay timer, which adds ``add_after`` keys when due, until shutdown.

        The queue's one timer task: start it in the owner's TaskGroup.
        """
        await self._delayed.run(self.add)

    def _begin_shutdown(self) -> None:
        self._shutting_down = True
        self._delayed.stop()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wake_one_getter(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _wake_drainers(self) -> None:
        for waiter in self._drainers:
            if not waiter.done():
                waiter.set_result(None)
        self._drainers.clear()
