"""What one scale-down pass reads from the caches: group states, volume facts, nodes in
progress, and which VPSieNode owns a Node.

Every input comes from an informer store; nothing here calls the API server (review MED-2:
a claim or volume the caches do not hold is left out of the volume facts, so the pod rule
blocks with ``VolumeUnknown`` until a later pass sees it).
"""

from __future__ import annotations

import dataclasses
import logging

from autoscaler.controllers.context import Context
from autoscaler.controllers.keys import VPSIENODE_LABEL
from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.core.drainability import VolumeState
from autoscaler.core.node_eligibility import GroupState
from autoscaler.core.records import PdbRecord, PvcRecord, PvRecord, lookup, object_key
from autoscaler.core.resources import Phase
from autoscaler.core.time_window import TimeWindowError
from autoscaler.core.volumes import volume_facts
from autoscaler.kube.store import Store

__all__ = [
    "BEING_REMOVED",
    "ScaleDownCaches",
    "group_states",
    "nodes_in_progress",
    "owner_of",
    "volumes_of",
]

log = logging.getLogger(__name__)

BEING_REMOVED = (Phase.DRAINING, Phase.DELETING)


@dataclasses.dataclass(frozen=True, slots=True)
class ScaleDownCaches:
    """The informer stores only scale-down reads (every replica keeps them warm)."""

    pdbs: Store[PdbRecord]
    pvcs: Store[PvcRecord]
    pvs: Store[PvRecord]


def group_states(ctx: Context) -> tuple[dict[str, GroupState], dict[str, str]]:
    """Every valid NodeGroup of the namespace as the planner's ``GroupState``, by name.

    ``current_nodes`` counts the group's members that are neither Failed nor being deleted
    (the planner takes the smaller of it and the registered Nodes). A group whose allowed
    window names a time zone unknown here gets scale-down disabled; the second mapping
    gives, per such group, the problem to report.
    """
    states: dict[str, GroupState] = {}
    problems: dict[str, str] = {}
    for rec in ctx.caches.nodegroups.values():
        group = rec.resource
        if group is None or rec.meta.deleting or rec.meta.namespace != ctx.namespace:
            continue
        name = rec.meta.name
        members = ctx.members(rec.meta.namespace, name)
        active = [m for m in members if not m.meta.deleting and m.phase is not Phase.FAILED]
        spec = group.spec
        try:
            states[name] = GroupState.from_spec(
                name,
                spec=spec.scale_down,
                min_nodes=spec.min_nodes,
                current_nodes=len(active),
                last_scale_up=group.status.last_scale_up_time,
            )
        except TimeWindowError as err:
            problems[name] = f"scale-down is blocked: an allowed window cannot be read: {err}"
            states[name] = GroupState(
                name=name,
                min_nodes=spec.min_nodes,
                current_nodes=len(active),
                scale_down_enabled=False,
            )
    return states, problems


def volumes_of(caches: ScaleDownCaches) -> dict[str, VolumeState]:
    """The volume facts of every cached claim the caches can answer."""
    pvs = {pv.name: pv for pv in caches.pvs.values()}
    return volume_facts(caches.pvcs.values(), pvs)


def owner_of(ctx: Context, node: str) -> VPSieNodeRecord | None:
    """The one VPSieNode of this namespace that owns Node ``node``, if exactly one does."""
    found = {r.key: r for r in ctx.caches.vpsienodes.by_index("by_hostname", node)}
    cached = ctx.caches.nodes.get(node)
    label = lookup(cached.labels, VPSIENODE_LABEL) if cached is not None else None
    if label:
        rec = ctx.caches.vpsienodes.get(object_key(ctx.namespace, label))
        if rec is not None:
            found[rec.key] = rec
    owners = [r for r in found.values() if r.meta.namespace == ctx.namespace]
    return owners[0] if len(owners) == 1 else None


def nodes_in_progress(ctx: Context, draining: frozenset[str]) -> frozenset[str]:
    """Nodes being drained here (``draining``) or whose VPSieNode is being removed."""
    names = set(draining)
    for rec in ctx.caches.vpsienodes.values():
        if rec.phase in BEING_REMOVED or rec.meta.deleting:
            names |= _names_of(rec)
    return frozenset(names)


def _names_of(rec: VPSieNodeRecord) -> set[str]:
    names = {(rec.hostname or "").lower()}
    if rec.resource is not None:
        names.add(rec.resource.status.node_name or "")
    return names - {""}
