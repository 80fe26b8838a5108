"""Reconciler metrics under controller-runtime's names (``pkg/internal/controller/metrics``).

``ControllerMetricsProvider`` registers the families on one explicitly passed
``CollectorRegistry``; ``for_controller(name)`` returns the ``controller``-labelled view a
worker loop reports to, with every ``result`` series initialised to zero as
controller-runtime's ``initMetrics`` does. ``NOOP_CONTROLLER_METRICS`` records nothing.
"""

from __future__ import annotations

import enum
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: controller-runtime's ``controller_runtime_reconcile_time_seconds`` buckets.
RECONCILE_TIME_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6),
    *(0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0),
    *(8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0),
)


class ReconcileResult(enum.StrEnum):
    """The ``result`` label of ``controller_runtime_reconcile_total``."""

    ERROR = "error"
    REQUEUE_AFTER = "requeue_after"
    SUCCESS = "success"


class ControllerMetrics(Protocol):
    """What a worker loop reports about its reconciles."""

    def set_workers(self, count: int) -> None:
        """Record the number of workers (``max_concurrent_reconciles``)."""

    def worker_busy(self, delta: int) -> None:
        """Add ``delta`` (+1 or -1) to the number of workers holding a key."""

    def reconciled(self, result: ReconcileResult, *, seconds: float, terminal: bool) -> None:
        """Record one reconcile, how long it took, and whether its error was terminal."""


class NoopControllerMetrics:
    """Controller metrics that record nothing."""

    def set_workers(self, count: int) -> None:
        """Ignore the worker count."""

    def worker_busy(self, delta: int) -> None:
        """Ignore the change."""

    def reconciled(self, result: ReconcileResult, *, seconds: float, terminal: bool) -> None:
        """Ignore the reconcile."""


NOOP_CONTROLLER_METRICS = NoopControllerMetrics()


class PrometheusControllerMetrics:
    """One controller's view of the families; created by ``for_controller``."""

    def __init__(self, provider: ControllerMetricsProvider, controller: str) -> None:
        self._total = {r: provider.total.labels(controller, r.value) for r in ReconcileResult}
        for child in self._total.values():
            child.inc(0)
        self._errors = provider.errors.labels(controller)
        self._terminal = provider.terminal_errors.labels(controller)
        self._time = provider.time.labels(controller)
        self._workers = provider.workers.labels(controller)
        self._active = provider.active.labels(controller)
        self._errors.inc(0)
        self._terminal.inc(0)
        self._active.set(0)

    def set_workers(self, count: int) -> None:
        """Set ``controller_runtime_max_concurrent_reconciles``."""
        self._workers.set(count)

    def worker_busy(self, delta: int) -> None:
        """Move ``controller_runtime_active_workers`` by ``delta``."""
        self._active.inc(delta)

    def reconciled(self, result: ReconcileResult, *, seconds: float, terminal: bool) -> None:
        """Count the result (and the error kinds) and observe the reconcile time."""
        self._total[result].inc()
        if result is ReconcileResult.ERROR:
            self._errors.inc()
            if terminal:
                self._terminal.inc()
        self._time.observe(seconds)


class ControllerMetricsProvider:
    """Registers the ``controller_runtime_*`` families on ``registry``; one per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller",
            ["controller", "result"],
            registry=registry,
        )
        self.errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller",
            ["controller"],
            registry=registry,
        )
        self.terminal_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller",
            ["controller"],
            registry=registry,
        )
        self.time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            ["controller"],
            buckets=RECONCILE_TIME_BUCKETS,
            registry=registry,
        )
        self.workers = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            ["controller"],
            registry=registry,
        )
        self.active = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            ["controller"],
            registry=registry,
        )
        self._controllers: dict[str, PrometheusControllerMetrics] = {}

    def for_controller(self, name: str) -> PrometheusControllerMetrics:
        """Return the metrics of controller ``name`` (the same object on every call)."""
        if name not in self._controllers:
            self._controllers[name] = PrometheusControllerMetrics(self, name)
        return self._controllers[name]
