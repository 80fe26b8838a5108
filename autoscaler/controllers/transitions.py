"""Phase transitions of a VPSieNode as compare-and-set status writes.

``transition`` re-reads the object (``patch_status`` does), applies ``edit`` only when the
fresh phase is one of ``expect`` and the UID is the one the reconcile started from, and
writes with the fresh resourceVersion. It returns the object as written (or found equal)
when the fresh phase was in ``expect``, else ``None``: a stale cache can therefore never
make two creates, and a 409 is retried on fresh data, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from autoscaler.controllers.context import VPSIENODES, Context, vpsienode_ref
from autoscaler.controllers.keys import Reason
from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.controllers.status_edit import enter_phase, phase_of, with_condition
from autoscaler.core.resources import Phase, VPSieNodeConditionType

JSON = dict[str, Any]
Edit = Callable[[JSON], JSON]
MAX_ERROR = 1024


def _same(status: JSON) -> JSON:
    return status


async def transition(
    ctx: Context,
    rec: VPSieNodeRecord,
    *,
    expect: Collection[Phase],
    phase: Phase | None = None,
    edit: Edit = _same,
) -> JSON | None:
    """Move ``rec`` to ``phase`` (or only ``edit`` its status) if it is still in ``expect``."""
    now = ctx.now()
    entered = accepted = False

    def mutate(obj: JSON) -> JSON | None:
        nonlocal entered, accepted
        meta = obj.get("metadata") or {}
        accepted = meta.get("uid") == rec.meta.uid and phase_of(obj) in expect
        if not accepted:
            return None
        status = dict(obj.get("status") or {})
        entered = phase is not None and phase_of(obj) != phase
        if phase is not None and entered:
            status = enter_phase(status, phase, now=now)
        return edit(status)

    result = await ctx.objects.patch_status(VPSIENODES, rec.meta.namespace, rec.meta.name, mutate)
    if not accepted:
        return None
    if result.written and entered and phase is not None:
        ctx.metrics.entered(str(phase))
    return result.object


async def fail(
    ctx: Context,
    rec: VPSieNodeRecord,
    *,
    reason: Reason,
    message: str,
    expect: Collection[Phase],
    outcome: str,
) -> JSON | None:
    """Move to Failed with ``reason``; Warning Event and an outcome metric."""
    now = ctx.now()

    def edit(status: JSON) -> JSON:
        status["lastError"] = f"{reason}: {message}"[:MAX_ERROR]
        return with_condition(
            status,
            type=VPSieNodeConditionType.READY,
            value="False",
            reason=reason,
            message=message,
            now=now,
        )

    fresh = await transition(ctx, rec, expect=expect, phase=Phase.FAILED, edit=edit)
    if fresh is not None:
        ctx.metrics.provisioned(outcome)
        await ctx.event(vpsienode_ref(rec), reason, message, warning=True)
    return fresh
