"""The ``Provider`` protocol the controllers use, and the values it speaks in.

Scale-up is two steps, so the intent can be written to the API server before any VPSie call
(architecture §2, invariant 1): ``prepare_create`` (sync: picks the VM hostname or an attempt
id) and ``create_worker`` (the one create call, never re-sent). The returned ``CreateHandle``
is later ``resolve``d to an identity: by hostname for VMs, by claiming the new node of the
group's K2/K3 diff for VKE. ``delete_worker`` is always targeted; "already gone" is success.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import SecretStr

from autoscaler.vpsie.templates import NodeTemplate
from autoscaler.vpsie.types import NodeGroup, Price


class WorkerState(enum.Enum):
    """How far a worker has come (vpsie-api.md §5.1)."""

    PENDING = "pending"  # accepted or queued, not listed yet
    PROVISIONING = "provisioning"  # listed, not running yet
    RUNNING = "running"  # vm: active, powered, with an IP; vke: listed with an identifier
    DELETING = "deleting"  # shown as deleted or terminated


@dataclass(frozen=True, slots=True)
class Worker:
    """A VPSie worker (VKE node or VM) as the controllers see it."""

    group: str | None
    identifier: str | None
    hostname: str | None
    private_ip: str | None
    public_ip: str | None
    state: WorkerState

    @property
    def provider_id(self) -> str | None:
        """``vpsie://<identifier>``, the Node's ``spec.providerID``."""
        return f"vpsie://{self.identifier}" if self.identifier else None

    @property
    def deletable(self) -> bool:
        """Only a worker with an identifier is ever deleted (§1)."""
        return self.identifier is not None


@dataclass(frozen=True, slots=True)
class VkeGroupSpec:
    """A VKE node group: our group ``name`` and VPSie's group ``group_id`` or ``group_name``."""

    name: str
    group_id: int | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class VmGroupSpec:
    """A group of plain VMs; unset fields fall back to the client configuration."""

    name: str
    plan_identifier: str
    category_identifier: str | None = None
    dc_identifier: str | None = None
    os_identifier: str | None = None
    project_id: int | None = None
    hostname_prefix: str | None = None
    user_data: SecretStr | None = None
    ssh_key_identifier: str | None = None
    script_identifier: str | None = None
    tags: tuple[str, ...] = ()
    add_public_ipv4: bool = True
    add_public_ipv6: bool = False
    add_private_ip: bool = True


GroupSpec = VkeGroupSpec | VmGroupSpec


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """A group as VPSie sees it now: observed size and attributed workers."""

    name: str
    size: int
    workers: tuple[Worker, ...]
    vpsie_group: NodeGroup | None = None


BeforeSend = Callable[[], Awaitable[None]]
"""Awaited right before a create call goes out (it records that the call may be sent)."""


@dataclass(frozen=True, slots=True)
class CreateIntent:
    """Chosen and persisted before the create call: an attempt id and, for VMs, the hostname."""

    group: str
    attempt_id: str
    hostname: str | None = None


@dataclass(frozen=True, slots=True)
class CreateHandle:
    """An accepted create. ``identifier`` is set when VPSie returned one; ``confirmed_by_listing``
    when the call's answer was lost and the listings showed it was carried out (§5.3)."""

    intent: CreateIntent
    accepted_at: float
    identifier: str | None = None
    hostname: str | None = None
    confirmed_by_listing: bool = False


class Resolution(enum.Enum):
    """What became of a create handle."""

    PENDING = "pending"  # not identifiable yet; ask again later
    RESOLVED = "resolved"  # ``worker`` is the new worker
    LOST = "lost"  # the provider cannot track it any longer (for example after a restart)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The answer of ``Provider.resolve``."""

    state: Resolution
    worker: Worker | None = None
    reason: str = field(default="")


class Provider(Protocol):
    """A VPSie provisioning mode, as used by the controllers."""

    @property
    def mode(self) -> Literal["vke", "vm"]:
        """Which provisioning mode this is."""

    @property
    def available(self) -> bool:
        """False while the API is considered down (circuit breaker open)."""

    async def list_groups(self, groups: Sequence[GroupSpec]) -> list[GroupStatus]:
        """Observed size and workers of each group (one listing for all of them)."""

    def prepare_create(self, group: GroupSpec) -> CreateIntent:
        """Choose what a create will be known by (a fresh hostname for VMs)."""

    async def create_worker(
        self, group: GroupSpec, *, intent: CreateIntent, before_send: BeforeSend | None = None
    ) -> CreateHandle:
        """Send the one create call; raises ``QuotaExceeded``, ``UnknownOutcome``, ...

        ``before_send`` is awaited right before the call goes out (under the provider's
        create lock, if it has one); if it raises, nothing is sent and the error propagates.
        """

    async def resolve(self, handle: CreateHandle) -> Resolved:
        """Identify the worker a create produced, once it is listed."""

    def forget(self, handle: CreateHandle) -> None:
        """Drop what the provider keeps for ``handle`` (its worker is Ready, or given up)."""

    async def delete_worker(
        self, group: GroupSpec, *, hostname: str | None, identifier: str | None
    ) -> bool:
        """Targeted delete: ``True`` if deleted now, ``False`` if it was already gone."""

    async def node_template(self, group: GroupSpec) -> NodeTemplate:
        """Capacity and allocatable of a new worker of the group (§6)."""

    async def price(self, group: GroupSpec) -> Price:
        """Monthly and hourly price of one worker of the group (unknown fields are ``None``)."""
