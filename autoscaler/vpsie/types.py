"""Our own frozen records of what VPSie returns, holding only the fields we read.

Response models (``models.py``) are converted to these at the edge; nothing past the client
sees a pydantic model or a raw dict. Sizes keep VPSie's units (``ram_mb`` in MB, disks in
GB); prices are ``Decimal`` with ``hourly = monthly / 730`` (vpsie-api.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import SecretStr

HOURS_PER_MONTH = Decimal(730)


@dataclass(frozen=True, slots=True)
class Price:
    """A monthly and an hourly price in USD; ``None`` means unknown."""

    monthly: Decimal | None
    hourly: Decimal | None

    @classmethod
    def from_monthly(cls, monthly: Decimal | None, hourly: Decimal | None = None) -> Price:
        """Use ``hourly`` when it is positive, else ``monthly / 730``."""
        if hourly is not None and hourly > 0:
            return cls(monthly=monthly, hourly=hourly)
        return cls(monthly=monthly, hourly=None if monthly is None else monthly / HOURS_PER_MONTH)


UNKNOWN_PRICE = Price(monthly=None, hourly=None)


@dataclass(frozen=True, slots=True)
class Datacenter:
    """A VPSie datacenter (C2)."""

    identifier: str
    name: str | None
    country: str | None
    state: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class Project:
    """A VPSie project (C3); ``id`` is what VM creates send as ``projectId``."""

    id: int
    identifier: str | None
    name: str | None
    is_default: bool


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """A managed Kubernetes cluster as listed by K1."""

    identifier: str
    name: str | None
    node_count: int | None


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """A node of a VKE cluster (K2 ``nodes[]``). Only ``identifier`` may be used to delete it."""

    id: int | None
    identifier: str | None
    hostname: str | None
    default_ip: str | None
    private_ip: str | None
    node_type: str | None
    status: str | None
    cpu: int | None
    ram_mb: int | None
    disk_gb: int | None

    @property
    def aliases(self) -> frozenset[str]:
        """Every key this node is known by: identifier, numeric id, lowercased hostname."""
        keys = set()
        if self.identifier:
            keys.add(f"uuid:{self.identifier}")
        if self.id is not None:
            keys.add(f"id:{self.id}")
        if self.hostname:
            keys.add(f"host:{self.hostname.lower()}")
        return frozenset(keys)


@dataclass(frozen=True, slots=True)
class Cluster:
    """A VKE cluster with its nodes (K2)."""

    identifier: str | None
    name: str | None
    nodes: tuple[ClusterNode, ...]


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """A VKE node group (K3); ``id`` is what K4 takes, ``boxsize_id`` the K6 offer id."""

    id: int
    identifier: str | None
    name: str | None
    boxsize_id: int | None
    cpu: int | None
    ram_mb: int | None
    ssd_gb: int | None
    nodes_count: int
    dc_identifier: str | None
    project_id: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class AddedWorker:
    """What K4 returned when it returned an object instead of ``true``."""

    id: int | None
    identifier: str | None
    hostname: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class Offer:
    """A Kubernetes node size (K6); ``id`` is the ``KubeSizeID``."""

    id: int
    name: str | None
    cpu: int | None
    ram_mb: int | None
    disk_gb: int | None
    price: Price


@dataclass(frozen=True, slots=True)
class Vm:
    """A VPSie VM (V1/V2). Readiness comes from the flags; VmData has no status field."""

    id: int | None
    identifier: str
    hostname: str | None
    boxsize_id: int | None
    dc_identifier: str | None
    project_id: int | None
    cpu: int | None
    ram_mb: int | None
    ssd_gb: int | None
    default_ip: str | None
    private_ip: str | None
    is_active: bool
    power: bool
    suspended: bool
    locked: bool
    terminated: bool
    deleted: bool

    @property
    def gone(self) -> bool:
        """Terminated or deleted: no longer a worker."""
        return self.terminated or self.deleted

    @property
    def running(self) -> bool:
        """Active, powered on, reachable at an IP, and not suspended, locked or gone."""
        has_ip = bool(self.default_ip or self.private_ip)
        return (
            self.is_active and self.power and has_ip and not (self.suspended or self.locked)
        ) and not self.gone


@dataclass(frozen=True, slots=True)
class PendingVm:
    """An entry of the pending queue (V3): a VM that was accepted but is not listed yet."""

    id: str | None
    hostname: str | None
    resource_identifier: str | None
    dc_identifier: str | None
    project_id: int | None


@dataclass(frozen=True, slots=True)
class PlanCategory:
    """A VM plan category (V6), for example "Shared CPU"."""

    identifier: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A VM plan (V7); ``identifier`` is the ``resourceIdentifier`` of a create."""

    identifier: str
    id: int | None
    nickname: str | None
    cpu: int | None
    ram_mb: int | None
    ssd_gb: int | None
    traffic_gb: int | None
    price: Price


@dataclass(frozen=True, slots=True)
class VmCreate:
    """What to create with V4. ``user_data`` is plain text here; it is sent base64-encoded."""

    resource_identifier: str
    os_identifier: str
    dc_identifier: str
    hostname: str
    project_id: int
    add_public_ipv4: bool = True
    add_public_ipv6: bool = False
    add_private_ip: bool = True
    backup_enabled: bool = False
    weekly_backup_enabled: bool = False
    monthly_backup_enabled: bool = False
    ssh_key_identifier: str | None = None
    script_identifier: str | None = None
    user_data: SecretStr | None = None
    tags: tuple[str, ...] = field(default=())
    notes: str | None = None
