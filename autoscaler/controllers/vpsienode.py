"""The VPSieNode reconciler: one small function per phase, level-triggered from the cache.

::

    Pending ──intent written──► Provisioning ──worker identified──► Joining ──Node Ready──► Ready
       │ (CAS, then one create)      │ (resolve, or recover)            │ (labels, taints)
       └──► Failed ◄── quota, error, unknown outcome, provisioning / joining timeout
    any phase ──deletionTimestamp──► Deleting (finalizer: delete worker, wait gone, delete Node)

Draining belongs to the scale-down path; this reconciler leaves it alone until deletion.
The create call happens only after the status write Pending → Provisioning succeeded on
fresh data, so a stale cache or a second reconcile can never create twice; a crash between
the write and the answer leaves Provisioning without a handle, which ``provisioning.track``
recovers by listing.
"""

from __future__ import annotations

import logging

from autoscaler.controllers.context import VPSIENODES, Context, vpsienode_ref
from autoscaler.controllers.joining import join, keep_ready
from autoscaler.controllers.keys import FINALIZER, Reason
from autoscaler.controllers.provisioning import provision, track
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.controllers.vpsienode_deletion import clean_up_failed, finalize
from autoscaler.core.resources import Phase
from autoscaler.kube.reconciler import Result, TerminalError

log = logging.getLogger(__name__)


class VPSieNodeReconciler:
    """Drives one VPSieNode (by ``namespace/name`` key) towards its phase's goal."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def reconcile(self, key: str) -> Result | None:
        """One level-triggered pass over the cached VPSieNode ``key``."""
        ctx = self._ctx
        rec = ctx.caches.vpsienodes.get(key)
        if rec is None:
            self._forget(key)
            return None
        if rec.resource is None:
            await ctx.event(vpsienode_ref(rec), Reason.INVALID_SPEC, rec.error or "", warning=True)
            raise TerminalError(f"VPSieNode {key} is invalid: {rec.error}")
        if rec.meta.deleting:
            return await finalize(ctx, rec)
        if FINALIZER not in rec.meta.finalizers:
            await self._add_finalizer(rec)
            return None
        group = ctx.group_of(rec)
        if rec.phase is Phase.FAILED:
            return await clean_up_failed(ctx, rec, group)
        if group is None or group.resource is None or group.meta.deleting:
            return None  # the NodeGroup reconciler deletes VPSieNodes of a missing group
        return await self._step(rec, group)

    async def _step(self, rec: VPSieNodeRecord, group: NodeGroupRecord) -> Result | None:
        ctx, phase = self._ctx, rec.phase
        if phase is Phase.PENDING:
            return await provision(ctx, rec, group)
        if phase is Phase.PROVISIONING:
            return await track(ctx, rec, group)
        if phase is Phase.JOINING:
            return await join(ctx, rec, group)
        if phase is Phase.READY:
            return await keep_ready(ctx, rec, group)
        return None  # Draining: owned by the scale-down path; Deleting: set with deletion

    async def _add_finalizer(self, rec: VPSieNodeRecord) -> None:
        patch = {
            "metadata": {
                "resourceVersion": rec.meta.resource_version,
                "finalizers": [*rec.meta.finalizers, FINALIZER],
            }
        }
        await self._ctx.objects.patch(VPSIENODES, rec.meta.namespace, rec.meta.name, patch)

    def _forget(self, key: str) -> None:
        ctx = self._ctx
        live = {r.meta.uid for r in ctx.caches.vpsienodes}
        for uid in [u for u in ctx.handles if u not in live]:
            ctx.provider.forget(ctx.handles.pop(uid))
        log.debug("vpsienode gone", extra={"key": key})
