"""Leader election on a Lease (client-go ``tools/leaderelection`` semantics), in virtual time."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes_asyncio.client import V1Lease, V1LeaseSpec, V1ObjectMeta
from prometheus_client import CollectorRegistry

from autoscaler.kube import errors
from autoscaler.kube.leader import (
    LeaderElectionConfig,
    LeaderElectionStatistics,
    LeaderElector,
    LeadershipLost,
    default_identity,
)
from autoscaler.kube.lease_client import LeaseRecord, lease_body, record_from_lease
from autoscaler.observability.leader_metrics import LeaderElectionMetrics
from tests.kube.fake_leases import (
    EPOCH,
    LONG_AGO,
    InMemoryLeaseClient,
    LoopWallClock,
    Scope,
    running,
    wall,
)

pytestmark = pytest.mark.looptime(end=600)  # a test that would hang fails instead

NS, NAME = "vpsie-system", "vpsie-autoscaler"
MAX_RETRY_WAIT = 2.0 * 2.2  # retry period with client-go's 1.2 jitter factor


def now() -> float:
    return asyncio.get_running_loop().time()


def config(identity: str, **overrides: Any) -> LeaderElectionConfig:
    return LeaderElectionConfig(lease_name=NAME, namespace=NS, identity=identity, **overrides)


def elector(
    fake: InMemoryLeaseClient,
    identity: str,
    *,
    on_change: Callable[[LeaderElectionStatistics], None] | None = None,
    **overrides: Any,
) -> LeaderElector:
    return LeaderElector(
        fake,
        config(identity, **overrides),
        clock=LoopWallClock(),
        on_change=on_change,
        rng=random.Random(identity),
    )


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"lease_duration": 10.0}, id="duration-not-above-renew-deadline"),
        pytest.param({"renew_deadline": 2.4}, id="renew-deadline-not-above-jittered-retry"),
        pytest.param({"retry_period": 0.0}, id="zero-retry-period"),
        pytest.param({"request_timeout": 0.0}, id="zero-request-timeout"),
        pytest.param({"identity": ""}, id="empty-identity"),
    ],
)
def test_invalid_timing_is_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        config(**{"identity": "a", **overrides})


def test_defaults_are_client_go_defaults() -> None:
    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS)
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (15.0, 10.0, 2.0)
    assert cfg.lease_duration_seconds == 15
    assert cfg.release_on_cancel


def test_default_identity_is_pod_name_with_random_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "autoscaler-7d9f-x2")
    first, second = default_identity(), default_identity()
    assert first.startswith("autoscaler-7d9f-x2_")
    assert first != second


def test_lease_body_writes_micro_time_with_microseconds() -> None:
    record = LeaseRecord(
        name=NAME,
        namespace=NS,
        holder_identity="a",
        lease_duration_seconds=15,
        acquire_time=EPOCH,
        renew_time=EPOCH + dt.timedelta(seconds=1.5),
        lease_transitions=2,
        resource_version="42",
    )
    body = lease_body(record)
    assert body["metadata"] == {"name": NAME, "namespace": NS, "resourceVersion": "42"}
    assert body["spec"] == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": "2026-01-01T00:00:00.000000Z",
        "renewTime": "2026-01-01T00:00:01.500000Z",
        "leaseTransitions": 2,
    }


def test_record_from_lease_reads_a_v1_lease() -> None:
    lease = V1Lease(
        metadata=V1ObjectMeta(name=NAME, namespace=NS, resource_version="7"),
        spec=V1LeaseSpec(holder_identity="a", lease_duration_seconds=15, renew_time=EPOCH),
    )
    assert record_from_lease(lease) == LeaseRecord(
        name=NAME,
        namespace=NS,
        holder_identity="a",
        lease_duration_seconds=15,
        renew_time=EPOCH,
        resource_version="7",
    )
    bare = V1Lease(metadata=V1ObjectMeta(name=NAME, namespace=NS, resource_version="8"))
    assert record_from_lease(bare).holder_identity == ""


async def test_acquires_an_absent_lease() -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    el = elector(fake, "a")
    async with running(el, scope):
        await scope.started.wait()
        assert scope.started_at == pytest.approx(0.0)
        lease = fake.stored(NAME, NS)
        assert (lease.holder_identity, lease.lease_duration_seconds) == ("a", 15)
        assert lease.lease_transitions == 0
        assert lease.acquire_time == lease.renew_time == EPOCH
        assert [c.verb for c in fake.calls] == ["get", "create"]
        assert el.is_leader
        assert el.statistics() == LeaderElectionStatistics(
            lease=f"{NS}/{NAME}", identity="a", is_leader=True, holder="a", transitions=0
        )


@pytest.mark.parametrize(
    ("holder", "duration", "expected_wait"),
    [
        pytest.param("dead", 15, 15.0, id="expired-by-remote-clock-still-waits-lease-duration"),
        pytest.param("dead", 3, 3.0, id="lease-duration-is-the-records"),
        pytest.param("", 1, 0.0, id="released-lease-is-taken-at-once"),
    ],
)
async def test_takes_over_lease_after_observed_staleness(
    holder: str, duration: int, expected_wait: float
) -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    fake.seed_holder(NAME, NS, holder, duration=duration, transitions=3)
    el = elector(fake, "b")
    async with running(el, scope):
        await scope.started.wait()
    assert scope.started_at is not None
    assert expected_wait <= scope.started_at <= expected_wait + MAX_RETRY_WAIT
    lease = fake.stored(NAME, NS)
    assert lease.lease_transitions == 4
    assert wall(lease.acquire_time) == pytest.approx(scope.started_at)


async def test_does_not_take_a_lease_held_and_renewed_by_another() -> None:
    """The holder's timestamps are years behind our clock: only their change counts."""
    fake, scope = InMemoryLeaseClient(), Scope()
    fake.seed_holder(NAME, NS, "other")

    async def renew_with_a_skewed_clock(until: float) -> None:
        while now() < until:
            await asyncio.sleep(2)
            stamp = LONG_AGO + dt.timedelta(seconds=now())
            await fake.update(dataclasses.replace(fake.stored(NAME, NS), renew_time=stamp))

    async with running(elector(fake, "b"), scope):
        await renew_with_a_skewed_clock(until=60.0)
        assert not scope.started.is_set()
        stopped = now()
        await scope.started.wait()
    assert scope.started_at is not None
    assert stopped + 15 <= scope.started_at <= stopped + 15 + 2 * MAX_RETRY_WAIT


@pytest.mark.parametrize(
    ("seeded", "fault", "verb"),
    [
        pytest.param(False, errors.AlreadyExists("exists", status=409), "create", id="create"),
        pytest.param(True, errors.Conflict("modified", status=409), "update", id="update"),
    ],
)
async def test_conflict_during_acquire_is_retried(
    seeded: bool, fault: errors.KubeError, verb: str
) -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    if seeded:
        fake.seed_holder(NAME, NS, "", duration=1, transitions=3)  # released: free to take
    setattr(fake, f"next_{verb}_error", fault)
    async with running(elector(fake, "a"), scope):
        await scope.started.wait()
    assert scope.started_at is not None
    assert 2.0 <= scope.started_at <= MAX_RETRY_WAIT
    assert [c.verb for c in fake.calls][:4] == ["get", verb, "get", verb]
    assert fake.stored(NAME, NS).lease_transitions == (4 if seeded else 0)


async def test_renews_while_leader() -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    el = elector(fake, "a")
    async with running(el, scope):
        await asyncio.sleep(29)
        renewals = fake.writes("update")
        assert [c.at for c in renewals] == pytest.approx([2.0 * i for i in range(1, 15)])
        assert all(c.record and c.record.holder_identity == "a" for c in renewals)
        assert all(c.record and c.record.acquire_time == EPOCH for c in renewals)
        assert fake.writes("get") == fake.calls[:1]  # renewals use the cached resourceVersion
        lease = fake.stored(NAME, NS)
        assert wall(lease.renew_time) == pytest.approx(28.0)
        assert lease.lease_transitions == 0
        assert el.is_leader


@pytest.mark.parametrize("fault", ["api-errors", "api-hangs"])
async def test_leader_scope_cancelled_at_once_on_leader_loss(fault: str) -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    changes: list[tuple[float, bool]] = []
    el = elector(fake, "a", on_change=lambda s: changes.append((now(), s.is_leader)))
    task = asyncio.create_task(el.run(scope))
    await asyncio.sleep(5)  # renewed at 2 and 4
    if fault == "api-errors":
        fake.failing = errors.ServerError("etcd is down", status=500)
    else:
        fake.hanging = True
    with pytest.raises(LeadershipLost, match="no successful renewal"):
        await task
    lost_at = now()
    assert lost_at == pytest.approx(4.0 + 10.0)  # last successful renewal + renew deadline
    assert scope.cancelled_at == pytest.approx(lost_at)
    assert scope.finished_at == pytest.approx(lost_at)
    assert changes[-1][0] == pytest.approx(lost_at)
    assert changes[-1][1] is False
    assert not el.is_leader


async def test_leader_steps_down_when_another_holder_is_observed() -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    el = elector(fake, "a")
    task = asyncio.create_task(el.run(scope))
    await asyncio.sleep(5)
    fake.seed(dataclasses.replace(fake.stored(NAME, NS), holder_identity="intruder"))
    with pytest.raises(LeadershipLost, match="intruder"):
        await task
    assert now() == pytest.approx(6.0)  # the next renewal sees it
    assert scope.cancelled_at == pytest.approx(6.0)
    assert el.statistics().holder == "intruder"


async def test_cancelled_elector_releases_lease() -> None:
    fake, scope = InMemoryLeaseClient(), Scope(wind_down=20.0)  # longer than the lease
    el = elector(fake, "a")
    task = asyncio.create_task(el.run(scope))
    await asyncio.sleep(5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert scope.cancelled_at == pytest.approx(5.0)
    assert scope.finished_at == pytest.approx(25.0)
    *renewals, release = fake.writes("update")
    assert [c.at for c in renewals if c.at > 5] == pytest.approx([6.0 + 2 * i for i in range(10)])
    assert release.at >= 25.0
    lease = fake.stored(NAME, NS)
    assert (lease.holder_identity, lease.lease_duration_seconds) == ("", 1)
    assert lease.lease_transitions == 0
    assert wall(lease.acquire_time) == wall(lease.renew_time) == pytest.approx(release.at)
    assert not el.is_leader


async def test_release_is_bounded_when_api_hangs() -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    el = elector(fake, "a", request_timeout=3.0)
    task = asyncio.create_task(el.run(scope))
    await asyncio.sleep(5)
    fake.hanging = True
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert now() == pytest.approx(5.0 + 3.0)
    assert fake.calls[-1].verb == "update"
    lease = fake.stored(NAME, NS)
    assert lease.holder_identity == "a"  # the release never landed
    assert not el.is_leader


async def test_release_completes_despite_repeated_cancellation() -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    el = elector(fake, "a")
    task = asyncio.create_task(el.run(scope))
    await asyncio.sleep(5)
    fake.latency = 1.0
    task.cancel()
    await asyncio.sleep(0.5)  # the release is in flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert now() == pytest.approx(6.0)
    assert fake.stored(NAME, NS).holder_identity == ""


async def test_cancel_without_release_leaves_lease_to_expire() -> None:
    fake, scope = InMemoryLeaseClient(), Scope()
    el = elector(fake, "a", release_on_cancel=False)
    async with running(el, scope):
        await asyncio.sleep(5)
    lease = fake.stored(NAME, NS)
    assert lease.holder_identity == "a"
    assert not el.is_leader


async def test_scope_that_returns_releases_the_lease() -> None:
    fake, scope = InMemoryLeaseClient(), Scope(returns_after=3.0)
    el = elector(fake, "a")
    await el.run(scope)
    assert now() == pytest.approx(3.0)
    assert fake.stored(NAME, NS).holder_identity == ""


async def test_failing_scope_releases_the_lease_and_propagates() -> None:
    fake = InMemoryLeaseClient()

    async def crash() -> None:
        await asyncio.sleep(3)
        raise RuntimeError("planner bug")

    el = elector(fake, "a")
    with pytest.RaisesGroup(pytest.RaisesExc(RuntimeError, match="planner bug")):
        await el.run(crash)
    assert fake.stored(NAME, NS).holder_identity == ""


async def test_two_electors_one_leader_at_a_time() -> None:
    fake = InMemoryLeaseClient()
    electors: list[LeaderElector] = []
    overlaps: list[float] = []

    def check(_: LeaderElectionStatistics) -> None:
        if sum(e.is_leader for e in electors) > 1:
            overlaps.append(now())

    first, second = Scope(), Scope()
    a = elector(fake, "a", on_change=check)
    b = elector(fake, "b", on_change=check)
    electors += [a, b]
    async with running(a, first) as task_a, running(b, second):
        await first.started.wait()
        await asyncio.sleep(30)
        assert (a.is_leader, b.is_leader) == (True, False)
        assert b.statistics().holder == "a"
        assert not second.started.is_set()

        task_a.cancel()
        released = now()
        await second.started.wait()
        assert second.started_at is not None
        assert released <= second.started_at <= released + MAX_RETRY_WAIT
        assert first.finished_at is not None
        assert first.finished_at <= second.started_at
        assert (a.is_leader, b.is_leader) == (False, True)
        lease = fake.stored(NAME, NS)
        assert (lease.holder_identity, lease.lease_transitions) == ("b", 1)
    assert not overlaps


async def test_on_change_drives_master_status_gauge() -> None:
    registry = CollectorRegistry()
    metrics = LeaderElectionMetrics(registry)
    fake, scope = InMemoryLeaseClient(), Scope()

    def gauge() -> float | None:
        return registry.get_sample_value("leader_election_master_status", {"name": NAME})

    el = elector(
        fake, "a", on_change=lambda s: metrics.set_master_status(NAME, is_leader=s.is_leader)
    )
    async with running(el, scope):
        await scope.started.wait()
        assert gauge() == 1.0
    assert gauge() == 0.0
