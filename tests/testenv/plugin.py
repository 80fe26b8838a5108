"""pytest plugin for the real control plane (testenv.md §6).

Register with ``pytest_plugins = ["tests.testenv.plugin"]`` (top-level conftest) or ``-p``.
Provides the session fixture ``testenv``, the per-test ``kube_ns``, path-based ``integration``/
``e2e`` markers, component log tails on failures, and "no skips in CI" for those tiers.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.testenv.pins import REPO_ROOT, BuildFailed, bin_dir, ensure_built, load_pins
from tests.testenv.plane import ControlPlane
from tests.testenv.scope import TestNamespace

PLANE_KEY = pytest.StashKey[ControlPlane]()
TIERS: dict[tuple[str, ...], str] = {
    ("tests", "integration"): "integration",
    ("tests", "e2e"): "e2e",
}
LOG_LINES = 100


def pytest_configure(config: pytest.Config) -> None:
    """Register the tier markers (harmless if pyproject.toml registers them too)."""
    config.addinivalue_line(
        "markers", "integration: needs the real control plane (tests/integration)"
    )
    config.addinivalue_line("markers", "e2e: whole daemon against the control plane (tests/e2e)")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Name the pinned versions, fallback choices and whether the binaries are built."""
    pins = load_pins()
    target = bin_dir(pins)
    state = "built" if (target / ".complete").exists() else "NOT built (fixture will build it)"
    return [pins.header(), f"testenv: binaries {target} [{state}]"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests under ``tests/integration/`` and ``tests/e2e/`` with their tier."""
    for item in items:
        try:
            parts = Path(item.path).resolve().relative_to(REPO_ROOT).parts
        except ValueError:
            continue
        if (tier := TIERS.get(parts[:2])) and not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Fail skipped integration/e2e tests under ``CI``; attach component logs to failures."""
    report = yield
    tier = item.get_closest_marker("integration") or item.get_closest_marker("e2e")
    if os.environ.get("CI") and tier and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"{tier.name} test skipped while CI is set (no skips in CI): {reason}"
    if report.failed and "testenv" in getattr(item, "fixturenames", ()):
        plane = item.config.stash.get(PLANE_KEY, None)
        if plane is not None and plane.components:
            for name, tail in plane.log_tails(LOG_LINES).items():
                report.sections.append((f"testenv {name}.log (last {LOG_LINES} lines)", tail))
    return report


@pytest.fixture(scope="session")
def testenv(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """The started :class:`ControlPlane`, shared by the session; builds binaries if missing."""
    pins = load_pins()
    failure = ""
    try:
        binaries = ensure_built(pins)
    except BuildFailed as err:
        failure = f"testenv build failed: {err}"
    if failure:  # fail outside the except block: the build log says it all, no chained trace
        pytest.fail(failure, pytrace=False)
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:  # `timeout`/CI cancellation: tear down like Ctrl-C does
        signal.signal(signal.SIGTERM, _interrupt)
    plane = ControlPlane(binaries, pins=pins)
    request.config.stash[PLANE_KEY] = plane
    try:
        try:
            plane.start()
        except Exception as err:  # show why, with every component's log, then clean up
            tails = "\n".join(f"--- {n}.log ---\n{t}" for n, t in plane.log_tails(60).items())
            failure = f"testenv failed to start: {err}\n{tails}"
        if failure:
            pytest.fail(failure, pytrace=False)
        yield plane
    finally:
        plane.stop()
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture
def kube_ns(testenv: ControlPlane, request: pytest.FixtureRequest) -> Iterator[TestNamespace]:
    """A fresh namespace ``t-<hash of the test id>``; removed with the test's labelled Nodes."""
    ns = TestNamespace(testenv, request.node.nodeid)
    ns.create()
    try:
        yield ns
    finally:
        ns.cleanup()
