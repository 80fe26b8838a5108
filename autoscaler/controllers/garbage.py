"""The garbage collector and recovery pass: once at start, then every ``gc_interval_s``.

It compares VPSie's listing of every managed group with the VPSieNodes and the Nodes:

* every VPSieNode on its way or being cleaned up is re-enqueued, so timeouts fire and a
  create whose claim was lost (restart) is recovered by its own reconcile;
* a worker of a group that no VPSieNode owns is **adopted** when we can prove we created
  it (vm: its hostname carries the group's prefix, which only this autoscaler mints) by a
  new VPSieNode that makes no create call; otherwise it is **reported** (Event
  ``OrphanWorkerFound`` and the ``orphan_workers`` gauge) and never deleted. While a lost
  create of the group may still claim a worker, or a create in flight has not claimed its
  worker yet, nothing of that group is reported;
* taints of ours (``autoscaler.vpsie.com/...``) on Nodes whose VPSieNode is not Draining
  or Deleting are removed, with the cordon a drain set itself (``drain-cordoned``) and its
  ``running`` mark: an interrupted drain (a crash, a lost leadership) must not leave a node
  unschedulable. This pass runs at start-up too, so a restart restores such nodes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from autoscaler.controllers.context import VPSIENODES, Context, node_ref, nodegroup_ref
from autoscaler.controllers.groups import GroupSpecError
from autoscaler.controllers.identify import may_claim
from autoscaler.controllers.keys import (
    DRAIN_CORDONED,
    DRAIN_FINISHED,
    DRAIN_STATUS,
    OUR_TAINT_PREFIX,
    Reason,
)
from autoscaler.controllers.members import new_vpsienode
from autoscaler.controllers.nodes import without_taints
from autoscaler.controllers.records import NodeGroupRecord
from autoscaler.controllers.recovery import unowned
from autoscaler.core.records import NodeRecord, lookup, object_key
from autoscaler.core.resources import Phase
from autoscaler.kube import errors
from autoscaler.vpsie.errors import VPSieError
from autoscaler.vpsie.provider import GroupSpec, GroupStatus, VmGroupSpec, Worker, WorkerState

log = logging.getLogger(__name__)
RECHECK = (Phase.PROVISIONING, Phase.JOINING, Phase.FAILED, Phase.DELETING)
BEING_REMOVED = (Phase.DRAINING, Phase.DELETING)


class GarbageCollector:
    """Finds what the reconcilers cannot see from one object: orphans and stray taints."""

    def __init__(self, ctx: Context, *, enqueue: Callable[[str], None]) -> None:
        self._ctx = ctx
        self._enqueue = enqueue
        self.passes = 0

    async def run(self) -> None:
        """Collect now and then every interval, until cancelled."""
        interval = self._ctx.settings.gc_interval_s
        while True:
            try:
                async with asyncio.timeout(max(60.0, interval)):
                    await self.collect()
            except (VPSieError, errors.KubeError, TimeoutError) as err:
                self._ctx.metrics.gc("error")
                log.warning("garbage collection failed", extra={"error": repr(err)})
            await asyncio.sleep(interval)

    async def collect(self) -> None:
        """One pass: re-enqueue, adopt or report orphans, remove stray taints."""
        ctx = self._ctx
        for rec in ctx.caches.vpsienodes:
            if rec.phase in RECHECK or rec.meta.deleting:
                self._enqueue(rec.key)
        await self._untaint()
        groups, specs = await self._specs()
        if specs and ctx.provider.available:
            statuses = await ctx.provider.list_groups(specs)
            counts = {}
            for group, spec, status in zip(groups, specs, statuses, strict=True):
                counts[group.meta.name] = await self._orphans(group, spec, status)
            ctx.metrics.set_orphans(counts)
        self.passes += 1

    async def _specs(self) -> tuple[list[NodeGroupRecord], list[GroupSpec]]:
        groups, specs = [], []
        for group in self._ctx.caches.nodegroups:
            if group.resource is None or group.meta.deleting:
                continue
            try:
                specs.append(await self._ctx.spec_of(group))
            except GroupSpecError:
                continue
            groups.append(group)
        return groups, specs

    async def _orphans(self, group: NodeGroupRecord, spec: GroupSpec, status: GroupStatus) -> int:
        ctx = self._ctx
        members = ctx.members(group.meta.namespace, group.meta.name)
        if any(may_claim(ctx, m) for m in members):
            return 0  # a lost create may still claim one of them: wait for its reconcile
        if any(m.phase is Phase.PROVISIONING and not m.aliases() for m in members):
            return 0  # a create in flight is about to claim one of them: report next pass
        owned = frozenset(a for m in members for a in m.aliases())
        free = [
            w for w in unowned(status.workers, owned=owned) if w.state is not WorkerState.DELETING
        ]
        reported = 0
        for worker in free:
            if isinstance(spec, VmGroupSpec) and worker.hostname:
                await self._adopt(group, worker)
            else:
                reported += 1
                ctx.metrics.gc("reported")
                await ctx.event(
                    nodegroup_ref(group),
                    Reason.ORPHAN_WORKER_FOUND,
                    f"worker {worker.hostname} ({worker.identifier}) of group {group.meta.name}"
                    " is owned by no VPSieNode; not deleted",
                    warning=True,
                )
        return reported

    async def _adopt(self, group: NodeGroupRecord, worker: Worker) -> None:
        ctx = self._ctx
        body = new_vpsienode(group, hostname=(worker.hostname or "").lower(), adopt=worker)
        try:
            await ctx.objects.create(VPSIENODES, group.meta.namespace, body)
        except errors.AlreadyExists:
            return
        ctx.metrics.gc("adopted")
        await ctx.event(
            nodegroup_ref(group),
            Reason.WORKER_ADOPTED,
            f"adopted worker {worker.hostname} as VPSieNode {body['metadata']['name']}",
        )

    def _template_taints(self, group: str | None) -> set[str]:
        """Taint keys the node's own group template asks for (never removed)."""
        ctx = self._ctx
        rec = ctx.caches.nodegroups.get(object_key(ctx.namespace, group)) if group else None
        if rec is None or rec.resource is None:
            return set()
        return {t.key for t in rec.resource.spec.template.taints}

    async def _untaint(self) -> None:
        ctx = self._ctx
        for node in ctx.caches.nodes:
            keep = self._template_taints(node.group)
            keys = [
                t.key
                for t in node.taints
                if t.key.startswith(OUR_TAINT_PREFIX) and t.key not in keep
            ]
            cordoned = lookup(node.annotations, DRAIN_CORDONED) == "true"
            running = lookup(node.annotations, DRAIN_STATUS) == "running"
            if not (keys or cordoned or running) or node.deletion_timestamp is not None:
                continue
            owners = ctx.caches.vpsienodes.by_index("by_hostname", node.name)
            if any(o.phase in BEING_REMOVED or o.meta.deleting for o in owners):
                continue
            patch = restore_patch(node, keys, cordoned=cordoned, running=running, now=ctx.now())
            try:
                await ctx.objects.patch_node(node.name, patch)
            except (errors.Conflict, errors.NotFound):
                continue
            ctx.metrics.gc("untainted")
            undone = [*keys, *(["the drain's cordon"] if cordoned else [])]
            await ctx.event(
                node_ref(node),
                Reason.TAINT_REMOVED,
                f"removed {', '.join(undone) or 'a stale drain mark'}: the node is not being"
                " deleted (an interrupted drain)",
            )


def restore_patch(
    node: NodeRecord, keys: list[str], *, cordoned: bool, running: bool, now: dt.datetime
) -> dict[str, Any]:
    """The patch undoing what an interrupted drain left on ``node``: our taints, the cordon
    the drain set itself (never one its owner set), and the ``running`` mark."""
    patch: dict[str, Any] = without_taints(node, keys) or {
        "metadata": {"resourceVersion": node.resource_version}
    }
    if cordoned:
        patch.setdefault("spec", {})["unschedulable"] = False
    if cordoned or running:
        patch["metadata"]["annotations"] = {
            DRAIN_CORDONED: None,
            DRAIN_STATUS: "interrupted" if running else lookup(node.annotations, DRAIN_STATUS),
            DRAIN_FINISHED: now.isoformat().replace("+00:00", "Z"),
        }
    return patch
