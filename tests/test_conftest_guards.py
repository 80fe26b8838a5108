"""The guards of conftest.py catch what they exist to catch."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.guards import pending_tasks_since


async def test_pending_task_is_reported_as_leaked() -> None:
    before = asyncio.all_tasks()
    task = asyncio.get_running_loop().create_task(asyncio.sleep(3600))
    try:
        assert await pending_tasks_since(before) == [task]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_finished_task_is_not_reported() -> None:
    before = asyncio.all_tasks()
    task = asyncio.get_running_loop().create_task(asyncio.sleep(0))
    await task
    assert await pending_tasks_since(before) == []


async def test_blocking_call_on_the_loop_fails() -> None:
    with pytest.raises(Exception, match="Blocking call"):
        time.sleep(0.001)  # noqa: ASYNC251 - the point of this test
