"""The reflector backoff: 0.8 s doubling to 30 s, jitter in [step, 2*step], reset after 2 min."""

from __future__ import annotations

import pytest

from autoscaler.clock import FakeClock
from autoscaler.kube.backoff import Backoff, BackoffPolicy


def backoff(clock: FakeClock, rand: float) -> Backoff:
    return Backoff(clock=clock, rand=lambda: rand)


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 1.0), (0.5, 1.5), (0.999, 1.999)])
def test_steps_double_up_to_the_cap_with_jitter(rand: float, factor: float) -> None:
    clock = FakeClock()
    b = backoff(clock, rand)
    delays = []
    for _ in range(9):
        delays.append(b.next_delay())
        clock.step(1)
    steps = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0]
    assert delays == pytest.approx([s * factor for s in steps])


def test_resets_after_two_minutes_without_backoff() -> None:
    clock = FakeClock()
    b = backoff(clock, 0.0)
    assert [b.next_delay() for _ in range(3)] == pytest.approx([0.8, 1.6, 3.2])
    clock.step(120)  # exactly two minutes: not yet
    assert b.next_delay() == pytest.approx(6.4)
    clock.step(120.5)
    assert b.next_delay() == pytest.approx(0.8)
    assert b.attempt == 1


def test_reset_starts_over() -> None:
    b = backoff(FakeClock(), 0.0)
    b.next_delay()
    b.next_delay()
    b.reset()
    assert b.next_delay() == pytest.approx(0.8)


def test_huge_attempt_counts_stay_at_the_cap() -> None:
    assert BackoffPolicy().step(10_000) == 30.0
