"""The scale-up batch window (Karpenter's batcher): idle 1 s, at most 10 s.

``trigger()`` is called by informer handlers for every pod that became (or still is)
pending; it never blocks. ``window()`` waits for the first trigger, then until no trigger
came for ``idle`` seconds or ``maximum`` seconds passed since the first, whichever is
first, and returns how many triggers the window collected. ``flush()`` closes the current
window at once (a group failed: plan the next option now), or makes the next ``window()``
return at once if none is open. The maximum counts from the window's first trigger, even
if it arrived while the consumer was still busy with the previous window.

``next()`` also reports *eager ticks*: every ``eager`` seconds of a window that is still
open, so the consumer can act on the part of the backlog that cannot get better by
waiting (full new nodes, ``core.eager``) while a long stream of pods keeps it open.
"""

from __future__ import annotations

import asyncio

from autoscaler.clock import Clock


class Batcher:
    """Collects triggers into windows; one consumer."""

    def __init__(
        self, *, idle: float, maximum: float, clock: Clock, eager: float | None = None
    ) -> None:
        if idle <= 0 or maximum < idle:
            raise ValueError("need 0 < idle <= maximum")
        if eager is not None and eager <= 0:
            raise ValueError("eager must be positive")
        self._eager = eager
        self._ticks = 0
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
        while True:
            closed, count = await self.next()
            if closed:
                return count

    async def next(self) -> tuple[bool, int]:
        """Wait for the open window to close (``True``) or for its next eager tick.

        With ``eager`` set, a window that stays open longer than ``eager`` seconds yields
        ``(False, triggers so far)`` every ``eager`` seconds (from its first trigger) until
        it closes; ``(True, triggers)`` when it closes.
        """
        while not self._count:
            self._changed.clear()
            await self._changed.wait()
        while not self._flush:
            now = self._clock.monotonic()
            until = min(self._last + self._idle, self._first + self._max)
            if now >= until:
                break
            if self._eager is not None:
                tick = self._first + self._eager * (self._ticks + 1)
                if now >= tick:
                    self._ticks += 1
                    return False, self._count
                until = min(until, tick)
            self._changed.clear()
            try:
                async with asyncio.timeout(until - now):
                    await self._changed.wait()
            except TimeoutError:
                pass
        count, self._count, self._flush, self._ticks = self._count, 0, False, 0
        return True, count
