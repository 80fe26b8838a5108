"""``add_after``, the delay heap and the timer task (Q5-Q6), in virtual time.

Ported from client-go ``util/workqueue/{delaying_queue,rate_limiting_queue}_test.go``:
where Go steps a fake clock, these tests sleep on looptime's virtual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from autoscaler.clock import FakeClock
from autoscaler.kube.delaying import MAX_WAIT, DelayHeap
from autoscaler.kube.ratelimit import ItemExponentialFailureRateLimiter
from autoscaler.kube.workqueue import WorkQueue

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]


@contextlib.asynccontextmanager
async def running(queue: WorkQueue) -> AsyncIterator[WorkQueue]:
    """Run the queue's timer task for the block, then shut the queue down."""
    async with asyncio.TaskGroup() as tg:
        tg.create_task(queue.run())
        try:
            yield queue
        finally:
            queue.shut_down()


async def take(queue: WorkQueue) -> str:
    """Get a key and mark it done."""
    key = await queue.get()
    queue.done(key)
    return key


async def delay_until_added(queue: WorkQueue) -> float:
    """Return how much virtual time passes until a key can be taken from ``queue``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    await take(queue)
    return loop.time() - start


async def test_looptime_virtualises_time() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.sleep(600)
    assert loop.time() - start == pytest.approx(600)


async def test_simple_queue() -> None:
    async with running(WorkQueue()) as queue:
        queue.add_after("foo", 0.05)
        await asyncio.sleep(0.04)
        assert len(queue) == 0, "should not have added yet"
        assert queue.statistics().delayed == 1
        await asyncio.sleep(0.02)
        assert len(queue) == 1
        assert await take(queue) == "foo"
        await asyncio.sleep(MAX_WAIT)  # past the next heartbeat
        assert len(queue) == 0
        assert queue.statistics().delayed == 0


async def test_deduping() -> None:
    async with running(WorkQueue()) as queue:
        queue.add_after("foo", 0.05)
        queue.add_after("foo", 0.07)  # later: ignored
        await asyncio.sleep(0.04)
        assert len(queue) == 0
        await asyncio.sleep(0.02)  # t=0.06: past the first deadline
        assert len(queue) == 1
        await take(queue)
        await asyncio.sleep(0.02)  # t=0.08: past the second one, which was dropped
        assert len(queue) == 0

        queue.add_after("foo", 0.05)
        queue.add_after("foo", 0.03)  # earlier: moves the key
        await asyncio.sleep(0.02)
        assert len(queue) == 0
        await asyncio.sleep(0.02)  # 0.04 after the adds
        assert len(queue) == 1
        await take(queue)
        await asyncio.sleep(0.02)
        assert len(queue) == 0

        queue.add("foo")  # this time the key is held when it comes due
        key = await queue.get()
        queue.add_after("foo", 0.005)
        await asyncio.sleep(0.01)
        assert (len(queue), queue.statistics().dirty) == (0, 1)
        queue.done(key)
        assert len(queue) == 1


async def test_add_two_fire_early() -> None:
    async with running(WorkQueue()) as queue:
        queue.add_after("foo", 1)
        queue.add_after("bar", 0.05)
        await asyncio.sleep(0.04)
        assert len(queue) == 0
        await asyncio.sleep(0.02)  # t=0.06
        assert len(queue) == 1
        assert await take(queue) == "bar"
        queue.add_after("baz", 2)
        await asyncio.sleep(1)  # t=1.06
        assert len(queue) == 1
        assert await take(queue) == "foo"
        await asyncio.sleep(2)  # t=3.06
        assert len(queue) == 1
        assert await take(queue) == "baz"


async def test_copy_shifting() -> None:
    async with running(WorkQueue()) as queue:
        queue.add_after("foo", 1)
        queue.add_after("bar", 0.5)
        queue.add_after("baz", 0.25)
        await asyncio.sleep(0.2)
        assert len(queue) == 0
        await asyncio.sleep(2)
        assert len(queue) == 3
        assert [await take(queue) for _ in range(3)] == ["baz", "bar", "foo"]


async def test_rate_limiting_queue() -> None:
    limiter = ItemExponentialFailureRateLimiter(0.001, 1)
    async with running(WorkQueue(rate_limiter=limiter)) as queue:
        queue.add_rate_limited("one")
        assert await delay_until_added(queue) == pytest.approx(0.001, abs=1e-6)
        queue.add_rate_limited("one")
        assert await delay_until_added(queue) == pytest.approx(0.002, abs=1e-6)
        assert queue.num_requeues("one") == 2

        queue.add_rate_limited("two")
        assert await delay_until_added(queue) == pytest.approx(0.001, abs=1e-6)
        queue.add_rate_limited("two")
        assert await delay_until_added(queue) == pytest.approx(0.002, abs=1e-6)

        queue.forget("one")
        assert queue.num_requeues("one") == 0
        assert queue.num_requeues("two") == 2
        queue.add_rate_limited("one")
        assert await delay_until_added(queue) == pytest.approx(0.001, abs=1e-6)


async def test_add_after_with_a_non_positive_delay_adds_at_once() -> None:
    queue = WorkQueue()  # no timer needed
    queue.add_after("zero", 0)
    queue.add_after("negative", -1)
    assert len(queue) == 2
    assert queue.statistics().delayed == 0


async def test_add_after_is_ignored_after_shut_down() -> None:
    queue = WorkQueue()
    queue.shut_down()
    queue.add_after("foo", 1)
    queue.add_after("bar", 0)
    assert (len(queue), queue.statistics().delayed) == (0, 0)


async def test_an_earlier_key_wakes_the_timer() -> None:
    async with running(WorkQueue()) as queue:
        queue.add_after("late", 100)
        await asyncio.sleep(1)
        queue.add_after("soon", 1)
        assert await delay_until_added(queue) == pytest.approx(1, abs=1e-6)


async def test_timer_rechecks_at_least_every_max_wait() -> None:
    clock = FakeClock()  # a clock the timer cannot sleep on: only the heartbeat sees it move
    async with running(WorkQueue(clock=clock)) as queue:
        queue.add_after("foo", 60)
        await asyncio.sleep(1)  # the timer now sleeps min(60, MAX_WAIT) of loop time
        clock.step(60)
        await asyncio.sleep(MAX_WAIT - 1.1)
        assert len(queue) == 0
        await asyncio.sleep(0.2)
        assert len(queue) == 1


async def test_run_returns_when_the_queue_shuts_down() -> None:
    queue = WorkQueue()
    queue.add_after("foo", 60)
    async with asyncio.timeout(1), asyncio.TaskGroup() as tg:
        timer = tg.create_task(queue.run())
        await asyncio.sleep(0)
        queue.shut_down()
    assert timer.done()
    assert queue.statistics().delayed == 0


async def test_run_twice_is_an_error() -> None:
    async with running(WorkQueue()) as queue:
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already running"):
            await queue.run()


def test_delay_heap_pops_due_keys_in_due_order_and_only_moves_keys_earlier() -> None:
    heap = DelayHeap()
    assert heap.schedule("a", 3.0)
    assert heap.schedule("b", 1.0)
    assert not heap.schedule("a", 5.0)
    assert heap.schedule("a", 2.0)
    assert (len(heap), heap.next_ready_at()) == (2, 1.0)
    assert heap.pop_due(0.5) == []
    assert heap.pop_due(10.0) == ["b", "a"]
    assert (len(heap), heap.next_ready_at(), "a" in heap) == (0, None, False)
