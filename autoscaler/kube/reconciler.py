"""The worker loop (controller-runtime ``processNextWorkItem``/``reconcileHandler``, Q8).

Each worker takes a key, awaits ``reconcile(key)`` and calls ``done`` in a ``finally``.
The outcome decides the queue calls and the ``result`` label:

- raises ``TerminalError``: no queue call (no requeue, no forget); ``error``, and the
  terminal-error counter;
- raises any other ``Exception``: ``add_rate_limited`` (past ``max_retries``: ``forget``
  and drop the key); ``error``. Retry hints carried by the error are ignored;
- returns ``Result(requeue_after > 0)``: ``forget``, then ``add_after``; ``requeue_after``;
- returns ``Result()`` or ``None``: ``forget``; ``success``.

Workers end when the queue shuts down; a ``BaseException`` such as cancellation
propagates after ``done``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from autoscaler.clock import Clock, LoopClock
from autoscaler.kube.workqueue import QueueShutDown, WorkQueue
from autoscaler.observability.controller_metrics import (
    NOOP_CONTROLLER_METRICS,
    ControllerMetrics,
    ReconcileResult,
)

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """What a successful reconcile asks for: ``requeue_after`` seconds > 0 to come back."""

    requeue_after: float = 0


class TerminalError(Exception):
    """A reconcile error that retrying cannot fix: the key is not requeued."""


Reconcile = Callable[[str], Awaitable[Result | None]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Worker:
    queue: WorkQueue
    reconcile: Reconcile
    name: str
    metrics: ControllerMetrics
    max_retries: int | None
    clock: Clock

    async def loop(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            self.metrics.worker_busy(1)
            try:
                await self.handle(key)
            finally:
                self.metrics.worker_busy(-1)
                self.queue.done(key)

    async def handle(self, key: str) -> None:
        fields: dict[str, object] = {"controller": self.name, "key": key}
        started = self.clock.monotonic()
        terminal = False
        try:
            result = await self.reconcile(key)
        except TerminalError:
            terminal = True
            outcome = ReconcileResult.ERROR
            log.error("reconcile failed; not retrying", extra=fields, exc_info=True)
        except Exception:
            outcome = ReconcileResult.ERROR
            self.retry(key, fields)
        else:
            self.queue.forget(key)
            if result is not None and result.requeue_after > 0:
                outcome = ReconcileResult.REQUEUE_AFTER
                self.queue.add_after(key, result.requeue_after)
            else:
                outcome = ReconcileResult.SUCCESS
        seconds = self.clock.monotonic() - started
        self.metrics.reconciled(outcome, seconds=seconds, terminal=terminal)

    def retry(self, key: str, fields: dict[str, object]) -> None:
        requeues = self.queue.num_requeues(key)
        give_up = self.max_retries is not None and requeues >= self.max_retries
        fields = {**fields, "requeues": requeues, "giving_up": give_up}
        log.error("reconcile failed", extra=fields, exc_info=True)
        if give_up:
            self.queue.forget(key)
        else:
            self.queue.add_rate_limited(key)


async def run_workers(
    queue: WorkQueue,
    reconcile: Reconcile,
    *,
    workers: int,
    name: str,
    metrics: ControllerMetrics | None = None,
    max_retries: int | None = None,
    clock: Clock | None = None,
) -> None:
    """Run ``workers`` concurrent worker loops over ``queue`` until it shuts down.

    ``max_retries``, when set, caps the rate-limited requeues of a failing key (client-go
    ``examples/workqueue`` ``handleErr``): past it the key is forgotten and dropped.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    metrics = NOOP_CONTROLLER_METRICS if metrics is None else metrics
    metrics.set_workers(workers)
    clock = LoopClock() if clock is None else clock
    worker = _Worker(queue, reconcile, name, metrics, max_retries, clock)
    async with asyncio.TaskGroup() as tg:
        for i in range(workers):
            tg.create_task(worker.loop(), name=f"{name}-worker-{i}")
