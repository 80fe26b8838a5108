"""Rate limiters for work-queue retries (client-go ``default_rate_limiters.go``, Q6-Q7).

A limiter answers "how long should ``key`` wait before its next try" (``when``), counts
that as a failure, and forgets a key's history on success (``forget``). They are plain
synchronous objects; the bucket reads time from an injected ``Clock``.
"""

from __future__ import annotations

import math
from typing import Protocol

from autoscaler.clock import Clock, LoopClock


class RateLimiter(Protocol):
    """client-go's ``RateLimiter`` interface, keyed by string."""

    def when(self, key: str) -> float:
        """Record a failure of ``key`` and return how long to wait (seconds)."""

    def forget(self, key: str) -> None:
        """Clear ``key``'s failure history."""

    def num_requeues(self, key: str) -> int:
        """Return how many failures of ``key`` are on record."""


class ItemExponentialFailureRateLimiter:
    """Per-key exponential backoff: ``base * 2**failures``, capped at ``max_delay``."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self._base = base_delay
        self._max = max_delay
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        """Return the delay for the failure count before this call, then count this one."""
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        try:
            backoff = math.ldexp(self._base, exp)
        except OverflowError:
            return self._max
        return min(backoff, self._max)

    def forget(self, key: str) -> None:
        """Clear ``key``'s failure count."""
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        """Return ``key``'s failure count."""
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """An overall token bucket (``qps`` refill, ``burst`` size) that starts full.

    Each ``when`` reserves one token and returns how long until it exists, like
    ``rate.Limiter.Reserve()``. It keeps no per-key state.
    """

    def __init__(self, qps: float, burst: int, *, clock: Clock | None = None) -> None:
        self._qps = qps
        self._burst = float(burst)
        self._clock = LoopClock() if clock is None else clock
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, key: str) -> float:
        """Reserve a token and return how long until it is available."""
        now = self._clock.monotonic()
        last = now if self._last is None else self._last
        self._tokens = min(self._burst, self._tokens + (now - last) * self._qps)
        self._last, self._tokens = now, self._tokens - 1
        return max(0.0, -self._tokens / self._qps)

    def forget(self, key: str) -> None:
        """Do nothing: the bucket has no per-key history."""

    def num_requeues(self, key: str) -> int:
        """Return 0: the bucket has no per-key history."""
        return 0


class MaxOfRateLimiter:
    """Asks every limiter and returns the longest delay and the most requeues."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, key: str) -> float:
        """Return the largest delay of all limiters (each of them records the failure)."""
        return max([limiter.when(key) for limiter in self._limiters])

    def forget(self, key: str) -> None:
        """Forward ``forget`` to every limiter."""
        for limiter in self._limiters:
            limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        """Return the largest ``num_requeues`` of all limiters."""
        return max(limiter.num_requeues(key) for limiter in self._limiters)


def default_controller_rate_limiter(*, clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's default: exponential 5 ms to 1000 s, max-of a 10 qps, burst 100 bucket."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )


def drain_pod_rate_limiter(
    *, qps: float = 100.0, burst: int = 1000, clock: Clock | None = None
) -> MaxOfRateLimiter:
    """karpenter's eviction limiter: exponential 100 ms to 10 s, max-of a bucket.

    The bucket defaults to karpenter's smallest configuration (100 qps, burst 10 x qps).
    """
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.1, 10.0),
        BucketRateLimiter(qps, burst, clock=clock),
    )
