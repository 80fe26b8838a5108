"""Clocks: the one place the shell reads time, so tests can control it.

``Clock.monotonic()`` is the event loop's clock (virtual under ``looptime``), used for
deadlines, backoff and rate limits. ``Clock.now()`` is wall-clock UTC, used for timestamps
written to the API server (Lease renew times, Events).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """What the shell needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (arbitrary origin)."""

    def now(self) -> dt.datetime:
        """The current wall-clock time, timezone-aware UTC."""


class LoopClock:
    """The running event loop's clock, plus wall-clock UTC for timestamps."""

    def monotonic(self) -> float:
        """Return ``loop.time()`` of the running loop."""
        return asyncio.get_running_loop().time()

    def now(self) -> dt.datetime:
        """Return the current time in UTC."""
        return dt.datetime.now(dt.UTC)


class FakeClock:
    """A clock that only moves when told to (``step``), for synchronous tests."""

    def __init__(self, start: float = 0.0, wall: dt.datetime | None = None) -> None:
        self._t = start
        self._wall = wall or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def monotonic(self) -> float:
        """Return the fake monotonic time."""
        return self._t

    def now(self) -> dt.datetime:
        """Return the fake wall time, moved along with ``step``."""
        return self._wall + dt.timedelta(seconds=self._t)

    def step(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self._t += seconds
