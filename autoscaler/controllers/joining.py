"""Joining and Ready: find the worker's Node, give it the group's identity, wait for Ready.

The Node is found by name (the lowercased hostname) or by a providerID naming the worker's
identifier. It gets the template's labels and taints, the three autoscaler labels and a
providerID if it had none; the VPSieNode turns Ready once the Node is Ready and carries all
of it. A Node that never registers, or never turns Ready, fails the VPSieNode after the
joining timeout (the Failed path deletes the worker).
"""

from __future__ import annotations

import contextlib

from autoscaler.controllers.context import Context, node_ref, vpsienode_ref
from autoscaler.controllers.keys import Reason
from autoscaler.controllers.nodes import find_node, node_patch
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.controllers.status_edit import with_condition
from autoscaler.controllers.timeouts import joining_expired, requested_at
from autoscaler.controllers.transitions import fail, transition
from autoscaler.core.records import NodeRecord
from autoscaler.core.resources import Phase, VPSieNodeConditionType
from autoscaler.kube import errors
from autoscaler.kube.reconciler import Result

JOINING = (Phase.JOINING,)


def node_of(ctx: Context, rec: VPSieNodeRecord) -> NodeRecord | None:
    """The cached Node of a VPSieNode, if it registered."""
    names = []
    if rec.resource is not None and rec.resource.status.node_name:
        names.append(rec.resource.status.node_name)
    if rec.hostname:
        names.append(rec.hostname)
    return find_node(ctx.caches.nodes, names=names, identifier=rec.identifier)


async def _label(
    ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord, node: NodeRecord
) -> bool:
    """Patch the Node if it misses anything; ``True`` if it was complete already."""
    assert group.resource is not None
    patch = node_patch(
        node,
        template=group.resource.spec.template,
        group=group.meta.name,
        vpsienode=rec.meta.name,
        identifier=rec.identifier,
    )
    if patch is None:
        return True
    with contextlib.suppress(errors.Conflict):  # the Node changed: its event brings us back
        await ctx.objects.patch_node(node.name, patch)
    return False


async def join(ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord) -> Result | None:
    """Joining: label the Node once it registers; Ready once it is Ready."""
    poll = Result(ctx.settings.poll_interval_s)
    now = ctx.now()
    if joining_expired(rec, now=now, timeout=ctx.settings.joining_timeout_s):
        await fail(
            ctx,
            rec,
            reason=Reason.JOINING_TIMED_OUT,
            expect=JOINING,
            message=f"Node not Ready within {ctx.settings.joining_timeout_s:.0f}s",
            outcome="timed_out",
        )
        return None
    node = node_of(ctx, rec)
    if node is None:
        return poll
    complete = await _label(ctx, rec, group, node)
    assert rec.resource is not None
    if rec.resource.status.node_name != node.name:
        await _registered(ctx, rec, node)
    if not (complete and node.ready):
        return poll
    return await _ready(ctx, rec, node)


async def _registered(ctx: Context, rec: VPSieNodeRecord, node: NodeRecord) -> None:
    now = ctx.now()

    def edit(status: dict[str, object]) -> dict[str, object]:
        status["nodeName"] = node.name
        return with_condition(
            status,
            type=VPSieNodeConditionType.REGISTERED,
            value="True",
            reason=Reason.NODE_REGISTERED,
            message=f"Node {node.name}",
            now=now,
        )

    if await transition(ctx, rec, expect=JOINING, edit=edit) is not None:
        await ctx.event(vpsienode_ref(rec), Reason.NODE_REGISTERED, f"Node {node.name} registered")


async def _ready(ctx: Context, rec: VPSieNodeRecord, node: NodeRecord) -> Result | None:
    now = ctx.now()

    def edit(status: dict[str, object]) -> dict[str, object]:
        status["nodeName"] = node.name
        return with_condition(
            status,
            type=VPSieNodeConditionType.READY,
            value="True",
            reason=Reason.NODE_JOINED,
            message=f"Node {node.name} is Ready",
            now=now,
        )

    if await transition(ctx, rec, expect=JOINING, phase=Phase.READY, edit=edit) is None:
        return None
    handle = ctx.handles.pop(rec.meta.uid, None)
    if handle is not None:
        ctx.provider.forget(handle)
    since = requested_at(rec)
    ctx.metrics.provisioned("ready", seconds=(now - since).total_seconds() if since else None)
    message = f"Node {node.name} joined group {rec.group} and is Ready"
    await ctx.event(vpsienode_ref(rec), Reason.NODE_JOINED, message)
    await ctx.event(node_ref(node), Reason.NODE_JOINED, message)
    return None


async def keep_ready(ctx: Context, rec: VPSieNodeRecord, group: NodeGroupRecord) -> Result | None:
    """Ready: keep the Node's labels and taints in place (level-triggered)."""
    node = node_of(ctx, rec)
    if node is not None and not node.deletion_timestamp:
        await _label(ctx, rec, group, node)
    return None
