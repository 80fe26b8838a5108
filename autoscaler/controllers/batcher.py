"""The scale-up batch window (Karpenter's batcher): idle 1 s, at most 10 s.

``trigger()`` is called by informer handlers for every pod that became (or still is)
pending; it never blocks. ``window()`` waits for the first trigger, then until no trigger
came for ``idle`` seconds or ``maximum`` seconds passed since the first, whichever is
first, and returns how many triggers the window collected. ``flush()`` closes the current
window at once (a group failed: plan the next option now), or makes the next ``window()``
return at once if none is open. The maximum counts from the window's first trigger, even
if it arrived while the consumer was still busy with the previous window.
"""

from __future__ import annotations

import asyncio

from autoscaler.clock import Clock


class Batcher:
    """Collects triggers into windows; one consumer."""

    def __init__(self, *, idle: float, maximum: float, clock: Clock) -> None:
        if idle <= 0 or maximum < idle:
            raise ValueError("need 0 < idle <= maximum")
        self._idle = idle
        self._max = maximum
        self._clock = clock
        self._changed = asyncio.Event()
        self._count = 0
        self._first = self._last = 0.0
        self._flush = False

    def trigger(self) -> None:
        """Something to plan for arrived: open a window or keep the open one alive."""
        now = self._clock.monotonic()
        if not self._count:
            self._first = now
        self._count += 1
        self._last = now
        self._changed.set()

    def flush(self) -> None:
        """Close the open window now (or the next one as soon as it opens)."""
        self._flush = True
        if not self._count:
            self._first = self._last = self._clock.monotonic()
        self._count += 1
        self._changed.set()

    async def window(self) -> int:
        """Wait for one window to close; return the triggers it collected."""
        while not self._count:
            self._changed.clear()
            await self._changed.wait()
        while not self._flush:
            now = self._clock.monotonic()
            until = min(self._last + self._idle, self._first + self._max)
            if now >= until:
                break
            self._changed.clear()
            try:
                async with asyncio.timeout(until - now):
                    await self._changed.wait()
            except TimeoutError:
                pass
        count, self._count, self._flush = self._count, 0, False
        return count
