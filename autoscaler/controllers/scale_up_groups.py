"""The planner's ``GroupOption`` of each NodeGroup, from the caches and the catalogue.

A group is offered when its NodeGroup is valid and not being deleted. Its template node is
what VPSie says a new worker offers (capacity from the plan or group size), with
allocatable = capacity - the group's ``template.reserved`` where set (the provider's
defaults otherwise); when VPSie cannot say, a registered node of the group stands in. Its
counts and back-off come from ``sizing.plan_size``, the same decision the NodeGroup
reconciler writes to the status, so the planner, the status and the ``Backoff`` condition
never disagree: upcoming nodes include creates the cache does not show yet.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from autoscaler.controllers.catalogue import Catalogue
from autoscaler.controllers.context import Context
from autoscaler.controllers.expectations import Expectations
from autoscaler.controllers.groups import GroupSpecError
from autoscaler.controllers.joining import node_of
from autoscaler.controllers.records import NodeGroupRecord
from autoscaler.controllers.sizing import UPCOMING, Backoff, Sizing, plan_size
from autoscaler.controllers.workload import busy_checker, group_nodes
from autoscaler.core.group_options import GroupOption, TemplateNode, valid_price
from autoscaler.core.records import Resources, Taint
from autoscaler.core.resources import NodeGroup
from autoscaler.vpsie.templates import NodeTemplate

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class GroupInput:
    """One group as the scale-up path sees it."""

    record: NodeGroupRecord
    option: GroupOption
    sizing: Sizing


def _resources(values: Mapping[str, int]) -> Resources:
    known = {"cpu", "memory", "ephemeral-storage", "pods"}
    return Resources(
        cpu_m=values.get("cpu", 0),
        memory=values.get("memory", 0),
        ephemeral_storage=values.get("ephemeral-storage", 0),
        pods=values.get("pods", 0),
        extended=tuple(sorted((k, v) for k, v in values.items() if k not in known)),
    )


def template_node(group: NodeGroup, found: NodeTemplate) -> TemplateNode:
    """The simulated new node: VPSie's template with the group's reserved amounts."""
    capacity = _resources(found.capacity)
    allocatable = _resources(found.allocatable)
    reserved = group.spec.template.reserved
    cpu, memory, disk = (
        reserved.cpu_millis,
        reserved.memory_bytes,
        reserved.ephemeral_storage_bytes,
    )
    allocatable = dataclasses.replace(
        allocatable,
        cpu_m=allocatable.cpu_m if cpu is None else max(0, capacity.cpu_m - cpu),
        memory=allocatable.memory if memory is None else max(0, capacity.memory - memory),
        ephemeral_storage=(
            allocatable.ephemeral_storage
            if disk is None
            else max(0, capacity.ephemeral_storage - disk)
        ),
    )
    return TemplateNode(
        allocatable=allocatable,
        capacity=capacity,
        labels=tuple(sorted(group.spec.template.labels.items())),
        taints=tuple(Taint(t.key, t.value, str(t.effect)) for t in group.spec.template.taints),
    )


def _from_node(ctx: Context, group: NodeGroup, name: str) -> TemplateNode | None:
    nodes = sorted(group_nodes(ctx, name), key=lambda n: n.name)
    if not nodes:
        return None
    node = nodes[0]
    return TemplateNode(
        allocatable=node.allocatable,
        capacity=node.capacity,
        labels=tuple(sorted(group.spec.template.labels.items())),
        taints=tuple(Taint(t.key, t.value, str(t.effect)) for t in group.spec.template.taints),
    )


async def group_inputs(
    ctx: Context,
    *,
    catalogue: Catalogue,
    expected: Expectations,
    registered_upcoming: set[str],
) -> list[GroupInput]:
    """Every valid NodeGroup of the namespace as a planner option, by name.

    ``registered_upcoming`` receives the names of registered Nodes whose members are still
    on their way (counted as upcoming virtual nodes instead).
    """
    out: list[GroupInput] = []
    s = ctx.settings
    backoff = Backoff(s.backoff_base_s, s.backoff_max_s, s.failed_kept)
    busy = busy_checker(ctx)
    now = ctx.now()
    for rec in sorted(ctx.caches.nodegroups.values(), key=lambda r: r.meta.name):
        group = rec.resource
        if group is None or rec.meta.deleting or rec.meta.namespace != ctx.namespace:
            continue
        try:
            spec = await ctx.spec_of(rec)
        except GroupSpecError:
            continue  # the NodeGroup reconciler reports it
        found = await catalogue.template(spec)
        template = (
            template_node(group, found)
            if found is not None
            else _from_node(ctx, group, rec.meta.name)
        )
        if template is None:
            log.info("no template for group", extra={"nodegroup": rec.meta.name})
            continue
        members = ctx.members(rec.meta.namespace, rec.meta.name)
        pending = expected.pending(rec.key, seen={m.meta.name for m in members})
        sizing = plan_size(
            members,
            min_nodes=group.spec.min_nodes,
            max_nodes=group.spec.max_nodes,
            now=now,
            backoff=backoff,
            busy=busy,
            expected=pending,
        )
        # A member still on its way is a virtual node even once its Node registered: that
        # Node is still tainted not-ready and offers nothing yet (the caller leaves it out
        # of the snapshot, so its room is not counted twice).
        joining = [m for m in members if m.phase in UPCOMING and not m.meta.deleting]
        for m in joining:
            if (node := node_of(ctx, m)) is not None:
                registered_upcoming.add(node.name)
        upcoming = pending + len(joining)
        option = GroupOption(
            name=rec.meta.name,
            template=template,
            max_size=group.spec.max_nodes,
            min_size=group.spec.min_nodes,
            current=sizing.active - upcoming,
            upcoming=upcoming,
            priority=group.spec.priority,
            monthly_price=valid_price(await catalogue.price(spec)),
            scale_up_enabled=group.spec.scale_up.enabled,
            backoff_until=sizing.backoff_until,
        )
        out.append(GroupInput(rec, option, sizing))
    return out
