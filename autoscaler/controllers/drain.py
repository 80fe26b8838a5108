"""Draining one Node for scale-down (architecture §6; reference-behaviour §2.5).

``drain_node`` runs these steps and returns a frozen :class:`DrainResult`:

1. taint the Node ``autoscaler.vpsie.com/deletion-candidate:NoSchedule``, cordon it and
   annotate ``drain-status: running`` (``drain_marks.mark_draining``). **The caller sets the
   VPSieNode's phase to ``Draining`` first**: the garbage collector removes our taints from
   Nodes whose VPSieNode is not ``Draining`` or ``Deleting``;
2. evict every pod to move, concurrently (at most ``max_parallel_evictions`` calls at once),
   through the Eviction API with a UID precondition; DaemonSet and mirror pods are skipped.
   A refusal is retried with per-pod backoff up to the pod's eviction deadline, and each
   evicted pod is awaited until the informer store no longer has it (``drain_pods``);
3. all gone: annotate ``drain-status: complete`` and record ``ScaleDown``. The Node stays
   tainted and cordoned for the caller, who deletes the VM and the Node.

The first pod that cannot move ends the drain (``failed``: evicting the rest would only
disrupt them), and so does ``drain_timeout_s`` (``timed_out``). Either way, and when the drain
is cancelled (shutdown, lost leadership), the **cleanup** removes our taint, lifts the
cordon we set, annotates ``drain-status: failed | timeout | interrupted`` with
``drain-finished-time`` and records a Warning ``ScaleDownFailed`` on the Node. It runs in a
task of its own that the drain awaits to the end through ``asyncio.shield`` (repeated
cancellations included), under its own ``cleanup_timeout_s``; a cancelled drain then
re-raises ``CancelledError``. The VM is never deleted here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Protocol

from autoscaler.clock import Clock
from autoscaler.controllers.drain_marks import NodeWrites, mark_drained, mark_draining, restore_node
from autoscaler.controllers.drain_pods import (
    DrainSettings,
    EvictPod,
    PodDrainResult,
    PodEvictor,
    PodFailed,
    PodLookup,
    PodOutcome,
)
from autoscaler.controllers.keys import Reason
from autoscaler.core.records import PodRecord
from autoscaler.kube import errors
from autoscaler.kube.events import EventType, ObjectRef

__all__ = [
    "DrainOutcome",
    "DrainResult",
    "DrainSettings",
    "EventSink",
    "EvictPod",
    "PodDrainResult",
    "PodLookup",
    "PodOutcome",
    "drain_node",
    "run_shielded",
]

log = logging.getLogger(__name__)


class DrainOutcome(enum.Enum):
    """How a drain ended (a cancelled drain raises ``CancelledError`` instead)."""

    DRAINED = "drained"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


_STATUS = {DrainOutcome.FAILED: "failed", DrainOutcome.TIMED_OUT: "timeout"}
INTERRUPTED = "interrupted"


@dataclasses.dataclass(frozen=True, slots=True)
class DrainResult:
    """The end of one Node's drain: outcome, per-pod results, durations (seconds)."""

    node: str
    outcome: DrainOutcome
    pods: tuple[PodDrainResult, ...]
    duration_s: float
    message: str = ""
    restored: bool = False
    """Whether the cleanup restored the Node (failed and timed-out drains)."""


class EventSink(Protocol):
    """Records Events (``kube.events.EventRecorder``)."""

    async def record(self, ref: ObjectRef, *, type: EventType, reason: str, message: str) -> None:
        """Write one Event; never raises a Kubernetes error."""


async def run_shielded(coro: Coroutine[Any, Any, None], *, deadline_s: float) -> bool:
    """Run ``coro`` to its end within ``deadline_s`` even if the caller is cancelled meanwhile.

    The work runs in its own task, awaited here through ``asyncio.shield`` until it is done,
    however often the caller is cancelled; cancellations that arrive meanwhile are re-raised
    once it is done. Returns whether it finished in time without an error (errors are logged).
    """

    async def bounded() -> None:
        async with asyncio.timeout(deadline_s):
            await coro

    task = asyncio.ensure_future(bounded())  # owned: awaited to the end below
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:  # the task's error is reported below
            break
    ok = not task.cancelled() and task.exception() is None
    if not ok:
        err = None if task.cancelled() else task.exception()
        log.error("drain cleanup did not finish", extra={"error": repr(err)})
    if cancelled:
        raise asyncio.CancelledError
    return ok


@dataclasses.dataclass
class _Drain:
    node: str
    evict: EvictPod
    lookup: PodLookup
    nodes: NodeWrites
    events: EventSink
    clock: Clock
    settings: DrainSettings
    started: float = 0.0
    uid: str = ""

    def _ref(self) -> ObjectRef:
        return ObjectRef("v1", "Node", self.node, "", self.uid)

    async def _event(self, reason: Reason, message: str, *, warning: bool) -> None:
        kind = EventType.WARNING if warning else EventType.NORMAL
        await self.events.record(self._ref(), type=kind, reason=reason, message=message)

    async def cleanup(self, status: str, message: str) -> None:
        """Restore the Node and record ``ScaleDownFailed`` (run shielded)."""
        who = await restore_node(self.nodes, self.node, status=status, now=self.clock.now())
        self.uid = who.uid if who is not None else self.uid
        text = f"drain {status}: {message}; node untainted and uncordoned"
        await self._event(Reason.SCALE_DOWN_FAILED, text, warning=True)

    async def _move(self, evictor: PodEvictor, pods: list[PodRecord]) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                for pod in pods:
                    tg.create_task(evictor.run(pod))
        except* PodFailed as group:
            raise PodFailed(str(group.exceptions[0])) from None

    async def run(self, pods: Sequence[PodRecord]) -> DrainResult:
        s = self.settings
        self.started = self.clock.monotonic()
        evictor = PodEvictor(
            evict=self.evict, lookup=self.lookup, clock=self.clock, settings=s, started=self.started
        )
        moving = []
        for pod in pods:
            if pod.is_daemonset or pod.is_mirror:
                evictor.results[pod.key] = PodDrainResult(pod.key, pod.uid, PodOutcome.SKIPPED)
            else:
                moving.append(pod)
        outcome, message = DrainOutcome.DRAINED, f"{len(moving)} pod(s) evicted"
        try:
            self.uid = (await mark_draining(self.nodes, self.node, now=self.clock.now())).uid
            async with asyncio.timeout(s.drain_timeout_s):
                await self._move(evictor, moving)
            await self._finish(message)
        except TimeoutError:
            outcome, message = DrainOutcome.TIMED_OUT, f"not drained within {s.drain_timeout_s:g}s"
        except PodFailed as err:
            outcome, message = DrainOutcome.FAILED, str(err)
        except errors.KubeError as err:
            outcome, message = DrainOutcome.FAILED, f"marking node {self.node}: {err}"
        except asyncio.CancelledError:
            text = "the drain was cancelled (shutdown or lost leadership)"
            await run_shielded(self.cleanup(INTERRUPTED, text), deadline_s=s.cleanup_timeout_s)
            raise
        except BaseException:
            text = "the drain crashed"
            await run_shielded(self.cleanup("failed", text), deadline_s=s.cleanup_timeout_s)
            raise
        restored = False
        if outcome is not DrainOutcome.DRAINED:
            restored = await run_shielded(
                self.cleanup(_STATUS[outcome], message), deadline_s=s.cleanup_timeout_s
            )
        results = tuple(
            evictor.results.get(p.key) or PodDrainResult(p.key, p.uid, PodOutcome.UNFINISHED)
            for p in pods
        )
        duration = self.clock.monotonic() - self.started
        return DrainResult(self.node, outcome, results, duration, message, restored)

    async def _finish(self, message: str) -> None:
        """Annotate ``complete`` and record ``ScaleDown`` (a failed write is only logged)."""
        try:
            await mark_drained(self.nodes, self.node, now=self.clock.now())
        except errors.KubeError as err:
            log.warning(
                "cannot annotate drained node", extra={"node": self.node, "error": str(err)}
            )
        await self._event(Reason.SCALE_DOWN, f"drained: {message}", warning=False)


async def drain_node(
    node: str,
    *,
    pods: Iterable[PodRecord],
    evict: EvictPod,
    lookup: PodLookup,
    nodes: NodeWrites,
    events: EventSink,
    clock: Clock,
    settings: DrainSettings,
) -> DrainResult:
    """Drain ``node``: taint, cordon, evict ``pods``, wait until they are gone (module doc).

    ``lookup`` is the pod store's ``get``. Returns the result of a drained, failed or
    timed-out drain (the last two with the Node restored); re-raises ``CancelledError`` after
    the shielded cleanup when cancelled. A failed ``complete`` annotation is only logged.
    """
    drain = _Drain(node, evict, lookup, nodes, events, clock, settings)
    return await drain.run(list(pods))
