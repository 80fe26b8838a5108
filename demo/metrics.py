"""The daemon's scaling metrics, read from its ``/metrics`` text (Prometheus exposition).

``parse(text)`` is pure; ``scrape(url)`` fetches the text. Only the series the demo shows
are kept. Scale-up: decisions by outcome, and the decision-latency and planning-duration
histograms as count, sum and the smallest bucket bound holding every observation.
Scale-down: nodes removed by group and reason, failed scale-downs, evicted pods by result,
the drain-duration histogram (all outcomes), how many passes have run, and the nodes the
last pass kept by group and reason (``unremovable_nodes_count``).
"""

from __future__ import annotations

import math
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "vpsie_autoscaler_"
DECISIONS = PREFIX + "scale_up_decisions_total"
LATENCY = PREFIX + "scale_up_decision_latency_seconds"
PLANNING = PREFIX + "scale_up_planning_duration_seconds"
SCALE_UPS = PREFIX + "scale_ups_total"
SCALED_DOWN = PREFIX + "scaled_down_nodes_total"
FAILED_DOWN = PREFIX + "failed_scale_downs_total"
EVICTED = PREFIX + "evicted_pods_total"
DRAIN = PREFIX + "drain_duration_seconds"
DOWN_PLANNING = PREFIX + "scale_down_planning_duration_seconds"
UNREMOVABLE = PREFIX + "unremovable_nodes_count"
HISTOGRAMS = (LATENCY, PLANNING, DRAIN)


@dataclass(frozen=True)
class Histogram:
    """Count and sum of observations, and the smallest ``le`` bound holding them all."""

    count: int = 0
    total: float = 0.0
    max_bound: float = math.inf

    @property
    def mean(self) -> float | None:
        """The mean observation, or None without observations."""
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class Metrics:
    """What the summary reads from the daemon."""

    decisions: dict[str, int] = field(default_factory=dict)  # outcome -> count
    scale_ups: dict[tuple[str, str], int] = field(default_factory=dict)  # (group, result)
    latency: Histogram | None = None
    planning: Histogram | None = None
    scaled_down: dict[tuple[str, str], int] = field(default_factory=dict)  # (group, reason)
    failed_down: dict[tuple[str, str], int] = field(default_factory=dict)  # (group, reason)
    evicted: dict[str, int] = field(default_factory=dict)  # result -> pods
    drains: Histogram | None = None
    down_passes: int = 0
    unremovable: dict[tuple[str, str], int] = field(default_factory=dict)  # (group, reason)


_BY_GROUP = {
    SCALE_UPS: "result",
    SCALED_DOWN: "reason",
    FAILED_DOWN: "reason",
    UNREMOVABLE: "reason",
}


def parse(text: str) -> Metrics:
    """The series the demo shows of a ``/metrics`` answer; absent ones stay empty or None."""
    decisions: dict[str, int] = {}
    evicted: dict[str, int] = {}
    by_group: dict[str, dict[tuple[str, str], int]] = {name: {} for name in _BY_GROUP}
    hist: dict[str, dict[str, float]] = {base: {} for base in HISTOGRAMS}
    buckets: dict[str, dict[float, float]] = {base: {} for base in HISTOGRAMS}
    passes = 0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == DECISIONS:
                decisions[s.labels.get("outcome", "")] = int(s.value)
            elif s.name in _BY_GROUP:
                key = (s.labels.get("nodegroup", ""), s.labels.get(_BY_GROUP[s.name], ""))
                by_group[s.name][key] = int(s.value)
            elif s.name == EVICTED:
                evicted[s.labels.get("result", "")] = int(s.value)
            elif s.name == DOWN_PLANNING + "_count":
                passes = int(s.value)
            for base in HISTOGRAMS:  # a labelled histogram is summed over its labels
                if s.name == base + "_bucket":
                    le = float(s.labels["le"])
                    buckets[base][le] = buckets[base].get(le, 0.0) + s.value
                elif s.name in (base + "_count", base + "_sum"):
                    part = s.name.removeprefix(base + "_")
                    hist[base][part] = hist[base].get(part, 0.0) + s.value
    return Metrics(
        decisions=decisions,
        scale_ups=by_group[SCALE_UPS],
        latency=_histogram(hist[LATENCY], buckets[LATENCY]),
        planning=_histogram(hist[PLANNING], buckets[PLANNING]),
        scaled_down={k: n for k, n in by_group[SCALED_DOWN].items() if n},
        failed_down={k: n for k, n in by_group[FAILED_DOWN].items() if n},
        evicted={k: n for k, n in evicted.items() if n},
        drains=_histogram(hist[DRAIN], buckets[DRAIN]),
        down_passes=passes,
        unremovable={k: n for k, n in by_group[UNREMOVABLE].items() if n},
    )


def _histogram(values: dict[str, float], buckets: dict[float, float]) -> Histogram | None:
    if "count" not in values:
        return None
    count = int(values["count"])
    bound = min((le for le, n in buckets.items() if n >= count), default=math.inf)
    return Histogram(count=count, total=values.get("sum", 0.0), max_bound=bound)


def scrape(url: str, *, timeout: float = 5.0) -> Metrics:
    """GET the daemon's ``/metrics`` and parse it."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return parse(resp.read().decode())
