"""Moving one pod off a draining Node: evict with backoff, then wait until it is gone.

``PodEvictor.run(pod)`` evicts through the injected Eviction function with the pod's grace
period capped at ``max_graceful_termination_s``. A refusal (PDB 429, or a transient API
error) is retried with per-pod exponential backoff from ``backoff_base_s`` to
``backoff_max_s`` (karpenter: 100 ms to 10 s) until ``pod_eviction_timeout_s`` after the
first attempt (Cluster Autoscaler's ``--max-pod-eviction-time``: 2 min); a terminal API
error fails the pod at once. After the eviction is accepted the pod is watched in the
informer store until it is gone (no pod, or another UID, under its key), for at most its
capped grace period plus ``termination_headroom_s``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections.abc import Awaitable, Callable
from typing import Protocol

from autoscaler.clock import Clock
from autoscaler.core.records import PodRecord
from autoscaler.kube import errors
from autoscaler.kube.eviction import EvictionResult, EvictionStatus


@dataclasses.dataclass(frozen=True, slots=True)
class DrainSettings:
    """Limits of one Node's drain (defaults follow Cluster Autoscaler and karpenter)."""

    max_graceful_termination_s: int = 600
    pod_eviction_timeout_s: float = 120.0
    drain_timeout_s: float = 600.0
    backoff_base_s: float = 0.1
    backoff_max_s: float = 10.0
    termination_headroom_s: float = 30.0
    poll_interval_s: float = 1.0
    """How often the store is read while waiting for evicted pods to go."""
    max_parallel_evictions: int = 10
    cleanup_timeout_s: float = 30.0
    """Deadline of the shielded cleanup after a failure, timeout or interruption."""


class PodOutcome(enum.Enum):
    """What happened to one pod of the drain."""

    EVICTED = "evicted"
    """Evicted and gone from the Node."""
    GONE = "gone"
    """Already gone when evicted (404, or another UID)."""
    SKIPPED = "skipped"
    """Not moved: a DaemonSet or mirror pod."""
    BLOCKED = "blocked"
    """Still refused at its eviction deadline (PDB), or a terminal API error."""
    NOT_TERMINATED = "not-terminated"
    """Evicted, but still there after its grace period plus headroom."""
    UNFINISHED = "unfinished"
    """The drain ended (another pod failed, or the drain timed out) before this pod did."""


@dataclasses.dataclass(frozen=True, slots=True)
class PodDrainResult:
    """One pod's part in the drain; times are seconds since the drain started."""

    key: str
    uid: str
    outcome: PodOutcome
    attempts: int = 0
    evicted_at_s: float | None = None
    gone_at_s: float | None = None
    message: str = ""

    @property
    def moved(self) -> bool:
        """Whether the pod no longer holds the Node."""
        return self.outcome in (PodOutcome.EVICTED, PodOutcome.GONE, PodOutcome.SKIPPED)


class EvictPod(Protocol):
    """Evicts one pod (``kube.eviction.evict`` with the client and deadline bound)."""

    def __call__(self, pod: PodRecord, *, grace_seconds: int | None) -> Awaitable[EvictionResult]:
        """Post the eviction and classify the answer."""


PodLookup = Callable[[str], PodRecord | None]
"""The pod informer store's ``get``: the cached pod under a ``namespace/name`` key."""


class PodFailed(Exception):
    """A pod cannot be moved; its result says why (ends the drain's other pod tasks)."""


class PodEvictor:
    """Evicts pods of one drain and records each one's :class:`PodDrainResult`."""

    def __init__(
        self,
        *,
        evict: EvictPod,
        lookup: PodLookup,
        clock: Clock,
        settings: DrainSettings,
        started: float,
    ) -> None:
        self._evict = evict
        self._lookup = lookup
        self._clock = clock
        self._settings = settings
        self._started = started
        self._slots = asyncio.Semaphore(settings.max_parallel_evictions)
        self.results: dict[str, PodDrainResult] = {}

    def _since(self) -> float:
        return self._clock.monotonic() - self._started

    def _finish(
        self,
        pod: PodRecord,
        outcome: PodOutcome,
        attempts: int,
        *,
        evicted_at_s: float | None = None,
        gone_at_s: float | None = None,
        message: str = "",
    ) -> None:
        result = PodDrainResult(
            pod.key, pod.uid, outcome, attempts, evicted_at_s, gone_at_s, message
        )
        self.results[pod.key] = result
        if not result.moved:
            raise PodFailed(result.message)

    async def run(self, pod: PodRecord) -> None:
        """Evict ``pod`` and wait until it is gone; raise ``PodFailed`` if it cannot go."""
        s = self._settings
        grace = min(max(pod.termination_grace_seconds, 0), s.max_graceful_termination_s)
        deadline = self._clock.monotonic() + s.pod_eviction_timeout_s
        attempts = 0
        while True:
            attempts += 1
            try:
                async with self._slots:
                    answer = await self._evict(pod, grace_seconds=grace)
            except errors.KubeError as err:
                if not err.retryable:
                    msg = f"evicting pod {pod.key}: {err}"
                    return self._finish(pod, PodOutcome.BLOCKED, attempts, message=msg)
                answer = EvictionResult(EvictionStatus.BLOCKED, str(err))
            if answer.status is EvictionStatus.GONE:
                return self._finish(pod, PodOutcome.GONE, attempts, gone_at_s=self._since())
            if answer.status is EvictionStatus.EVICTED:
                break
            left = deadline - self._clock.monotonic()
            if left <= 0:
                msg = f"pod {pod.key} not evicted within {s.pod_eviction_timeout_s:g}s: "
                return self._finish(pod, PodOutcome.BLOCKED, attempts, message=msg + answer.message)
            delay = min(s.backoff_base_s * 2 ** min(attempts - 1, 32), s.backoff_max_s)
            delay = max(delay, min(answer.retry_after or 0.0, s.backoff_max_s))
            await asyncio.sleep(min(delay, left))
        evicted = self._since()
        within = grace + s.termination_headroom_s
        if await self._wait_gone(pod, within=within):
            gone = self._since()
            return self._finish(
                pod, PodOutcome.EVICTED, attempts, evicted_at_s=evicted, gone_at_s=gone
            )
        msg = f"pod {pod.key} still there {within:g}s after its eviction"
        return self._finish(
            pod, PodOutcome.NOT_TERMINATED, attempts, evicted_at_s=evicted, message=msg
        )

    def is_gone(self, pod: PodRecord) -> bool:
        """Whether the store no longer has this pod (same key, same UID)."""
        cached = self._lookup(pod.key)
        return cached is None or cached.uid != pod.uid

    async def _wait_gone(self, pod: PodRecord, *, within: float) -> bool:
        """Poll the store until the pod is gone; ``False`` after ``within`` seconds."""
        deadline = self._clock.monotonic() + within
        while not self.is_gone(pod):
            left = deadline - self._clock.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(self._settings.poll_interval_s, left))
        return True
