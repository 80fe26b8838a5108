"""The NodeGroup reconciler: keep each group within its bounds and report its status.

Each pass reads the group and its VPSieNodes from the cache, decides with
``sizing.plan_size`` (creates below minNodes unless backing off, removals above maxNodes
of nodes without pods only, prunes of old Failed members), acts, and writes the status
through ``patch_status`` (fresh read, 409 retried). Creates not yet seen in the cache are
remembered (``Expectations``, as the ReplicaSet controller does) so a fast second pass does
not create twice. A group being deleted (finalizer ``autoscaler.vpsie.com/nodegroup``)
deletes its VPSieNodes, waits until their finalizers have removed every worker, then lets
the group go; VPSieNodes of a group that no longer exists are deleted too.
"""

from __future__ import annotations

import logging

from autoscaler.controllers.catalogue import Catalogue
from autoscaler.controllers.context import NODEGROUPS, VPSIENODES, Context, nodegroup_ref
from autoscaler.controllers.expectations import Expectations
from autoscaler.controllers.groups import GroupSpecError
from autoscaler.controllers.keys import DOMAIN, Reason
from autoscaler.controllers.members import new_vpsienode
from autoscaler.controllers.nodegroup_status import Observed, group_status
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.controllers.sizing import Backoff, Sizing, plan_size
from autoscaler.controllers.workload import busy_checker, group_nodes
from autoscaler.kube import errors
from autoscaler.kube.reconciler import Result
from autoscaler.vpsie.provider import GroupSpec, VmGroupSpec

log = logging.getLogger(__name__)
GROUP_FINALIZER = f"{DOMAIN}/nodegroup"


class NodeGroupReconciler:
    """Reconciles one NodeGroup (by ``namespace/name`` key)."""

    def __init__(
        self,
        ctx: Context,
        *,
        expected: Expectations | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        self._ctx = ctx
        self.expected = expected or Expectations(clock=ctx.clock)
        self._catalogue = catalogue or Catalogue(ctx.provider, clock=ctx.clock)

    async def reconcile(self, key: str) -> Result | None:
        """One pass over the cached NodeGroup ``key`` and its VPSieNodes."""
        ctx = self._ctx
        namespace, _, name = key.partition("/")
        rec = ctx.caches.nodegroups.get(key)
        members = ctx.members(namespace, name)
        if rec is None or rec.meta.deleting:
            return await self._wind_down(rec, namespace, members)
        if GROUP_FINALIZER not in rec.meta.finalizers:
            finalizers = [*rec.meta.finalizers, GROUP_FINALIZER]
            meta = {"resourceVersion": rec.meta.resource_version, "finalizers": finalizers}
            await ctx.objects.patch(NODEGROUPS, namespace, name, {"metadata": meta})
            return None
        stale = [m for m in members if m.meta.owner_uids and rec.meta.uid not in m.meta.owner_uids]
        await self._delete(namespace, stale)
        members = [m for m in members if m not in stale]
        if rec.resource is None:
            return await self._invalid(rec, rec.error or "invalid NodeGroup")
        try:
            spec = await ctx.spec_of(rec)
        except GroupSpecError as err:
            return await self._invalid(rec, str(err))
        sizing = self._size(rec, members)
        await self._act(rec, spec, members, sizing)
        await self._write_status(rec, spec, sizing)
        if sizing.backoff_until is not None:
            return Result(max(1.0, (sizing.backoff_until - ctx.now()).total_seconds()))
        return None

    def _size(self, rec: NodeGroupRecord, members: list[VPSieNodeRecord]) -> Sizing:
        ctx = self._ctx
        assert rec.resource is not None
        s = ctx.settings
        expected = self.expected.pending(rec.key, seen={m.meta.name for m in members})
        return plan_size(
            members,
            min_nodes=rec.resource.spec.min_nodes,
            max_nodes=rec.resource.spec.max_nodes,
            now=ctx.now(),
            backoff=Backoff(s.backoff_base_s, s.backoff_max_s, s.failed_kept),
            busy=busy_checker(ctx),
            expected=expected,
        )

    async def _act(
        self, rec: NodeGroupRecord, spec: GroupSpec, members: list[VPSieNodeRecord], sizing: Sizing
    ) -> None:
        ctx, ns = self._ctx, rec.meta.namespace
        by_name = {m.meta.name: m for m in members}
        bodies = []
        for _ in range(sizing.create):  # all expected before the first await (scale-up reads them)
            hostname = (
                ctx.provider.prepare_create(spec).hostname
                if isinstance(spec, VmGroupSpec)
                else None
            )
            body = new_vpsienode(rec, hostname=hostname)
            self.expected.expect(rec.key, body["metadata"]["name"])
            bodies.append(body)
        for i, body in enumerate(bodies):
            try:
                await ctx.objects.create(VPSIENODES, ns, body)
            except errors.KubeError as err:
                refused = bodies[i + 1 :] if isinstance(err, errors.Timeout) else bodies[i:]
                for left in refused:  # refused or never sent: surely does not exist
                    self.expected.forget(rec.key, left["metadata"]["name"])
                raise
        if sizing.create:
            await ctx.event(
                nodegroup_ref(rec),
                Reason.SCALED_UP,
                f"adding {sizing.create} node(s) to reach minNodes",
            )
        await self._delete(ns, [by_name[n] for n in sizing.remove if n in by_name])
        if sizing.remove:
            await ctx.event(
                nodegroup_ref(rec),
                Reason.SCALED_DOWN,
                f"removing {', '.join(sizing.remove)} to respect maxNodes",
            )
        await self._delete(ns, [by_name[n] for n in sizing.prune if n in by_name])

    async def _delete(self, namespace: str, members: list[VPSieNodeRecord]) -> None:
        for m in members:
            if not m.meta.deleting:
                await self._ctx.objects.delete(VPSIENODES, namespace, m.meta.name, uid=m.meta.uid)

    async def _wind_down(
        self, rec: NodeGroupRecord | None, namespace: str, members: list[VPSieNodeRecord]
    ) -> Result | None:
        ctx = self._ctx
        mine = [
            m
            for m in members
            if rec is None or not m.meta.owner_uids or rec.meta.uid in m.meta.owner_uids
        ]
        await self._delete(namespace, mine)
        if mine:
            return Result(ctx.settings.poll_interval_s)
        if rec is not None and GROUP_FINALIZER in rec.meta.finalizers:
            await ctx.objects.remove_finalizer(
                NODEGROUPS, namespace, rec.meta.name, GROUP_FINALIZER
            )
        return None

    async def _invalid(self, rec: NodeGroupRecord, message: str) -> Result | None:
        ctx = self._ctx
        await ctx.event(nodegroup_ref(rec), Reason.INVALID_SPEC, message, warning=True)
        seen = Observed(0, 0, 0, 0, 0, None, invalid=message)
        now = ctx.now()
        await ctx.objects.patch_status(
            NODEGROUPS,
            rec.meta.namespace,
            rec.meta.name,
            lambda obj: group_status(obj.get("status") or {}, seen=seen, sizing=None, now=now),
        )
        return None

    async def _write_status(self, rec: NodeGroupRecord, spec: GroupSpec, sizing: Sizing) -> None:
        ctx = self._ctx
        assert rec.resource is not None
        nodes = group_nodes(ctx, rec.meta.name)
        seen = Observed(
            generation=rec.resource.metadata.generation,
            min_nodes=rec.resource.spec.min_nodes,
            max_nodes=rec.resource.spec.max_nodes,
            current_nodes=len(nodes),
            ready_nodes=sum(1 for n in nodes if n.ready),
            monthly_price=await self._catalogue.price(spec),
        )
        now = ctx.now()
        await ctx.objects.patch_status(
            NODEGROUPS,
            rec.meta.namespace,
            rec.meta.name,
            lambda obj: group_status(obj.get("status") or {}, seen=seen, sizing=sizing, now=now),
        )
