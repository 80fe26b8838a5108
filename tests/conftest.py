"""Test-wide fixtures: leaked-task detection, blocking-call detection, tier markers."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator

import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from tests.guards import pending_tasks_since

pytest_plugins = ["tests.testenv.plugin"]

_UNIT_ONLY = ("integration", "e2e")


@pytest.fixture(autouse=True)
def blockbuster(request: pytest.FixtureRequest) -> Iterator[BlockBuster | None]:
    """Fail a unit test when code on the event loop makes a blocking call.

    Integration and e2e tests drive the control plane through synchronous fixture
    helpers (subprocesses, urllib), so the detector is on for the unit tiers only.
    """
    if any(request.node.get_closest_marker(m) for m in _UNIT_ONLY):
        yield None
        return
    with blockbuster_ctx() as bb:
        # pytest, hypothesis and logging touch files from inside the loop thread; those
        # calls belong to the test harness, not to the code under test.
        for name in ("io.TextIOWrapper.write", "io.BufferedWriter.write"):
            bb.functions[name].can_block_in("_pytest/", "logging/__init__.py")
        yield bb


@pytest.fixture(autouse=True)
def no_leaked_tasks(request: pytest.FixtureRequest) -> None:
    """Fail an async test that leaves asyncio tasks pending behind it."""
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_assert_no_leaked_tasks")


@pytest.fixture
async def _assert_no_leaked_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    leaked = await pending_tasks_since(before)
    for task in leaked:
        task.cancel()
    assert not leaked, f"test left pending asyncio tasks behind: {leaked}"


@pytest.fixture
async def hangs_fail() -> AsyncIterator[None]:
    """Keep a far timer on the loop, so looptime's end of time also ends an idle hang.

    Use with ``looptime(end=...)``: a test waiting on something that never comes then
    fails at the virtual deadline instead of blocking the run.
    """
    handle = asyncio.get_running_loop().call_later(10**9, lambda: None)
    yield
    handle.cancel()
