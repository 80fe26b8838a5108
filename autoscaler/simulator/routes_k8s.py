"""VKE routes K1-K5, K7 and K8 (K6, the offers, is with the catalogue)."""

from __future__ import annotations

from autoscaler.simulator import views
from autoscaler.simulator.catalogue import GroupSpec
from autoscaler.simulator.envelope import Reject, Reply, business, not_found, ok
from autoscaler.simulator.lifecycle import jittered, request_delete
from autoscaler.simulator.parsing import as_int, required, required_int
from autoscaler.simulator.provisioning import create_worker
from autoscaler.simulator.rng import draw_uuid
from autoscaler.simulator.routing import Call, Router
from autoscaler.simulator.world import ClusterState, GroupState

WORKER_QUOTA = "Worker nodes count exceeds the allowed limit"
DUPLICATE_SIZE = "Group {name} has same selected Size, please select another size"
_BASE = "/apps/v2/k8s/cluster/byId/{cid}"


def _cluster(call: Call, cid: str | None = None) -> ClusterState:
    cluster = call.world.clusters.get(cid or call.params["cid"])
    if cluster is None:
        raise Reject(not_found("Cluster"))
    return cluster


def _group(cluster: ClusterState, gid: object) -> GroupState:
    group = cluster.groups.get(as_int(gid) or -1)
    if group is None:
        raise Reject(not_found("Node group"))
    return group


def _limit(*limits: int | None) -> int | None:
    known = [n for n in limits if n is not None]
    return min(known) if known else None


def list_clusters(call: Call) -> Reply:
    """K1: every cluster."""
    rows = [views.cluster(call.world, c, call.knobs) for c in call.world.clusters.values()]
    return ok(rows, total=len(rows))


def get_cluster(call: Call) -> Reply:
    """K2: one cluster with its listed ``nodes[]``."""
    cluster = _cluster(call)
    data = views.cluster(call.world, cluster, call.knobs)
    nodes = views.cluster_nodes(call.world, cluster)
    data["nodes"] = [views.node(call.world, m, call.knobs) for m in nodes]
    return ok(data)


def list_groups(call: Call) -> Reply:
    """K3: the node groups of a cluster."""
    cluster = _cluster(call)
    rows = [views.group(call.world, g, call.knobs) for g in cluster.groups.values()]
    return ok(rows, total=len(rows))


def add_worker(call: Call) -> Reply:
    """K4: one more worker in a group; ``nodes_count`` rises at once."""
    cluster = _cluster(call)
    group = _group(cluster, call.params["gid"])
    quota = call.knobs.quota
    group_limit = _limit(group.spec.max_workers, quota.max_workers_per_group)
    cluster_limit = _limit(cluster.spec.max_workers, quota.max_workers)
    in_group = len(call.world.workers(cluster.spec.identifier, group.spec.id))
    in_cluster = len(call.world.workers(cluster.spec.identifier))
    if (
        call.forced_quota
        or (group_limit is not None and in_group >= group_limit)
        or (cluster_limit is not None and in_cluster >= cluster_limit)
    ):
        return business(WORKER_QUOTA, status=call.knobs.business_error_status)
    worker = create_worker(
        call.world, call.rng, call.knobs, now=call.now, cluster=cluster, group=group
    )
    worker.claim = {
        "group_id": group.spec.id,
        "group_name": group.spec.group_name,
        "requested_at": call.stamp(call.now),
    }
    if not call.knobs.shape.count_when_listed:
        group.last_updated = call.now
    if call.knobs.shape.add_slave_returns == "object":
        node = {
            "id": worker.node_row_id,
            "identifier": worker.identifier,
            "status": "provisioning",
            "hostname": worker.hostname,
        }
        return ok(node)
    return ok(True)


def delete_worker(call: Call) -> Reply:
    """K5: delete the worker with this ``identifier``; it leaves after ``delete_delay``."""
    cluster = _cluster(call)
    identifier = str(required(call.body, "identifier"))
    machine = call.world.machines.get(identifier)
    if machine is None or machine.cluster != cluster.spec.identifier or not machine.live:
        return not_found("Node")
    if machine.kind == "master":
        return business("Master nodes cannot be deleted", status=call.knobs.business_error_status)
    request_delete(
        call.world,
        machine,
        now=call.now,
        delay=jittered(call.rng, call.knobs.provision.delete_delay),
    )
    return ok(True)


def reduce_group(call: Call) -> Reply:
    """K8: VPSie picks the worker to delete: the group's newest one."""
    cluster = _cluster(call)
    group = _group(cluster, required(call.body, "groupId"))
    workers = [
        m
        for m in call.world.workers(cluster.spec.identifier, group.spec.id)
        if m.deleted_at is None
    ]
    if not workers:
        return business("Node group has no worker nodes", status=call.knobs.business_error_status)
    newest = max(workers, key=lambda m: (m.created_at, m.seq))
    request_delete(
        call.world,
        newest,
        now=call.now,
        delay=jittered(call.rng, call.knobs.provision.delete_delay),
    )
    return ok(True)


def add_group(call: Call) -> Reply:
    """K7: a new, empty node group; VPSie refuses a size the cluster already has."""
    cluster = _cluster(call, str(required(call.body, "clusterIdentifier")))
    name = str(required(call.body, "groupName"))
    size = required_int(call.body, "KubeSizeID")
    status = call.knobs.business_error_status
    offer = call.world.offers.get(size)
    if offer is None:
        return business("Invalid KubeSizeID", status=status)
    for group in cluster.groups.values():
        if group.offer.id == size:
            return business(DUPLICATE_SIZE.format(name=group.spec.group_name), status=status)
        if group.spec.group_name == name:
            return business(f"Group {name} already exists", status=status)
    spec = GroupSpec(
        id=call.world.next_id("group"),
        identifier=draw_uuid(call.rng),
        group_name=name,
        offer_id=size,
    )
    cluster.groups[spec.id] = GroupState(spec, offer, cluster.spec.identifier, call.now, call.now)
    return ok(True)


def add_routes(router: Router) -> None:
    """Add K1-K5, K7 and K8."""
    router.add("K1", "GET", "/apps/v2/k8s/cluster/all", list_clusters)
    router.add("K2", "GET", _BASE, get_cluster)
    router.add("K3", "GET", "/apps/v2/k8s/node/groups/byClusterId/{cid}", list_groups)
    router.add("K4", "POST", f"{_BASE}/add/slave/group/{{gid}}", add_worker)
    router.add("K5", "DELETE", f"{_BASE}/delete/slave", delete_worker)
    router.add("K7", "POST", "/apps/v2/k8s/cluster/add/group", add_group)
    router.add("K8", "DELETE", f"{_BASE}/reduce/slave", reduce_group)
