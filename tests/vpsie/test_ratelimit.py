"""The shared token bucket and the whole-client pause."""

from __future__ import annotations

import asyncio

import pytest

from autoscaler.clock import FakeClock, LoopClock
from autoscaler.vpsie.ratelimit import ClientPause, TokenBucket

pytestmark = pytest.mark.looptime


def test_burst_of_ten_then_two_per_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket(clock=clock)
    waits = [bucket.reserve() for _ in range(12)]
    assert waits == [0.0] * 10 + [0.5, 1.0]


def test_tokens_refill_over_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(clock=clock)
    for _ in range(10):
        bucket.reserve()
    clock.step(100)
    assert [bucket.reserve() for _ in range(11)] == [0.0] * 10 + [0.5]


def test_a_clock_that_goes_backwards_does_not_drain_the_bucket() -> None:
    clock = FakeClock(start=1000)
    bucket = TokenBucket(clock=clock)
    bucket.reserve()
    clock.step(-900)
    assert bucket.reserve() == 0.0


def test_rejects_nonsense_rates() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(clock=FakeClock(), rate=0)


async def test_acquire_waits_in_virtual_time() -> None:
    loop = asyncio.get_running_loop()
    bucket = TokenBucket(clock=LoopClock(), rate=2, burst=1)
    start = loop.time()
    await bucket.acquire()
    await bucket.acquire()
    await bucket.acquire()
    assert loop.time() - start == pytest.approx(1.0)


async def test_cancelled_waiter_gives_its_token_back() -> None:
    bucket = TokenBucket(clock=LoopClock(), rate=1, burst=1)
    await bucket.acquire()
    waiter = asyncio.ensure_future(bucket.acquire())
    await asyncio.sleep(0.1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.reserve() == pytest.approx(0.9)


async def test_pause_holds_until_its_end_and_can_be_extended() -> None:
    loop = asyncio.get_running_loop()
    pause = ClientPause(clock=LoopClock())
    start = loop.time()
    pause.pause(5)
    waiter = asyncio.ensure_future(pause.wait_open())
    await asyncio.sleep(1)
    pause.pause(10)  # extends to t=11
    pause.pause(2)  # never shortens
    await waiter
    assert loop.time() - start == pytest.approx(11)
    assert pause.remaining == 0
