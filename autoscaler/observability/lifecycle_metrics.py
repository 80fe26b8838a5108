"""Metrics of the NodeGroup and VPSieNode lifecycle and of the garbage collector.

* ``vpsie_autoscaler_vpsienodes{nodegroup,phase}``: VPSieNodes per phase, computed at scrape
  time from the controllers' cache (``phase_source``), so it is never stale;
* ``vpsie_autoscaler_vpsienode_transitions_total{phase}``: entries into each phase;
* ``vpsie_autoscaler_provisioning_total{outcome}``: created, ready, failed, timed_out, ...;
* ``vpsie_autoscaler_provisioning_duration_seconds``: create request until Node Ready;
* ``vpsie_autoscaler_worker_deletions_total{outcome}``: deleted, already_gone, error;
* ``vpsie_autoscaler_orphan_workers{nodegroup}``: workers of our groups no VPSieNode owns;
* ``vpsie_autoscaler_garbage_collection_total{action}``: adopted, reported, untainted, ...
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from autoscaler.observability.registry import PREFIX

PhaseSource = Callable[[], Iterable[tuple[str, str]]]
PROVISIONING_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0)


class _PhaseCollector(Collector):
    def __init__(self, source: PhaseSource) -> None:
        self._source = source

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for (group, phase), count in sorted(Tally(self._source()).items()):
            family.add_metric([group, phase], count)
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            f"{PREFIX}vpsienodes",
            "VPSieNodes per node group and lifecycle phase.",
            labels=["nodegroup", "phase"],
        )


class LifecycleMetrics:
    """The lifecycle metric families on one explicitly passed registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self.transitions = Counter(
            f"{PREFIX}vpsienode_transitions_total",
            "VPSieNodes that entered each lifecycle phase.",
            ["phase"],
            registry=registry,
        )
        self.provisioning = Counter(
            f"{PREFIX}provisioning_total",
            "Provisioning attempts by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.provisioning_seconds = Histogram(
            f"{PREFIX}provisioning_duration_seconds",
            "Time from the create request until the Node was Ready.",
            buckets=PROVISIONING_BUCKETS,
            registry=registry,
        )
        self.deletions = Counter(
            f"{PREFIX}worker_deletions_total",
            "VPSie worker deletions by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.orphans = Gauge(
            f"{PREFIX}orphan_workers",
            "Workers of managed groups that no VPSieNode owns, at the last collection.",
            ["nodegroup"],
            registry=registry,
        )
        self.gc_actions = Counter(
            f"{PREFIX}garbage_collection_total",
            "Actions of the garbage collector and recovery pass.",
            ["action"],
            registry=registry,
        )
        self._phases: _PhaseCollector | None = None

    def watch_phases(self, source: PhaseSource) -> None:
        """Report ``vpsienodes{nodegroup,phase}`` from ``source`` at every scrape."""
        if self._phases is not None:
            self._registry.unregister(self._phases)
        self._phases = _PhaseCollector(source)
        self._registry.register(self._phases)

    def entered(self, phase: str) -> None:
        """Count an entry into ``phase``."""
        self.transitions.labels(phase).inc()

    def provisioned(self, outcome: str, *, seconds: float | None = None) -> None:
        """Count a provisioning outcome (and its duration when it ended Ready)."""
        self.provisioning.labels(outcome).inc()
        if seconds is not None:
            self.provisioning_seconds.observe(max(0.0, seconds))

    def deleted(self, outcome: str) -> None:
        """Count a worker deletion outcome."""
        self.deletions.labels(outcome).inc()

    def set_orphans(self, counts: dict[str, int]) -> None:
        """Replace the orphan gauge with ``counts`` per group."""
        self.orphans.clear()
        for group, count in counts.items():
            self.orphans.labels(group).set(count)

    def gc(self, action: str, count: int = 1) -> None:
        """Count garbage-collector actions."""
        if count:
            self.gc_actions.labels(action).inc(count)
