"""The finalizer path, and the clean-up of a Failed VPSieNode's worker.

``finalize``: Deleting (status) → drain the Node (``ctx.drain_before_delete``: its pods are
evicted through the Eviction API, PDBs honoured) → delete the VPSie worker by identifier or
hostname → wait until it is gone → delete the Node → drop the finalizer. ``remove_worker``
trusts "already gone" only when it can: the worker had been seen (an identifier is
recorded), or no create was ever requested, or the unknown-outcome window since the request
has passed. A VKE worker that was never identified is first looked for (handle or recovery);
if it is still unknown after the provisioning timeout, a Warning Event says so and the
garbage collector reports it should it ever appear. Nothing without proof of ownership is
deleted.
"""

from __future__ import annotations

from autoscaler.controllers.context import VPSIENODES, Context, vpsienode_ref
from autoscaler.controllers.identify import REFUSED, failure_reason, find_worker, record_identity
from autoscaler.controllers.joining import node_of
from autoscaler.controllers.keys import FINALIZER, Reason
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.controllers.status_edit import with_condition
from autoscaler.controllers.timeouts import requested_at, within
from autoscaler.controllers.transitions import transition
from autoscaler.core.resources import Phase, VPSieNodeConditionType
from autoscaler.kube.reconciler import Result
from autoscaler.vpsie.errors import NotDeletable
from autoscaler.vpsie.provider import GroupSpec

ALL_PHASES = tuple(Phase)
LAUNCHED = VPSieNodeConditionType.LAUNCHED


async def _spec(ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord | None) -> GroupSpec:
    if group is not None and group.resource is not None:
        return await ctx.spec_of(group)
    return ctx.fallback_spec(rec)


DONE = frozenset({Reason.WORKER_DELETED, Reason.WORKER_UNACCOUNTED})


def _deleted_already(rec: VPSieNodeRecord) -> bool:
    """Whether the worker was already found gone (or given up as never identified)."""
    if rec.resource is None:
        return False
    return any(c.type == LAUNCHED and c.reason in DONE for c in rec.resource.status.conditions)


async def remove_worker(ctx: Context, rec: VPSieNodeRecord, spec: GroupSpec) -> bool:
    """Delete the worker of ``rec``; ``True`` once it is provably gone."""
    if _deleted_already(rec) or (requested_at(rec) is None and not rec.adopted):
        return True  # no create was ever made, or its worker is gone already
    now, window = ctx.now(), ctx.unknown_outcome_window_s
    if not rec.aliases() and failure_reason(rec) in REFUSED:
        return True  # VPSie refused the create: nothing was made
    if not rec.aliases():
        worker = await find_worker(ctx, rec, spec)
        if worker is not None and worker.identifier is not None:
            await record_identity(ctx, rec, worker, phase=None, expect=ALL_PHASES)
            return False  # delete it on the next pass, from the recorded identity
        if within(rec, now=now, seconds=ctx.settings.provisioning_timeout_s):
            return False  # a lost create may claim its worker until then (identify)
        await _mark_deleted(
            ctx,
            rec,
            reason=Reason.WORKER_UNACCOUNTED,
            message="the create's worker was never identified; nothing deleted",
        )
        return True
    try:
        deleted = await ctx.provider.delete_worker(
            spec, hostname=rec.hostname, identifier=rec.identifier
        )
    except NotDeletable as err:
        ctx.metrics.deleted("not_deletable")
        await ctx.event(vpsienode_ref(rec), Reason.WORKER_DELETE_FAILED, str(err), warning=True)
        return False
    if deleted:
        ctx.metrics.deleted("requested")
        await ctx.event(
            vpsienode_ref(rec),
            Reason.WORKER_DELETE_REQUESTED,
            f"deleting worker {rec.hostname or rec.identifier}",
        )
        return False
    seen = rec.identifier is not None
    if not seen and within(rec, now=now, seconds=window):
        return False  # accepted but maybe not listed yet: not proof that it is gone
    ctx.metrics.deleted("gone")
    name = rec.hostname or rec.identifier or rec.meta.name
    await _mark_deleted(ctx, rec, reason=Reason.WORKER_DELETED, message=f"worker {name} is gone")
    return True


async def _mark_deleted(
    ctx: Context, rec: VPSieNodeRecord, *, reason: Reason, message: str
) -> None:
    now = ctx.now()
    warning = reason is not Reason.WORKER_DELETED

    def edit(status: dict[str, object]) -> dict[str, object]:
        return with_condition(
            status, type=LAUNCHED, value="False", reason=reason, message=message, now=now
        )

    await transition(ctx, rec, expect=ALL_PHASES, edit=edit)
    await ctx.event(vpsienode_ref(rec), reason, message, warning=warning)


async def _delete_node(ctx: Context, rec: VPSieNodeRecord) -> None:
    node = node_of(ctx, rec)
    if node is not None and await ctx.objects.delete_node(node.name, uid=node.uid):
        await ctx.event(vpsienode_ref(rec), Reason.NODE_DELETED, f"Node {node.name} deleted")


async def finalize(ctx: Context, rec: VPSieNodeRecord) -> Result | None:
    """Deletion: worker gone, Node gone, then let the VPSieNode go."""
    if FINALIZER not in rec.meta.finalizers:
        return None
    poll = Result(ctx.settings.poll_interval_s)
    if rec.phase is not Phase.DELETING:
        fresh = await transition(ctx, rec, expect=ALL_PHASES, phase=Phase.DELETING)
        if fresh is not None:
            await ctx.event(
                vpsienode_ref(rec), Reason.DELETING_WORKER, "VPSieNode is being deleted"
            )
        return poll  # continue from the fresh object (the cache catches up)
    if ctx.drain_before_delete is not None and not await ctx.drain_before_delete(rec):
        return poll  # pods still to move: the drain pool is at it
    spec = await _spec(ctx, rec, ctx.group_of(rec))
    if not await remove_worker(ctx, rec, spec):
        return poll
    await _delete_node(ctx, rec)
    handle = ctx.handles.pop(rec.meta.uid, None)
    if handle is not None:
        ctx.provider.forget(handle)
    await ctx.objects.remove_finalizer(VPSIENODES, rec.meta.namespace, rec.meta.name, FINALIZER)
    return None


async def clean_up_failed(
    ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord | None
) -> Result | None:
    """Failed: delete the worker (if there is one) and its Node right away."""
    if _deleted_already(rec):
        return None
    spec = await _spec(ctx, rec, group)
    if not await remove_worker(ctx, rec, spec):
        return Result(ctx.settings.poll_interval_s)
    await _delete_node(ctx, rec)
    return None
