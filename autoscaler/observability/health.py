"""Liveness and readiness state behind ``/healthz`` and ``/readyz``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The answer of one probe: ok, and one line per check that failed."""

    ok: bool
    failures: tuple[str, ...]


class Health:
    """Named checks for the two probes.

    Liveness fails once something marked the process broken (``mark_broken``); the loop
    answering the probe is itself the proof that it is not blocked. Readiness needs every
    readiness check to pass (informers synced, shutdown not begun).
    """

    def __init__(self) -> None:
        self._ready_checks: dict[str, Callable[[], bool]] = {}
        self._broken: list[str] = []
        self._stopping = False

    def add_readiness_check(self, name: str, check: Callable[[], bool]) -> None:
        """Add a named check that must be true for the process to be ready."""
        self._ready_checks[name] = check

    def mark_broken(self, reason: str) -> None:
        """Make liveness fail with ``reason`` (a task that must run has stopped)."""
        self._broken.append(reason)

    def mark_stopping(self) -> None:
        """Make readiness fail: a graceful shutdown has begun."""
        self._stopping = True

    def liveness(self) -> HealthReport:
        """Return the liveness report."""
        return HealthReport(not self._broken, tuple(self._broken))

    def readiness(self) -> HealthReport:
        """Return the readiness report."""
        failures = [
            f"{name} not ready" for name, check in self._ready_checks.items() if not check()
        ]
        if self._stopping:
            failures.append("shutting down")
        return HealthReport(not failures, tuple(failures))
