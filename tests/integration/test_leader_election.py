"""Two replicas elect a leader on a real Lease through ``KubeLeaseClient`` (real kube-apiserver).

Real time with short timings (lease 4 s, renew deadline 3 s, retry 1 s); every wait is on a
condition with a deadline, and the only timing assertions are safety lower bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from autoscaler.kube import errors
from autoscaler.kube.client import api_client, load_configuration
from autoscaler.kube.leader import (
    LeaderElectionConfig,
    LeaderElectionStatistics,
    LeaderElector,
    LeadershipLost,
)
from autoscaler.kube.lease_client import KubeLeaseClient, LeaseClient, LeaseRecord
from tests.kube.fake_leases import Scope, running
from tests.testenv import ControlPlane, TestNamespace

pytestmark = pytest.mark.integration

NAME = "vpsie-autoscaler"
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 4.0, 3.0, 1.0
MAX_RETRY_WAIT = RETRY_PERIOD * 2.2
CONDITION_TIMEOUT = 30.0


class SeverableLeaseClient:
    """A ``LeaseClient`` that can be cut off from the API server, like a partitioned replica."""

    def __init__(self, inner: LeaseClient) -> None:
        self.inner = inner
        self.cut = False

    def _check(self) -> None:
        if self.cut:
            raise errors.Timeout("connection refused (severed by the test)")

    async def get(self, name: str, namespace: str) -> LeaseRecord | None:
        self._check()
        return await self.inner.get(name, namespace)

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        return await self.inner.create(record)

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        return await self.inner.update(record)


@contextlib.asynccontextmanager
async def lease_client(testenv: ControlPlane) -> AsyncIterator[KubeLeaseClient]:
    """A production ``KubeLeaseClient`` with its own ``ApiClient``, as a separate replica has."""
    cfg = await load_configuration(kubeconfig=testenv.admin_kubeconfig, context=None)
    async with api_client(cfg) as api:
        yield KubeLeaseClient(api, request_timeout=5.0)


class Replicas:
    """Electors sharing one Lease; records any moment when more than one believes it leads."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.electors: list[LeaderElector] = []
        self.overlaps: list[tuple[str, ...]] = []
        self._changed = asyncio.Event()

    def elector(self, client: LeaseClient, identity: str, **overrides: bool) -> LeaderElector:
        cfg = LeaderElectionConfig(
            lease_name=NAME,
            namespace=self.namespace,
            identity=identity,
            lease_duration=LEASE_DURATION,
            renew_deadline=RENEW_DEADLINE,
            retry_period=RETRY_PERIOD,
            request_timeout=2.0,
            **overrides,
        )
        el = LeaderElector(client, cfg, on_change=self._check)
        self.electors.append(el)
        return el

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait (at most ``CONDITION_TIMEOUT``) until ``predicate()`` holds after some change."""
        async with asyncio.timeout(CONDITION_TIMEOUT):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def _check(self, _: LeaderElectionStatistics) -> None:
        self._changed.set()
        leaders = tuple(e.statistics().identity for e in self.electors if e.is_leader)
        if len(leaders) > 1:
            self.overlaps.append(leaders)


async def ended(task: asyncio.Task[None]) -> asyncio.Task[None]:
    """Wait (at most ``CONDITION_TIMEOUT``) for ``task`` to finish, without cancelling it."""
    done, _ = await asyncio.wait([task], timeout=CONDITION_TIMEOUT)
    assert done, "the elector did not stop"
    return task


async def read_lease(client: LeaseClient, namespace: str) -> LeaseRecord:
    lease = await client.get(NAME, namespace)
    assert lease is not None
    return lease


def renewed_for(first: LeaseRecord, current: LeaseRecord) -> float:
    """Seconds between two renewTimes written by the same holder (its clock, not ours)."""
    assert first.renew_time is not None
    assert current.renew_time is not None
    return (current.renew_time - first.renew_time).total_seconds()


async def test_exactly_one_replica_leads(testenv: ControlPlane, kube_ns: TestNamespace) -> None:
    replicas = Replicas(kube_ns)
    scopes = {"a": Scope(), "b": Scope()}
    async with lease_client(testenv) as client_a, lease_client(testenv) as client_b:
        a = replicas.elector(client_a, "a")
        b = replicas.elector(client_b, "b")
        async with running(a, scopes["a"]), running(b, scopes["b"]):
            await replicas.wait_until(lambda: a.is_leader or b.is_leader)
            leader, follower = ("a", b) if a.is_leader else ("b", a)
            first = await read_lease(client_a, kube_ns)
            # The leader renews for three lease durations; the follower sees it and waits.
            async with asyncio.timeout(CONDITION_TIMEOUT):
                current = first
                while renewed_for(first, current) < 3 * LEASE_DURATION:
                    await asyncio.sleep(RETRY_PERIOD / 2)
                    current = await read_lease(client_a, kube_ns)
            assert (current.holder_identity, follower.statistics().holder) == (leader, leader)
            assert current.lease_transitions == first.lease_transitions
            assert not follower.is_leader
            assert sum(scope.started.is_set() for scope in scopes.values()) == 1
    assert not replicas.overlaps


async def test_follower_takes_over_when_leader_releases(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    replicas = Replicas(kube_ns)
    scope_a, scope_b = Scope(), Scope()
    async with lease_client(testenv) as client_a, lease_client(testenv) as client_b:
        a = replicas.elector(client_a, "a")
        b = replicas.elector(client_b, "b")
        async with running(a, scope_a) as task_a:
            await replicas.wait_until(lambda: a.is_leader)
            async with running(b, scope_b):
                await replicas.wait_until(lambda: b.statistics().holder == "a")
                transitions = (await read_lease(client_b, kube_ns)).lease_transitions

                task_a.cancel()  # graceful shutdown: the leader releases the Lease
                with pytest.raises(asyncio.CancelledError):
                    (await ended(task_a)).result()
                released = await read_lease(client_b, kube_ns)
                assert (released.holder_identity, released.lease_duration_seconds) in {
                    ("", 1),  # b may already have taken it:
                    ("b", int(LEASE_DURATION)),
                }
                async with asyncio.timeout(LEASE_DURATION):
                    await scope_b.started.wait()
                lease = await read_lease(client_b, kube_ns)
                assert (lease.holder_identity, lease.lease_transitions) == ("b", transitions + 1)
                assert scope_a.finished_at is not None
                assert scope_b.started_at is not None
                assert scope_a.finished_at <= scope_b.started_at
    assert not replicas.overlaps


@pytest.mark.parametrize("death", ["cancelled-without-release", "cut-off-from-api-server"])
async def test_follower_takes_over_after_dead_leader_expires(
    testenv: ControlPlane, kube_ns: TestNamespace, death: str
) -> None:
    replicas = Replicas(kube_ns)
    scope_a, scope_b = Scope(), Scope()
    async with lease_client(testenv) as kube_a, lease_client(testenv) as client_b:
        client_a = SeverableLeaseClient(kube_a)
        a = replicas.elector(client_a, "a", release_on_cancel=False)
        b = replicas.elector(client_b, "b")
        async with running(a, scope_a) as task_a:
            await replicas.wait_until(lambda: a.is_leader)
            async with running(b, scope_b):
                await replicas.wait_until(lambda: b.statistics().holder == "a")
                loop = asyncio.get_running_loop()
                died_at = loop.time()
                if death == "cancelled-without-release":
                    task_a.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        (await ended(task_a)).result()
                else:
                    client_a.cut = True
                    with pytest.raises(LeadershipLost):
                        (await ended(task_a)).result()
                assert not a.is_leader
                assert (await read_lease(client_b, kube_ns)).holder_identity == "a"  # not released

                async with asyncio.timeout(CONDITION_TIMEOUT):
                    await scope_b.started.wait()
                assert scope_b.started_at is not None
                # Safety: b waited out a full lease duration of staleness it observed itself (a's
                # last renewal was sent at most one retry period, plus a call, before it died).
                assert scope_b.started_at - died_at >= LEASE_DURATION - RETRY_PERIOD - 0.5
                assert scope_a.finished_at is not None
                assert scope_a.finished_at <= scope_b.started_at
                lease = await read_lease(client_b, kube_ns)
                assert lease.holder_identity == "b"
    assert not replicas.overlaps
