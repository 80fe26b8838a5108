"""The VM provider: workers that are plain VPSie VMs (vpsie-api.md §4.1, §5.2, §5.3).

A create sends V4 once with a fresh hostname ``<prefix>-<group>-<8 random>``; the VM is
found later by that hostname in V3 (pending) and then V1, which gives its identifier. A V4
whose outcome is unknown is never re-sent: the provider searches V3/V1 for the hostname for
up to 3 minutes. Ownership is decided by the hostname prefix. Deletes (V5) send the account
password; a wrong password latches every later VM delete off (configuration error).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Literal

from autoscaler.clock import Clock
from autoscaler.vpsie import types as t
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.cache import TtlCache
from autoscaler.vpsie.errors import BadAccountPassword, NotDeletable, UnknownOutcome, VPSieError
from autoscaler.vpsie.hostnames import HostnameMinter, belongs_to, is_valid_hostname
from autoscaler.vpsie.outcome import watch_listings
from autoscaler.vpsie.provider import (
    BeforeSend,
    CreateHandle,
    CreateIntent,
    GroupSpec,
    GroupStatus,
    Resolution,
    Resolved,
    VmGroupSpec,
    Worker,
    WorkerState,
)
from autoscaler.vpsie.shared_read import SharedRead
from autoscaler.vpsie.templates import DEFAULT_RESERVE, NodeTemplate, Reserve, node_template
from autoscaler.vpsie.types import Price
from autoscaler.vpsie.vm_catalogue import PlanFinder, VmDefaults, vm_create, vm_worker

log = logging.getLogger(__name__)

__all__ = ["VmDefaults", "VmProvider"]


class VmProvider:
    """Groups of VMs created by this autoscaler, recognised by hostname prefix."""

    mode: Literal["vm"] = "vm"

    def __init__(
        self,
        *,
        api: VPSieApi,
        defaults: VmDefaults,
        clock: Clock,
        availability: Callable[[], bool] = lambda: True,
        reserve: Reserve = DEFAULT_RESERVE,
        window: float = 180.0,
        interval: float = 10.0,
        share: float = 1.0,
        minter: HostnameMinter | None = None,
    ) -> None:
        self._api = api
        self._defaults = defaults
        self._clock = clock
        self._availability = availability
        self._reserve = reserve
        self._window = window
        self._interval = interval
        self._minter = minter or HostnameMinter()
        self._plans = PlanFinder(api=api, cache=TtlCache(clock=clock, ttl=3600.0))
        self.deletes_disabled: str | None = None
        self._polled = SharedRead(self._read_listing, clock=clock, max_age=share)

    async def _read_listing(self) -> tuple[list[t.PendingVm], list[t.Vm]]:
        return await self._api.list_pending(), await self._api.list_vms()

    @property
    def available(self) -> bool:
        """False while the circuit breaker is open."""
        return self._availability()

    def _prefix(self, spec: VmGroupSpec) -> str:
        return spec.hostname_prefix or self._defaults.hostname_prefix

    async def list_groups(self, groups: Sequence[GroupSpec]) -> list[GroupStatus]:
        """VMs (V1) and pending entries (V3) of each group, by hostname prefix."""
        pending, vms = await self._api.list_pending(), await self._api.list_vms()
        listed = {(v.hostname or "").lower() for v in vms}
        out = []
        for spec in map(_vm, groups):
            prefix = self._prefix(spec)
            mine = [
                vm_worker(v, spec.name)
                for v in vms
                if belongs_to(v.hostname, prefix=prefix, group=spec.name)
            ]
            queued = [
                Worker(spec.name, None, p.hostname, None, None, WorkerState.PENDING)
                for p in pending
                if belongs_to(p.hostname, prefix=prefix, group=spec.name)
                and (p.hostname or "").lower() not in listed
            ]
            workers = tuple(mine + queued)
            size = sum(1 for w in workers if w.state is not WorkerState.DELETING)
            out.append(GroupStatus(spec.name, size, workers))
        return out

    def prepare_create(self, group: GroupSpec) -> CreateIntent:
        """A hostname never used before; persist it before ``create_worker``."""
        spec = _vm(group)
        hostname = self._minter.mint(prefix=self._prefix(spec), group=spec.name)
        return CreateIntent(group=spec.name, attempt_id=hostname, hostname=hostname)

    async def create_worker(
        self, group: GroupSpec, *, intent: CreateIntent, before_send: BeforeSend | None = None
    ) -> CreateHandle:
        """V4 once; an unknown outcome is settled by searching V3/V1 for the hostname."""
        spec = _vm(group)
        hostname = intent.hostname or ""
        if not is_valid_hostname(hostname) or not belongs_to(
            hostname, prefix=self._prefix(spec), group=spec.name
        ):
            raise ValueError("the intent's hostname was not minted for this group")
        create = vm_create(spec, self._defaults, hostname=hostname)
        if before_send is not None:
            await before_send()
        try:
            await self._api.create_vm(create)
        except UnknownOutcome as err:
            log.warning("V4 outcome unknown; searching by hostname", extra={"hostname": hostname})
            found = await self._search(hostname, spec.name, err)
            return CreateHandle(
                intent, self._clock.monotonic(), identifier=found.identifier,
                hostname=hostname, confirmed_by_listing=True,
            )  # fmt: skip
        return CreateHandle(intent, self._clock.monotonic(), hostname=hostname)

    async def resolve(self, handle: CreateHandle) -> Resolved:
        """Find the VM by hostname: resolved once V1 lists it with an identifier."""
        hostname = handle.hostname or handle.intent.hostname
        if not hostname:
            return Resolved(Resolution.LOST, reason="no hostname to look for")
        worker = await self._find(hostname, handle.intent.group, shared=True)
        if worker is not None and worker.identifier is not None:
            return Resolved(Resolution.RESOLVED, worker)
        return Resolved(Resolution.PENDING, worker)

    def forget(self, handle: CreateHandle) -> None:
        """Nothing to drop: VMs are found by hostname, not by in-memory claims."""

    async def delete_worker(
        self, group: GroupSpec, *, hostname: str | None, identifier: str | None
    ) -> bool:
        """V5 for a VM of ours; ``False`` if already gone. A wrong password latches deletes off."""
        if self.deletes_disabled:
            raise BadAccountPassword(self.deletes_disabled)
        spec = _vm(group)
        if not identifier and not hostname:
            raise ValueError("delete_worker needs a hostname or an identifier")
        # V1, not V2: a 404 from a misconfigured prefix must never read as "already gone"
        vms = await self._api.list_vms()
        if identifier:
            matches = [v for v in vms if v.identifier == identifier]
        else:
            matches = [v for v in vms if (v.hostname or "").lower() == (hostname or "").lower()]
        if len(matches) > 1:
            raise NotDeletable("several VMs match; not deleted")
        vm = matches[0] if matches else None
        if vm is None or vm.gone:
            return False
        if not belongs_to(vm.hostname, prefix=self._prefix(spec), group=spec.name) or (
            hostname and (vm.hostname or "").lower() != hostname.lower()
        ):
            raise NotDeletable(f"VM {vm.identifier} is not a worker of group {spec.name}")
        try:
            return await self._api.delete_vm(
                vm.identifier, password=self._defaults.account_password,
                reason=self._defaults.delete_reason,
            )  # fmt: skip
        except BadAccountPassword:
            self.deletes_disabled = "VPSie refused the account password; VM deletes are disabled"
            log.error("account password refused; VM deletes disabled", extra={"vm": vm.identifier})
            raise

    async def node_template(self, group: GroupSpec) -> NodeTemplate:
        """From the plan's ``cpu``, ``ram`` (MB) and ``ssd`` (GB)."""
        plan = await self._plans.plan(_vm(group), self._defaults)
        if plan.cpu is None or plan.ram_mb is None:
            raise VPSieError(f"size of plan {plan.identifier} is unknown")
        return node_template(
            cpu=plan.cpu, ram_mb=plan.ram_mb, disk_gb=plan.ssd_gb or 0, reserve=self._reserve
        )

    async def price(self, group: GroupSpec) -> Price:
        """The plan's monthly price and monthly / 730."""
        return (await self._plans.plan(_vm(group), self._defaults)).price

    async def _find(self, hostname: str, group: str, *, shared: bool = False) -> Worker | None:
        """V3 (``data.hostname``), then V1 (``hostname``), case-insensitively; ``shared``:
        from a listing other pollers may share (``SharedRead``)."""
        name = hostname.lower()
        pending, listed = await (self._polled.get() if shared else self._read_listing())
        queued = any((p.hostname or "").lower() == name for p in pending)
        vms = [v for v in listed if (v.hostname or "").lower() == name]
        if vms:
            return vm_worker(sorted(vms, key=lambda v: v.gone)[0], group)
        if queued:
            return Worker(group, None, hostname, None, None, WorkerState.PENDING)
        return None

    async def _search(self, hostname: str, group: str, err: UnknownOutcome) -> Worker:
        return await watch_listings(
            lambda: self._find(hostname, group),
            clock=self._clock,
            window=self._window,
            interval=self._interval,
            cause=err,
            failure="V4 outcome unknown and the hostname never appeared; treated as failed",
        )


def _vm(spec: GroupSpec) -> VmGroupSpec:
    if not isinstance(spec, VmGroupSpec):
        raise TypeError("the VM provider takes VmGroupSpec groups")
    return spec
