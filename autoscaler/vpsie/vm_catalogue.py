"""Plans, create bodies and worker records of the VM provider (vpsie-api.md §4.1, §6)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.cache import TtlCache
from autoscaler.vpsie.errors import NotFound
from autoscaler.vpsie.provider import VmGroupSpec, Worker, WorkerState
from autoscaler.vpsie.types import Plan, Vm, VmCreate

PlanKey = tuple[str, str, str | None, str]


@dataclass(frozen=True, slots=True)
class VmDefaults:
    """Client-wide values a ``VmGroupSpec`` may leave unset."""

    account_password: SecretStr
    dc_identifier: str | None = None
    os_identifier: str | None = None
    project_id: int | None = None
    hostname_prefix: str = "vpsie"
    delete_reason: str = "scaled down by vpsie-autoscaler"


def _required(value: str | int | None, name: str, group: str) -> str:
    if value is None or not str(value).strip():
        raise ValueError(f"group {group} needs {name} (in the group or the client config)")
    return str(value)


def vm_create(spec: VmGroupSpec, defaults: VmDefaults, *, hostname: str) -> VmCreate:
    """The V4 body of a group's new VM."""
    return VmCreate(
        resource_identifier=_required(spec.plan_identifier, "plan_identifier", spec.name),
        os_identifier=_required(spec.os_identifier or defaults.os_identifier, "os", spec.name),
        dc_identifier=_required(spec.dc_identifier or defaults.dc_identifier, "dc", spec.name),
        hostname=hostname,
        project_id=int(_required(_project(spec, defaults), "project_id", spec.name)),
        add_public_ipv4=spec.add_public_ipv4,
        add_public_ipv6=spec.add_public_ipv6,
        add_private_ip=spec.add_private_ip,
        ssh_key_identifier=spec.ssh_key_identifier,
        script_identifier=spec.script_identifier,
        user_data=spec.user_data,
        tags=("vpsie-autoscaler", f"ng-{spec.name}", *spec.tags),
    )


def _project(spec: VmGroupSpec, defaults: VmDefaults) -> int | None:
    return spec.project_id if spec.project_id is not None else defaults.project_id


def vm_worker(vm: Vm, group: str) -> Worker:
    """A V1 record as a worker: deleting, running (active, powered, IP) or provisioning."""
    if vm.gone:
        state = WorkerState.DELETING
    elif vm.running:
        state = WorkerState.RUNNING
    else:
        state = WorkerState.PROVISIONING
    return Worker(group, vm.identifier, vm.hostname, vm.private_ip, vm.default_ip, state)


class PlanFinder:
    """Finds a group's plan with V7 (in its category, or in each V6 category), cached."""

    def __init__(self, *, api: VPSieApi, cache: TtlCache[PlanKey, Plan]) -> None:
        self._api = api
        self._cache = cache

    async def plan(self, spec: VmGroupSpec, defaults: VmDefaults) -> Plan:
        """The plan whose ``identifier`` is the group's ``plan_identifier``."""
        dc = _required(spec.dc_identifier or defaults.dc_identifier, "dc", spec.name)
        os_id = _required(spec.os_identifier or defaults.os_identifier, "os", spec.name)
        key: PlanKey = (dc, os_id, spec.category_identifier, spec.plan_identifier)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if spec.category_identifier:
            categories = [spec.category_identifier]
        else:
            categories = [c.identifier for c in await self._api.list_plan_categories()]
        for category in categories:
            plans = await self._api.list_plans(
                dc_identifier=dc, os_identifier=os_id, category_identifier=category
            )
            found = next((p for p in plans if p.identifier == spec.plan_identifier), None)
            if found is not None:
                return self._cache.put(key, found)
        raise NotFound(f"plan of group {spec.name} is not offered in its datacenter")
