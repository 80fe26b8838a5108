"""The circuit breaker of vpsie-api.md §7, on an injected clock.

::

    CLOSED --5 consecutive failures--> OPEN --30 s--> HALF_OPEN --2 successes--> CLOSED
                                         ^                |
                                         +---a failure----+

Only transport errors, timeouts and 5xx are failures (``VPSieError.breaker``); any other
answer shows the API is up and counts as a success. In ``HALF_OPEN`` one probe runs at a time.
All methods are synchronous: on the event loop each is one atomic step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from autoscaler.clock import Clock


class BreakerState(enum.Enum):
    """Where the breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class BreakerStatistics:
    """An immutable view of the breaker, for metrics and readiness."""

    state: BreakerState
    consecutive_failures: int
    opened_total: int


class CircuitBreaker:
    """Counts consecutive failures; refuses calls while open."""

    def __init__(
        self,
        *,
        clock: Clock,
        failure_threshold: int = 5,
        open_seconds: float = 30.0,
        close_after: int = 2,
    ) -> None:
        self._clock = clock
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._close_after = close_after
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._opened_at = 0.0
        self._probing = False
        self._opened_total = 0

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker turns half-open once its time is up."""
        if (
            self._state is BreakerState.OPEN
            and self._clock.monotonic() - self._opened_at >= self._open_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._successes = 0
            self._probing = False
        return self._state

    def allow(self) -> bool:
        """Whether a call may be sent now; in half-open state this takes the one probe slot."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        """A call got an answer that is not a breaker failure."""
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False
            self._successes += 1
            if self._successes >= self._close_after:
                self._state = BreakerState.CLOSED
                self._failures = 0
        elif self._state is BreakerState.CLOSED:
            self._failures = 0

    def record_failure(self) -> None:
        """A call failed with a transport error, timeout or 5xx."""
        if self._state is BreakerState.HALF_OPEN:
            self._open()
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()

    def release(self) -> None:
        """A call that was allowed ended without an outcome (cancelled): free the probe slot."""
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False

    def statistics(self) -> BreakerStatistics:
        """An immutable snapshot of the breaker."""
        return BreakerStatistics(self.state, self._failures, self._opened_total)

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock.monotonic()
        self._failures = 0
        self._successes = 0
        self._probing = False
        self._opened_total += 1
