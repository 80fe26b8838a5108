"""One listing shared by the callers that poll it: at most one read at a time, reused while fresh.

While a dozen workers are being provisioned, each VPSieNode asks every few seconds whether
its worker is listed yet. Asked separately, that is a dozen listings per interval, which a
client limited to a few requests per second cannot afford (the create calls would queue
behind them). ``SharedRead.get()`` returns the last result while it is younger than
``max_age`` seconds, and otherwise makes one read that concurrent callers wait for and share.
Only polling uses it: reads that must see the latest state (the snapshot before a create)
read directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from autoscaler.clock import Clock

T = TypeVar("T")


class SharedRead(Generic[T]):
    """The result of ``read``, shared for ``max_age`` seconds; one read in flight."""

    def __init__(self, read: Callable[[], Awaitable[T]], *, clock: Clock, max_age: float) -> None:
        self._read = read
        self._clock = clock
        self._max_age = max_age
        self._lock = asyncio.Lock()
        self._value: tuple[float, T] | None = None
        self.reads = 0

    def _fresh(self) -> T | None:
        if self._value is not None and self._clock.monotonic() - self._value[0] < self._max_age:
            return self._value[1]
        return None

    async def get(self) -> T:
        """A result at most ``max_age`` seconds old."""
        found = self._fresh()
        if found is not None:
            return found
        async with self._lock:
            found = self._fresh()  # another caller read it while we waited
            if found is not None:
                return found
            started = self._clock.monotonic()
            value = await self._read()
            self.reads += 1
            self._value = (started, value)
            return value
