"""Which worker is a VPSieNode's, and recording it (identity written once, never shared).

``find_worker`` asks the in-memory create handle first; without one (vm, adopted, or after
a restart) it lists the group and matches by identifier or hostname, and for a VKE create
whose claim was lost it runs ``recovery.assign`` over every such VPSieNode of the group.
``record_identity`` refuses a worker another VPSieNode already names (Warning Event).

A lost create may claim a worker only within the provisioning timeout after its request
(``may_claim``), the time a create's worker has to be listed; its create call may have gone
out at any moment of it (after the group's listing, after the cluster's create lock).
While any lost create of a group may claim, the group makes no new create
(``provisioning``), so a new worker then can only be a lost create's. Past the timeout a
lost create claims nothing (it is Failed, and a worker of it that turns up later is
reported as an orphan): otherwise it could take, and delete, the worker of a create made
after the hold.
"""

from __future__ import annotations

from collections.abc import Collection

from autoscaler.controllers.context import Context, vpsienode_ref
from autoscaler.controllers.keys import Reason
from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.controllers.recovery import LostCreate, assign, worker_aliases
from autoscaler.controllers.status_edit import with_condition
from autoscaler.controllers.timeouts import requested_at, within
from autoscaler.controllers.transitions import transition
from autoscaler.core.resources import Phase, VPSieNodeConditionType
from autoscaler.vpsie.provider import GroupSpec, Resolution, Worker

WAITING = (Phase.PROVISIONING, Phase.DELETING)
UNSURE = frozenset({Reason.UNKNOWN_OUTCOME, Reason.PROVISIONING_TIMED_OUT})
"""Failures after which the create may still have made a worker."""
REFUSED = frozenset(
    {
        Reason.QUOTA_EXCEEDED,
        Reason.PROVISIONING_FAILED,
        Reason.CREATE_NOT_ACCEPTED,
        Reason.CREATE_NOT_SENT,
    }
)
"""Failures that prove no worker was made (a create whose answer was lost counts once the
provider watched the listings for the whole unknown-outcome window and saw nothing: a
worker that turns up later is an orphan, never another create's)."""


def failure_reason(rec: VPSieNodeRecord) -> str | None:
    """Why the VPSieNode failed (its Ready condition's reason), if it did."""
    if rec.resource is None:
        return None
    for cond in rec.resource.status.conditions:
        if cond.type == VPSieNodeConditionType.READY and cond.status == "False":
            return cond.reason
    return None


def create_sent(rec: VPSieNodeRecord) -> bool:
    """Whether the create call may have gone out: the ``Launched`` condition moved past
    ``CreateRequested`` (it says ``CreateSent`` right before the call)."""
    if rec.resource is None:
        return False
    for cond in rec.resource.status.conditions:
        if cond.type == VPSieNodeConditionType.LAUNCHED:
            return cond.reason != Reason.CREATE_REQUESTED
    return False


def never_sent(ctx: Context, rec: VPSieNodeRecord) -> bool:
    """A create requested by a process that stopped before its call went out: no handle
    here, no identity, and the ``Launched`` condition still says ``CreateRequested``."""
    return (
        rec.phase is Phase.PROVISIONING
        and requested_at(rec) is not None
        and rec.meta.uid not in ctx.handles
        and not rec.aliases()
        and not rec.adopted
        and not create_sent(rec)
    )


def is_lost(ctx: Context, rec: VPSieNodeRecord) -> bool:
    """A sent create without identity, adoption or a handle in this process, whose worker
    may still turn up."""
    waiting = rec.phase in WAITING or (rec.phase is Phase.FAILED and failure_reason(rec) in UNSURE)
    return (
        waiting
        and failure_reason(rec) not in REFUSED
        and not rec.aliases()
        and not rec.adopted
        and rec.meta.uid not in ctx.handles
        and requested_at(rec) is not None
        and create_sent(rec)
    )


def may_claim(ctx: Context, rec: VPSieNodeRecord) -> bool:
    """A lost create still within its provisioning timeout (see the module docstring)."""
    timeout = ctx.settings.provisioning_timeout_s
    return is_lost(ctx, rec) and within(rec, now=ctx.now(), seconds=timeout)


async def find_worker(ctx: Context, rec: VPSieNodeRecord, spec: GroupSpec) -> Worker | None:
    """The worker of ``rec``, once VPSie lists it; ``None`` while it cannot be told."""
    handle = ctx.handles.get(rec.meta.uid)
    if handle is not None:
        resolved = await ctx.provider.resolve(handle)
        if resolved.state is Resolution.RESOLVED:
            return resolved.worker
        if resolved.state is Resolution.PENDING:
            return None
        ctx.handles.pop(rec.meta.uid, None)
    mine = rec.aliases()
    if not (mine or rec.adopted or may_claim(ctx, rec)):
        return None
    (status,) = await ctx.provider.list_groups([spec])
    if mine or rec.adopted:
        return next((w for w in status.workers if worker_aliases(w) & mine), None)
    members = [m for m in ctx.members(rec.meta.namespace, spec.name) if m.key != rec.key]
    lost = [m for m in members if may_claim(ctx, m)] + [rec]
    owned = frozenset(a for m in members for a in m.aliases())
    creates = [
        LostCreate(m.key, requested_at(m) or ctx.now(), m.known_workers)
        for m in lost
        if requested_at(m) is not None
    ]
    return assign(creates, workers=status.workers, owned=owned).get(rec.key)


async def record_identity(
    ctx: Context,
    rec: VPSieNodeRecord,
    worker: Worker,
    *,
    phase: Phase | None,
    expect: Collection[Phase],
) -> bool:
    """Write the worker's identity (and move to ``phase``); ``False`` if not written."""
    names = worker_aliases(worker)
    others = [
        r.meta.name for r in ctx.caches.vpsienodes if r.key != rec.key and r.aliases() & names
    ]
    if others:
        await ctx.event(
            vpsienode_ref(rec),
            Reason.DUPLICATE_OWNER,
            f"worker {worker.hostname} is already owned by {', '.join(others)}",
            warning=True,
        )
        return False
    recovered = rec.meta.uid not in ctx.handles and not rec.aliases()
    reason = Reason.WORKER_RECOVERED if recovered else Reason.WORKER_IDENTIFIED
    now = ctx.now()

    def edit(status: dict[str, object]) -> dict[str, object]:
        fields = {
            "vpsieIdentifier": worker.identifier,
            "hostname": worker.hostname,
            "privateIP": worker.private_ip,
            "publicIP": worker.public_ip,
        }
        status.update({k: v for k, v in fields.items() if v})
        return with_condition(
            status,
            type=VPSieNodeConditionType.LAUNCHED,
            value="True",
            reason=reason,
            message=f"worker {worker.hostname} ({worker.identifier})",
            now=now,
        )

    fresh = await transition(ctx, rec, expect=expect, phase=phase, edit=edit)
    if fresh is None:
        return False
    await ctx.event(
        vpsienode_ref(rec), reason, f"worker {worker.hostname} has identifier {worker.identifier}"
    )
    return True
