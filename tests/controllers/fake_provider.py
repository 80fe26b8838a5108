"""A recording fake ``Provider``, after karpenter's fake cloud provider.

It records every create and delete (``create_calls``, ``delete_calls``), fails the next one
when told (``next_create_error``, ``next_delete_error``) and forgets everything on
``reset()``. Workers live in ``workers`` per group; a create adds one that is listed only
after ``list_after`` further listings, like VPSie's "accepted, not yet listed" stage.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Literal

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
from autoscaler.vpsie.templates import DEFAULT_RESERVE, NodeTemplate, node_template
from autoscaler.vpsie.types import Price


@dataclasses.dataclass
class _Pending:
    worker: Worker
    listings_left: int


class FakeProvider:
    """An in-memory VPSie with call recording and next-error injection."""

    def __init__(self, mode: Literal["vke", "vm"] = "vke", *, list_after: int = 0) -> None:
        self.mode: Literal["vke", "vm"] = mode
        self.list_after = list_after
        self.available = True
        self.reset()

    def reset(self) -> None:
        """Forget every worker, call and injected error."""
        self.workers: dict[str, list[Worker]] = {}
        self._pending: dict[str, list[_Pending]] = {}
        self.create_calls: list[tuple[str, CreateIntent]] = []
        self.delete_calls: list[tuple[str, str | None, str | None]] = []
        self.next_create_error: Exception | None = None
        self.next_delete_error: Exception | None = None
        self.handles: dict[str, str] = {}  # attempt id -> identifier (this process's claims)
        self.forgotten: list[str] = []
        self.before_create: Callable[[CreateIntent], None] | None = None
        self._ids = itertools.count(1)

    def add_worker(self, group: str, *, hostname: str | None = None) -> Worker:
        """A worker that exists already (made by someone, or by an earlier process)."""
        n = next(self._ids)
        worker = Worker(
            group, f"id-{n}", hostname or f"{group}-w{n}", f"10.0.0.{n}", None, WorkerState.RUNNING
        )
        self.workers.setdefault(group, []).append(worker)
        return worker

    async def list_groups(self, groups: Sequence[GroupSpec]) -> list[GroupStatus]:
        """Every listed worker of each group; pending creates get one listing closer."""
        out = []
        for spec in groups:
            listed = self._listing(spec.name)
            out.append(GroupStatus(spec.name, len(listed), listed))
        return out

    def _listing(self, group: str) -> tuple[Worker, ...]:
        for pending in list(self._pending.get(group, [])):
            if pending.listings_left <= 0:
                self._pending[group].remove(pending)
                self.workers.setdefault(group, []).append(pending.worker)
            else:
                pending.listings_left -= 1
        return tuple(self.workers.get(group, []))

    def prepare_create(self, group: GroupSpec) -> CreateIntent:
        """vm: a fresh hostname; vke: an attempt id."""
        n = next(self._ids)
        if isinstance(group, VmGroupSpec):
            hostname = f"vpsie-{group.name}-{n:08d}"
            return CreateIntent(group=group.name, attempt_id=hostname, hostname=hostname)
        return CreateIntent(group=group.name, attempt_id=f"attempt-{n}")

    async def create_worker(
        self, group: GroupSpec, *, intent: CreateIntent, before_send: BeforeSend | None = None
    ) -> CreateHandle:
        """Record the call; fail if told to; else a worker listed after ``list_after``."""
        if before_send is not None:
            await before_send()
        self.create_calls.append((group.name, intent))
        if self.before_create is not None:
            self.before_create(intent)
        if self.next_create_error is not None:
            error, self.next_create_error = self.next_create_error, None
            raise error
        n = next(self._ids)
        hostname = intent.hostname or f"{group.name}-new{n}"
        worker = Worker(group.name, f"id-{n}", hostname, f"10.0.1.{n}", None, WorkerState.RUNNING)
        self._pending.setdefault(group.name, []).append(_Pending(worker, self.list_after))
        self.handles[intent.attempt_id] = worker.identifier or ""
        return CreateHandle(intent, 0.0, hostname=intent.hostname)

    async def resolve(self, handle: CreateHandle) -> Resolved:
        """The worker of a create this process made (``LOST`` for any other)."""
        identifier = self.handles.get(handle.intent.attempt_id)
        if identifier is None:
            return Resolved(Resolution.LOST, reason="unknown handle")
        for worker in self._listing(handle.intent.group):
            if worker.identifier == identifier:
                return Resolved(Resolution.RESOLVED, worker)
        return Resolved(Resolution.PENDING)

    def forget(self, handle: CreateHandle) -> None:
        """Record that the handle was dropped."""
        self.forgotten.append(handle.intent.attempt_id)

    async def delete_worker(
        self, group: GroupSpec, *, hostname: str | None, identifier: str | None
    ) -> bool:
        """Record the call; ``False`` when no listed worker matches."""
        self.delete_calls.append((group.name, hostname, identifier))
        if self.next_delete_error is not None:
            error, self.next_delete_error = self.next_delete_error, None
            raise error
        workers = self.workers.get(group.name, [])
        for worker in workers:
            if (identifier and worker.identifier == identifier) or (
                hostname and (worker.hostname or "").lower() == hostname.lower()
            ):
                workers.remove(worker)
                return True
        return False

    async def node_template(self, group: GroupSpec) -> NodeTemplate:
        """A 2-CPU, 4 GiB worker."""
        return node_template(cpu=2, ram_mb=4096, disk_gb=80, reserve=DEFAULT_RESERVE)

    async def price(self, group: GroupSpec) -> Price:
        """$24 a month."""
        return Price.from_monthly(Decimal("24"))
