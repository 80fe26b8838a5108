"""The process's metrics registry (never prometheus_client's global default)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from autoscaler import __version__

PREFIX = "vpsie_autoscaler_"


def new_registry(*, process_metrics: bool = True) -> CollectorRegistry:
    """Return a fresh registry with build info and (optionally) process/GC/platform metrics."""
    registry = CollectorRegistry(auto_describe=True)
    if process_metrics:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    info = Gauge(
        f"{PREFIX}build_info",
        "Build information; the value is always 1.",
        ["version"],
        registry=registry,
    )
    info.labels(version=__version__).set(1)
    return registry
