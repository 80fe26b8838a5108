"""Metrics of the VPSie API client (review OPS-1).

* ``vpsie_autoscaler_vpsie_request_duration_seconds{endpoint,outcome}``: one request to the
  VPSie API (each attempt of a retried call), by the contract's endpoint (``K4``...) and
  outcome: the HTTP status, or the error's type (``TransportError``, ``RateLimited``...;
  ``CircuitOpen`` for a call the client's circuit breaker refused without sending it);
* ``vpsie_autoscaler_vpsie_circuit_state{state}``: 1 for the breaker's current state
  (``closed``, ``open``, ``half-open``), 0 for the others;
* ``vpsie_autoscaler_vpsie_circuit_opened_total``: times the breaker opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from autoscaler.observability.registry import PREFIX

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class VPSieMetrics:
    """The VPSie client's metric families on one explicitly passed registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            f"{PREFIX}vpsie_request_duration_seconds",
            "Duration of one VPSie API request, by endpoint and outcome.",
            ["endpoint", "outcome"],
            buckets=BUCKETS,
            registry=registry,
        )

        self._registry = registry

    def observe(self, endpoint: str, outcome: str, seconds: float) -> None:
        """Record one request (the HTTP client's ``observer``)."""
        self.duration.labels(endpoint, outcome).observe(max(0.0, seconds))

    def track_breaker(self, read: Callable[[], tuple[str, int]], states: Sequence[str]) -> None:
        """Export the circuit breaker, read at each scrape: ``read()`` gives its state (one of
        ``states``) and how often it opened."""
        self._registry.register(_BreakerCollector(read, tuple(states)))


class _BreakerCollector(Collector):
    """Reads the breaker when scraped."""

    def __init__(self, read: Callable[[], tuple[str, int]], states: tuple[str, ...]) -> None:
        self._read = read
        self._states = states

    def collect(self) -> Iterator[Metric]:
        """The state gauge and the opened counter."""
        current, opened_total = self._read()
        state = GaugeMetricFamily(
            f"{PREFIX}vpsie_circuit_state",
            "1 for the VPSie client's circuit breaker state, 0 for the others.",
            labels=["state"],
        )
        for each in self._states:
            state.add_metric([each], 1.0 if each == current else 0.0)
        yield state
        yield CounterMetricFamily(
            f"{PREFIX}vpsie_circuit_opened",
            "Times the VPSie client's circuit breaker opened.",
            value=opened_total,
        )
