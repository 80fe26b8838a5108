"""Finding a VKE node group and its k8s offer (vpsie-api.md §6), as pure functions."""

from __future__ import annotations

from collections.abc import Sequence

from autoscaler.vpsie.errors import NotFound
from autoscaler.vpsie.provider import VkeGroupSpec
from autoscaler.vpsie.types import NodeGroup, Offer


def find_group(spec: VkeGroupSpec, groups: Sequence[NodeGroup]) -> NodeGroup:
    """The K3 group by numeric ``group_id``, else by ``group_name`` (exact, then ignoring case)."""
    live = [g for g in groups if g.active]
    if spec.group_id is not None:
        found = [g for g in live if g.id == spec.group_id]
    elif spec.group_name:
        found = [g for g in live if g.name == spec.group_name]
        if not found:
            wanted = spec.group_name.lower()
            found = [g for g in live if (g.name or "").lower() == wanted]
    else:
        raise ValueError(f"group {spec.name} names neither group_id nor group_name")
    if len(found) != 1:
        raise NotFound(f"VPSie node group of {spec.name} not found (or not unique)")
    return found[0]


def match_offer(group: NodeGroup, offers: Sequence[Offer]) -> Offer | None:
    """``group.boxsize_id == offer.id``, else the offer with the same cpu, ram and disk."""
    if group.boxsize_id is not None:
        by_id = [o for o in offers if o.id == group.boxsize_id]
        if by_id:
            return by_id[0]
    if None in (group.cpu, group.ram_mb):
        return None
    same = [
        o
        for o in offers
        if (o.cpu, o.ram_mb) == (group.cpu, group.ram_mb)
        and (group.ssd_gb is None or o.disk_gb == group.ssd_gb)
    ]
    return same[0] if len(same) == 1 else None
