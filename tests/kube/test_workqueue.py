"""The work queue's core (Q1-Q4), ported from client-go ``util/workqueue/queue_test.go``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from autoscaler.kube.workqueue import QueueShutDown, WorkQueue

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]


ShutDown = Callable[[WorkQueue], Awaitable[None]]


async def _shut_down(queue: WorkQueue) -> None:
    queue.shut_down()


async def _shut_down_with_drain(queue: WorkQueue) -> None:
    await queue.shut_down_with_drain()


SHUTDOWNS = [
    pytest.param(_shut_down, id="shut_down"),
    pytest.param(_shut_down_with_drain, id="shut_down_with_drain"),
]


async def is_blocked(task: asyncio.Task[object], *, for_seconds: float = 1.0) -> bool:
    """Return whether ``task`` is still pending after ``for_seconds`` of virtual time."""
    done, _ = await asyncio.wait({task}, timeout=for_seconds)
    return not done


@pytest.mark.parametrize("shut", SHUTDOWNS)
async def test_basic(shut: ShutDown) -> None:
    queue = WorkQueue(name="basic")
    processed: set[str] = set()

    async def produce(i: int) -> None:
        for _ in range(50):
            queue.add(str(i))
            await asyncio.sleep(0.001)

    async def consume() -> None:
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            assert key != "added after shutdown!"
            processed.add(key)
            await asyncio.sleep(0.003)
            queue.done(key)

    async with asyncio.TaskGroup() as consumers:
        for _ in range(10):
            consumers.create_task(consume())
        async with asyncio.TaskGroup() as producers:
            for i in range(50):
                producers.create_task(produce(i))
        await shut(queue)
        queue.add("added after shutdown!")

    assert len(queue) == 0
    assert processed == {str(i) for i in range(50)}


@pytest.mark.parametrize("shut", SHUTDOWNS)
async def test_add_while_processing(shut: ShutDown) -> None:
    queue = WorkQueue(name="readd")
    keys = {str(i) for i in range(50)}
    held: set[str] = set()
    passes: Counter[str] = Counter()
    every_key_passed_twice = asyncio.Event()

    async def consume() -> None:
        mine: Counter[str] = Counter()  # every worker re-adds every key it sees the first time
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            assert key not in held, "two workers hold the same key"
            held.add(key)
            passes[key] += 1
            mine[key] += 1
            if mine[key] < 2:
                queue.add(key)
            await asyncio.sleep(0)
            held.discard(key)
            queue.done(key)
            if all(passes[k] >= 2 for k in keys):
                every_key_passed_twice.set()

    async with asyncio.timeout(60), asyncio.TaskGroup() as consumers:
        for _ in range(10):
            consumers.create_task(consume())
        for key in keys:
            queue.add(key)
        await every_key_passed_twice.wait()
        await shut(queue)

    assert len(queue) == 0
    assert queue.statistics().dirty == 0


def test_len() -> None:
    queue = WorkQueue()
    queue.add("foo")
    assert len(queue) == 1
    queue.add("bar")
    assert len(queue) == 2
    queue.add("foo")  # should not increase the queue length
    assert len(queue) == 2


async def test_reinsert() -> None:
    queue = WorkQueue()
    queue.add("foo")
    key = await queue.get()
    assert key == "foo"
    queue.add(key)  # add it back while processing
    assert len(queue) == 0, "a held key waits for done()"
    queue.done(key)
    assert await queue.get() == "foo"  # it is back on the queue
    queue.done("foo")
    assert len(queue) == 0


async def test_collapse() -> None:
    queue = WorkQueue()
    queue.add("foo")
    queue.add("foo")
    assert len(queue) == 1
    key = await queue.get()
    queue.done(key)
    assert key == "foo"
    assert queue.statistics().dirty == 0
    assert len(queue) == 0


async def test_collapse_while_processing() -> None:
    queue = WorkQueue()
    queue.add("foo")
    first = await queue.get()
    queue.add("foo")
    queue.add("foo")
    second_worker = asyncio.create_task(queue.get())
    assert await is_blocked(second_worker), "a second worker got a key that is held"
    queue.done(first)
    assert await second_worker == "foo"
    queue.done("foo")
    assert len(queue) == 0
    assert queue.statistics().dirty == 0


async def test_queue_drainage_using_shut_down_with_drain() -> None:
    queue = WorkQueue()
    queue.add("foo")
    queue.add("bar")
    first, second = await queue.get(), await queue.get()
    drain = asyncio.create_task(queue.shut_down_with_drain())
    await asyncio.sleep(0)
    with pytest.raises(QueueShutDown):
        await queue.get()
    queue.done(first)
    assert await is_blocked(drain), "drain returned while a key was still held"
    queue.done(second)
    async with asyncio.timeout(1):
        await drain


async def test_no_queue_drainage_using_shut_down() -> None:
    queue = WorkQueue()
    queue.add("foo")
    queue.add("bar")
    await queue.get()
    await queue.get()
    waiting_getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shut_down()  # returns although two keys are held
    assert queue.statistics().processing == 2
    with pytest.raises(QueueShutDown):
        await waiting_getter


async def test_force_queue_shutdown_using_shut_down() -> None:
    queue = WorkQueue()
    queue.add("foo")
    queue.add("bar")
    await queue.get()
    await queue.get()
    drain = asyncio.create_task(queue.shut_down_with_drain())
    await asyncio.sleep(0)
    with pytest.raises(QueueShutDown):
        await queue.get()
    assert await is_blocked(drain)
    queue.shut_down()  # e.g. a second SIGTERM
    async with asyncio.timeout(1):
        await drain
    assert queue.statistics().processing == 2


async def test_queue_drainage_using_shut_down_with_drain_with_dirty_item() -> None:
    queue = WorkQueue()
    queue.add("foo")
    gotten = await queue.get()
    queue.add("foo")
    drain = asyncio.create_task(queue.shut_down_with_drain())
    await asyncio.sleep(0)
    with pytest.raises(QueueShutDown):
        await queue.get()
    queue.done(gotten)  # the dirty key goes back into the queue
    again = await queue.get()
    assert again == "foo"
    assert await is_blocked(drain)
    queue.done(again)
    with pytest.raises(QueueShutDown):
        await queue.get()
    async with asyncio.timeout(1):
        await drain


async def test_getters_receive_queued_keys_after_shut_down() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.shut_down()
    queue.add("c")
    assert [await queue.get(), await queue.get()] == ["a", "b"]
    with pytest.raises(QueueShutDown):
        await queue.get()


async def test_add_wakes_exactly_one_getter() -> None:
    queue = WorkQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    assert queue.statistics().waiting_getters == 3
    queue.add("foo")
    assert queue.statistics().waiting_getters == 2, "add woke more than one getter"
    done, pending = await asyncio.wait(getters, timeout=1)
    assert [t.result() for t in done] == ["foo"]
    assert len(pending) == 2
    queue.shut_down()
    for task in pending:
        with pytest.raises(QueueShutDown):
            await task


async def test_cancelled_getter_passes_its_wake_up_on() -> None:
    queue = WorkQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add("foo")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    async with asyncio.timeout(1):
        assert await second == "foo"
    queue.done("foo")


async def test_claim_calls_done_when_the_block_raises() -> None:
    queue = WorkQueue()
    queue.add("foo")
    seen: list[tuple[str, int]] = []

    async def fail_while_holding() -> None:
        async with queue.claim() as key:
            seen.append((key, queue.statistics().processing))
            raise RuntimeError("reconcile failed")

    with pytest.raises(RuntimeError, match="reconcile failed"):
        await fail_while_holding()
    assert seen == [("foo", 1)]
    assert queue.statistics().processing == 0


async def test_shut_down_with_drain_returns_at_once_when_nothing_is_held() -> None:
    queue = WorkQueue()
    queue.add("foo")
    async with asyncio.timeout(1):
        await queue.shut_down_with_drain()
    assert queue.shutting_down()


async def test_statistics_is_an_immutable_snapshot() -> None:
    queue = WorkQueue(name="stats")
    queue.add("a")
    queue.add("b")
    await queue.get()
    stats = queue.statistics()
    queue.add("c")
    assert (stats.name, stats.queued, stats.processing, stats.dirty) == ("stats", 1, 1, 1)
    assert not stats.shutting_down
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.queued = 5  # type: ignore[misc]
