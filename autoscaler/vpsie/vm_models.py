"""Response models of the VM endpoints (V1-V3, V6, V7), tolerant of the §3 quirks.

VmData carries ``projectId`` (2026) or ``project_id`` (2024); its flags are ints; the pending
queue's ``id`` is a string and its ``data.add*`` flags are booleans; plan prices are numbers
or strings. ``initial_password`` is deliberately not modelled, so it never leaves the parser.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from autoscaler.vpsie import types as t
from autoscaler.vpsie.fields import Flag, Id, Ip, Money, OptInt, OptStr
from autoscaler.vpsie.models import ResponseModel

_PROJECT = AliasChoices("projectId", "project_id")


class VmModel(ResponseModel):
    """VmData (V1 item, V2 ``vmData``): only the fields the project reads."""

    id: OptInt = None
    identifier: Id
    hostname: OptStr = None
    boxsize_id: OptInt = None
    dc_identifier: OptStr = Field(None, validation_alias=AliasChoices("dcIdentifier"))
    project_id: OptInt = Field(None, validation_alias=_PROJECT)
    cpu: OptInt = None
    ram: OptInt = None
    ssd: OptInt = None
    default_ip: Ip = None
    private_ip: Ip = None
    is_active: Flag = False
    power: Flag = False
    is_suspended: Flag = False
    is_locked: Flag = False
    is_terminated: Flag = False
    is_deleted: Flag = False

    def to_record(self) -> t.Vm:
        """Convert to ``types.Vm``."""
        return t.Vm(
            self.id, self.identifier, self.hostname, self.boxsize_id, self.dc_identifier,
            self.project_id, self.cpu, self.ram, self.ssd, self.default_ip, self.private_ip,
            self.is_active, self.power, self.is_suspended, self.is_locked, self.is_terminated,
            self.is_deleted,
        )  # fmt: skip


class VmGetModel(ResponseModel):
    """V2 data: ``{vmData, vmTags, imageCategories, privateIpData, floatingIpData}``."""

    vm_data: VmModel = Field(validation_alias=AliasChoices("vmData"))


class PendingDataModel(ResponseModel):
    """V3 ``data``: the echoed create request."""

    hostname: OptStr = None
    resource_identifier: OptStr = Field(None, validation_alias=AliasChoices("resourceIdentifier"))
    dc_identifier: OptStr = Field(None, validation_alias=AliasChoices("dcIdentifier"))
    project_id: OptInt = Field(None, validation_alias=_PROJECT)


class PendingModel(ResponseModel):
    """V3 item: ``{id: "<string>", data: {...}, ...}``."""

    id: OptStr = None
    data: PendingDataModel | None = None

    def to_record(self) -> t.PendingVm:
        """Convert to ``types.PendingVm``."""
        d = self.data or PendingDataModel()
        return t.PendingVm(
            self.id, d.hostname, d.resource_identifier, d.dc_identifier, d.project_id
        )


class PlanCategoryModel(ResponseModel):
    """V6 item."""

    identifier: Id
    name: OptStr = None

    def to_record(self) -> t.PlanCategory:
        """Convert to ``types.PlanCategory``."""
        return t.PlanCategory(self.identifier, self.name)


class PlanModel(ResponseModel):
    """V7 item; ``price`` is monthly (no hourly field exists for VM plans)."""

    identifier: Id
    id: OptInt = None
    nickname: OptStr = None
    cpu: OptInt = None
    ram: OptInt = None
    ssd: OptInt = None
    traffic: OptInt = None
    price: Money = None

    def to_record(self) -> t.Plan:
        """Convert to ``types.Plan``; hourly is ``price / 730``."""
        price = t.Price.from_monthly(self.price)
        return t.Plan(
            self.identifier, self.id, self.nickname, self.cpu, self.ram, self.ssd, self.traffic,
            price,
        )  # fmt: skip
