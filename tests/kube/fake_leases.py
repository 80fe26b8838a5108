"""Leader-election test helpers: an in-memory ``LeaseClient``, a recording leader scope, a clock.

``InMemoryLeaseClient`` records every call and honours resourceVersion like the API server.

A stale ``resource_version`` on update fails with ``errors.Conflict``, an existing name on create
with ``errors.AlreadyExists``. Faults are injected karpenter-style: ``next_*_error`` fails the
next call of that verb once, ``failing`` fails every call while set, ``hanging`` makes every call
wait forever (until cancelled); ``latency`` delays every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

from autoscaler.kube import errors
from autoscaler.kube.leader import LeaderElector, LeadershipLost
from autoscaler.kube.lease_client import LeaseRecord

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def wall(moment: dt.datetime | None) -> float:
    """Seconds of ``LoopWallClock`` wall time since EPOCH, i.e. the loop time it was taken at."""
    assert moment is not None
    return (moment - EPOCH).total_seconds()


class LoopWallClock:
    """The running loop's (virtual) clock, with wall time that moves along with it."""

    def __init__(self, wall: dt.datetime = EPOCH) -> None:
        self._wall = wall

    def monotonic(self) -> float:
        """Return ``loop.time()``."""
        return asyncio.get_running_loop().time()

    def now(self) -> dt.datetime:
        """Return ``wall`` plus the loop time."""
        return self._wall + dt.timedelta(seconds=self.monotonic())


@dataclasses.dataclass(frozen=True)
class LeaseCall:
    """One call: its verb, the loop time it started, and what it sent (``None`` for get)."""

    verb: str
    at: float
    record: LeaseRecord | None = None


class InMemoryLeaseClient:
    """A recording fake of the Lease API with optimistic concurrency."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], LeaseRecord] = {}
        self.calls: list[LeaseCall] = []
        self.next_get_error: errors.KubeError | None = None
        self.next_create_error: errors.KubeError | None = None
        self.next_update_error: errors.KubeError | None = None
        self.failing: errors.KubeError | None = None
        self.hanging = False
        self.latency = 0.0
        self._rv = 0

    def reset(self) -> None:
        """Forget calls and injected faults (the stored Leases stay)."""
        self.calls.clear()
        self.next_get_error = self.next_create_error = self.next_update_error = None
        self.failing = None
        self.hanging = False
        self.latency = 0.0

    def seed(self, record: LeaseRecord) -> LeaseRecord:
        """Store ``record`` as if someone else had written it; return it with its new RV."""
        return self._store(record)

    def seed_holder(
        self, name: str, namespace: str, holder: str, *, duration: int = 15, transitions: int = 3
    ) -> LeaseRecord:
        """Store a Lease held by ``holder`` whose timestamps are years old (by any clock)."""
        return self.seed(
            LeaseRecord(
                name=name,
                namespace=namespace,
                holder_identity=holder,
                lease_duration_seconds=duration,
                acquire_time=LONG_AGO,
                renew_time=LONG_AGO,
                lease_transitions=transitions,
            )
        )

    def lease(self, name: str, namespace: str) -> LeaseRecord | None:
        """The stored Lease, read without recording a call."""
        return self.leases.get((namespace, name))

    def stored(self, name: str, namespace: str) -> LeaseRecord:
        """The stored Lease, which must exist."""
        lease = self.leases.get((namespace, name))
        assert lease is not None, f"no lease {namespace}/{name}"
        return lease

    def writes(self, verb: str = "update") -> list[LeaseCall]:
        """The recorded calls of one verb."""
        return [c for c in self.calls if c.verb == verb]

    async def get(self, name: str, namespace: str) -> LeaseRecord | None:
        """Return the stored Lease or ``None``."""
        await self._enter("get", None)
        if err := self._take("next_get_error"):
            raise err
        return self.leases.get((namespace, name))

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Store a new Lease; ``AlreadyExists`` if the name is taken."""
        await self._enter("create", record)
        if err := self._take("next_create_error"):
            raise err
        if (record.namespace, record.name) in self.leases:
            raise errors.AlreadyExists(f"lease {record.name} exists", status=409)
        return self._store(record)

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace a Lease if ``record.resource_version`` is current; else ``Conflict``."""
        await self._enter("update", record)
        if err := self._take("next_update_error"):
            raise err
        current = self.leases.get((record.namespace, record.name))
        if current is None:
            raise errors.NotFound(f"lease {record.name} not found", status=404)
        if not record.resource_version:
            raise errors.Invalid("resourceVersion must be specified", status=422)
        if record.resource_version != current.resource_version:
            raise errors.Conflict(f"lease {record.name} was modified", status=409)
        return self._store(record)

    async def _enter(self, verb: str, record: LeaseRecord | None) -> None:
        self.calls.append(LeaseCall(verb, asyncio.get_running_loop().time(), record))
        await asyncio.sleep(self.latency)  # a real call yields to the loop, at least
        if self.hanging:
            await asyncio.Future()  # never resolves; only cancellation ends it
        if self.failing is not None:
            raise self.failing

    def _take(self, attr: str) -> errors.KubeError | None:
        err: errors.KubeError | None = getattr(self, attr)
        setattr(self, attr, None)
        return err

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self._rv += 1
        stored = dataclasses.replace(record, resource_version=str(self._rv))
        self.leases[(record.namespace, record.name)] = stored
        return stored


class Scope:
    """A leader scope that records (loop time) when it started, was cancelled and finished."""

    def __init__(self, *, wind_down: float = 0.0, returns_after: float | None = None) -> None:
        self.wind_down = wind_down
        self.returns_after = returns_after
        self.started = asyncio.Event()
        self.started_at: float | None = None
        self.cancelled_at: float | None = None
        self.finished_at: float | None = None

    async def __call__(self) -> None:
        loop = asyncio.get_running_loop()
        self.started_at = loop.time()
        self.started.set()
        try:
            if self.returns_after is not None:
                await asyncio.sleep(self.returns_after)
                return
            await asyncio.Future()
        except asyncio.CancelledError:
            self.cancelled_at = loop.time()
            await asyncio.sleep(self.wind_down)  # a cleanup that still acts after the cancel
            raise
        finally:
            self.finished_at = loop.time()


@contextlib.asynccontextmanager
async def running(elector: LeaderElector, scope: Scope) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``elector.run(scope)`` as a task; cancel it and wait for it on exit."""
    task = asyncio.create_task(elector.run(scope))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, LeadershipLost):
            await task
