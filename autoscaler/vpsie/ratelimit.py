"""Client-side pacing: a shared token bucket (2/s, burst 10) and the whole-client pause.

``TokenBucket.reserve()`` takes a token at once, going into debt if needed, and returns how
long the caller must wait; callers are served in order of arrival. ``ClientPause`` holds every
call of the client until a ``Retry-After`` has passed (vpsie-api.md §7). Time comes from the
injected clock; waiting is ``asyncio.sleep`` (virtual under looptime).
"""

from __future__ import annotations

import asyncio

from autoscaler.clock import Clock


class TokenBucket:
    """A token bucket refilled at ``rate`` per second up to ``burst`` tokens."""

    def __init__(self, *, clock: Clock, rate: float = 2.0, burst: int = 10) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp: float | None = None  # set at first use: the clock may not run yet

    def reserve(self) -> float:
        """Take one token now; return the seconds to wait before using it (0 if none)."""
        now = self._clock.monotonic()
        elapsed = 0.0 if self._stamp is None else max(0.0, now - self._stamp)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def refund(self) -> None:
        """Give back a token whose wait was abandoned (the caller was cancelled)."""
        self._tokens = min(self._burst, self._tokens + 1.0)

    async def acquire(self) -> None:
        """Wait for a token."""
        delay = self.reserve()
        if delay <= 0:
            return
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.refund()
            raise


class ClientPause:
    """A gate closed until a point in time; every call waits at it before being sent."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._until = float("-inf")

    def pause(self, seconds: float) -> None:
        """Hold every call for ``seconds`` from now (never shortens an earlier pause)."""
        self._until = max(self._until, self._clock.monotonic() + max(0.0, seconds))

    @property
    def remaining(self) -> float:
        """Seconds left of the current pause."""
        return max(0.0, self._until - self._clock.monotonic())

    async def wait_open(self) -> None:
        """Return once no pause is in force (a pause may be extended while waiting)."""
        # Not an Event: the end of a pause is a time on the clock, and it may move later.
        while (left := self.remaining) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)
