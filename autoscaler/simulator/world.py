"""The in-memory world: catalogue indexes, clusters, groups and machines.

A *machine* is a plain VM (``vm``), a VKE worker (``worker``) or a VKE master (``master``).
Its stage times are drawn when it is created (``lifecycle.py``); the world moves machines
through them lazily when the clock is read (``lifecycle.advance``), so nothing runs in the
background and a manual clock gives the same answers every run.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from autoscaler.simulator.catalogue import ClusterSpec, Datacenter, GroupSpec, Offer
from autoscaler.simulator.config import SimulatorConfig
from autoscaler.simulator.knobs import BridgeKnobs

Kind = Literal["vm", "worker", "master"]


class Stage(enum.IntEnum):
    """How far a machine got (§5.1)."""

    ACCEPTED = 0
    PENDING = 1
    LISTED = 2
    RUNNING = 3
    REGISTERED = 4
    READY = 5


@dataclass(frozen=True, slots=True)
class Size:
    """What a machine is made of; ``boxsize_id`` is the plan id or the k8s offer id."""

    boxsize_id: int
    cpu: int
    ram: int
    ssd: int
    traffic: int
    price: float
    instance_type: str


@dataclass(slots=True)
class Machine:
    """One VM or VKE node, with its drawn schedule and its current state."""

    seq: int
    kind: Kind
    id: int
    identifier: str
    hostname: str
    size: Size
    dc: Datacenter
    project_id: int
    created_at: float
    initial_password: str
    public_ip: str | None
    private_ip: str | None
    bridge: BridgeKnobs
    os_identifier: str | None = None
    request: dict[str, Any] = field(default_factory=dict)
    user_data: str | None = None
    pending_id: str = ""
    cluster: str | None = None  # cluster identifier
    group_id: int | None = None
    node_row_id: int | None = None
    joins: bool = True
    becomes_ready: bool = True
    stuck: bool = False
    stage: Stage = Stage.ACCEPTED
    failed_at: float | None = None
    deleted_at: float | None = None
    lost_at: float | None = None
    gone_at: float | None = None
    registered: bool = False
    claim: dict[str, Any] | None = None

    @property
    def live(self) -> bool:
        """Neither gone nor failed."""
        return self.gone_at is None and self.failed_at is None

    @property
    def listed(self) -> bool:
        """Shown in V1 (VMs) or K2 ``nodes[]`` (VKE nodes)."""
        return self.live and self.stage >= Stage.LISTED

    @property
    def active(self) -> bool:
        """Running, and neither being deleted nor lost."""
        return self.stage >= Stage.RUNNING and self.deleted_at is None and self.lost_at is None

    def state(self) -> str:
        """A one-word state for the admin view and ``state``/``status`` fields."""
        if self.gone_at is not None:
            return "deleted"
        if self.failed_at is not None:
            return "failed"
        if self.lost_at is not None:
            return "lost"
        if self.deleted_at is not None:
            return "deleting"
        return self.stage.name.lower()


@dataclass(slots=True)
class GroupState:
    """A node group and when its worker count last changed."""

    spec: GroupSpec
    offer: Offer
    cluster: str
    created_at: float
    last_updated: float


@dataclass(slots=True)
class ClusterState:
    """A VKE cluster and its groups (by numeric id)."""

    spec: ClusterSpec
    dc: Datacenter
    created_at: float
    groups: dict[int, GroupState] = field(default_factory=dict)


@dataclass(order=True, slots=True)
class Event:
    """A scheduled transition of one machine."""

    due: float
    seq: int
    identifier: str = field(compare=False)
    action: str = field(compare=False)


class World:
    """All mutable state of one simulation run."""

    def __init__(
        self, config: SimulatorConfig, *, seed: int, stamp: Callable[[float], str]
    ) -> None:
        self.config = config
        self.seed = seed
        self.stamp = stamp
        self.dcs = {d.identifier: d for d in config.datacenters}
        self.plans = {p.identifier: p for p in config.plans}
        self.offers = {o.id: o for o in config.offers}
        self.os_ids = {o.identifier for o in config.os_images}
        self.projects = {p.id: p for p in config.projects}
        self.clusters: dict[str, ClusterState] = {}
        self.machines: dict[str, Machine] = {}
        self.used_ips: set[str] = set()
        self._events: list[Event] = []
        self._counters = {"machine": 5120, "node": 9000, "pending": 40000, "event": 0, "seq": 0}
        self._counters["group"] = max([g.id for c in config.clusters for g in c.groups] + [100])

    def next_id(self, counter: str) -> int:
        """The next value of a numeric id sequence."""
        self._counters[counter] += 1
        return self._counters[counter]

    def schedule(self, due: float | None, machine: Machine, action: str) -> None:
        """Run ``action`` on ``machine`` at ``due`` (never, if ``due`` is None)."""
        if due is not None:
            event = Event(due, self.next_id("event"), machine.identifier, action)
            heapq.heappush(self._events, event)

    def pop_due(self, now: float) -> Iterator[tuple[Event, Machine]]:
        """Pop the events due at ``now``, earliest first (ties in scheduling order)."""
        while self._events and self._events[0].due <= now:
            event = heapq.heappop(self._events)
            yield event, self.machines[event.identifier]

    def group(self, group_id: int) -> GroupState | None:
        """The node group with this numeric id, in any cluster."""
        for cluster in self.clusters.values():
            if group_id in cluster.groups:
                return cluster.groups[group_id]
        return None

    def workers(self, cluster: str, group_id: int | None = None) -> list[Machine]:
        """The live workers of a cluster (or of one of its groups), oldest first."""
        return [
            m
            for m in self.machines.values()
            if m.kind == "worker"
            and m.cluster == cluster
            and m.live
            and (group_id is None or m.group_id == group_id)
        ]

    def nodes_count(self, group: GroupState, *, when_listed: bool) -> int:
        """K3 ``nodes_count``: live workers, or only listed ones under the knob."""
        workers = self.workers(group.cluster, group.spec.id)
        return sum(1 for m in workers if m.listed or not when_listed)
