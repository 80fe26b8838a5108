"""Machine lifecycles (§5.1): drawing a schedule at creation, then moving along it lazily.

Every random choice of a machine (identifier, hostname suffix, IPs, password, delays and
fates) is drawn when the call that creates it is handled, from that route's stream, in a
fixed order; the transitions themselves draw nothing. ``advance(world, now)`` applies the
due transitions in time order and returns the hook events they cause.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from autoscaler.simulator.hooks import HookEvent, HookStage, WorkerRecord
from autoscaler.simulator.knobs import Delay, Knobs
from autoscaler.simulator.rng import PRIVATE_POOL, PUBLIC_POOL, draw_ip, draw_suffix, draw_uuid
from autoscaler.simulator.world import Machine, Size, Stage, World

_STAGES = {
    "pending": Stage.PENDING,
    "listed": Stage.LISTED,
    "running": Stage.RUNNING,
    "registered": Stage.REGISTERED,
    "ready": Stage.READY,
}


@dataclass(frozen=True, slots=True)
class Draws:
    """The random part of a new machine."""

    identifier: str
    suffix: str
    public_ip: str
    private_ip: str
    password: str
    delays: tuple[float, float, float, float, float]  # pending, list, boot, join, ready
    stuck: bool
    failed: bool
    never_joins: bool


def jittered(rng: random.Random, delay: Delay) -> float:
    """``delay`` with its jitter drawn (always one draw, even without jitter)."""
    return delay.seconds + rng.random() * delay.jitter


def draw(rng: random.Random, knobs: Knobs, used_ips: set[str]) -> Draws:
    """Draw everything random about a new machine, always in the same order."""
    p, j = knobs.provision, knobs.join
    identifier, suffix = draw_uuid(rng), draw_suffix(rng, 5)
    public_ip, private_ip = (
        draw_ip(rng, PUBLIC_POOL, used_ips),
        draw_ip(rng, PRIVATE_POOL, used_ips),
    )
    password = draw_suffix(rng, 16)
    delays = [jittered(rng, d) for d in (p.pending_delay, p.list_delay, p.boot_delay)]
    delays.append(jittered(rng, p.join_delay) + jittered(rng, j.slow_join))
    delays.append(jittered(rng, p.ready_delay))
    stuck, failed, never = (rng.random() for _ in range(3))
    return Draws(
        identifier=identifier,
        suffix=suffix,
        public_ip=public_ip,
        private_ip=private_ip,
        password=password,
        delays=(delays[0], delays[1], delays[2], delays[3], delays[4]),
        stuck=stuck < p.stuck_pending_rate,
        failed=failed < p.fail_provision_rate,
        never_joins=never < j.never_join_rate,
    )


def new_machine(world: World, draws: Draws, knobs: Knobs, *, now: float, **fields: Any) -> Machine:
    """Create a machine from its draws, add it to the world and schedule its stages."""
    never_mode = knobs.join.never_join_mode
    machine = Machine(
        seq=world.next_id("seq"),
        id=world.next_id("machine"),
        identifier=draws.identifier,
        created_at=now,
        initial_password=draws.password,
        bridge=knobs.bridge,
        joins=not (draws.never_joins and never_mode == "no_node"),
        becomes_ready=not draws.never_joins,
        stuck=draws.stuck,
        **fields,
    )
    world.machines[machine.identifier] = machine
    t = now
    for action, delay in zip(_STAGES, draws.delays, strict=True):
        t += delay
        if action == "listed" and (draws.stuck or draws.failed):
            world.schedule(None if draws.stuck else t, machine, "failed")
            break
        if action == "registered" and not machine.joins:
            break
        if action == "ready" and not machine.becomes_ready:
            break
        world.schedule(t, machine, action)
    return machine


def size_of_offer(world: World, offer_id: int) -> Size:
    """The size of a VKE node of this offer."""
    o = world.offers[offer_id]
    return Size(o.id, o.cpu, o.ram, o.disk, o.traffic, o.price, o.name)


def request_delete(world: World, machine: Machine, *, now: float, delay: float) -> None:
    """Accept a delete: flag it now, and let the machine go after ``delay``."""
    if machine.deleted_at is None:
        machine.deleted_at = now
        world.schedule(now + delay, machine, "gone")


def kill(world: World, machine: Machine, *, now: float, delay: float) -> list[HookEvent]:
    """Lose a machine out of band: it stops now and is gone after ``delay``."""
    if machine.lost_at is not None or machine.deleted_at is not None:
        return []
    machine.lost_at = now
    world.schedule(now + delay, machine, "gone")
    return [hook_event(world, machine, "lost")] if machine.registered else []


def advance(world: World, now: float) -> list[HookEvent]:
    """Apply every transition due at ``now``; return the hook events, in order."""
    events: list[HookEvent] = []
    for event, machine in world.pop_due(now):
        if not machine.live:
            continue
        if event.action in ("failed", "gone"):
            if event.action == "failed":
                machine.failed_at = event.due
            else:
                machine.gone_at = event.due
                if machine.registered:
                    events.append(hook_event(world, machine, "deleted"))
            _touch_group(world, machine, event.due)
            continue
        if machine.deleted_at is not None or machine.lost_at is not None:
            continue
        machine.stage = _STAGES[event.action]
        if machine.stage is Stage.LISTED:
            _touch_group(world, machine, event.due)
        if machine.stage >= Stage.REGISTERED and machine.kind != "master":
            machine.registered = True
            stage: HookStage = "ready" if machine.stage is Stage.READY else "registered"
            events.append(hook_event(world, machine, stage))
    return events


def _touch_group(world: World, machine: Machine, t: float) -> None:
    if machine.group_id is not None and (group := world.group(machine.group_id)) is not None:
        group.last_updated = max(group.last_updated, t)


def hook_event(world: World, machine: Machine, stage: HookStage) -> HookEvent:
    """The hook event ``stage`` for ``machine``."""
    return HookEvent(stage, worker_record(world, machine))


def worker_record(world: World, m: Machine) -> WorkerRecord:
    """The frozen record the hook receives for ``m``."""
    cluster = world.clusters.get(m.cluster) if m.cluster else None
    group = world.group(m.group_id) if m.group_id is not None else None
    return WorkerRecord(
        mode="vm" if m.kind == "vm" else "vke",
        hostname=m.hostname,
        identifier=m.identifier,
        vm_id=m.id,
        private_ip=m.private_ip,
        default_ip=m.public_ip,
        cpu=m.size.cpu,
        ram_mb=m.size.ram,
        ssd_gb=m.size.ssd,
        instance_type=m.size.instance_type,
        dc_name=m.dc.dc_name,
        dc_identifier=m.dc.identifier,
        cluster_identifier=m.cluster,
        cluster_name=cluster.spec.cluster_name if cluster else None,
        group_name=group.spec.group_name if group else None,
        group_id=m.group_id,
        user_data=m.user_data,
        becomes_ready=m.becomes_ready,
        sim_run=world.config.sim_run(world.seed),
        bridge=m.bridge,
    )
