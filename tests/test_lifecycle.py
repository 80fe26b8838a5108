"""Stop signals and the shutdown deadline (virtual time)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable

import pytest

from autoscaler.lifecycle import GracefulStop, StopSignal

pytestmark = pytest.mark.looptime


class RecordingExit:
    def __init__(self) -> None:
        self.codes: list[int] = []

    def __call__(self, code: int) -> None:
        self.codes.append(code)


@pytest.fixture
async def stopper() -> AsyncIterator[tuple[StopSignal, RecordingExit]]:
    exits = RecordingExit()
    stop = StopSignal(shutdown_timeout_s=10.0, exit_now=exits)
    stop.install()
    try:
        yield stop, exits
    finally:
        stop.uninstall()


async def raise_signal(sig: signal.Signals, *, handled: Callable[[], bool]) -> None:
    """Send ``sig`` to this process and wait until the loop's handler has seen it."""
    os.kill(os.getpid(), sig)
    async with asyncio.timeout(5):
        while not handled():  # noqa: ASYNC110 - a signal handler sets no event we could await
            await asyncio.sleep(0.001)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
async def test_signal_sets_stop_and_unwinds(
    stopper: tuple[StopSignal, RecordingExit], sig: signal.Signals
) -> None:
    stop, exits = stopper
    await raise_signal(sig, handled=stop.stop.is_set)
    with pytest.raises(GracefulStop):
        await stop.wait_then_unwind()
    assert exits.codes == []


async def test_backstop_exits_when_graceful_path_overruns(
    stopper: tuple[StopSignal, RecordingExit],
) -> None:
    stop, exits = stopper
    await raise_signal(signal.SIGTERM, handled=stop.stop.is_set)
    await asyncio.sleep(9.9)
    assert exits.codes == []
    await asyncio.sleep(0.2)
    assert exits.codes == [0]


async def test_backstop_is_disarmed_when_shutdown_finishes(
    stopper: tuple[StopSignal, RecordingExit],
) -> None:
    stop, exits = stopper
    await raise_signal(signal.SIGTERM, handled=stop.stop.is_set)
    stop.uninstall()
    stop.install()  # the fixture uninstalls again
    await asyncio.sleep(30)
    assert exits.codes == []


async def test_second_signal_exits_at_once(stopper: tuple[StopSignal, RecordingExit]) -> None:
    stop, exits = stopper
    await raise_signal(signal.SIGTERM, handled=stop.stop.is_set)
    assert exits.codes == []
    await raise_signal(signal.SIGTERM, handled=lambda: bool(exits.codes))
    assert exits.codes == [0]
