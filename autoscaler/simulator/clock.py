"""``SimClock``: simulated time, in seconds since the start of the simulation.

* ``real``: simulated time runs with the monotonic clock;
* ``scaled``: ``factor`` times faster (a demo at x20 provisions a worker in 4 s);
* ``manual``: time moves only through ``advance`` (``POST /__sim/clock/advance``).

World transitions (§5.1 stages, token expiry, rate-limit buckets) use simulated time.
Network-level waits (latency, a ``slow`` hang) are plain loop sleeps (``sleep``), never
scaled, because the client measures its timeouts in real seconds; under ``looptime`` a
test never waits for them for real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Literal

from autoscaler.simulator.config import MANUAL_EPOCH, ClockConfig

ClockMode = Literal["real", "scaled", "manual"]


class ClockNotManual(Exception):
    """``advance`` was called on a clock that is not in manual mode."""


class SimClock:
    """Simulated seconds since t=0, and the wall time they stand for."""

    def __init__(
        self,
        mode: ClockMode = "manual",
        *,
        factor: float = 1.0,
        start: dt.datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self.mode: ClockMode = mode
        self.factor = factor if mode == "scaled" else 1.0
        if start is None:
            start = MANUAL_EPOCH if mode == "manual" else dt.datetime.now(dt.UTC)
        self.start = start.astimezone(dt.UTC)
        self._monotonic = monotonic
        self._origin = monotonic()
        self._manual = 0.0

    @classmethod
    def from_config(cls, config: ClockConfig) -> SimClock:
        """Build the clock a ``ClockConfig`` describes."""
        return cls(config.mode, factor=config.factor, start=config.start)

    def now(self) -> float:
        """Simulated seconds since t=0."""
        if self.mode == "manual":
            return self._manual
        return (self._monotonic() - self._origin) * self.factor

    def wall(self, t: float | None = None) -> dt.datetime:
        """The wall time (UTC) of simulated time ``t`` (default: now)."""
        return self.start + dt.timedelta(seconds=self.now() if t is None else t)

    def stamp(self, t: float) -> str:
        """``t`` as an RFC 3339 UTC timestamp, e.g. ``2026-01-01T00:00:20Z``."""
        wall = self.wall(t)
        spec = "seconds" if wall.microsecond == 0 else "milliseconds"
        return wall.isoformat(timespec=spec).replace("+00:00", "Z")

    def advance(self, seconds: float) -> float:
        """Move a manual clock forward by ``seconds``; return the new time."""
        if self.mode != "manual":
            raise ClockNotManual(f"the clock is {self.mode}, not manual")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._manual += seconds
        return self._manual

    def restart(self) -> None:
        """Go back to t=0 (``POST /__sim/reset``)."""
        self._manual = 0.0
        self._origin = self._monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of network time: loop seconds, whatever the mode."""
        await asyncio.sleep(seconds)
