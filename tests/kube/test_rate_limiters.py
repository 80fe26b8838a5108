"""Rate limiters (Q6-Q7), ported from client-go ``default_rate_limiters_test.go``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoscaler.clock import FakeClock
from autoscaler.kube.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
    drain_pod_rate_limiter,
)

MS = 0.001


class RecordingLimiter:
    """A limiter that returns no delay and records what it is told."""

    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def when(self, key: str) -> float:
        return 0.0

    def forget(self, key: str) -> None:
        self.forgotten.append(key)

    def num_requeues(self, key: str) -> int:
        return 0


def test_item_exponential_failure_rate_limiter() -> None:
    limiter = ItemExponentialFailureRateLimiter(1 * MS, 1.0)
    assert [limiter.when("one") for _ in range(5)] == pytest.approx(
        [1 * MS, 2 * MS, 4 * MS, 8 * MS, 16 * MS]
    )
    assert limiter.num_requeues("one") == 5
    assert [limiter.when("two") for _ in range(2)] == pytest.approx([1 * MS, 2 * MS])
    assert limiter.num_requeues("two") == 2

    limiter.forget("one")
    assert limiter.num_requeues("one") == 0
    assert limiter.when("one") == pytest.approx(1 * MS)


def test_item_exponential_failure_rate_limiter_overflow() -> None:
    limiter = ItemExponentialFailureRateLimiter(1 * MS, 1000.0)
    for _ in range(5):
        limiter.when("one")
    assert limiter.when("one") == pytest.approx(32 * MS)
    for _ in range(1000):
        limiter.when("overflow1")
    assert limiter.when("overflow1") == 1000.0

    limiter = ItemExponentialFailureRateLimiter(60.0, 1000 * 3600.0)
    for _ in range(2):
        limiter.when("two")
    assert limiter.when("two") == 4 * 60.0
    for _ in range(5000):
        limiter.when("overflow2")
    assert limiter.when("overflow2") == 1000 * 3600.0


@given(
    base=st.floats(min_value=1e-6, max_value=10.0),
    cap=st.floats(min_value=1e-6, max_value=1e6),
    failures=st.integers(min_value=0, max_value=300),
)
def test_exponential_delay_is_base_doubled_per_failure_and_capped(
    base: float, cap: float, failures: int
) -> None:
    limiter = ItemExponentialFailureRateLimiter(base, cap)
    for _ in range(failures):
        limiter.when("k")
    expected = cap if failures > 60 else min(base * 2.0**failures, cap)  # 1e-6 * 2**41 > 1e6
    assert limiter.when("k") == pytest.approx(expected)


def test_max_of_rate_limiter() -> None:
    clock = FakeClock()
    recorder = RecordingLimiter()
    limiter = MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(1 * MS, 1.0),
        BucketRateLimiter(1.0, 2, clock=clock),
        recorder,
    )
    # The bucket starts with two tokens; the third call waits a second for a new one.
    assert [limiter.when("one") for _ in range(3)] == pytest.approx([1 * MS, 2 * MS, 1.0])
    assert limiter.num_requeues("one") == 3

    limiter.forget("one")
    assert limiter.num_requeues("one") == 0
    assert recorder.forgotten == ["one"]
    assert limiter.when("one") == pytest.approx(2.0)  # the bucket still remembers
    clock.step(3.0)
    assert limiter.when("one") == pytest.approx(2 * MS)


def test_bucket_rate_limiter_starts_full_and_refills_at_qps() -> None:
    clock = FakeClock(start=100.0)
    bucket = BucketRateLimiter(10.0, 3, clock=clock)
    assert [bucket.when(k) for k in "abc"] == [0.0, 0.0, 0.0]
    assert bucket.when("d") == pytest.approx(0.1)
    assert bucket.when("e") == pytest.approx(0.2)
    clock.step(60.0)  # refills, but never past the burst
    assert [bucket.when(k) for k in "fgh"] == [0.0, 0.0, 0.0]
    assert bucket.when("i") == pytest.approx(0.1)
    bucket.forget("i")
    assert bucket.num_requeues("i") == 0


def test_default_controller_rate_limiter() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock=clock)
    assert [limiter.when("k") for _ in range(3)] == pytest.approx([5 * MS, 10 * MS, 20 * MS])
    for i in range(97):  # the burst of 100 is now spent
        limiter.when(f"other-{i}")
    assert limiter.when("fresh") == pytest.approx(0.1)  # 10 qps
    for _ in range(40):
        limiter.when("slow")
    assert limiter.when("slow") == 1000.0


def test_drain_pod_rate_limiter() -> None:
    limiter = drain_pod_rate_limiter(clock=FakeClock())
    assert [limiter.when("pod") for _ in range(3)] == pytest.approx([0.1, 0.2, 0.4])
    for _ in range(10):
        limiter.when("pod")
    assert limiter.when("pod") == 10.0
    assert limiter.num_requeues("pod") == 14


def test_max_of_needs_a_limiter() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter()
