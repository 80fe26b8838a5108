"""The static catalogue of the simulated account (contract §6): DCs, plans, offers, clusters.

Identifiers are fixed strings from the configuration, so they do not depend on the seed.
The defaults describe a small account: two DCs, one project, the "Shared CPU" category
with four plans, four Kubernetes offers, two OS images and one VKE cluster whose two
node groups have distinct sizes (VPSie refuses two groups of one size in a cluster).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_MONTH = 730


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Datacenter(_Item):
    """A datacenter (C2)."""

    id: int
    identifier: str
    dc_name: str
    country: str = "US"
    state: str = ""
    is_active: int = 1
    is_deleted: int = 0
    is_private: int = 0
    default_selected: int = 0
    is_fip_available: int = 1
    is_bucket_available: int = 0


class Project(_Item):
    """A project (C3)."""

    id: int
    identifier: str
    name: str
    is_default: int = 1
    created_on: str = "2025-01-01T00:00:00Z"


class Category(_Item):
    """A VM plan category (V6)."""

    identifier: str
    name: str


class Plan(_Item):
    """A VM plan (V7); ``id`` is the ``boxsize_id`` of VMs created from it."""

    id: int
    identifier: str
    nickname: str
    category: str = Field(description="category identifier")
    cpu: int
    ram: int = Field(description="MB")
    ssd: int = Field(description="GB")
    traffic: int = Field(1000, description="GB")
    price: float = Field(description="monthly, USD")
    net_speed: int = 1000
    dcs: list[str] = Field(default_factory=list, description="DC identifiers; empty: all")


class Offer(_Item):
    """A Kubernetes worker size (K6); ``id`` is the KubeSizeID and a group's ``boxsize_id``."""

    id: int
    name: str
    cpu: int
    ram: int = Field(description="MB")
    disk: int = Field(description="GB")
    traffic: int = 1000
    price: float = Field(description="monthly, USD")
    hourly_price: float | None = Field(None, description="unset: price / 730")
    dcs: list[str] = Field(default_factory=list, description="DC identifiers; empty: all")

    def hourly(self) -> float:
        """The hourly price: ``hourly_price`` if set, else ``price / 730`` (4 decimals)."""
        if self.hourly_price is not None:
            return self.hourly_price
        return round(self.price / HOURS_PER_MONTH, 4)


class OsImage(_Item):
    """A stock OS image; its identifier is what V4 sends as ``osIdentifier``."""

    identifier: str
    name: str


class GroupSpec(_Item):
    """A node group of a VKE cluster, sized by a k8s offer."""

    id: int
    identifier: str
    group_name: str
    offer_id: int
    initial_nodes: int = Field(0, ge=0)
    max_workers: int | None = Field(None, ge=0)
    notes: str = ""


class ClusterSpec(_Item):
    """A VKE cluster with its masters and node groups."""

    id: int
    identifier: str
    cluster_name: str
    dc: str = Field(description="DC identifier")
    project_id: int
    kube_version: str = "1.30.2"
    masters: int = Field(1, ge=0)
    master_offer_id: int | None = None
    max_workers: int | None = Field(None, ge=0)
    nickname: str = ""
    color: str = "#2f80ed"
    groups: list[GroupSpec] = Field(default_factory=list)


class InitialVm(_Item):
    """A plain VM that exists (running) when the simulation starts."""

    hostname: str
    plan: str = Field(description="plan identifier")
    dc: str = Field(description="DC identifier")
    project_id: int
    os: str | None = None


def _uuid(prefix: str, n: int) -> str:
    return f"{prefix}000000-0000-4000-8000-{n:012d}"


DC_NYC = _uuid("d1", 1)
DC_AMS = _uuid("d1", 2)
CAT_SHARED = _uuid("ca", 1)


def default_datacenters() -> list[Datacenter]:
    """Two datacenters."""
    return [
        Datacenter(id=1, identifier=DC_NYC, dc_name="New York", state="NY", default_selected=1),
        Datacenter(id=2, identifier=DC_AMS, dc_name="Amsterdam", country="NL"),
    ]


def default_projects() -> list[Project]:
    """One default project."""
    return [Project(id=880, identifier=_uuid("b1", 880), name="Default")]


def default_categories() -> list[Category]:
    """The "Shared CPU" category."""
    return [Category(identifier=CAT_SHARED, name="Shared CPU")]


def default_plans() -> list[Plan]:
    """Four Shared CPU plans."""
    sizes = [(1, 2048, 40, 10.0), (2, 4096, 80, 20.0), (4, 8192, 160, 40.0), (8, 16384, 320, 80.0)]
    return [
        Plan(
            id=30 + i,
            identifier=_uuid("a1", 30 + i),
            nickname=f"shared-{cpu}c-{ram // 1024}g",
            category=CAT_SHARED,
            cpu=cpu,
            ram=ram,
            ssd=ssd,
            traffic=1000 * (i + 1),
            price=price,
        )
        for i, (cpu, ram, ssd, price) in enumerate(sizes)
    ]


def default_offers() -> list[Offer]:
    """Four Kubernetes worker sizes."""
    sizes = [(2, 4096, 80, 24.0), (4, 8192, 160, 48.0), (8, 16384, 320, 96.0)]
    offers = [
        Offer(id=101 + i, name=f"k8s-{cpu}c-{ram // 1024}g", cpu=cpu, ram=ram, disk=disk, price=p)
        for i, (cpu, ram, disk, p) in enumerate(sizes)
    ]
    offers.append(
        Offer(
            id=104, name="k8s-16c-32g", cpu=16, ram=32768, disk=640, price=192.0, hourly_price=0.3
        )
    )
    return offers


def default_os_images() -> list[OsImage]:
    """Two Ubuntu images."""
    return [
        OsImage(identifier=_uuid("05", 2204), name="Ubuntu 22.04"),
        OsImage(identifier=_uuid("05", 2404), name="Ubuntu 24.04"),
    ]


def default_clusters() -> list[ClusterSpec]:
    """One VKE cluster with a small group (one node) and a large group (empty)."""
    groups = [
        GroupSpec(
            id=11,
            identifier=_uuid("e1", 11),
            group_name="small",
            offer_id=101,
            initial_nodes=1,
            max_workers=10,
        ),
        GroupSpec(
            id=12, identifier=_uuid("e1", 12), group_name="large", offer_id=102, max_workers=10
        ),
    ]
    return [
        ClusterSpec(
            id=7,
            identifier=_uuid("c1", 7),
            cluster_name="demo",
            dc=DC_NYC,
            project_id=880,
            master_offer_id=101,
            max_workers=20,
            groups=groups,
        )
    ]
