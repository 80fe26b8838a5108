"""The VKE provider: workers of VPSie managed-Kubernetes node groups (vpsie-api.md §5.2, §5.3).

K4 calls of the cluster are serialised by a lock. Before each, K2/K3 are snapshotted; an
answer with an identifier settles the claim at once, otherwise the claim is settled later by
``ClaimBook.match``. A K4 whose outcome is unknown is never re-sent: while still holding the
lock, the provider watches ``nodes_count`` and ``nodes[]`` for up to 3 minutes and accepts
the call if either grew. Deletes are targeted (K5) by the identifier K2 lists for the
hostname; a node without identifier is never deleted, and ``reduce/slave`` is never used.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Literal

from autoscaler.clock import Clock
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.cache import TtlCache
from autoscaler.vpsie.claims import (
    ClaimBook,
    NodeSize,
    Snapshot,
    group_by_size,
    is_worker,
    size_of,
    take_snapshot,
)
from autoscaler.vpsie.errors import (
    ApiError,
    NotDeletable,
    NotFound,
    UnknownOutcome,
    VPSieError,
)
from autoscaler.vpsie.outcome import watch_listings
from autoscaler.vpsie.provider import (
    BeforeSend,
    CreateHandle,
    CreateIntent,
    GroupSpec,
    GroupStatus,
    Resolution,
    Resolved,
    VkeGroupSpec,
    Worker,
    WorkerState,
)
from autoscaler.vpsie.shared_read import SharedRead
from autoscaler.vpsie.templates import DEFAULT_RESERVE, NodeTemplate, Reserve, node_template
from autoscaler.vpsie.types import UNKNOWN_PRICE, Cluster, ClusterNode, NodeGroup, Offer, Price
from autoscaler.vpsie.vke_catalogue import find_group, match_offer

log = logging.getLogger(__name__)


class VkeProvider:
    """Workers of the node groups of one VKE cluster."""

    mode: Literal["vke"] = "vke"

    def __init__(
        self,
        *,
        api: VPSieApi,
        cluster: str,
        clock: Clock,
        availability: Callable[[], bool] = lambda: True,
        reserve: Reserve = DEFAULT_RESERVE,
        window: float = 180.0,
        interval: float = 10.0,
        share: float = 1.0,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._api = api
        self.cluster = cluster
        self._clock = clock
        self._availability = availability
        self._reserve = reserve
        self._window = window
        self._interval = interval
        self._new_id = new_id
        self._lock = asyncio.Lock()  # one provider per cluster: the cluster's K4 lock
        self.claims = ClaimBook()
        self._offers: TtlCache[str, list[Offer]] = TtlCache(clock=clock, ttl=3600.0)
        self._polled = SharedRead(self._listing, clock=clock, max_age=share)

    @property
    def available(self) -> bool:
        """False while the circuit breaker is open."""
        return self._availability()

    async def list_groups(self, groups: Sequence[GroupSpec]) -> list[GroupStatus]:
        """``nodes_count`` and attributed workers of each group (one K2 and one K3)."""
        cluster, vpsie_groups = await self._listing()
        sizes = await self._match(cluster, vpsie_groups)
        out = []
        for spec in groups:
            group = find_group(_vke(spec), vpsie_groups)
            nodes = [n for n in cluster.nodes if self._group_of(n, vpsie_groups, sizes) == group.id]
            workers = tuple(_worker(n, spec.name, listed=True) for n in nodes)
            out.append(GroupStatus(spec.name, group.nodes_count, workers, group))
        return out

    def prepare_create(self, group: GroupSpec) -> CreateIntent:
        """A fresh attempt id (VKE chooses the hostname)."""
        return CreateIntent(group=_vke(group).name, attempt_id=self._new_id())

    async def create_worker(
        self, group: GroupSpec, *, intent: CreateIntent, before_send: BeforeSend | None = None
    ) -> CreateHandle:
        """Snapshot, K4 once, and open a claim; an unknown outcome is checked, never re-sent."""
        async with self._lock:
            cluster, groups = await self._listing()
            target = find_group(_vke(group), groups)
            snapshot = take_snapshot(cluster, groups)
            confirmed = False
            if before_send is not None:
                await before_send()
            try:
                added = await self._api.add_worker(self.cluster, target.id)
            except UnknownOutcome as err:
                log.warning("K4 outcome unknown; watching listings", extra={"group": intent.group})
                await self._confirm(snapshot, target.id, err)
                added, confirmed = None, True
            accepted_at = self._clock.monotonic()
            claim = self.claims.open(
                claim_id=intent.attempt_id, group_id=target.id, opened_at=accepted_at,
                snapshot=snapshot,
            )  # fmt: skip
            if added is not None and added.identifier:
                node = ClusterNode(
                    added.id, added.identifier, added.hostname, None, None, None, added.status,
                    None, None, None,
                )  # fmt: skip
                self.claims.settle(claim.claim_id, node)
            return CreateHandle(
                intent, accepted_at, identifier=added.identifier if added else None,
                hostname=added.hostname if added else None, confirmed_by_listing=confirmed,
            )  # fmt: skip

    async def resolve(self, handle: CreateHandle) -> Resolved:
        """The worker of a claim, once it is attributed."""
        if self.claims.get(handle.intent.attempt_id) is None:
            return Resolved(Resolution.LOST, reason="claim not known to this process")
        cluster, groups = await self._polled.get()
        await self._match(cluster, groups)
        claim = self.claims.get(handle.intent.attempt_id)
        if claim is None or claim.node is None:
            return Resolved(Resolution.PENDING)
        claimed = claim.node
        current = next((n for n in cluster.nodes if n.aliases & claimed.aliases), None)
        worker = _worker(current or claimed, handle.intent.group, listed=current is not None)
        return Resolved(Resolution.RESOLVED, worker)

    def forget(self, handle: CreateHandle) -> None:
        """Drop a handle's claim once its worker is Ready (or the attempt is given up)."""
        self.claims.forget(handle.intent.attempt_id)

    async def delete_worker(
        self, group: GroupSpec, *, hostname: str | None, identifier: str | None
    ) -> bool:
        """K5 by the identifier K2 lists for ``hostname``; ``False`` if already gone."""
        try:
            cluster = await self._api.get_cluster(self.cluster)
        except NotFound as err:  # the cluster, not the node: never "already gone"
            raise ApiError(f"VKE cluster {self.cluster} not found", status=err.status) from None
        node = _lookup(cluster.nodes, hostname=hostname, identifier=identifier)
        if node is None:
            return False
        if node.identifier is None or not is_worker(node):
            raise NotDeletable(f"node of group {_vke(group).name} has no identifier; not deleted")
        return await self._api.delete_worker(self.cluster, node.identifier)

    async def node_template(self, group: GroupSpec) -> NodeTemplate:
        """From the group's ``cpu``/``ram``/``ssd``, completed from its K6 offer if needed."""
        target = find_group(_vke(group), await self._api.list_node_groups(self.cluster))
        cpu, ram, ssd = target.cpu, target.ram_mb, target.ssd_gb
        if None in (cpu, ram, ssd):
            offer = match_offer(target, await self._offers_for(target))
            if offer is not None:
                cpu, ram, ssd = cpu or offer.cpu, ram or offer.ram_mb, ssd or offer.disk_gb
        if cpu is None or ram is None:
            raise VPSieError(f"size of node group {_vke(group).name} is unknown")
        return node_template(cpu=cpu, ram_mb=ram, disk_gb=ssd or 0, reserve=self._reserve)

    async def price(self, group: GroupSpec) -> Price:
        """The group's K6 offer price; unknown when K6 fails or nothing matches."""
        target = find_group(_vke(group), await self._api.list_node_groups(self.cluster))
        try:
            offer = match_offer(target, await self._offers_for(target))
        except VPSieError as err:
            log.info("k8s offers unavailable", extra={"error": type(err).__name__})
            return UNKNOWN_PRICE
        return offer.price if offer is not None else UNKNOWN_PRICE

    async def _offers_for(self, group: NodeGroup) -> list[Offer]:
        if not group.dc_identifier:
            return []
        cached = self._offers.get(group.dc_identifier)
        if cached is None:
            offers = await self._api.list_offers(group.dc_identifier)
            cached = self._offers.put(group.dc_identifier, offers)
        return cached

    async def _listing(self) -> tuple[Cluster, list[NodeGroup]]:
        cluster = await self._api.get_cluster(self.cluster)
        return cluster, await self._api.list_node_groups(self.cluster)

    async def _match(self, cluster: Cluster, groups: list[NodeGroup]) -> dict[str, NodeSize]:
        sizes: dict[str, NodeSize] = {}
        if self.claims.needs_sizes(cluster.nodes):
            sizes = await self._sizes_from_vms()
        self.claims.match(nodes=cluster.nodes, groups=groups, sizes=sizes)
        return sizes

    async def _sizes_from_vms(self) -> dict[str, NodeSize]:
        try:
            vms = await self._api.list_vms()
        except VPSieError:
            return {}
        return {
            v.hostname.lower(): NodeSize(v.cpu, v.ram_mb, v.boxsize_id) for v in vms if v.hostname
        }

    def _group_of(
        self, node: ClusterNode, groups: list[NodeGroup], sizes: dict[str, NodeSize]
    ) -> int | None:
        if not is_worker(node):
            return None
        claimed = next(
            (c for c in self.claims.claims() if c.node and c.node.aliases & node.aliases), None
        )
        if claimed is not None:
            return claimed.group_id
        group = group_by_size(size_of(node, sizes), groups)
        return group.id if group is not None else None

    async def _confirm(self, snapshot: Snapshot, group_id: int, err: UnknownOutcome) -> None:
        """Watch K3/K2 against the snapshot; return if the K4 was accepted, else raise."""

        async def accepted() -> bool | None:
            cluster, groups = await self._listing()
            counts = {g.id: g.nodes_count for g in groups}
            new = [n for n in cluster.nodes if n.aliases and not n.aliases & snapshot.known]
            grew = counts.get(group_id, 0) > snapshot.counts.get(group_id, 0)
            return True if grew or any(not self.claims.is_taken(n) for n in new) else None

        await watch_listings(
            accepted,
            clock=self._clock,
            window=self._window,
            interval=self._interval,
            cause=err,
            failure="K4 outcome unknown and no new worker seen; treated as failed",
        )


def _vke(spec: GroupSpec) -> VkeGroupSpec:
    if not isinstance(spec, VkeGroupSpec):
        raise TypeError("the VKE provider takes VkeGroupSpec groups")
    return spec


def _lookup(
    nodes: Sequence[ClusterNode], *, hostname: str | None, identifier: str | None
) -> ClusterNode | None:
    """The node by hostname (case-insensitive), cross-checked against ``identifier``."""
    by_id = [n for n in nodes if identifier and n.identifier == identifier]
    if hostname:
        by_name = [n for n in nodes if (n.hostname or "").lower() == hostname.lower()]
        if len(by_name) > 1:
            raise NotDeletable("several nodes have this hostname; not deleted")
        if by_name and identifier and by_name[0].identifier not in (None, identifier):
            raise NotDeletable("hostname and identifier name different nodes; not deleted")
        if by_name:
            return by_name[0]
        if by_id:
            raise NotDeletable("the identifier belongs to a node with another hostname")
        return None
    return by_id[0] if by_id else None


def _worker(node: ClusterNode, group: str, *, listed: bool) -> Worker:
    if not listed:
        state = WorkerState.PENDING
    elif node.identifier and node.hostname:
        state = WorkerState.RUNNING
    else:
        state = WorkerState.PROVISIONING
    return Worker(group, node.identifier, node.hostname, node.private_ip, node.default_ip, state)
