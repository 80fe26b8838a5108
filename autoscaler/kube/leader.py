"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's semantics.

Ported from client-go ``tools/leaderelection`` (``LeaderElector``, ``tryAcquireOrRenew``).
Remote timestamps are never compared with our clock: a candidate remembers the record it last
observed and *our* monotonic time when that record last changed, and treats the lease as
expired only after ``leaseDurationSeconds`` of that observed staleness. A leader renews every
retry period and gives up when no renewal has succeeded for the renew deadline, or at once when
it sees another holder. ``run`` keeps the leader scope in a ``TaskGroup`` with the renewal loop:
losing the lease cancels the scope at once and raises ``LeadershipLost``; cancelling ``run``
cancels the scope, keeps renewing until it has finished, then releases the lease (client-go's
``ReleaseOnCancel``) under its own deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

from autoscaler.clock import Clock, LoopClock
from autoscaler.kube import errors
from autoscaler.kube.lease_client import LeaseClient, LeaseRecord

logger = logging.getLogger(__name__)

JITTER_FACTOR = 1.2
"""client-go's ``JitterFactor``: a candidate waits 1 to 2.2 retry periods between attempts."""

_T = TypeVar("_T")


class LeadershipLost(Exception):
    """This replica stopped being the leader; its leader scope has been cancelled."""


def default_identity(base: str | None = None) -> str:
    """Return ``<pod name or hostname>_<random suffix>``, unique per process."""
    name = base or os.environ.get("POD_NAME") or socket.gethostname()
    return f"{name}_{secrets.token_hex(4)}"


@dataclasses.dataclass(frozen=True, slots=True)
class LeaderElectionConfig:
    """Where the Lease lives, who we are, and client-go's timing (seconds)."""

    lease_name: str
    namespace: str
    identity: str = dataclasses.field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    request_timeout: float = 5.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not (self.lease_name and self.namespace and self.identity):
            raise ValueError("lease_name, namespace and identity must not be empty")
        if min(self.retry_period, self.request_timeout) <= 0:
            raise ValueError("retry_period and request_timeout must be greater than zero")
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError("renew_deadline must be greater than retry_period * 1.2")

    @property
    def lease_duration_seconds(self) -> int:
        """The whole seconds written to the Lease (rounded up, so never shorter than ours)."""
        return math.ceil(self.lease_duration)


@dataclasses.dataclass(frozen=True, slots=True)
class LeaderElectionStatistics:
    """A snapshot of the elector: who we are and what we last saw on the Lease."""

    lease: str
    identity: str
    is_leader: bool
    holder: str
    transitions: int


class LeaderElector:
    """Campaigns for a Lease and runs a leader scope while holding it (one ``run`` at a time)."""

    def __init__(
        self,
        client: LeaseClient,
        config: LeaderElectionConfig,
        *,
        clock: Clock | None = None,
        on_change: Callable[[LeaderElectionStatistics], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock or LoopClock()
        self._on_change = on_change
        self._rng = rng or random.Random()
        self._is_leader = False
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0  # our monotonic time when the observed record last changed
        self._renewed_at = 0.0  # our monotonic time when the last successful write was sent

    @property
    def is_leader(self) -> bool:
        """Whether this replica holds the Lease and its leader scope may act."""
        return self._is_leader

    def statistics(self) -> LeaderElectionStatistics:
        """Return an immutable snapshot of the election state."""
        observed = self._observed
        return LeaderElectionStatistics(
            lease=self._lease,
            identity=self._config.identity,
            is_leader=self._is_leader,
            holder=observed.holder_identity if observed else "",
            transitions=observed.lease_transitions if observed else 0,
        )

    async def run(self, leader_scope: Callable[[], Awaitable[None]]) -> None:
        """Acquire the Lease, then run ``leader_scope()`` while renewing it.

        Raises ``LeadershipLost`` (after cancelling the scope) when the Lease is lost. When
        cancelled, or when the scope returns or fails, the Lease is released once the scope has
        finished (unless ``release_on_cancel`` is off) and the outcome propagates.
        """
        await self._acquire()
        try:
            await self._lead(leader_scope)
        except BaseExceptionGroup as group:
            lost, rest = group.split(LeadershipLost)
            if lost is None:
                await _shielded(self._stop_leading())
                raise
            raise _first_leaf(lost) from rest
        except asyncio.CancelledError:
            await _shielded(self._stop_leading())
            raise
        await _shielded(self._stop_leading())

    async def _lead(self, leader_scope: Callable[[], Awaitable[None]]) -> None:
        name = self._config.lease_name
        async with asyncio.TaskGroup() as tg:
            renewing = tg.create_task(self._keep_renewing(), name=f"leader-renew:{name}")
            scope = tg.create_task(_await(leader_scope()), name=f"leader-scope:{name}")
            try:
                await asyncio.wait([scope])
            finally:
                # Stop the scope first and keep renewing while it winds down: it may still act.
                scope.cancel()
                try:
                    await asyncio.wait([scope])
                finally:
                    renewing.cancel()

    async def _acquire(self) -> None:
        cfg = self._config
        logger.info("attempting to acquire leader lease %s/%s", cfg.namespace, cfg.lease_name)
        while not await self._try_acquire_or_renew(deadline=None):
            jittered = cfg.retry_period * (1 + self._rng.random() * JITTER_FACTOR)
            await asyncio.sleep(jittered)
        logger.info("successfully acquired lease %s/%s", cfg.namespace, cfg.lease_name)

    async def _keep_renewing(self) -> None:
        cfg = self._config
        while True:
            await asyncio.sleep(cfg.retry_period)
            deadline = self._renewed_at + cfg.renew_deadline
            while not await self._try_acquire_or_renew(deadline=deadline):
                holder = self._observed.holder_identity if self._observed else ""
                if holder != cfg.identity:
                    self._lose(f"lease taken by {holder!r}")
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    self._lose(f"no successful renewal for {cfg.renew_deadline}s")
                await asyncio.sleep(min(cfg.retry_period, remaining))

    async def _try_acquire_or_renew(self, *, deadline: float | None) -> bool:
        cfg, now = self._config, self._clock.now()
        try:
            mine = self._observed if self._is_leader else None
            if mine is not None and mine.holder_identity == cfg.identity:  # fast path: cached RV
                try:
                    renewal = dataclasses.replace(mine, renew_time=now)
                    await self._write(self._client.update(renewal), deadline=deadline)
                    return True
                except errors.Conflict:
                    logger.info("lease renewal conflicted; re-reading %s", self._lease)
            current = await self._call(self._client.get(cfg.lease_name, cfg.namespace), deadline)
            if current is None:
                record = LeaseRecord(
                    name=cfg.lease_name,
                    namespace=cfg.namespace,
                    holder_identity=cfg.identity,
                    lease_duration_seconds=cfg.lease_duration_seconds,
                    acquire_time=now,
                    renew_time=now,
                )
                await self._write(self._client.create(record), deadline=deadline)
                return True
            self._record(current)
            held_by_us = current.holder_identity == cfg.identity
            if current.holder_identity and not held_by_us and not self._observed_expired():
                return False
            record = dataclasses.replace(
                current,
                holder_identity=cfg.identity,
                lease_duration_seconds=cfg.lease_duration_seconds,
                acquire_time=current.acquire_time if held_by_us else now,
                renew_time=now,
                lease_transitions=current.lease_transitions + (0 if held_by_us else 1),
            )
            await self._write(self._client.update(record), deadline=deadline)
            return True
        except (errors.Conflict, errors.AlreadyExists) as err:
            logger.info("lost a race for lease %s: %s", self._lease, err)
        except (errors.KubeError, TimeoutError) as err:
            logger.warning("failed to acquire or renew lease %s: %r", self._lease, err)
        return False

    async def _write(
        self, call: Coroutine[Any, Any, LeaseRecord], *, deadline: float | None
    ) -> None:
        started = self._clock.monotonic()
        written = await self._call(call, deadline)
        self._renewed_at = started
        self._record(written, leader=True)

    async def _call(self, call: Coroutine[Any, Any, _T], deadline: float | None) -> _T:
        """Await one API call under its own deadline, bounded by what is left of ``deadline``."""
        budget = self._config.request_timeout
        if deadline is not None:
            budget = min(budget, deadline - self._clock.monotonic())
        async with asyncio.timeout(budget):
            return await call

    def _record(self, observed: LeaseRecord | None = None, *, leader: bool | None = None) -> None:
        """Update what we observed and whether we lead; report a visible change once."""
        before = self.statistics()
        if observed is not None:
            previous, self._observed = self._observed, observed
            if previous is None or _spec(previous) != _spec(observed):
                self._observed_at = self._clock.monotonic()
        if leader is not None:
            self._is_leader = leader
        after = self.statistics()
        if after != before:
            logger.info(
                "lease %s: holder %r, leader %s, transitions %d",
                after.lease,
                after.holder,
                after.is_leader,
                after.transitions,
            )
            if self._on_change is not None:
                self._on_change(after)

    def _observed_expired(self) -> bool:
        assert self._observed is not None
        duration = self._observed.lease_duration_seconds or self._config.lease_duration_seconds
        return self._observed_at + duration <= self._clock.monotonic()

    def _lose(self, reason: str) -> NoReturn:
        self._record(leader=False)
        logger.error("leadership lost on %s: %s", self._lease, reason)
        raise LeadershipLost(reason)

    async def _stop_leading(self) -> None:
        try:
            if self._is_leader and self._config.release_on_cancel:
                await self._release()
        finally:
            self._record(leader=False)

    async def _release(self) -> None:
        """Give the Lease up as client-go does: no holder, 1 s duration, times set to now."""
        assert self._observed is not None
        now, mine = self._clock.now(), self._observed
        try:
            async with asyncio.timeout(self._config.request_timeout):
                try:
                    released = await self._client.update(_released(mine, now))
                except errors.Conflict:  # a renewal that timed out may have landed after all
                    current = await self._client.get(mine.name, mine.namespace)
                    if current is None or current.holder_identity != self._config.identity:
                        return
                    released = await self._client.update(_released(current, now))
        except (errors.KubeError, TimeoutError) as err:
            logger.warning("failed to release lease %s: %r", self._lease, err)
            return
        self._record(released, leader=False)

    @property
    def _lease(self) -> str:
        return f"{self._config.namespace}/{self._config.lease_name}"


def _released(record: LeaseRecord, now: dt.datetime) -> LeaseRecord:
    return dataclasses.replace(
        record, holder_identity="", lease_duration_seconds=1, acquire_time=now, renew_time=now
    )


def _spec(record: LeaseRecord) -> LeaseRecord:
    return dataclasses.replace(record, resource_version="")


async def _await(awaitable: Awaitable[None]) -> None:
    await awaitable


async def _shielded(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to the end even if we are cancelled meanwhile; re-raise that afterwards."""
    task = asyncio.create_task(coro)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            cancelled = exc
    task.result()
    if cancelled is not None:
        raise cancelled


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
