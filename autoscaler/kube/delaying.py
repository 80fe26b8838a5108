"""The waiting room of ``add_after`` (client-go ``delaying_queue.go``, Q5).

``DelayHeap`` is a min-heap of keys by due time with one entry per key: scheduling a key
that is already waiting only ever moves it earlier (client-go's ``insert``). ``DelayTimer``
wraps it with the one timer loop that hands due keys over, in due-time order.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import time
from collections.abc import Callable

from autoscaler.clock import Clock

#: The timer re-checks the heap at least this often (client-go ``maxWait``), in seconds.
MAX_WAIT = 10.0
# asyncio runs a timer once it is this close to due; the timer pops keys just as early, or
# it would spin when float rounding leaves a key a hair short of due (as under looptime).
_CLOCK_RESOLUTION = time.get_clock_info("monotonic").resolution


@dataclasses.dataclass(order=True, slots=True)
class _Entry:
    ready_at: float
    seq: int
    key: str | None = dataclasses.field(compare=False)  # None: superseded by an earlier entry


class DelayHeap:
    """Keys waiting for a due time, popped in due-time order (ties: insertion order)."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._by_key: dict[str, _Entry] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def schedule(self, key: str, ready_at: float) -> bool:
        """Make ``key`` due at ``ready_at`` unless it is already due no later.

        Return whether anything changed (a new entry, or an existing one moved earlier).
        """
        existing = self._by_key.get(key)
        if existing is not None:
            if existing.ready_at <= ready_at:
                return False
            existing.key = None
        entry = _Entry(ready_at, next(self._seq), key)
        heapq.heappush(self._heap, entry)
        self._by_key[key] = entry
        return True

    def pop_due(self, now: float) -> list[str]:
        """Remove and return the keys due at ``now``, earliest first."""
        due: list[str] = []
        while self._heap and self._heap[0].ready_at <= now:
            key = heapq.heappop(self._heap).key
            if key is not None:
                del self._by_key[key]
                due.append(key)
        return due

    def next_ready_at(self) -> float | None:
        """Return the earliest due time, or None when nothing waits."""
        while self._heap and self._heap[0].key is None:
            heapq.heappop(self._heap)
        return self._heap[0].ready_at if self._heap else None

    def clear(self) -> None:
        """Drop every waiting key."""
        self._heap.clear()
        self._by_key.clear()


class DelayTimer:
    """A ``DelayHeap`` on a clock, and the timer loop (``run``) that empties it when due."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._heap = DelayHeap()
        self._wakeup = asyncio.Event()
        self._running = False
        self._stopped = False

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, key: str, delay: float) -> None:
        """Hand ``key`` over after ``delay`` seconds, or earlier if it already waits less."""
        if self._heap.schedule(key, self._clock.monotonic() + delay):
            self._wakeup.set()

    def stop(self) -> None:
        """Drop every waiting key and end ``run`` (as client-go's loop ends on shutdown)."""
        self._stopped = True
        self._heap.clear()
        self._wakeup.set()

    async def run(self, hand_over: Callable[[str], None]) -> None:
        """Call ``hand_over(key)`` for each key when it is due, until ``stop``.

        Sleeps until the earliest due time, a newly scheduled key, or ``MAX_WAIT``.
        """
        if self._running:
            raise RuntimeError("the delay timer is already running")
        self._running = True
        try:
            while not self._stopped:
                for key in self._heap.pop_due(self._clock.monotonic() + _CLOCK_RESOLUTION):
                    hand_over(key)
                timeout = MAX_WAIT
                ready_at = self._heap.next_ready_at()
                if ready_at is not None:
                    timeout = min(timeout, ready_at - self._clock.monotonic())
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wakeup.wait()
        finally:
            self._running = False
