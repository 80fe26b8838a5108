"""Wire shapes of the world's objects (§4): VmData, pending entries, nodes, groups, clusters."""

from __future__ import annotations

from typing import Any

from autoscaler.simulator.knobs import Knobs
from autoscaler.simulator.parsing import as_int, flag
from autoscaler.simulator.world import ClusterState, GroupState, Machine, Stage, World

_FLAGS = (
    "addPublicIpV4",
    "addPublicIpV6",
    "addPrivateIp",
    "backupEnabled",
    "weeklyBackupEnabled",
    "monthlyBackupEnabled",
)


def price(value: float, knobs: Knobs) -> float | str:
    """A monthly price, as a number or (knob ``price_as_string``) a string."""
    return f"{value:.2f}" if knobs.shape.price_as_string else value


def vm_state(m: Machine) -> str:
    """What VPSie would say of the VM itself (it knows nothing of Kubernetes)."""
    if m.deleted_at is not None or m.gone_at is not None:
        return "deleted"
    if m.lost_at is not None:
        return "stopped"
    return "running" if m.stage >= Stage.RUNNING else "provisioning"


def vm_data(world: World, m: Machine) -> dict[str, Any]:
    """VmData: the S field set, both project keys, no ``status`` and no ``tags``."""
    running = m.stage >= Stage.RUNNING
    return {
        "id": m.id,
        "identifier": m.identifier,
        "hostname": m.hostname,
        "boxsize_id": m.size.boxsize_id,
        "datacenter_id": m.dc.id,
        "dcIdentifier": m.dc.identifier,
        "projectId": m.project_id,
        "project_id": m.project_id,
        "cpu": m.size.cpu,
        "ram": m.size.ram,
        "ssd": m.size.ssd,
        "traffic": m.size.traffic,
        "default_ip": m.public_ip if running else None,
        "private_ip": m.private_ip if running else None,
        "is_active": int(m.active),
        "power": int(m.active),
        "is_suspended": 0,
        "is_locked": 0,
        "is_terminated": 0,
        "is_deleted": int(m.deleted_at is not None),
        "state": vm_state(m),
        "initial_password": m.initial_password,
        "created_on": world.stamp(m.created_at),
        "dropped_on": world.stamp(m.deleted_at) if m.deleted_at is not None else None,
    }


def pending_entry(world: World, m: Machine) -> dict[str, Any]:
    """A V3 entry: the create request echoed, flags as booleans, ``projectId`` an int."""
    data: dict[str, Any] = dict(m.request)
    for name in _FLAGS:
        if name in data:
            data[name] = flag(data[name])
    data["projectId"] = as_int(data.get("projectId")) or m.project_id
    plan = world.plans.get(str(data.get("resourceIdentifier")))
    return {
        "id": m.pending_id,
        "user_id": world.config.user_id,
        "running": 1,
        "type": "vm",
        "data": data,
        "resourceData": plan.model_dump(exclude={"dcs"}) if plan else None,
        "datacenter": m.dc.model_dump(),
        "osData": {"identifier": m.os_identifier},
        "created_on": world.stamp(m.created_at),
    }


def node(world: World, m: Machine, knobs: Knobs) -> dict[str, Any]:
    """A K2 ``nodes[]`` entry: the S and A fields, and no group field."""
    running = m.stage >= Stage.RUNNING
    master = m.kind == "master"
    out: dict[str, Any] = {
        "id": m.node_row_id,
        "hostname": m.hostname,
        "default_ip": m.public_ip if running else None,
        "private_ip": m.private_ip if running else None,
        "node_type": "master" if master else "slave",
        "node_id": m.id,
        "datacenter_id": m.dc.id,
        "user_id": world.config.user_id,
        "created_on": world.stamp(m.created_at),
        "identifier": m.identifier,
        "ip": m.public_ip if running else None,
        "status": "deleting" if m.deleted_at is not None and m.live else vm_state(m),
        "role": "master" if master else "worker",
        "cpu": m.size.cpu,
        "ram": m.size.ram,
        "disk": m.size.ssd,
    }
    if knobs.shape.nodes_missing_identifier and not master:
        del out["identifier"]
    return out


def group(world: World, g: GroupState, knobs: Knobs) -> dict[str, Any]:
    """A K3 node group; ``boxsize_id`` is the k8s offer id."""
    cluster = world.clusters[g.cluster]
    return {
        "id": g.spec.id,
        "identifier": g.spec.identifier,
        "group_name": g.spec.group_name,
        "boxsize_id": g.offer.id,
        "cpu": g.offer.cpu,
        "ram": g.offer.ram,
        "ssd": g.offer.disk,
        "traffic": g.offer.traffic,
        "nodes_count": world.nodes_count(g, when_listed=knobs.shape.count_when_listed),
        "cluster_id": cluster.spec.id,
        "datacenter_id": cluster.dc.id,
        "dcIdentifier": cluster.dc.identifier,
        "project_id": cluster.spec.project_id,
        "is_active": 1,
        "is_deleted": 0,
        "notes": g.spec.notes,
        "created_on": world.stamp(g.created_at),
        "last_updated": world.stamp(g.last_updated),
        "dropped_on": None,
    }


def cluster_nodes(world: World, c: ClusterState) -> list[Machine]:
    """The cluster's listed masters and workers, oldest first."""
    ident = c.spec.identifier
    return [m for m in world.machines.values() if m.cluster == ident and m.listed]


def cluster(world: World, c: ClusterState, knobs: Knobs) -> dict[str, Any]:
    """A K1 cluster summary (K2 adds ``nodes``)."""
    nodes = cluster_nodes(world, c)
    updated = max([c.created_at] + [g.last_updated for g in c.groups.values()])
    return {
        "identifier": c.spec.identifier,
        "cluster_name": c.spec.cluster_name,
        "kube_version": c.spec.kube_version,
        "count": len(nodes),
        "managerCount": sum(1 for m in nodes if m.kind == "master"),
        "slaveCount": sum(1 for m in nodes if m.kind == "worker"),
        "cpu": sum(m.size.cpu for m in nodes),
        "ram": sum(m.size.ram for m in nodes),
        "traffic": sum(m.size.traffic for m in nodes),
        "price": price(sum(m.size.price for m in nodes), knobs),
        "nickname": c.spec.nickname,
        "color": c.spec.color,
        "lock": 0,
        "lb_id": None,
        "created_on": world.stamp(c.created_at),
        "updated_on": world.stamp(updated),
    }
