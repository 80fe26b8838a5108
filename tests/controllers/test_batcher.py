"""The scale-up batch window (idle / maximum / flush) and the pending-pod handler."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from autoscaler.clock import FakeClock, LoopClock
from autoscaler.controllers.batcher import Batcher
from autoscaler.controllers.pending import DecisionLatency, PendingPods
from autoscaler.kube.store import DeletedFinalStateUnknown
from tests.core.factories import pod

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]


async def closes_at(batcher: Batcher, triggers: list[float]) -> tuple[float, int]:
    """Trigger at the given loop times; return when the window closed and its count."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def feed() -> None:
        for t in triggers:
            await asyncio.sleep(max(0.0, start + t - loop.time()))
            batcher.trigger()

    async with asyncio.TaskGroup() as tg:
        feeder = tg.create_task(feed())
        count = await batcher.window()
        closed = loop.time()
        feeder.cancel()  # triggers after the close belong to the next window
    return round(closed - start, 3), count


@pytest.mark.parametrize(
    ("triggers", "closed", "count"),
    [
        ([0.0], 1.0, 1),
        ([0.0, 0.5, 0.9], 1.9, 3),
        ([0.0, 0.9, 1.8, 2.7], 3.7, 4),
        ([i * 0.5 for i in range(40)], 10.0, 21),
    ],
    ids=["one-pod-idle", "burst-idle", "trickle-idle", "stream-hits-max"],
)
async def test_window_closes_after_idle_or_at_most_max(
    triggers: list[float], closed: float, count: int
) -> None:
    batcher = Batcher(idle=1.0, maximum=10.0, clock=LoopClock())
    assert await closes_at(batcher, triggers) == (closed, count)


async def test_two_bursts_three_seconds_apart_are_two_windows() -> None:
    batcher = Batcher(idle=1.0, maximum=10.0, clock=LoopClock())
    first = await closes_at(batcher, [0.0, 0.2, 0.4])
    second = await closes_at(batcher, [2.6, 2.8])  # 3 s after the first burst began
    assert first == (1.4, 3)
    assert second == (3.8, 2)


async def test_flush_closes_the_open_window_at_once() -> None:
    batcher = Batcher(idle=1.0, maximum=10.0, clock=LoopClock())
    loop = asyncio.get_running_loop()
    start = loop.time()
    batcher.trigger()

    async def flush_later() -> None:
        await asyncio.sleep(0.3)
        batcher.flush()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(flush_later())
        count = await batcher.window()
    assert (round(loop.time() - start, 3), count) == (0.3, 2)


async def test_a_flush_with_no_window_open_makes_the_next_one_return_at_once() -> None:
    batcher = Batcher(idle=1.0, maximum=10.0, clock=LoopClock())
    batcher.flush()
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await batcher.window() == 1
    assert loop.time() == start


async def test_the_maximum_counts_from_a_trigger_that_came_while_busy() -> None:
    batcher = Batcher(idle=1.0, maximum=3.0, clock=LoopClock())
    batcher.trigger()
    for _ in range(5):  # the consumer is busy deciding; pods keep coming
        await asyncio.sleep(0.5)
        batcher.trigger()
    closed, count = await closes_at(batcher, [0.0, 0.4])
    assert (closed, count) == (0.5, 8)


async def test_triggers_idle_while_busy_close_the_window_at_once() -> None:
    batcher = Batcher(idle=1.0, maximum=3.0, clock=LoopClock())
    batcher.trigger()
    await asyncio.sleep(2.0)  # the consumer was busy; nothing new came for longer than idle
    assert await closes_at(batcher, []) == (0.0, 1)


async def test_eager_ticks_while_a_stream_keeps_the_window_open() -> None:
    batcher = Batcher(idle=1.0, maximum=10.0, clock=LoopClock(), eager=1.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    seen: list[tuple[float, bool]] = []

    async def feed() -> None:
        for _ in range(8):  # a trigger every 0.5 s for 4 s
            batcher.trigger()
            await asyncio.sleep(0.5)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(feed())
        while True:
            closed, _ = await batcher.next()
            seen.append((round(loop.time() - start, 3), closed))
            if closed:
                break
    assert seen == [(1.0, False), (2.0, False), (3.0, False), (4.0, False), (4.5, True)]


async def test_a_short_burst_closes_before_any_eager_tick() -> None:
    batcher = Batcher(idle=1.0, maximum=10.0, clock=LoopClock(), eager=1.0)
    batcher.trigger()
    assert await batcher.next() == (True, 1)


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="idle"):
        Batcher(idle=2.0, maximum=1.0, clock=FakeClock())


def test_pending_pods_trigger_once_and_remember_since_when() -> None:
    clock = FakeClock(wall=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    fired: list[int] = []
    handler = PendingPods(lambda: fired.append(1), clock=clock, cutoff=-10)
    listed = dataclasses.replace(
        pod("a"), uid="a", unschedulable_since=dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.UTC)
    )
    created = dataclasses.replace(pod("b"), uid="b", unschedulable=False)

    handler.on_add(listed)  # already pending when listed: its condition's time
    handler.on_add(created)  # not pending yet
    clock.step(5)
    handler.on_update(created, dataclasses.replace(created, unschedulable=True))  # seen live
    handler.on_update(listed, listed)  # still pending: no new trigger
    expendable = dataclasses.replace(pod("c", priority=-11), uid="c")
    handler.on_add(expendable)

    assert len(fired) == 2
    assert handler.since == {
        "a": dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.UTC),
        "b": clock.now(),
    }
    bound = dataclasses.replace(created, node_name="n1", unschedulable=False)
    handler.on_update(created, bound)
    handler.on_delete(DeletedFinalStateUnknown("default/a", listed))
    assert handler.since == {}


def test_decision_latency_per_pod_at_the_create_call() -> None:
    clock = FakeClock(wall=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    seen: list[float] = []
    latency = DecisionLatency(seen.append, clock=clock)
    t0 = clock.now()
    latency.decided("vn-1", [t0, t0 + dt.timedelta(seconds=1)])
    latency.decided("vn-2", [t0])
    latency.forget("vn-2")
    clock.step(3)

    latency.create_called("vn-1")
    latency.create_called("vn-1")  # a second attempt is not a second decision
    latency.create_called("vn-2")

    assert seen == [3.0, 2.0]
    assert len(latency) == 0
