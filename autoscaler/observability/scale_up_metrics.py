"""Metrics of the scale-up path.

* ``vpsie_autoscaler_unschedulable_pods_count``: pending pods seen by the last decision
  (Cluster Autoscaler's ``unschedulable_pods_count``);
* ``vpsie_autoscaler_scale_up_decisions_total{outcome}``: planning passes that asked for
  nodes (``scaled_up``) or did not (``no_scale_up``);
* ``vpsie_autoscaler_scale_ups_total{nodegroup,result}``: nodes asked for per group:
  ``requested`` (a VPSieNode written) or ``error`` (the write failed);
* ``vpsie_autoscaler_failed_scale_ups_total{nodegroup,reason}``: provisionings of
  scale-up nodes that failed (quota, API error, timeout), which back the group off;
* ``vpsie_autoscaler_scale_up_decision_latency_seconds``: per pod, from when it became
  unschedulable to the VPSie create call of the node planned for it (a pod that fits a node
  asked for earlier: to the decision that found it that place);
* ``vpsie_autoscaler_scale_up_planning_duration_seconds``: snapshot plus plan, per pass;
* ``vpsie_autoscaler_node_group_backoff_status{nodegroup}``: 1 while a group is backed off.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from autoscaler.observability.registry import PREFIX

LATENCY_BUCKETS = (
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.25,
    1.5,
    1.75,
    2.0,
    2.5,
    3.0,
    4.0,
    5.0,
    7.5,
    10.0,
    15.0,
    20.0,
    30.0,
    60.0,
    120.0,
)
PLANNING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ScaleUpMetrics:
    """The scale-up metric families on one explicitly passed registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.unschedulable = Gauge(
            f"{PREFIX}unschedulable_pods_count",
            "Unschedulable pods that may trigger a scale-up, at the last decision.",
            registry=registry,
        )
        self.decisions = Counter(
            f"{PREFIX}scale_up_decisions_total",
            "Scale-up planning passes, by whether they asked for nodes.",
            ["outcome"],
            registry=registry,
        )
        self.scale_ups = Counter(
            f"{PREFIX}scale_ups_total",
            "Nodes asked for by scale-up decisions, per group and result.",
            ["nodegroup", "result"],
            registry=registry,
        )
        self.failed = Counter(
            f"{PREFIX}failed_scale_ups_total",
            "Scale-up nodes whose provisioning failed, per group and reason.",
            ["nodegroup", "reason"],
            registry=registry,
        )
        self.latency = Histogram(
            f"{PREFIX}scale_up_decision_latency_seconds",
            "Per pod: from becoming unschedulable to the VPSie create call of its node.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.planning = Histogram(
            f"{PREFIX}scale_up_planning_duration_seconds",
            "Time to build the snapshot and plan one scale-up decision.",
            buckets=PLANNING_BUCKETS,
            registry=registry,
        )
        self.backoff = Gauge(
            f"{PREFIX}node_group_backoff_status",
            "1 while scale-up of the group is backed off after a failed provisioning.",
            ["nodegroup"],
            registry=registry,
        )
        for outcome in ("scaled_up", "no_scale_up"):
            self.decisions.labels(outcome)
