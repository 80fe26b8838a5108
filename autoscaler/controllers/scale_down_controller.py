"""The scale-down path (architecture §6): periodic pass → plan → claim → drain pool.

Every ``scan_interval_s`` one pass reads the caches (nodes, pods, PDBs, volume facts,
groups), runs ``plan_scale_down`` with the ``unneeded_since`` map of the previous pass
(kept in memory: a new leader starts its timers afresh, as Cluster Autoscaler does), and

* explains every kept node: ``ScaleDownBlocked`` Events (deduplicated), the group's
  ``status.keptSummary`` and ``scale_down_blocked_total{nodegroup,reason}``;
* claims each node to remove (its VPSieNode ``Ready → Draining``, before any taint) and
  hands it to the drain pool, which drains it and deletes its VPSieNode (``drain_pool``);
* backs a node off after a failed drain (``scale_down_delay_after_failure_s``, doubling
  per failure in a row, at most 30 minutes): it is kept with ``DrainBackoff`` meanwhile;
* finishes what an earlier leader left: a VPSieNode ``Draining`` that no drain of this
  process holds is removed if its Node was drained and holds no pod that needs it, and is
  otherwise put back to ``Ready`` with its Node restored;
* drains the Node of a VPSieNode deleted by someone else (a user, a NodeGroup being deleted
  or shrunk above ``maxNodes``) before its finalizer deletes the worker
  (``drain_before_delete``), so no pod goes down with a node without an eviction.

``dry_run`` or ``scale_down_enabled = false``: the pass plans and explains, and changes
nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable

from autoscaler.controllers.context import Context, node_ref
from autoscaler.controllers.drain_pods import DrainSettings, EvictPod
from autoscaler.controllers.drain_pool import DrainPool
from autoscaler.controllers.joining import node_of
from autoscaler.controllers.keys import DRAIN_STATUS, Reason
from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.controllers.scale_down_inputs import (
    ScaleDownCaches,
    group_states,
    nodes_in_progress,
    owner_of,
    volumes_of,
)
from autoscaler.controllers.scale_down_removal import (
    DrainJob,
    arrivals,
    claim,
    needs_node,
    release,
    remove,
    restore,
)
from autoscaler.controllers.scale_down_report import ScaleDownReporter
from autoscaler.controllers.scale_down_settings import scale_down_policy_of
from autoscaler.core.records import lookup
from autoscaler.core.resources import Phase
from autoscaler.core.scale_down import plan_scale_down
from autoscaler.core.scale_down_plan import Removal, ScaleDownPlan
from autoscaler.kube import errors
from autoscaler.kube.workqueue import WorkQueue
from autoscaler.observability.controller_metrics import ControllerMetrics
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.settings import ScalingSettings
from autoscaler.vpsie.errors import VPSieError

__all__ = ["MAX_BACKOFF_S", "ScaleDownController"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 1800.0


@dataclasses.dataclass(frozen=True, slots=True)
class _Backoff:
    failures: int
    until: dt.datetime


class ScaleDownController:
    """Plans a scale-down every ``scan_interval_s`` and carries it out; see the module."""

    def __init__(
        self,
        ctx: Context,
        *,
        caches: ScaleDownCaches,
        settings: ScalingSettings,
        drain: DrainSettings,
        queue: WorkQueue,
        evict: EvictPod,
        workers: int,
        metrics: ScaleDownMetrics,
        worker_metrics: ControllerMetrics,
        requeue: Callable[[str], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._requeue = requeue
        self._caches = caches
        self._settings = settings
        self._policy = scale_down_policy_of(settings)
        self._metrics = metrics
        self.pool = DrainPool(
            ctx,
            queue=queue,
            evict=evict,
            settings=drain,
            workers=workers,
            metrics=metrics,
            worker_metrics=worker_metrics,
            on_removed=self._removed,
            on_failed=self._failed,
            on_deletion_drained=self._deletion_drained,
        )
        self.reporter = ScaleDownReporter(ctx, metrics=metrics)
        self.events = self.reporter.events
        self.report = self.reporter.report
        self.unneeded: dict[str, dt.datetime] = {}
        self.backoff: dict[str, _Backoff] = {}
        self.plans: list[ScaleDownPlan] = []
        """The last few plans, newest last (for tests and debugging)."""

    @property
    def acting(self) -> bool:
        """Whether passes change anything (not in dry run, scale-down enabled)."""
        return self._settings.scale_down_enabled and not self._settings.dry_run

    async def run(self) -> None:
        """Pass every ``scan_interval_s`` until cancelled, with the drain pool alongside."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.pool.run(), name="drain-pool")
            tg.create_task(self.events.run(), name="scale-down-events")
            while True:
                try:
                    await self.tick()
                except (errors.KubeError, VPSieError) as err:
                    log.warning("scale-down pass failed", extra={"error": str(err)})
                await asyncio.sleep(self._settings.scan_interval_s)

    async def tick(self) -> ScaleDownPlan:
        """One pass: finish orphaned drains, plan, explain, act."""
        ctx = self._ctx
        if self.acting:
            await self._finish_orphaned_drains()
        started = time.perf_counter()
        now = ctx.now()
        states, problems = group_states(ctx)
        self._forget_gone_nodes()
        plan = plan_scale_down(
            nodes=ctx.caches.nodes.values(),
            pods=ctx.caches.pods.values(),
            groups=states,
            pdbs=self._caches.pdbs.values(),
            volumes=volumes_of(self._caches),
            unneeded_since=self.unneeded,
            in_progress=nodes_in_progress(ctx, self.pool.active),
            drains_in_progress=self.pool.draining,
            backed_off={n: b.until for n, b in self.backoff.items()},
            now=now,
            policy=self._policy,
        )
        self._metrics.planning.observe(time.perf_counter() - started)
        self.unneeded = dict(plan.unneeded_since)
        self.reporter.report(plan, problems)
        removing: dict[str, int] = {}
        if self.acting:
            for removal in plan.removals:
                if await self._begin(removal):
                    removing[removal.group] = removing.get(removal.group, 0) + 1
        await self.reporter.write_summaries(plan, states, removing)
        self.plans = [*self.plans[-4:], plan]
        if plan.removals:
            log.info(
                "scale-down pass",
                extra={
                    "empty": [r.node for r in plan.empty],
                    "drain": [r.node for r in plan.drain],
                    "kept": len(plan.kept),
                    "acting": self.acting,
                    "seconds": round(time.perf_counter() - started, 4),
                },
            )
        return plan

    # --- actuation ------------------------------------------------------------------------------
    async def _begin(self, removal: Removal) -> bool:
        ctx = self._ctx
        owner = owner_of(ctx, removal.node)
        if owner is None:
            log.warning(
                "no single VPSieNode owns the node; not removed", extra={"node": removal.node}
            )
            return False
        job = await claim(ctx, removal, owner)
        if job is None:
            return False
        node = ctx.caches.nodes.get(removal.node)
        if node is not None:
            what = "empty" if job.empty else f"underutilized ({removal.utilization:.2f})"
            moves = ", ".join(f"{m.key} -> {m.destination}" for m in removal.pods[:5])
            more = " ..." if len(removal.pods) > 5 else ""
            text = f"removing the node: {what}; {len(removal.pods)} pod(s) to move"
            await ctx.event(
                node_ref(node), Reason.SCALE_DOWN, text + (f": {moves}{more}" if moves else "")
            )
        self.pool.submit(job)
        return True

    async def drain_before_delete(self, rec: VPSieNodeRecord) -> bool:
        """Whether the deleted VPSieNode's worker may go: ``True`` once its Node holds no pod
        to move (or it has no Ready Node); otherwise its drain is queued (once)."""
        ctx = self._ctx
        node = node_of(ctx, rec)
        if node is None or not node.ready or node.deletion_timestamp is not None:
            return True
        if node.name in self.pool.active:
            return False
        held = self.backoff.get(node.name)
        if held is not None and ctx.now() < held.until:
            return False
        pods = tuple(
            p for p in ctx.caches.pods.by_index("pods_by_node", node.name) if needs_node(p)
        )
        if lookup(node.annotations, DRAIN_STATUS) == "complete" and not pods:
            # A pod the cache has not seen yet is drained once it has.
            return not await arrivals(ctx, node.name)
        if not pods:
            return True
        job = DrainJob.of(rec, node=node.name, pods=pods, deleting=True)
        text = f"draining the node before its worker is deleted: {len(pods)} pod(s) to move"
        await ctx.event(node_ref(node), Reason.SCALE_DOWN, text)
        self.pool.submit(job)
        return False

    def _deletion_drained(self, job: DrainJob) -> None:
        self.backoff.pop(job.node, None)
        if self._requeue is not None:
            self._requeue(job.vpsienode)

    def _removed(self, job: DrainJob) -> None:
        self.backoff.pop(job.node, None)
        self.unneeded.pop(job.node, None)
        self.reporter.scaled_down(job.group, self._ctx.now())

    def _failed(self, job: DrainJob, reason: str) -> None:
        previous = self.backoff.get(job.node)
        failures = (previous.failures if previous else 0) + 1
        base = self._settings.scale_down_delay_after_failure_s
        delay = min(base * 2 ** (failures - 1), max(MAX_BACKOFF_S, base))
        until = self._ctx.now() + dt.timedelta(seconds=delay)
        self.backoff[job.node] = _Backoff(failures, until)
        self.unneeded.pop(job.node, None)

    def _forget_gone_nodes(self) -> None:
        nodes = self._ctx.caches.nodes
        for name in [n for n in self.backoff if n not in nodes]:
            del self.backoff[name]

    async def _finish_orphaned_drains(self) -> None:
        """Remove or restore each Draining VPSieNode no drain of this process holds."""
        ctx, active = self._ctx, self.pool.active
        draining = {r.meta.uid for r in ctx.caches.vpsienodes.values() if r.phase is Phase.DRAINING}
        self.pool.settle(draining)
        for rec in ctx.caches.vpsienodes.values():
            if rec.phase is not Phase.DRAINING or rec.meta.deleting:
                continue
            node = node_of(ctx, rec)
            if (node is not None and node.name in active) or rec.meta.uid in self.pool.finished:
                continue
            await self._finish_orphan(rec, node.name if node is not None else None)

    async def _finish_orphan(self, rec: VPSieNodeRecord, node: str | None) -> None:
        ctx = self._ctx
        job = DrainJob.of(rec, node=node or "")
        cached = ctx.caches.nodes.get(node) if node else None
        drained = cached is not None and lookup(cached.annotations, DRAIN_STATUS) == "complete"
        if node and drained and not await arrivals(ctx, node):
            log.info("finishing a drained node's removal", extra={"node": node})
            await remove(ctx, job)
            self._metrics.scaled_down.labels(job.group, "resumed").inc()
            return
        if node:
            text = "the drain was interrupted (restart or change of leader)"
            await restore(ctx, node, status="interrupted", message=text)
        await release(ctx, job)
