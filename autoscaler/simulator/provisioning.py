"""Creating machines: VMs (V4), VKE workers (K4), masters, and the initial world."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from autoscaler.simulator.catalogue import Plan
from autoscaler.simulator.config import SimulatorConfig
from autoscaler.simulator.knobs import Delay, JoinKnobs, Knobs, ProvisionKnobs
from autoscaler.simulator.lifecycle import draw, new_machine, size_of_offer
from autoscaler.simulator.rng import RngStreams
from autoscaler.simulator.world import ClusterState, GroupState, Machine, Size, World

_NOW = Delay(seconds=0)
_INSTANT = ProvisionKnobs(
    pending_delay=_NOW, list_delay=_NOW, boot_delay=_NOW, join_delay=_NOW, ready_delay=_NOW
)


def plan_size(plan: Plan) -> Size:
    """The size of a VM of this plan."""
    return Size(plan.id, plan.cpu, plan.ram, plan.ssd, plan.traffic, plan.price, plan.nickname)


def create_vm(
    world: World,
    rng: random.Random,
    knobs: Knobs,
    *,
    now: float,
    hostname: str,
    plan: Plan,
    dc: str,
    project_id: int,
    public_ip: bool,
    private_ip: bool,
    os_identifier: str | None = None,
    user_data: str | None = None,
    request: dict[str, Any] | None = None,
) -> Machine:
    """Accept a VM create: queue it (V3) and schedule its stages."""
    draws = draw(rng, knobs, world.used_ips)
    return new_machine(
        world,
        draws,
        knobs,
        now=now,
        kind="vm",
        hostname=hostname,
        size=plan_size(plan),
        dc=world.dcs[dc],
        project_id=project_id,
        public_ip=draws.public_ip if public_ip else None,
        private_ip=draws.private_ip if private_ip else None,
        os_identifier=os_identifier,
        user_data=user_data,
        request=request or {},
        pending_id=str(world.next_id("pending")),
    )


def create_worker(
    world: World,
    rng: random.Random,
    knobs: Knobs,
    *,
    now: float,
    cluster: ClusterState,
    group: GroupState | None,
    master_offer: int = 0,
) -> Machine:
    """Accept a VKE worker of ``group`` (or, with no group, a master of ``master_offer``)."""
    draws = draw(rng, knobs, world.used_ips)
    part = group.spec.group_name if group else "master"
    hostname = f"{cluster.spec.cluster_name}-{part}-{draws.suffix}"
    if knobs.shape.hostname_case == "upper":
        hostname = hostname.upper()
    return new_machine(
        world,
        draws,
        knobs,
        now=now,
        kind="worker" if group else "master",
        hostname=hostname,
        size=size_of_offer(world, group.offer.id if group else master_offer),
        dc=cluster.dc,
        project_id=cluster.spec.project_id,
        public_ip=draws.public_ip,
        private_ip=draws.private_ip,
        cluster=cluster.spec.identifier,
        group_id=group.spec.id if group else None,
        node_row_id=world.next_id("node"),
    )


def build_world(
    config: SimulatorConfig, *, rngs: RngStreams, knobs: Knobs, stamp: Callable[[float], str]
) -> World:
    """The initial world: clusters with masters and initial workers, and initial VMs.

    Initial machines are ready at t=0 with no fates; the first ``advance`` registers them.
    """
    world = World(config, seed=rngs.seed, stamp=stamp)
    rng = rngs.stream("init")
    instant = knobs.model_copy(update={"provision": _INSTANT, "join": JoinKnobs()})
    for spec in config.clusters:
        cluster = ClusterState(spec=spec, dc=world.dcs[spec.dc], created_at=0.0)
        world.clusters[spec.identifier] = cluster
        for g in spec.groups:
            offer = world.offers[g.offer_id]
            group = GroupState(g, offer, spec.identifier, created_at=0.0, last_updated=0.0)
            cluster.groups[g.id] = group
        master_offer = spec.master_offer_id or min(world.offers)
        for _ in range(spec.masters):
            create_worker(
                world, rng, instant, now=0.0, cluster=cluster, group=None, master_offer=master_offer
            )
        for group in cluster.groups.values():
            for _ in range(group.spec.initial_nodes):
                create_worker(world, rng, instant, now=0.0, cluster=cluster, group=group)
    for vm in config.vms:
        create_vm(
            world,
            rng,
            instant,
            now=0.0,
            hostname=vm.hostname,
            plan=world.plans[vm.plan],
            dc=vm.dc,
            project_id=vm.project_id,
            public_ip=True,
            private_ip=True,
            os_identifier=vm.os,
        )
    return world
