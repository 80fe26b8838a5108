"""Helpers behind the autouse guards of conftest.py (kept apart so they can be tested)."""

from __future__ import annotations

import asyncio


async def pending_tasks_since(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    """Return tasks started after ``before`` that are still pending after a few loop turns."""
    for _ in range(3):  # let tasks that were just cancelled or finished settle
        await asyncio.sleep(0)
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
