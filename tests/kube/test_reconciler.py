"""The worker loop's outcome table (Q8), its retry cap, and its controller-runtime metrics."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry

from autoscaler.kube.errors import TooManyRequests
from autoscaler.kube.ratelimit import ItemExponentialFailureRateLimiter
from autoscaler.kube.reconciler import Result, TerminalError, run_workers
from autoscaler.kube.workqueue import QueueStatistics, WorkQueue
from autoscaler.observability.controller_metrics import (
    ControllerMetricsProvider,
    ReconcileResult,
)
from autoscaler.observability.workqueue_metrics import NoopQueueMetrics

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]


KEY = "default/web-0"


class RecordingLimiter:
    """A limiter with a fixed delay that records ``when`` and ``forget``."""

    def __init__(self, delay: float = 30.0) -> None:
        self.delay = delay
        self.when_calls: list[str] = []
        self.forget_calls: list[str] = []
        self.failures: Counter[str] = Counter()

    def when(self, key: str) -> float:
        self.when_calls.append(key)
        self.failures[key] += 1
        return self.delay

    def forget(self, key: str) -> None:
        self.forget_calls.append(key)
        self.failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self.failures[key]


class DoneSignal(NoopQueueMetrics):
    """Queue metrics that count ``done`` calls and wake a waiter after the ``target``-th."""

    def __init__(self, target: int = 1) -> None:
        self.done_keys: list[str] = []
        self.target = target
        self.reached = asyncio.Event()

    def done(self, key: str) -> None:
        self.done_keys.append(key)
        if len(self.done_keys) >= self.target:
            self.reached.set()


@dataclasses.dataclass
class RecordingControllerMetrics:
    """Controller metrics that remember what they were told."""

    workers: int = 0
    busy: int = 0
    results: list[tuple[ReconcileResult, bool]] = dataclasses.field(default_factory=list)

    def set_workers(self, count: int) -> None:
        self.workers = count

    def worker_busy(self, delta: int) -> None:
        self.busy += delta

    def reconciled(self, result: ReconcileResult, *, seconds: float, terminal: bool) -> None:
        self.results.append((result, terminal))


Reconcile = Callable[[str], Awaitable[Result | None]]


def outcome(value: Result | BaseException | None) -> Reconcile:
    """A reconcile that returns ``value``, or raises it if it is an exception."""

    async def reconcile(key: str) -> Result | None:
        await asyncio.sleep(0.5)
        if isinstance(value, BaseException):
            raise value
        return value

    return reconcile


async def reconcile_once(
    reconcile: Reconcile,
    *,
    limiter: RecordingLimiter,
    metrics: RecordingControllerMetrics,
) -> tuple[QueueStatistics, DoneSignal]:
    """Run one pass over ``KEY`` without the delay timer; return the queue's state after it."""
    signal = DoneSignal()
    queue = WorkQueue(name="test", rate_limiter=limiter, metrics=signal)
    queue.add(KEY)
    async with asyncio.timeout(10), asyncio.TaskGroup() as tg:
        tg.create_task(run_workers(queue, reconcile, workers=1, name="test", metrics=metrics))
        await signal.reached.wait()
        stats = queue.statistics()
        queue.shut_down()
    return stats, signal


@dataclasses.dataclass(frozen=True)
class Expect:
    when: list[str]
    forget: list[str]
    delayed: int
    result: ReconcileResult
    terminal: bool = False


@pytest.mark.parametrize(
    ("returns", "expect"),
    [
        pytest.param(
            TerminalError("node group is gone"),
            Expect(when=[], forget=[], delayed=0, result=ReconcileResult.ERROR, terminal=True),
            id="terminal-error-is-not-requeued-nor-forgotten",
        ),
        pytest.param(
            RuntimeError("API hiccup"),
            Expect(when=[KEY], forget=[], delayed=1, result=ReconcileResult.ERROR),
            id="error-is-requeued-rate-limited",
        ),
        pytest.param(
            TooManyRequests("throttled", retry_after=0.0),
            Expect(when=[KEY], forget=[], delayed=1, result=ReconcileResult.ERROR),
            id="error-with-a-retry-hint-is-still-rate-limited",
        ),
        pytest.param(
            Result(requeue_after=60),
            Expect(when=[], forget=[KEY], delayed=1, result=ReconcileResult.REQUEUE_AFTER),
            id="requeue-after-forgets-then-adds-after",
        ),
        pytest.param(
            Result(),
            Expect(when=[], forget=[KEY], delayed=0, result=ReconcileResult.SUCCESS),
            id="success-forgets",
        ),
        pytest.param(
            None,
            Expect(when=[], forget=[KEY], delayed=0, result=ReconcileResult.SUCCESS),
            id="none-is-success",
        ),
    ],
)
async def test_reconcile_outcome_table(returns: Result | Exception | None, expect: Expect) -> None:
    limiter, metrics = RecordingLimiter(), RecordingControllerMetrics()
    stats, signal = await reconcile_once(outcome(returns), limiter=limiter, metrics=metrics)
    assert (limiter.when_calls, limiter.forget_calls) == (expect.when, expect.forget)
    assert stats.delayed == expect.delayed
    assert (stats.queued, stats.processing) == (0, 0)
    assert signal.done_keys == [KEY]
    assert metrics.results == [(expect.result, expect.terminal)]
    assert (metrics.workers, metrics.busy) == (1, 0)


async def test_requeue_after_comes_back_after_the_delay() -> None:
    queue = WorkQueue(name="test")
    passes: list[float] = []
    loop = asyncio.get_running_loop()
    second_pass = asyncio.Event()

    async def reconcile(key: str) -> Result:
        passes.append(loop.time())
        if len(passes) == 2:
            second_pass.set()
        return Result(requeue_after=30)

    queue.add(KEY)
    async with asyncio.timeout(60), asyncio.TaskGroup() as tg:
        tg.create_task(queue.run())
        tg.create_task(run_workers(queue, reconcile, workers=1, name="test"))
        await second_pass.wait()
        queue.shut_down()
    assert passes == pytest.approx([0, 30], abs=1e-6)


async def test_retry_cap_forgets_the_key_after_max_retries() -> None:
    signal = DoneSignal(target=4)  # the first try and three retries
    limiter = ItemExponentialFailureRateLimiter(0.001, 1.0)
    queue = WorkQueue(name="test", rate_limiter=limiter, metrics=signal)
    tries: list[float] = []
    loop = asyncio.get_running_loop()

    async def reconcile(key: str) -> Result:
        tries.append(loop.time())
        raise RuntimeError("still broken")

    queue.add(KEY)
    async with asyncio.timeout(60), asyncio.TaskGroup() as tg:
        tg.create_task(queue.run())
        tg.create_task(run_workers(queue, reconcile, workers=1, name="test", max_retries=3))
        await signal.reached.wait()
        await asyncio.sleep(10)  # nothing more comes
        queue.shut_down()
    assert tries == pytest.approx([0, 0.001, 0.003, 0.007], abs=1e-6)
    assert queue.num_requeues(KEY) == 0
    assert queue.statistics().delayed == 0


async def test_workers_reconcile_different_keys_concurrently() -> None:
    signal = DoneSignal(target=3)
    queue = WorkQueue(name="test", metrics=signal)
    barrier = asyncio.Barrier(3)  # times out unless three reconciles run at once

    async def reconcile(key: str) -> None:
        await barrier.wait()

    for key in ("a", "b", "c"):
        queue.add(key)
    async with asyncio.timeout(10), asyncio.TaskGroup() as tg:
        tg.create_task(run_workers(queue, reconcile, workers=3, name="test"))
        await signal.reached.wait()
        queue.shut_down()
    assert sorted(signal.done_keys) == ["a", "b", "c"]


async def test_cancelled_workers_still_call_done() -> None:
    signal = DoneSignal()
    queue = WorkQueue(name="test", metrics=signal)
    started = asyncio.Event()

    async def reconcile(key: str) -> None:
        started.set()
        await asyncio.Event().wait()  # never returns

    queue.add(KEY)
    workers = asyncio.create_task(run_workers(queue, reconcile, workers=2, name="test"))
    await started.wait()
    workers.cancel()
    with pytest.raises(asyncio.CancelledError):
        await workers
    assert signal.done_keys == [KEY]
    assert queue.statistics().processing == 0


async def test_run_workers_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await run_workers(WorkQueue(), outcome(None), workers=0, name="test")


async def test_reconcile_metrics_use_controller_runtime_names() -> None:
    registry = CollectorRegistry()
    metrics = ControllerMetricsProvider(registry).for_controller("nodes")
    results = iter([None, RuntimeError("x"), TerminalError("y"), Result(requeue_after=5)])
    signal = DoneSignal(target=4)
    queue = WorkQueue(name="nodes", rate_limiter=RecordingLimiter(), metrics=signal)

    async def reconcile(key: str) -> Result | None:
        return await outcome(next(results))(key)

    for key in "abcd":
        queue.add(key)
    async with asyncio.timeout(10), asyncio.TaskGroup() as tg:
        tg.create_task(run_workers(queue, reconcile, workers=1, name="nodes", metrics=metrics))
        await signal.reached.wait()
        queue.shut_down()

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"controller": "nodes", **labels})

    total = "controller_runtime_reconcile_total"
    assert sample(total, result="success") == 1
    assert sample(total, result="error") == 2
    assert sample(total, result="requeue_after") == 1
    assert sample("controller_runtime_reconcile_errors_total") == 2
    assert sample("controller_runtime_terminal_reconcile_errors_total") == 1
    assert sample("controller_runtime_reconcile_time_seconds_count") == 4
    assert sample("controller_runtime_reconcile_time_seconds_sum") == pytest.approx(2.0)
    assert sample("controller_runtime_reconcile_time_seconds_bucket", le="0.5") == 4
    assert sample("controller_runtime_reconcile_time_seconds_bucket", le="0.45") == 0
    assert sample("controller_runtime_max_concurrent_reconciles") == 1
    assert sample("controller_runtime_active_workers") == 0


def test_controller_metrics_start_at_zero() -> None:
    registry = CollectorRegistry()
    ControllerMetricsProvider(registry).for_controller("nodes")
    for result in ReconcileResult:
        labels = {"controller": "nodes", "result": result.value}
        assert registry.get_sample_value("controller_runtime_reconcile_total", labels) == 0
    labels = {"controller": "nodes"}
    assert registry.get_sample_value("controller_runtime_reconcile_errors_total", labels) == 0
