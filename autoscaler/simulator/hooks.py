"""The Kubernetes Node hook (§8): how the simulator tells a bridge about its workers.

The simulator calls a ``NodeHook`` at four points of a worker's life, in simulated-time
order, each with a frozen ``WorkerRecord``:

* ``on_registered``: the worker joined; create its Node (NotReady unless the bridge lets
  kwok make it Ready; ``worker.becomes_ready`` is False when it never will);
* ``on_ready``: the Node should now be Ready (not called for never-ready workers);
* ``on_lost``: the worker failed on VPSie's side (``/__sim/vms/{id}/kill``); mark the
  Node NotReady; ``on_deleted`` follows after ``delete_delay``;
* ``on_deleted``: VPSie no longer lists the worker (K5, K8, V5 or kill, after
  ``delete_delay``); delete the Node unless ``worker.bridge.leave_node_behind``.

``on_lost`` and ``on_deleted`` come only for workers that were registered. Calls are made
one at a time, in order, from whichever request or clock advance moved the world; a hook
that raises is logged and counted, and the simulation carries on. VKE masters never reach
the hook; plain VMs do (``mode == "vm"``), since their ``userData`` joins them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

from autoscaler.simulator.knobs import BridgeKnobs

log = logging.getLogger(__name__)

HookStage = Literal["registered", "ready", "lost", "deleted"]


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """What the bridge needs to create, label and delete one Node."""

    mode: Literal["vke", "vm"]
    hostname: str  # as VPSie reports it; the Node name is hostname.lower()
    identifier: str  # the VM / node UUID (providerID vpsie://<identifier>)
    vm_id: int
    private_ip: str | None  # InternalIP
    default_ip: str | None  # ExternalIP
    cpu: int
    ram_mb: int
    ssd_gb: int
    instance_type: str  # plan nickname (vm) or k8s offer name (vke)
    dc_name: str  # topology.kubernetes.io/region
    dc_identifier: str
    cluster_identifier: str | None  # vke only
    cluster_name: str | None
    group_name: str | None  # vke only; VKE's own Node labels are unknown (knob)
    group_id: int | None
    user_data: str | None = field(repr=False)  # base64, as sent in V4 (vm only); a secret
    becomes_ready: bool  # False under never_join_mode "not_ready"
    sim_run: str  # value of the sim-run label
    bridge: BridgeKnobs  # vke_group_label, provider_id form, leave_node_behind

    @property
    def node_name(self) -> str:
        """The Kubernetes Node name: the hostname, lowercased."""
        return self.hostname.lower()

    def user_data_text(self) -> str | None:
        """``user_data`` decoded from base64 (None if absent or not valid base64/UTF-8)."""
        if not self.user_data:
            return None
        try:
            return base64.b64decode(self.user_data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None

    def provider_id(self) -> str | None:
        """The providerID the knob asks for (vke); vm workers get none, as in reality."""
        if self.mode == "vm" or self.bridge.provider_id == "none":
            return None
        if self.bridge.provider_id == "long":
            return f"vpsie://{self.dc_identifier}/{self.cluster_identifier}/{self.identifier}"
        return f"vpsie://{self.identifier}"


class NodeHook(Protocol):
    """Receives worker lifecycle events; see the module docstring."""

    async def on_registered(self, worker: WorkerRecord) -> None:
        """The worker joined the cluster: create its Node."""

    async def on_ready(self, worker: WorkerRecord) -> None:
        """The worker's Node should be Ready."""

    async def on_lost(self, worker: WorkerRecord) -> None:
        """The worker died on VPSie's side: its Node goes NotReady."""

    async def on_deleted(self, worker: WorkerRecord) -> None:
        """The worker is gone from VPSie: delete its Node."""


class NoopHook:
    """A hook that does nothing (the default)."""

    async def on_registered(self, worker: WorkerRecord) -> None:
        """Do nothing."""

    async def on_ready(self, worker: WorkerRecord) -> None:
        """Do nothing."""

    async def on_lost(self, worker: WorkerRecord) -> None:
        """Do nothing."""

    async def on_deleted(self, worker: WorkerRecord) -> None:
        """Do nothing."""


@dataclass(frozen=True, slots=True)
class HookEvent:
    """One call to make: ``on_<stage>(worker)``."""

    stage: HookStage
    worker: WorkerRecord


class HookRunner:
    """Calls the hook for queued events one at a time, in the order they were queued."""

    def __init__(self, hook: NodeHook) -> None:
        self.hook = hook
        self.errors = 0
        self.delivered = 0
        self._queue: deque[HookEvent] = deque()
        self._lock = asyncio.Lock()

    def enqueue(self, events: list[HookEvent]) -> None:
        """Queue events (sync, so the order matches the order the world produced them)."""
        self._queue.extend(events)

    async def flush(self) -> None:
        """Deliver every queued event, including any queued meanwhile by other callers."""
        async with self._lock:
            while self._queue:
                event = self._queue.popleft()
                try:
                    await getattr(self.hook, f"on_{event.stage}")(event.worker)
                except asyncio.CancelledError:
                    self._queue.appendleft(event)  # deliver it on the next flush
                    raise
                except Exception:
                    self.errors += 1
                    log.exception(
                        "node hook failed",
                        extra={"stage": event.stage, "hostname": event.worker.hostname},
                    )
                self.delivered += 1
