"""Metrics of the VPSie API client (review OPS-1).

* ``vpsie_autoscaler_vpsie_request_duration_seconds{endpoint,outcome}``: one request to the
  VPSie API (each attempt of a retried call), by the contract's endpoint (``K4``...) and
  outcome: the HTTP status, or the error's type (``TransportError``, ``RateLimited``...).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

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

    def observe(self, endpoint: str, outcome: str, seconds: float) -> None:
        """Record one request (the HTTP client's ``observer``)."""
        self.duration.labels(endpoint, outcome).observe(max(0.0, seconds))
