"""``SharedRead``: one read in flight, its result shared while fresh."""

from __future__ import annotations

import asyncio

import pytest

from autoscaler.clock import LoopClock
from autoscaler.vpsie.shared_read import SharedRead

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("hangs_fail")]


class Source:
    def __init__(self) -> None:
        self.reads = 0

    async def read(self) -> int:
        self.reads += 1
        await asyncio.sleep(0.2)  # one listing takes a while
        return self.reads


async def test_concurrent_callers_share_one_read() -> None:
    source = Source()
    shared = SharedRead(source.read, clock=LoopClock(), max_age=1.0)
    results = await asyncio.gather(*(shared.get() for _ in range(12)))
    assert results == [1] * 12
    assert source.reads == 1


async def test_a_result_is_reused_while_fresh_and_read_again_after() -> None:
    source = Source()
    shared = SharedRead(source.read, clock=LoopClock(), max_age=1.0)
    assert await shared.get() == 1
    await asyncio.sleep(0.5)
    assert await shared.get() == 1  # 0.7 s after the read began
    await asyncio.sleep(0.5)
    assert await shared.get() == 2


async def test_max_age_zero_shares_nothing() -> None:
    source = Source()
    shared = SharedRead(source.read, clock=LoopClock(), max_age=0.0)
    assert list(await asyncio.gather(shared.get(), shared.get())) == [1, 2]
    assert await shared.get() == 3


async def test_a_failed_read_is_not_shared() -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("listing failed")
        return calls

    shared = SharedRead(flaky, clock=LoopClock(), max_age=1.0)
    with pytest.raises(RuntimeError):
        await shared.get()
    assert await shared.get() == 2
