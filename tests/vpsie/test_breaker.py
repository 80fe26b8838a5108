"""The circuit breaker on a fake clock (vpsie-api.md §7)."""

from __future__ import annotations

from autoscaler.clock import FakeClock
from autoscaler.vpsie.breaker import BreakerState, CircuitBreaker


def opened(clock: FakeClock) -> CircuitBreaker:
    breaker = CircuitBreaker(clock=clock)
    for _ in range(5):
        assert breaker.allow()
        breaker.record_failure()
    return breaker


def test_opens_after_five_consecutive_failures() -> None:
    breaker = CircuitBreaker(clock=FakeClock())
    for _ in range(4):
        breaker.record_failure()
    assert breaker.statistics().state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.statistics().state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.statistics().opened_total == 1


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(clock=FakeClock())
    for _ in range(4):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(4):
        breaker.record_failure()
    assert breaker.statistics().state is BreakerState.CLOSED


def test_half_open_after_thirty_seconds_allows_one_probe() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.step(29.9)
    assert breaker.statistics().state is BreakerState.OPEN
    clock.step(0.1)
    assert breaker.statistics().state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one probe at a time


def test_two_successful_probes_close_it() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.step(30)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.statistics().state is BreakerState.HALF_OPEN
    assert breaker.allow()
    breaker.record_success()
    assert breaker.statistics().state is BreakerState.CLOSED
    assert breaker.statistics().consecutive_failures == 0


def test_failed_probe_reopens_it_for_another_thirty_seconds() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.step(30)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.statistics().state is BreakerState.OPEN
    clock.step(29)
    assert not breaker.allow()
    clock.step(1)
    assert breaker.allow()


def test_a_cancelled_probe_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.step(30)
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()
