"""The pure retry policy: which calls, which errors, how long (vpsie-api.md §7)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.vpsie import errors
from autoscaler.vpsie.retry import STOP, Decision, RetryPolicy, backoff, decide, parse_retry_after

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("error", "idempotent", "attempt", "expected"),
    [
        pytest.param(errors.ServerError("x"), True, 0, Decision(True, 0.5), id="5xx-first"),
        pytest.param(errors.ServerError("x"), True, 2, Decision(True, 2.0), id="5xx-third"),
        pytest.param(errors.ServerError("x"), True, 3, STOP, id="5xx-retries-used-up"),
        pytest.param(errors.TransportError("x"), True, 1, Decision(True, 1.0), id="transport"),
        pytest.param(errors.RateLimited("x"), True, 0, Decision(True, 0.5), id="429-no-header"),
        pytest.param(
            errors.RateLimited("x", retry_after=9.0), True, 0, Decision(True, 9.0), id="429-header"
        ),
        pytest.param(errors.ServerError("x"), False, 0, STOP, id="create-never-retried"),
        pytest.param(errors.TransportError("x"), False, 0, STOP, id="create-transport"),
        pytest.param(errors.ApiError("x"), True, 0, STOP, id="business-error"),
        pytest.param(errors.NotFound("x"), True, 0, STOP, id="not-found"),
        pytest.param(errors.AuthError("x"), True, 0, STOP, id="401"),
        pytest.param(errors.QuotaExceeded("x"), True, 0, STOP, id="quota"),
        pytest.param(errors.Malformed("x"), True, 0, STOP, id="malformed"),
        pytest.param(errors.CircuitOpen("x"), True, 0, STOP, id="circuit-open"),
    ],
)
def test_decide(
    error: errors.VPSieError, idempotent: bool, attempt: int, expected: Decision
) -> None:
    assert decide(error, attempt, idempotent=idempotent, jitter=1.0) == expected


def test_backoff_is_capped() -> None:
    assert backoff(10, policy=RetryPolicy(), jitter=1.0) == 30.0
    assert backoff(10_000, policy=RetryPolicy(), jitter=0.5) == 15.0


@settings(max_examples=300)
@given(attempt=st.integers(0, 100), jitter=st.floats(0, 1))
def test_full_jitter_stays_under_the_exponential_ceiling(attempt: int, jitter: float) -> None:
    delay = backoff(attempt, policy=RetryPolicy(), jitter=jitter)
    assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("7", 7.0, id="delta-seconds"),
        pytest.param(" 0 ", 0.0, id="zero"),
        pytest.param("100000", 300.0, id="capped"),
        pytest.param("9" * 400, 300.0, id="huge"),
        pytest.param("Fri, 01 May 2026 12:00:30 GMT", 30.0, id="http-date"),
        pytest.param("Fri, 01 May 2026 13:00:00 GMT", 300.0, id="http-date-capped"),
        pytest.param("Fri, 01 May 2026 11:00:00 GMT", 0.0, id="http-date-past"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("-5", None, id="negative"),
        pytest.param("1.5", None, id="not-delta-seconds"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
        pytest.param("\u0663", None, id="non-ascii-digit"),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_parse_retry_after_never_raises(header: str) -> None:
    value = parse_retry_after(header, now=NOW)
    assert value is None or 0 <= value <= 300
