"""The drain worker pool: N workers over a node-keyed, rate-limited work queue.

``submit`` hands over a claimed node (its VPSieNode is ``Draining``); the queue holds each
node at most once and never gives one key to two workers, so no node is drained twice.
A worker runs ``drain_node`` and then:

* drained → ``arrivals`` (a fresh pod list): none → the VPSieNode is deleted (its finalizer
  deletes the worker and the Node); some → the Node is restored, the removal is counted
  as ``pods_arrived``;
* failed or timed out → the drain's own cleanup restored the Node;
* cancelled (shutdown, lost leadership) → the drain's cleanup restores the Node and the
  VPSieNode goes back to ``Ready``, both shielded with their own deadline.

Every end but a removal puts the VPSieNode back to ``Ready`` and tells ``on_failed`` (the
controller backs the node off). A drain before a deletion someone else asked for
(``DrainJob.deleting``) neither removes nor releases anything: once drained it tells
``on_deletion_drained`` (the VPSieNode's finalizer goes on); a failed one is backed off.
Metrics: drains in progress, drain duration by outcome, evicted pods by result, nodes
removed by reason, failures by reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from autoscaler.controllers.context import Context, nodegroup_ref
from autoscaler.controllers.drain import DrainOutcome, DrainResult, drain_node, run_shielded
from autoscaler.controllers.drain_pods import DrainSettings, EvictPod, PodOutcome
from autoscaler.controllers.keys import Reason
from autoscaler.controllers.scale_down_removal import DrainJob, arrivals, release, remove, restore
from autoscaler.core.records import object_key
from autoscaler.kube import errors
from autoscaler.kube.reconciler import run_workers
from autoscaler.kube.workqueue import WorkQueue
from autoscaler.observability.controller_metrics import ControllerMetrics
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics

__all__ = ["DrainPool"]

log = logging.getLogger(__name__)

_FAILURE = {DrainOutcome.FAILED: "failed", DrainOutcome.TIMED_OUT: "timeout"}


class DrainPool:
    """Drains claimed nodes with ``workers`` workers; see the module docstring."""

    def __init__(
        self,
        ctx: Context,
        *,
        queue: WorkQueue,
        evict: EvictPod,
        settings: DrainSettings,
        workers: int,
        metrics: ScaleDownMetrics,
        worker_metrics: ControllerMetrics,
        on_removed: Callable[[DrainJob], None],
        on_failed: Callable[[DrainJob, str], None],
        on_deletion_drained: Callable[[DrainJob], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._queue = queue
        self._evict = evict
        self._settings = settings
        self._workers = workers
        self._metrics = metrics
        self._worker_metrics = worker_metrics
        self._on_removed = on_removed
        self._on_failed = on_failed
        self._on_deletion_drained = on_deletion_drained
        self._jobs: dict[str, DrainJob] = {}
        self._finished: dict[str, str] = {}

    @property
    def finished(self) -> frozenset[str]:
        """UIDs of VPSieNodes whose drain ended here and that the cache may still show
        ``Draining`` (forgotten once it shows them otherwise: ``settle``)."""
        return frozenset(self._finished)

    def settle(self, draining: set[str]) -> None:
        """Forget finished VPSieNodes the cache no longer shows ``Draining`` (UIDs given)."""
        self._finished = {u: n for u, n in self._finished.items() if u in draining}

    @property
    def active(self) -> frozenset[str]:
        """Nodes handed over and not finished (queued or draining)."""
        return frozenset(self._jobs)

    @property
    def draining(self) -> int:
        """Jobs with pods to move (they use ``max_drain_parallelism``)."""
        return sum(1 for j in self._jobs.values() if not j.empty)

    def submit(self, job: DrainJob) -> None:
        """Queue a claimed node for its drain."""
        self._jobs[job.node] = job
        self._queue.add(job.node)

    async def run(self) -> None:
        """Run the queue and its workers until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._queue.run(), name="drain-queue")
                tg.create_task(
                    run_workers(
                        self._queue,
                        self.drain,
                        workers=self._workers,
                        name="drain",
                        metrics=self._worker_metrics,
                    ),
                    name="drain-workers",
                )
        finally:
            self._queue.shut_down()

    async def drain(self, node: str) -> None:
        """Drain the job of ``node`` to its end (a worker's reconcile function)."""
        job = self._jobs.get(node)
        if job is None:
            return
        try:
            await self._execute(job)
        finally:
            self._jobs.pop(node, None)
            self._finished[job.uid] = job.node

    async def _execute(self, job: DrainJob) -> None:
        ctx, m = self._ctx, self._metrics
        m.drains.inc()
        try:
            result = await drain_node(
                job.node,
                pods=job.pods,
                evict=self._evict,
                lookup=ctx.caches.pods.get,
                nodes=ctx.objects,
                events=ctx.events,
                clock=ctx.clock,
                settings=self._settings,
            )
        except asyncio.CancelledError:
            m.failed.labels(job.group, "interrupted").inc()
            await run_shielded(release(ctx, job), deadline_s=self._settings.cleanup_timeout_s)
            raise
        finally:
            m.drains.dec()
        self._observe(result)
        if job.deleting:
            await self._deletion_drained(job, result)
            return
        if result.outcome is not DrainOutcome.DRAINED:
            await self._fail(job, _FAILURE[result.outcome], result.message)
            return
        try:
            left = await arrivals(ctx, job.node)
        except errors.KubeError as err:
            await restore(ctx, job.node, status="failed", message=f"cannot list its pods: {err}")
            await self._fail(job, "failed", str(err))
            return
        if left:
            shown = ", ".join(left[:5]) + (" ..." if len(left) > 5 else "")
            text = f"{len(left)} pod(s) arrived after the plan and would be lost: {shown}"
            await restore(ctx, job.node, status="failed", message=text)
            await self._fail(job, "pods_arrived", text)
            return
        await remove(ctx, job)
        m.scaled_down.labels(job.group, job.reason).inc()
        group = ctx.caches.nodegroups.get(object_key(job.namespace, job.group))
        if group is not None:
            text = f"node {job.node} removed ({job.reason}, {len(job.pods)} pod(s) moved)"
            await ctx.event(nodegroup_ref(group), Reason.SCALED_DOWN_GROUP, text)
        log.info(
            "node removed by scale-down",
            extra={"node": job.node, "nodegroup": job.group, "reason": job.reason},
        )
        self._on_removed(job)

    async def _deletion_drained(self, job: DrainJob, result: DrainResult) -> None:
        if result.outcome is DrainOutcome.DRAINED:
            log.info("node drained before its deletion", extra={"node": job.node})
            if self._on_deletion_drained is not None:
                self._on_deletion_drained(job)
            return
        reason = _FAILURE[result.outcome]
        self._metrics.failed.labels(job.group, reason).inc()
        self._on_failed(job, reason)

    def _observe(self, result: DrainResult) -> None:
        self._metrics.drain_duration.labels(result.outcome.value).observe(result.duration_s)
        for pod in result.pods:
            if pod.outcome not in (PodOutcome.SKIPPED, PodOutcome.UNFINISHED):
                self._metrics.evicted.labels(pod.outcome.value).inc()

    async def _fail(self, job: DrainJob, reason: str, message: str) -> None:
        self._metrics.failed.labels(job.group, reason).inc()
        log.warning(
            "scale-down of node failed",
            extra={"node": job.node, "nodegroup": job.group, "reason": reason, "error": message},
        )
        try:
            await release(self._ctx, job)
        finally:
            self._on_failed(job, reason)
