"""Metrics of the scale-down path (review MED-4 and OPS-1).

* ``vpsie_autoscaler_scale_down_blocked_total{nodegroup,reason}``: per pass, every managed
  node kept, by its reason (``KeptReason``), so a blocked scale-down always leaves a trace;
* ``vpsie_autoscaler_unremovable_nodes_count{nodegroup,reason}``: the nodes each reason kept
  at the last pass (Cluster Autoscaler's ``unremovable_nodes_count``);
* ``vpsie_autoscaler_unneeded_nodes_count``: nodes under their group's threshold at the
  last pass (Cluster Autoscaler's ``unneeded_nodes_count``);
* ``vpsie_autoscaler_scaled_down_nodes_total{nodegroup,reason}``: nodes removed, ``empty``
  (nothing to move), ``underutilized`` (drained first) or ``resumed`` (drained before a
  restart or change of leader, removed after it) (CA's ``scaled_down_nodes_total``);
* ``vpsie_autoscaler_failed_scale_downs_total{nodegroup,reason}``: drains that ended
  without removing the node: ``failed``, ``timeout``, ``interrupted`` or ``pods_arrived``;
* ``vpsie_autoscaler_evicted_pods_total{result}``: pods of drains by outcome (``evicted``,
  ``gone``, ``blocked``, ``not-terminated``) (CA's ``evicted_pods_total``);
* ``vpsie_autoscaler_drain_duration_seconds{outcome}``: from the taint to the end of a drain;
* ``vpsie_autoscaler_scale_down_planning_duration_seconds``: one planning pass (inputs
  from the caches, then ``plan_scale_down``);
* ``vpsie_autoscaler_drains_in_progress``: drains running now.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from autoscaler.core.node_eligibility import KeptReason
from autoscaler.observability.registry import PREFIX

DRAIN_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)
PLANNING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ScaleDownMetrics:
    """The scale-down metric families on one explicitly passed registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.blocked = Counter(
            f"{PREFIX}scale_down_blocked_total",
            "Managed nodes kept by a scale-down pass, per group and reason (once per pass).",
            ["nodegroup", "reason"],
            registry=registry,
        )
        self.unremovable = Gauge(
            f"{PREFIX}unremovable_nodes_count",
            "Managed nodes kept at the last scale-down pass, per group and reason.",
            ["nodegroup", "reason"],
            registry=registry,
        )
        self.unneeded = Gauge(
            f"{PREFIX}unneeded_nodes_count",
            "Managed nodes under their group's utilization threshold at the last pass.",
            registry=registry,
        )
        self.scaled_down = Counter(
            f"{PREFIX}scaled_down_nodes_total",
            "Nodes removed by scale-down, per group and reason (empty or underutilized).",
            ["nodegroup", "reason"],
            registry=registry,
        )
        self.failed = Counter(
            f"{PREFIX}failed_scale_downs_total",
            "Scale-downs that ended without removing the node, per group and reason.",
            ["nodegroup", "reason"],
            registry=registry,
        )
        self.evicted = Counter(
            f"{PREFIX}evicted_pods_total",
            "Pods of scale-down drains, by what became of them.",
            ["result"],
            registry=registry,
        )
        self.drain_duration = Histogram(
            f"{PREFIX}drain_duration_seconds",
            "Duration of one node's drain, from its taint to its end, by outcome.",
            ["outcome"],
            buckets=DRAIN_BUCKETS,
            registry=registry,
        )
        self.planning = Histogram(
            f"{PREFIX}scale_down_planning_duration_seconds",
            "Time to gather the inputs and plan one scale-down pass.",
            buckets=PLANNING_BUCKETS,
            registry=registry,
        )
        self.drains = Gauge(
            f"{PREFIX}drains_in_progress",
            "Node drains running now.",
            registry=registry,
        )
        self._shown: set[tuple[str, str]] = set()

    def kept(self, counts: Mapping[str, Mapping[KeptReason, int]]) -> None:
        """Count one pass's kept nodes and show them as the current unremovable gauge."""
        now: set[tuple[str, str]] = set()
        for group, per_reason in counts.items():
            for reason, count in per_reason.items():
                self.blocked.labels(group, reason.value).inc(count)
                self.unremovable.labels(group, reason.value).set(count)
                now.add((group, reason.value))
        for group, label in self._shown - now:
            self.unremovable.labels(group, label).set(0)
        self._shown = now
