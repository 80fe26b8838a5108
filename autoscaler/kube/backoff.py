"""The reflector's exponential backoff (client-go ``wait.NewExponentialBackoffManager``).

client-go's reflector backs off with 800 ms initial, factor 2, cap 30 s, jitter 1.0, reset
after 2 min (``reflector.go`` L62-67). With jitter 1.0 each wait lies in ``[step, 2*step]``
where the step doubles from 0.8 s up to 30 s. When more than ``reset_after`` seconds pass
between two waits the step starts again at 0.8 s. Time and randomness are injected, so the
object is deterministic under a ``FakeClock`` and a seeded generator; it never sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from autoscaler.clock import Clock

__all__ = ["Backoff", "BackoffPolicy"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Parameters of the backoff; the defaults are client-go's reflector values."""

    initial: float = 0.8
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 1.0
    reset_after: float = 120.0

    def step(self, attempt: int) -> float:
        """Return the un-jittered step for the ``attempt``-th wait (0-based)."""
        return min(self.cap, self.initial * self.factor ** min(attempt, 64))


class Backoff:
    """Hands out successive waits; the caller sleeps (``next_delay`` is synchronous)."""

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        clock: Clock,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self._clock = clock
        self._rand = rand
        self._attempt = 0
        self._last: float | None = None

    def next_delay(self) -> float:
        """Return how long to wait now, and advance to the next step."""
        now = self._clock.monotonic()
        if self._last is not None and now - self._last > self.policy.reset_after:
            self._attempt = 0
        self._last = now
        step = self.policy.step(self._attempt)
        self._attempt += 1
        return step + self.policy.jitter * self._rand() * step

    def reset(self) -> None:
        """Start again from the initial step."""
        self._attempt = 0
        self._last = None

    @property
    def attempt(self) -> int:
        """How many waits were handed out since the last reset."""
        return self._attempt
