"""Identifying the worker a K4 call added, by diffing listings (vpsie-api.md §5.2), pure.

K4 returns no identifier and nodes carry no group field, so before each K4 the provider takes
a ``Snapshot`` (every node's aliases: identifier, numeric id, lowercased hostname; and each
group's ``nodes_count``) and opens a ``Claim``. ``ClaimBook.match`` then attributes new nodes:

* a node is new for a claim when none of its aliases is in the claim's snapshot, and it was
  never attributed to another claim (each worker is claimed exactly once);
* the node's size (``cpu``/``ram``, or its V1 record) picks the group, since sizes are
  unique per cluster; a node whose size fits a group without an open claim is left alone;
* without a size, a node goes to the only group with open claims, or else to the only group
  whose ``nodes_count`` grew more than its claims explain; otherwise it waits;
* within a group, claims are served first-in, first-out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from autoscaler.vpsie.types import Cluster, ClusterNode, NodeGroup

CONTROL_PLANE_TYPES = frozenset({"master", "manager", "control-plane", "controlplane"})


@dataclass(frozen=True, slots=True)
class NodeSize:
    """What is known of a node's size (from K2 or its V1 record)."""

    cpu: int | None = None
    ram_mb: int | None = None
    boxsize_id: int | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The cluster just before a K4 call."""

    known: frozenset[str]
    counts: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class Claim:
    """An accepted K4 call waiting for (or settled with) its node."""

    claim_id: str
    group_id: int
    opened_at: float
    snapshot: Snapshot
    node: ClusterNode | None = None


def is_worker(node: ClusterNode) -> bool:
    """False for control-plane nodes (by ``node_type``/``role``)."""
    return (node.node_type or "").strip().lower() not in CONTROL_PLANE_TYPES


def take_snapshot(cluster: Cluster, groups: Iterable[NodeGroup]) -> Snapshot:
    """Every node's aliases and every group's ``nodes_count``."""
    known = frozenset(a for n in cluster.nodes for a in n.aliases)
    return Snapshot(known=known, counts={g.id: g.nodes_count for g in groups})


def size_of(node: ClusterNode, sizes: Mapping[str, NodeSize]) -> NodeSize:
    """The node's own size, completed from its V1 record (by lowercased hostname)."""
    extra = sizes.get((node.hostname or "").lower(), NodeSize())
    return NodeSize(node.cpu or extra.cpu, node.ram_mb or extra.ram_mb, extra.boxsize_id)


def fits(size: NodeSize, group: NodeGroup) -> bool | None:
    """Whether a node of ``size`` belongs to ``group``; ``None`` when it cannot be told."""
    if size.boxsize_id is not None and group.boxsize_id is not None:
        return size.boxsize_id == group.boxsize_id
    if None in (size.cpu, size.ram_mb, group.cpu, group.ram_mb):
        return None
    return (size.cpu, size.ram_mb) == (group.cpu, group.ram_mb)


def group_by_size(size: NodeSize, groups: Sequence[NodeGroup]) -> NodeGroup | None:
    """The one group a node of ``size`` fits, if exactly one does."""
    matches = [g for g in groups if fits(size, g)]
    return matches[0] if len(matches) == 1 else None


class ClaimBook:
    """Open and settled claims of one cluster."""

    def __init__(self) -> None:
        self._claims: dict[str, Claim] = {}
        self._taken: set[str] = set()

    def open(self, *, claim_id: str, group_id: int, opened_at: float, snapshot: Snapshot) -> Claim:
        """Record an accepted K4 call."""
        if claim_id in self._claims:
            raise ValueError(f"claim {claim_id} is already open")
        claim = Claim(claim_id, group_id, opened_at, snapshot)
        self._claims[claim_id] = claim
        return claim

    def settle(self, claim_id: str, node: ClusterNode) -> Claim:
        """Attribute ``node`` to the claim (K4 returned it, or ``match`` found it)."""
        claim = self._claims[claim_id]
        if claim.node is not None:
            raise ValueError(f"claim {claim_id} is already settled")
        settled = Claim(claim.claim_id, claim.group_id, claim.opened_at, claim.snapshot, node)
        self._claims[claim_id] = settled
        self._taken |= node.aliases
        return settled

    def get(self, claim_id: str) -> Claim | None:
        """The claim, if this process knows it."""
        return self._claims.get(claim_id)

    def forget(self, claim_id: str) -> None:
        """Drop a claim (timed out or done); its node stays attributed."""
        self._claims.pop(claim_id, None)

    def claims(self) -> list[Claim]:
        """Every claim, oldest first."""
        return sorted(self._claims.values(), key=lambda c: c.opened_at)

    def unsettled(self) -> list[Claim]:
        """Claims still waiting for a node, oldest first."""
        return [c for c in self.claims() if c.node is None]

    def is_taken(self, node: ClusterNode) -> bool:
        """Whether the node was already attributed to a claim."""
        return bool(node.aliases & self._taken)

    def needs_sizes(self, nodes: Sequence[ClusterNode]) -> bool:
        """Whether several groups wait and some new node's size is unknown (fetch V1 then)."""
        open_groups = {c.group_id for c in self.unsettled()}
        if len(open_groups) < 2:
            return False
        return any(
            (n.cpu is None or n.ram_mb is None) for n in self._candidates(nodes, self.unsettled())
        )

    def match(
        self,
        *,
        nodes: Sequence[ClusterNode],
        groups: Sequence[NodeGroup],
        sizes: Mapping[str, NodeSize] | None = None,
    ) -> list[Claim]:
        """Attribute new nodes to unsettled claims; return the claims settled now."""
        waiting = self.unsettled()
        if not waiting:
            return []
        counts = {g.id: g.nodes_count for g in groups}
        unexplained = {
            gid: self._unexplained(gid, counts, waiting) for gid in {c.group_id for c in waiting}
        }
        settled: list[Claim] = []
        for node in self._candidates(nodes, waiting):
            open_now = [
                c for c in waiting if c.node is None and not node.aliases & c.snapshot.known
            ]
            gid = self._pick_group(node, open_now, groups, sizes or {}, unexplained)
            claim = next((c for c in open_now if c.group_id == gid), None)
            if claim is None:
                continue
            waiting[waiting.index(claim)] = done = self.settle(claim.claim_id, node)
            unexplained[claim.group_id] = unexplained.get(claim.group_id, 0) - 1
            settled.append(done)
        return settled

    def _unexplained(self, gid: int, counts: Mapping[int, int], waiting: list[Claim]) -> int:
        """``nodes_count`` growth since the oldest waiting claim, less the nodes claimed since."""
        oldest = next(c for c in waiting if c.group_id == gid)
        since = [
            c
            for c in self._claims.values()
            if c.group_id == gid and c.opened_at >= oldest.opened_at
        ]
        settled = sum(1 for c in since if c.node is not None)
        return counts.get(gid, 0) - oldest.snapshot.counts.get(gid, 0) - settled

    def _candidates(self, nodes: Sequence[ClusterNode], waiting: list[Claim]) -> list[ClusterNode]:
        return [
            n
            for n in nodes
            if n.aliases
            and is_worker(n)
            and not self.is_taken(n)
            and any(not n.aliases & c.snapshot.known for c in waiting)
        ]

    @staticmethod
    def _pick_group(
        node: ClusterNode,
        open_now: list[Claim],
        groups: Sequence[NodeGroup],
        sizes: Mapping[str, NodeSize],
        unexplained: Mapping[int, int],
    ) -> int | None:
        candidates = {c.group_id for c in open_now}
        verdicts = [(g, fits(size_of(node, sizes), g)) for g in groups]
        fitting = [g for g, ok in verdicts if ok]
        if fitting:
            return fitting[0].id if len(fitting) == 1 and fitting[0].id in candidates else None
        if verdicts and all(ok is False for _, ok in verdicts):
            return None  # a size no group has: not a worker we asked for
        if len(candidates) == 1:
            return next(iter(candidates))
        grown = [gid for gid in candidates if unexplained.get(gid, 0) > 0]
        return grown[0] if len(grown) == 1 else None
