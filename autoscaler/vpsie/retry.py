"""The retry policy of vpsie-api.md §7, as pure functions (in the manner of lightkube).

``decide(error, attempt, ...)`` says whether to send a call again and after how long. Only
idempotent calls (GETs, C1, K6, V7, deletes by identifier) are ever retried, and only after
transport errors, 5xx and 429: full-jitter exponential back-off from 0.5 s, x2, capped at
30 s, three retries. A 429 with ``Retry-After`` waits that long instead (the HTTP client also
pauses every other call for as long; see ``ratelimit.ClientPause``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from dataclasses import dataclass

from autoscaler.vpsie.errors import RateLimited, VPSieError

RETRY_AFTER_CAP = 300.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to back off (defaults from §7)."""

    retries: int = 3
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0


@dataclass(frozen=True, slots=True)
class Decision:
    """Retry after ``delay`` seconds, or stop and raise."""

    retry: bool
    delay: float = 0.0


STOP = Decision(retry=False)


def backoff(attempt: int, *, policy: RetryPolicy, jitter: float) -> float:
    """Full-jitter exponential delay before retry number ``attempt + 1`` (``jitter`` in [0, 1))."""
    ceiling = min(policy.cap, policy.base * policy.factor ** min(attempt, 64))
    return max(0.0, min(1.0, jitter)) * ceiling


def decide(
    error: VPSieError,
    attempt: int,
    *,
    idempotent: bool,
    policy: RetryPolicy = RetryPolicy(),
    jitter: float,
) -> Decision:
    """Whether to retry a call that failed with ``error`` on attempt ``attempt`` (0-based)."""
    if not idempotent or not error.retryable or attempt >= policy.retries:
        return STOP
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return Decision(retry=True, delay=error.retry_after)
    return Decision(retry=True, delay=backoff(attempt, policy=policy, jitter=jitter))


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        seconds = float(text) if len(text) < 10 else RETRY_AFTER_CAP
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(RETRY_AFTER_CAP, max(0.0, seconds))
