"""``plan_size``: bounds, upcoming nodes against maxNodes, back-off, and what may be removed."""

from __future__ import annotations

import datetime as dt

import pytest

from autoscaler.controllers.records import VPSieNodeRecord, project_vpsienode
from autoscaler.controllers.sizing import Backoff, Sizing, plan_size
from autoscaler.core.resources import API_VERSION

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
BACKOFF = Backoff(base_s=300, max_s=1800, kept=4)


def member(
    name: str, phase: str | None, *, at: int = 0, deleting: bool = False, **stamps: int
) -> VPSieNodeRecord:
    """A VPSieNode in ``phase``, created ``at`` seconds before NOW; stamps as seconds before NOW."""
    created = NOW - dt.timedelta(seconds=at)
    meta = {"name": name, "namespace": "ns", "uid": name, "creationTimestamp": created.isoformat()}
    if deleting:
        meta["deletionTimestamp"] = NOW.isoformat()
    status: dict[str, object] = {}
    if phase is not None:
        status["phase"] = phase
    if stamps:
        status["timestamps"] = {
            k: (NOW - dt.timedelta(seconds=v)).isoformat() for k, v in stamps.items()
        }
    body = {
        "apiVersion": API_VERSION,
        "kind": "VPSieNode",
        "metadata": meta,
        "spec": {"nodeGroup": "web", "mode": "vke"},
        "status": status,
    }
    rec = project_vpsienode(body)
    assert rec.resource is not None, rec.error
    return rec


def plan(
    members: list[VPSieNodeRecord],
    *,
    min_nodes: int = 0,
    max_nodes: int = 5,
    busy: frozenset[str] = frozenset(),
    expected: int = 0,
) -> Sizing:
    return plan_size(
        members,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        now=NOW,
        backoff=BACKOFF,
        busy=lambda m: m.meta.name in busy,
        expected=expected,
    )


@pytest.mark.parametrize(
    ("members", "min_nodes", "max_nodes", "create"),
    [
        pytest.param([], 2, 5, 2, id="empty-group-grows-to-min"),
        pytest.param([member("a", "Ready")], 2, 5, 1, id="one-short"),
        pytest.param(
            [member("a", "Provisioning"), member("b", "Pending")], 2, 5, 0, id="upcoming-count"
        ),
        pytest.param([member("a", "Ready", deleting=True)], 1, 5, 1, id="deleting-is-replaced"),
        pytest.param([], 4, 3, 3, id="never-above-max"),
    ],
)
def test_group_grows_to_min_counting_upcoming_nodes(members, min_nodes, max_nodes, create) -> None:
    assert plan(members, min_nodes=min_nodes, max_nodes=max_nodes).create == create


def test_creates_not_yet_in_the_cache_count() -> None:
    assert plan([], min_nodes=2, expected=2).create == 0


def test_removal_above_max_takes_nodes_without_pods_cheapest_first() -> None:
    members = [
        member("ready-busy", "Ready", at=50),
        member("ready-idle", "Ready", at=40),
        member("joining", "Joining", at=30),
        member("pending", "Pending", at=10),
        member("draining", "Draining", at=5),
    ]
    sizing = plan(members, max_nodes=2, busy=frozenset({"ready-busy"}))
    assert sizing.remove == ("pending", "joining", "ready-idle")


def test_nodes_with_pods_are_left_to_scale_down() -> None:
    sizing = plan(
        [member("a", "Ready"), member("b", "Ready")], max_nodes=0, busy=frozenset({"a", "b"})
    )
    assert sizing.remove == ()


@pytest.mark.parametrize(
    ("failures", "ago", "blocked"),
    [
        pytest.param(1, 200, True, id="first-failure-waits-5m"),
        pytest.param(1, 400, False, id="first-failure-after-5m"),
        pytest.param(2, 400, True, id="second-failure-waits-10m"),
        pytest.param(4, 1700, True, id="cap-30m"),
        pytest.param(4, 1900, False, id="after-the-cap"),
    ],
)
def test_backoff_doubles_after_each_failure(failures: int, ago: int, blocked: bool) -> None:
    members = [member(f"f{i}", "Failed", at=3000, failed=ago + i) for i in range(failures)]
    sizing = plan(members, min_nodes=1)
    assert (sizing.backoff_until is not None) == blocked
    assert sizing.create == (0 if blocked else 1)
    assert sizing.failures == failures


def test_a_ready_node_resets_the_backoff_and_prunes_older_failures() -> None:
    members = [
        member("old", "Failed", at=3000, failed=200),
        member("r", "Ready", at=3000, ready=100),
    ]
    sizing = plan(members, min_nodes=2)
    assert sizing.backoff_until is None
    assert sizing.prune == ("old",)
    assert sizing.create == 1


def test_only_the_newest_failures_are_kept() -> None:
    members = [member(f"f{i}", "Failed", at=9000, failed=100 * (i + 1)) for i in range(6)]
    assert set(plan(members).prune) == {"f4", "f5"}
