"""E2E fixtures: the project's CRDs (shared with the integration tier) and the ``e2e`` world.

``e2e`` yields an :class:`~tests.e2e.harness.E2E` for the test's namespace. The test starts
the simulator and the daemon; at teardown every process is stopped. A test that passed
without checking the invariants gets them checked at teardown, so no e2e test skips them.
On a failure the report carries each daemon's log tail, the simulator's log and call log,
and a summary of the world (NodeGroups, VPSieNodes, workers, Nodes, phase history).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.e2e.diagnostics import call_log_tail, summary
from tests.e2e.harness import E2E
from tests.integration.conftest import crds
from tests.testenv import ControlPlane, TestNamespace
from tests.testenv.kubehttp import JSON

__all__ = ["crds", "e2e"]

HARNESS = pytest.StashKey[E2E]()
CALL_REPORT = pytest.StashKey[pytest.TestReport]()
LOG_LINES = 100


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the e2e processes' logs and a world summary to a failed phase."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    harness = item.stash.get(HARNESS, None)
    if report.failed and harness is not None:
        for daemon in harness.daemons:
            report.sections.append(
                (f"e2e {daemon.name} log (last {LOG_LINES} lines)", daemon.tail(LOG_LINES))
            )
        if harness.sim is not None:
            report.sections.append(("e2e simulator log", harness.sim.tail(LOG_LINES)))
            report.sections.append(("e2e simulator calls (last 40)", call_log_tail(harness)))
        report.sections.append(("e2e world", summary(harness)))
    return report


@pytest.fixture
def e2e(
    testenv: ControlPlane,
    kube_ns: TestNamespace,
    crds: dict[str, JSON],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[E2E]:
    """The test's world; processes stopped and invariants checked (if not yet) at teardown."""
    harness = E2E(testenv, kube_ns, tmp_path)
    request.node.stash[HARNESS] = harness
    problems: list[str] = []
    try:
        yield harness
        passed = request.node.stash.get(CALL_REPORT, None)
        if passed is not None and passed.passed and harness.sim and not harness.invariants_checked:
            harness.expect_invariants()
    finally:
        problems = harness.close()
    assert not problems, "stopping the e2e processes: " + "; ".join(problems)
