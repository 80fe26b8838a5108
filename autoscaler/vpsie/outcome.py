"""Settling a create whose answer was lost (contract §5.3): watch, never re-send.

Both providers poll their listings for the unknown-outcome window after a K4/V4 whose
outcome is unknown. ``watch_listings`` is that loop: it returns what ``probe`` finds,
or raises ``UnknownOutcome`` (``verified_absent`` when at least one listing succeeded).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from autoscaler.clock import Clock
from autoscaler.vpsie.errors import UnknownOutcome, VPSieError

T = TypeVar("T")


async def watch_listings(
    probe: Callable[[], Awaitable[T | None]],
    *,
    clock: Clock,
    window: float,
    interval: float,
    cause: UnknownOutcome,
    failure: str,
) -> T:
    """Poll ``probe`` every ``interval`` for ``window`` seconds; its first non-None answer wins.

    A probe that fails with a VPSie error counts as "not seen this time". When the window
    closes without an answer, raise ``UnknownOutcome(failure)`` chained to ``cause``.
    """
    deadline = clock.monotonic() + window
    observed = False
    for _ in range(math.ceil(window / interval) + 1):
        try:
            found = await probe()
        except VPSieError:
            found = None
        else:
            observed = True
        if found is not None:
            return found
        if clock.monotonic() >= deadline:
            break
        await asyncio.sleep(interval)
    raise UnknownOutcome(failure, status=cause.status, verified_absent=observed) from cause
