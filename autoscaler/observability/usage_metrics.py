"""Metrics of the usage collector (samples from ``metrics.k8s.io``).

* ``vpsie_autoscaler_usage_collection_duration_seconds``: time of each collection tick,
  whatever its outcome (a tick that times out observes its deadline);
* ``vpsie_autoscaler_usage_collections_total{outcome}``: ticks by outcome, ``ok``,
  ``timeout``, ``error`` or ``not_served`` (the metrics API is not installed); every
  outcome starts at zero so alerts can use ``increase()`` from the first scrape;
* ``vpsie_autoscaler_usage_tracked_nodes``: nodes whose usage is held, read from the
  tracker at scrape time (``track``), so it is never stale.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from autoscaler.observability.registry import PREFIX

__all__ = ["TICK_BUCKETS", "TickOutcome", "UsageMetrics"]

TICK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)


class TickOutcome(enum.StrEnum):
    """How one collection tick ended (the ``outcome`` label)."""

    OK = "ok"
    TIMEOUT = "timeout"
    ERROR = "error"
    NOT_SERVED = "not_served"


class UsageMetrics:
    """The usage-collector metric families on one explicitly passed registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            f"{PREFIX}usage_collection_duration_seconds",
            "Time of one usage collection tick (listing metrics.k8s.io nodes).",
            buckets=TICK_BUCKETS,
            registry=registry,
        )
        self.ticks = Counter(
            f"{PREFIX}usage_collections_total",
            "Usage collection ticks by outcome: ok, timeout, error, not_served.",
            ["outcome"],
            registry=registry,
        )
        self.tracked = Gauge(
            f"{PREFIX}usage_tracked_nodes",
            "Nodes whose measured usage is held by the usage tracker.",
            registry=registry,
        )
        for outcome in TickOutcome:
            self.ticks.labels(outcome.value)

    def ticked(self, outcome: TickOutcome, *, seconds: float) -> None:
        """Count one tick's outcome and observe how long it took."""
        self.ticks.labels(outcome.value).inc()
        self.duration.observe(max(0.0, seconds))

    def track(self, count: Callable[[], int]) -> None:
        """Report ``usage_tracked_nodes`` as ``count()`` at every scrape."""
        self.tracked.set_function(lambda: float(count()))
