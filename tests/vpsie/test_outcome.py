"""Waiting out an unknown create outcome: the first answer wins, the window bounds the wait,
and cancelling the wait (shutdown, lost leadership) stops it at once."""

from __future__ import annotations

import asyncio

import pytest

from autoscaler.clock import LoopClock
from autoscaler.vpsie.errors import TransportError, UnknownOutcome
from autoscaler.vpsie.outcome import watch_listings

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

CAUSE = UnknownOutcome("K4 answer lost")


async def test_the_first_answer_ends_the_wait() -> None:
    answers = iter([None, TransportError("reset"), "worker-3"])

    async def probe() -> str | None:
        found = next(answers)
        if isinstance(found, Exception):
            raise found
        return found

    loop = asyncio.get_running_loop()
    began = loop.time()
    found = await watch_listings(
        probe, clock=LoopClock(), window=30, interval=5, cause=CAUSE, failure="never seen"
    )
    assert found == "worker-3"
    assert loop.time() - began == pytest.approx(10)


async def test_no_answer_within_the_window_is_an_unknown_outcome() -> None:
    async def probe() -> str | None:
        return None

    with pytest.raises(UnknownOutcome, match="never seen") as info:
        await watch_listings(
            probe, clock=LoopClock(), window=12, interval=5, cause=CAUSE, failure="never seen"
        )
    assert info.value.verified_absent
    assert info.value.__cause__ is CAUSE


async def test_provisioning_wait_cancelled_stops_at_once() -> None:
    polled = asyncio.Event()

    async def probe() -> str | None:
        polled.set()
        return None

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(
        watch_listings(
            probe, clock=LoopClock(), window=900, interval=5, cause=CAUSE, failure="never seen"
        )
    )
    await polled.wait()
    cancelled_at = loop.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loop.time() == cancelled_at
