"""Pending and Provisioning: write the intent, make the one create call, identify the worker.

``provision`` records the attempt id and the group's current workers on the VPSieNode,
moves it Pending → Provisioning on fresh data (compare-and-set), and only then calls
``create_worker``. Errors that prove nothing was created (nothing sent, or refused) go back
to Pending or to Failed; an unknown outcome, already checked by the provider, goes to
Failed (a worker that turns up later is the garbage collector's). ``track`` resolves the
worker through the in-memory handle, by hostname (vm, adopted workers), or, after a
restart, by ``recovery.assign`` over the recorded snapshots.
"""

from __future__ import annotations

import uuid

from autoscaler.controllers.context import VPSIENODES, Context, vpsienode_ref
from autoscaler.controllers.identify import find_worker, may_claim, never_sent, record_identity
from autoscaler.controllers.keys import CREATE_ATTEMPT, KNOWN_WORKERS, Reason
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.controllers.recovery import worker_aliases
from autoscaler.controllers.status_edit import with_condition
from autoscaler.controllers.timeouts import provisioning_expired
from autoscaler.controllers.transitions import fail, transition
from autoscaler.core.resources import Phase, VPSieNodeConditionType
from autoscaler.kube import errors
from autoscaler.kube.reconciler import Result
from autoscaler.vpsie.errors import QuotaExceeded, UnknownOutcome, VPSieError
from autoscaler.vpsie.provider import BeforeSend, CreateIntent, GroupSpec

LAUNCHED = VPSieNodeConditionType.LAUNCHED
PENDING = (Phase.PENDING,)


async def provision(ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord) -> Result | None:
    """Pending: intent first, then exactly one create call."""
    poll = Result(ctx.settings.poll_interval_s)
    if rec.adopted:
        fresh = await transition(ctx, rec, expect=PENDING, phase=Phase.PROVISIONING)
        return poll if fresh is not None else None
    if not ctx.provider.available or _recovering(ctx, rec):
        return poll
    spec = await ctx.spec_of(group)
    intent = _intent(ctx, rec, spec)
    (before,) = await ctx.provider.list_groups([spec])
    known = sorted({a for w in before.workers for a in worker_aliases(w)})
    annotations = {CREATE_ATTEMPT: intent.attempt_id, KNOWN_WORKERS: ",".join(known)}
    patch = {"metadata": {"annotations": annotations, "resourceVersion": rec.meta.resource_version}}
    try:
        await ctx.objects.patch(VPSIENODES, rec.meta.namespace, rec.meta.name, patch)
    except errors.Conflict:
        return poll  # the cache is behind the object: come back once it caught up
    now = ctx.now()

    def requested(status: dict[str, object]) -> dict[str, object]:
        return with_condition(
            status,
            type=LAUNCHED,
            value="Unknown",
            reason=Reason.CREATE_REQUESTED,
            message=f"create attempt {intent.attempt_id}",
            now=now,
        )

    if await transition(ctx, rec, expect=PENDING, phase=Phase.PROVISIONING, edit=requested) is None:
        return None  # someone moved it first: the cache was stale
    await ctx.event(
        vpsienode_ref(rec), Reason.PROVISIONING_STARTED, f"creating a worker in {spec.name}"
    )
    return await _create(ctx, rec, spec, intent)


def _recovering(ctx: Context, rec: VPSieNodeRecord) -> bool:
    """Whether a lost create of the group may still claim a worker (hold new creates
    meanwhile, so a new claim and the recovery never compete for one worker)."""
    return any(may_claim(ctx, m) for m in ctx.members(rec.meta.namespace, rec.group or ""))


def _intent(ctx: Context, rec: VPSieNodeRecord, spec: GroupSpec) -> CreateIntent:
    assert rec.resource is not None
    hostname = rec.resource.spec.hostname
    if hostname:  # vm: chosen when the VPSieNode was made, so a lost answer can be found
        return CreateIntent(group=spec.name, attempt_id=hostname, hostname=hostname)
    return CreateIntent(group=spec.name, attempt_id=uuid.uuid4().hex)


class _NotSent(Exception):
    """The create was not sent: its ``CreateSent`` mark could not be written."""


def _marker(ctx: Context, rec: VPSieNodeRecord, intent: CreateIntent) -> BeforeSend:
    """Write ``Launched=Unknown/CreateSent`` right before the create call goes out, so that
    after a crash a create that was never sent is told from one whose answer was lost."""

    async def mark() -> None:
        now = ctx.now()

        def sent(status: dict[str, object]) -> dict[str, object]:
            return with_condition(
                status,
                type=LAUNCHED,
                value="Unknown",
                reason=Reason.CREATE_SENT,
                message=f"create attempt {intent.attempt_id} sent",
                now=now,
            )

        try:
            fresh = await transition(ctx, rec, expect=(Phase.PROVISIONING,), edit=sent)
        except errors.KubeError as err:
            raise _NotSent(str(err)) from err
        if fresh is None:
            raise _NotSent("the VPSieNode left Provisioning before its create was sent")

    return mark


async def _create(
    ctx: Context, rec: VPSieNodeRecord, spec: GroupSpec, intent: CreateIntent
) -> Result | None:
    expect = (Phase.PROVISIONING,)
    if ctx.on_create_call is not None:
        ctx.on_create_call(rec.meta.name)
    try:
        handle = await ctx.provider.create_worker(
            spec, intent=intent, before_send=_marker(ctx, rec, intent)
        )
    except _NotSent:
        await transition(ctx, rec, expect=expect, phase=Phase.PENDING)
        return Result(ctx.settings.poll_interval_s)
    except QuotaExceeded as err:
        await fail(
            ctx,
            rec,
            reason=Reason.QUOTA_EXCEEDED,
            message=str(err),
            expect=expect,
            outcome="quota_exceeded",
        )
        return None
    except UnknownOutcome as err:
        await fail(
            ctx,
            rec,
            reason=Reason.CREATE_NOT_ACCEPTED if err.verified_absent else Reason.UNKNOWN_OUTCOME,
            message=str(err),
            expect=expect,
            outcome="unknown_outcome",
        )
        return None
    except VPSieError as err:
        if err.retryable or err.breaker:  # nothing was created: try again later
            await transition(ctx, rec, expect=expect, phase=Phase.PENDING)
            return Result(ctx.settings.poll_interval_s)
        await fail(
            ctx,
            rec,
            reason=Reason.PROVISIONING_FAILED,
            message=str(err),
            expect=expect,
            outcome="failed",
        )
        return None
    ctx.handles[rec.meta.uid] = handle
    ctx.metrics.provisioned("created")
    now = ctx.now()

    def created(status: dict[str, object]) -> dict[str, object]:
        if handle.identifier:
            status["vpsieIdentifier"] = handle.identifier
        if handle.hostname:
            status["hostname"] = handle.hostname
        return with_condition(
            status,
            type=LAUNCHED,
            value="True",
            reason=Reason.WORKER_CREATED,
            message="VPSie accepted the create call",
            now=now,
        )

    await transition(ctx, rec, expect=expect, edit=created)
    await ctx.event(
        vpsienode_ref(rec), Reason.WORKER_CREATED, f"VPSie accepted a worker for {spec.name}"
    )
    return Result(ctx.settings.poll_interval_s)


async def track(ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord) -> Result | None:
    """Provisioning: identify the worker; time out into Failed."""
    poll = Result(ctx.settings.poll_interval_s)
    expect = (Phase.PROVISIONING,)
    if provisioning_expired(rec, now=ctx.now(), timeout=ctx.settings.provisioning_timeout_s):
        await fail(
            ctx,
            rec,
            reason=Reason.PROVISIONING_TIMED_OUT,
            expect=expect,
            message=f"worker not listed within {ctx.settings.provisioning_timeout_s:.0f}s",
            outcome="timed_out",
        )
        return None
    if never_sent(ctx, rec):
        await fail(
            ctx,
            rec,
            reason=Reason.CREATE_NOT_SENT,
            expect=expect,
            message="the autoscaler stopped after recording this create and before sending"
            " it; nothing was made",
            outcome="not_sent",
        )
        return None
    if not ctx.provider.available:
        return poll
    spec = await ctx.spec_of(group)
    worker = await find_worker(ctx, rec, spec)
    if worker is None or worker.identifier is None:
        return poll
    moved = await record_identity(ctx, rec, worker, phase=Phase.JOINING, expect=expect)
    return None if moved else poll
