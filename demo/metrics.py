"""The daemon's scale-up metrics, read from its ``/metrics`` text (Prometheus exposition).

``parse(text)`` is pure; ``scrape(url)`` fetches the text. Only the series the demo's
summary shows are kept: decisions by outcome, and the decision-latency and planning-duration
histograms as count, sum and the smallest bucket bound holding every observation.
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


def parse(text: str) -> Metrics:
    """The scale-up series of a ``/metrics`` answer; absent series stay empty or None."""
    decisions: dict[str, int] = {}
    scale_ups: dict[tuple[str, str], int] = {}
    hist: dict[str, dict[str, float]] = {LATENCY: {}, PLANNING: {}}
    buckets: dict[str, list[tuple[float, float]]] = {LATENCY: [], PLANNING: []}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == DECISIONS:
                decisions[s.labels.get("outcome", "")] = int(s.value)
            elif s.name == SCALE_UPS:
                key = (s.labels.get("nodegroup", ""), s.labels.get("result", ""))
                scale_ups[key] = int(s.value)
            for base in (LATENCY, PLANNING):
                if s.name == base + "_bucket":
                    buckets[base].append((float(s.labels["le"]), s.value))
                elif s.name in (base + "_count", base + "_sum"):
                    hist[base][s.name.removeprefix(base + "_")] = s.value
    return Metrics(
        decisions=decisions,
        scale_ups=scale_ups,
        latency=_histogram(hist[LATENCY], buckets[LATENCY]),
        planning=_histogram(hist[PLANNING], buckets[PLANNING]),
    )


def _histogram(values: dict[str, float], buckets: list[tuple[float, float]]) -> Histogram | None:
    if "count" not in values:
        return None
    count = int(values["count"])
    bound = min((le for le, n in buckets if n >= count), default=math.inf)
    return Histogram(count=count, total=values.get("sum", 0.0), max_bound=bound)


def scrape(url: str, *, timeout: float = 5.0) -> Metrics:
    """GET the daemon's ``/metrics`` and parse it."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return parse(resp.read().decode())
