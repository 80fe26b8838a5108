"""Work-queue metrics under controller-runtime's names (kube-semantics.md Q9).

A ``WorkqueueMetricsProvider`` owns the metric families on one explicitly passed
``CollectorRegistry`` (never the global default) and hands each queue its own
``QueueMetrics``, labelled ``name`` and ``controller`` (both the queue's name, as
controller-runtime does). The two "unfinished" gauges are computed when the registry is
collected, from the start times of the keys being processed; collect on the event loop's
thread (the ``/metrics`` handler does), because the default clock is the loop's.
``NOOP_QUEUE_METRICS`` is for queues nobody measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from autoscaler.clock import Clock, LoopClock


def exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    """Return Prometheus ``ExponentialBuckets`` computed as Go does, so ``le`` labels match."""
    buckets = []
    for _ in range(count):
        buckets.append(start)
        start *= factor
    return tuple(buckets)


#: controller-runtime's work-queue histogram buckets: ``ExponentialBuckets(10e-9, 10, 12)``.
WORKQUEUE_BUCKETS = exponential_buckets(10e-9, 10, 12)
_LABELS = ("name", "controller")
_UNFINISHED_HELP = (
    "How many seconds of work has been done that is in progress and hasn't been observed "
    "by work_duration. Large values indicate stuck threads. One can deduce the number of "
    "stuck threads by observing the rate at which this increases."
)
_LONGEST_HELP = "How many seconds has the longest running processor for workqueue been running."


class QueueMetrics(Protocol):
    """What a work queue reports, mirroring client-go's ``queueMetrics``."""

    def add(self, key: str) -> None:
        """A key became dirty (after the shutdown and dedup checks)."""

    def get(self, key: str) -> None:
        """A worker took ``key`` off the queue."""

    def done(self, key: str) -> None:
        """A worker finished ``key``."""

    def retry(self) -> None:
        """``add_after`` was called."""


class NoopQueueMetrics:
    """Queue metrics that record nothing."""

    def add(self, key: str) -> None:
        """Ignore the add."""

    def get(self, key: str) -> None:
        """Ignore the get."""

    def done(self, key: str) -> None:
        """Ignore the done."""

    def retry(self) -> None:
        """Ignore the retry."""


NOOP_QUEUE_METRICS = NoopQueueMetrics()


class PrometheusQueueMetrics:
    """One queue's metrics; created by ``WorkqueueMetricsProvider.for_queue``."""

    def __init__(self, provider: WorkqueueMetricsProvider, name: str, *, clock: Clock) -> None:
        self.name = name
        self._clock = clock
        labels = {"name": name, "controller": name}
        self._depth = provider.depth.labels(**labels)
        self._adds = provider.adds.labels(**labels)
        self._latency = provider.latency.labels(**labels)
        self._work = provider.work_duration.labels(**labels)
        self._retries = provider.retries.labels(**labels)
        self._added_at: dict[str, float] = {}
        self._started_at: dict[str, float] = {}

    def add(self, key: str) -> None:
        """Count the add, raise the depth and remember when ``key`` was first added."""
        self._adds.inc()
        self._depth.inc()
        self._added_at.setdefault(key, self._clock.monotonic())

    def get(self, key: str) -> None:
        """Lower the depth and observe how long ``key`` waited in the queue."""
        self._depth.dec()
        now = self._clock.monotonic()
        self._started_at[key] = now
        added = self._added_at.pop(key, None)
        if added is not None:
            self._latency.observe(now - added)

    def done(self, key: str) -> None:
        """Observe how long ``key`` was processed."""
        started = self._started_at.pop(key, None)
        if started is not None:
            self._work.observe(self._clock.monotonic() - started)

    def retry(self) -> None:
        """Count an ``add_after``."""
        self._retries.inc()

    def unfinished(self) -> tuple[float, float]:
        """Return (sum of ages, oldest age) of the keys being processed, in seconds."""
        if not self._started_at:
            return 0.0, 0.0  # nothing held: no need to read the clock
        now = self._clock.monotonic()
        ages = [now - started for started in self._started_at.values()]
        return sum(ages), max(ages, default=0.0)


class _UnfinishedWorkCollector(Collector):
    """Computes the two "unfinished" gauges of every queue at scrape time."""

    def __init__(self, queues: Mapping[str, PrometheusQueueMetrics]) -> None:
        self._queues = queues

    def describe(self) -> Iterable[Metric]:
        """Name the families without computing them (so registering needs no clock)."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return both gauges with one sample per queue."""
        unfinished, longest = self._families()
        for queue in list(self._queues.values()):
            total, oldest = queue.unfinished()
            unfinished.add_metric([queue.name, queue.name], total)
            longest.add_metric([queue.name, queue.name], oldest)
        return [unfinished, longest]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "workqueue_unfinished_work_seconds", _UNFINISHED_HELP, labels=_LABELS
            ),
            GaugeMetricFamily(
                "workqueue_longest_running_processor_seconds", _LONGEST_HELP, labels=_LABELS
            ),
        ]


class WorkqueueMetricsProvider:
    """Registers the seven ``workqueue_*`` families on ``registry``; one per registry."""

    def __init__(self, registry: CollectorRegistry, *, clock: Clock | None = None) -> None:
        self._clock = LoopClock() if clock is None else clock
        self._queues: dict[str, PrometheusQueueMetrics] = {}
        self.depth = Gauge(
            "workqueue_depth", "Current depth of workqueue", _LABELS, registry=registry
        )
        self.adds = Counter(
            "workqueue_adds_total",
            "Total number of adds handled by workqueue",
            _LABELS,
            registry=registry,
        )
        self.latency = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            _LABELS,
            buckets=WORKQUEUE_BUCKETS,
            registry=registry,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            _LABELS,
            buckets=WORKQUEUE_BUCKETS,
            registry=registry,
        )
        registry.register(_UnfinishedWorkCollector(self._queues))
        self.retries = Counter(
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            _LABELS,
            registry=registry,
        )

    def for_queue(self, name: str) -> PrometheusQueueMetrics:
        """Return the metrics of the queue called ``name`` (the same object on every call)."""
        if name not in self._queues:
            self._queues[name] = PrometheusQueueMetrics(self, name, clock=self._clock)
        return self._queues[name]
