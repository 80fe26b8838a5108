"""Pydantic models of VPSie response data, tolerant of the §3 quirks, and their conversion.

Every model ignores unknown fields (``initial_password`` and the ~60 other VmData fields are
never even read) and converts to a frozen record of ``types.py`` with ``to_record()``.
``parse_one``/``parse_many`` are the only entry points: any shape error becomes ``Malformed``.
A list with one unreadable item is rejected as a whole, because identifying new workers by
diffing lists (§5.2) must never run on a partial list.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from autoscaler.vpsie import types as t
from autoscaler.vpsie.errors import Malformed
from autoscaler.vpsie.fields import Flag, Id, Ip, Money, OptInt, OptStr, ReqInt

M = TypeVar("M", bound=BaseModel)
_MAX_ITEMS = 100_000


class ResponseModel(BaseModel):
    """Base of the response models: frozen, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class DatacenterModel(ResponseModel):
    """C2 item."""

    identifier: Id
    dc_name: OptStr = None
    country: OptStr = None
    state: OptStr = None
    is_active: Flag = True
    is_deleted: Flag = False

    def to_record(self) -> t.Datacenter:
        """Convert to ``types.Datacenter``."""
        active = self.is_active and not self.is_deleted
        return t.Datacenter(self.identifier, self.dc_name, self.country, self.state, active)


class ProjectModel(ResponseModel):
    """C3 row."""

    id: ReqInt
    identifier: OptStr = None
    name: OptStr = None
    is_default: Flag = False

    def to_record(self) -> t.Project:
        """Convert to ``types.Project``."""
        return t.Project(self.id, self.identifier, self.name, self.is_default)


class ProjectsModel(ResponseModel):
    """C3 data: ``{rows, count}``."""

    rows: list[ProjectModel] = Field(default_factory=list, max_length=_MAX_ITEMS)


class ClusterSummaryModel(ResponseModel):
    """K1 item."""

    identifier: Id
    cluster_name: OptStr = None
    count: OptInt = None

    def to_record(self) -> t.ClusterSummary:
        """Convert to ``types.ClusterSummary``."""
        return t.ClusterSummary(self.identifier, self.cluster_name, self.count)


class NodeModel(ResponseModel):
    """K2 ``nodes[]`` item: S fields plus the A fields (identifier, status, sizes)."""

    id: OptInt = None
    identifier: OptStr = None
    hostname: OptStr = None
    default_ip: Ip = None
    private_ip: Ip = None
    ip: Ip = None
    node_type: OptStr = None
    role: OptStr = None
    status: OptStr = None
    cpu: OptInt = None
    ram: OptInt = None
    disk: OptInt = None

    def to_record(self) -> t.ClusterNode:
        """Convert to ``types.ClusterNode`` (an empty identifier counts as none)."""
        ident = self.identifier.strip() if self.identifier and self.identifier.strip() else None
        public = self.default_ip or self.ip
        return t.ClusterNode(
            self.id, ident, self.hostname, public, self.private_ip, self.node_type or self.role,
            self.status, self.cpu, self.ram, self.disk,
        )  # fmt: skip


class ClusterModel(ResponseModel):
    """K2 data; ``nodes`` falls back to ``masters`` + ``slaves`` (A)."""

    identifier: OptStr = None
    cluster_name: OptStr = None
    nodes: list[NodeModel] | None = Field(None, max_length=_MAX_ITEMS)
    masters: list[NodeModel] | None = Field(None, max_length=_MAX_ITEMS)
    slaves: list[NodeModel] | None = Field(None, max_length=_MAX_ITEMS)

    def to_record(self) -> t.Cluster:
        """Convert to ``types.Cluster``."""
        nodes = self.nodes if self.nodes is not None else (self.masters or []) + (self.slaves or [])
        return t.Cluster(self.identifier, self.cluster_name, tuple(n.to_record() for n in nodes))


class NodeGroupModel(ResponseModel):
    """K3 item (node groups use ``project_id``)."""

    id: ReqInt
    identifier: OptStr = None
    group_name: OptStr = None
    boxsize_id: OptInt = None
    cpu: OptInt = None
    ram: OptInt = None
    ssd: OptInt = None
    nodes_count: OptInt = None
    dc_identifier: OptStr = Field(
        None, validation_alias=AliasChoices("dcIdentifier", "dc_identifier")
    )
    project_id: OptInt = Field(None, validation_alias=AliasChoices("project_id", "projectId"))
    is_active: Flag = True
    is_deleted: Flag = False

    def to_record(self) -> t.NodeGroup:
        """Convert to ``types.NodeGroup``."""
        return t.NodeGroup(
            self.id, self.identifier, self.group_name, self.boxsize_id, self.cpu, self.ram,
            self.ssd, self.nodes_count or 0, self.dc_identifier, self.project_id,
            self.is_active and not self.is_deleted,
        )  # fmt: skip


class AddedWorkerModel(ResponseModel):
    """K4 data when it is an object rather than ``true`` (A)."""

    id: OptInt = None
    identifier: OptStr = None
    hostname: OptStr = None
    status: OptStr = None

    def to_record(self) -> t.AddedWorker:
        """Convert to ``types.AddedWorker``."""
        ident = self.identifier.strip() if self.identifier and self.identifier.strip() else None
        return t.AddedWorker(self.id, ident, self.hostname, self.status)


class OfferModel(ResponseModel):
    """K6 item: ``id`` is the KubeSizeID, ``price`` monthly, ``hourly_price`` optional."""

    id: ReqInt
    name: OptStr = None
    cpu: OptInt = None
    ram: OptInt = None
    disk: OptInt = None
    price: Money = None
    hourly_price: Money = None

    def to_record(self) -> t.Offer:
        """Convert to ``types.Offer``; hourly is ``hourly_price`` if > 0, else price / 730."""
        price = t.Price.from_monthly(self.price, self.hourly_price)
        return t.Offer(self.id, self.name, self.cpu, self.ram, self.disk, price)


def parse_one(model: type[M], data: Any, *, what: str) -> M:
    """Validate one object, or raise ``Malformed`` naming ``what`` and the bad fields."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise Malformed(f"unexpected shape of {what}: {_where(err)}") from None
    except (TypeError, ValueError, RecursionError):
        raise Malformed(f"unexpected shape of {what}") from None


def parse_many(model: type[M], data: Any, *, what: str) -> list[M]:
    """Validate a list (``null`` is an empty list), or raise ``Malformed``."""
    if data is None:
        return []
    if not isinstance(data, list) or len(data) > _MAX_ITEMS:
        raise Malformed(f"expected a list of {what}")
    try:
        return _list_adapter(model).validate_python(data)
    except ValidationError as err:
        raise Malformed(f"unexpected shape of {what}: {_where(err)}") from None
    except (TypeError, ValueError, RecursionError):
        raise Malformed(f"unexpected shape of {what}") from None


@functools.cache
def _list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _where(err: ValidationError) -> str:
    """The locations of the first errors (field names and indices; never the values)."""
    return ", ".join(".".join(str(p) for p in e["loc"]) or "(root)" for e in err.errors()[:3])
