"""The ``GET /__sim/state`` view: the world as the simulator sees it, deleted machines too."""

from __future__ import annotations

from typing import Any

from autoscaler.simulator import views
from autoscaler.simulator.calls import redact
from autoscaler.simulator.simulation import Simulation
from autoscaler.simulator.world import Machine, Stage, World


def _stamp(world: World, t: float | None) -> str | None:
    return world.stamp(t) if t is not None else None


def machine(world: World, m: Machine) -> dict[str, Any]:
    """One machine, with its whole history (no secrets)."""
    return {
        "kind": m.kind,
        "id": m.id,
        "identifier": m.identifier,
        "hostname": m.hostname,
        "plan": m.size.instance_type,
        "boxsize_id": m.size.boxsize_id,
        "dc": m.dc.identifier,
        "project_id": m.project_id,
        "cluster": m.cluster,
        "group_id": m.group_id,
        "state": m.state(),
        "stage": m.stage.name.lower(),
        "default_ip": m.public_ip,
        "private_ip": m.private_ip,
        "created_at": _stamp(world, m.created_at),
        "deleted_at": _stamp(world, m.deleted_at),
        "lost_at": _stamp(world, m.lost_at),
        "gone_at": _stamp(world, m.gone_at),
        "failed_at": _stamp(world, m.failed_at),
        "stuck": m.stuck,
        "joins": m.joins,
        "becomes_ready": m.becomes_ready,
        "registered": m.registered,
    }


def state(sim: Simulation) -> dict[str, Any]:
    """Everything: machines, the pending queue, clusters and groups, claims, hook counts."""
    world, knobs = sim.world, sim.knobs
    clusters = []
    for c in world.clusters.values():
        groups = []
        for g in c.groups.values():
            row = views.group(world, g, knobs)
            workers = world.workers(c.spec.identifier, g.spec.id)
            row["nodes"] = [{"identifier": m.identifier, "hostname": m.hostname} for m in workers]
            groups.append(row)
        nodes = views.cluster_nodes(world, c)
        clusters.append(
            views.cluster(world, c, knobs)
            | {"groups": groups, "nodes": [views.node(world, m, knobs) for m in nodes]}
        )
    claims = {
        m.hostname: {"identifier": m.identifier, "cluster": m.cluster, **m.claim}
        for m in world.machines.values()
        if m.claim is not None
    }
    pending = [
        redact(views.pending_entry(world, m))
        for m in world.machines.values()
        if m.kind == "vm" and m.live and m.stage == Stage.PENDING
    ]
    return {
        "seed": sim.seed,
        "clock": sim.clock.mode,
        "now": sim.clock.now(),
        "wall": sim.clock.stamp(sim.clock.now()),
        "vms": [machine(world, m) for m in world.machines.values()],
        "pending": pending,
        "clusters": clusters,
        "claims": claims,
        "hooks": {"delivered": sim.hooks.delivered, "errors": sim.hooks.errors},
    }
