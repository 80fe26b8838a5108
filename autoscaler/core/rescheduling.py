"""Whether the pods of a node can move to the nodes that remain (architecture §6, invariant 4).

``Remainder`` holds what the scale-down simulation needs of every node pods may move to: its
free resources (allocatable minus the requests of the pods on it, each pod taking a pod
slot), labels, taints, and the pods that the inter-pod checks compare with. Destinations are
the Ready, schedulable nodes that are not being deleted and not already in progress;
candidates for removal are destinations too, until the plan chooses them.

``remove(node, pods)`` takes a node out and places its pods, largest first, each on the first
destination that passes the predicates of scale-up: taints and tolerations, ``nodeSelector``
and required node affinity (``predicates.node_mismatch``), every resource dimension and the
pod count (``sim_nodes.Demand``), hostname anti-affinity and host ports
(``interpod.peers_conflict``). All or nothing: when one pod finds no place, nothing changes.
Placements consume capacity, so later removals see the pods moved by earlier ones, and pods
that the simulation put on a node removed later move again, with that node's own pods.

Destinations are tried in a fixed order: nodes that are not candidates first (pods moved
there stay), then candidates. As in ``schedulable.absorb``, nodes with the same taints and the
same values of the label keys the moving pods select on form a profile, checked once per set
of pod constraints; profiles are tried in the order of their first node by name, and a max
segment tree per profile finds its first node with room in about log2(nodes) steps.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from autoscaler.core.interpod import Peer, hostname_anti_affinity, peer_of, peers_conflict
from autoscaler.core.predicates import HOSTNAME_LABEL, node_mismatch
from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.core.rescheduling_tree import OFF, FreeTree
from autoscaler.core.resources_math import as_pod_request, sub, total
from autoscaler.core.schedulable import names_nodes
from autoscaler.core.sim_nodes import Demand, extra_dims, extra_vector

__all__ = ["Remainder", "Stranded", "is_destination"]


def is_destination(node: NodeRecord) -> bool:
    """Whether pods may move to ``node``: Ready, not cordoned, not being deleted."""
    return node.ready and not node.unschedulable and node.deletion_timestamp is None


@dataclass(frozen=True, slots=True)
class Stranded:
    """The pod that found no place when a node's pods were placed."""

    pod: PodRecord
    moved_from: str | None
    """The node it was first moved from in this plan, when the simulation had put it on the
    node being removed; ``None`` for the node's own pods."""
    destinations: int
    """How many nodes could take pods at that moment."""


class _Profile:
    """Destinations alike for every moving pod that does not name nodes."""

    def __init__(self, members: list[int]) -> None:
        self.members = members
        self.tree = FreeTree(len(members))
        self.rejects: dict[object, bool] = {}
        """Per pod constraints: whether the profile's taints or labels turn them away."""


def _constraints(pod: PodRecord) -> object:
    terms = pod.affinity.node_terms if pod.affinity is not None else ()
    return (pod.tolerations, pod.node_selector, terms)


def _selected_keys(pods: Iterable[PodRecord]) -> frozenset[str]:
    keys: set[str] = set()
    for pod in pods:
        keys.update(k for k, _ in pod.node_selector)
        for term in pod.affinity.node_terms if pod.affinity is not None else ():
            keys.update(r.key for r in term.match_expressions)
    return frozenset(keys - {HOSTNAME_LABEL})


def _largest_first(pod: PodRecord) -> tuple[int, int, str]:
    return (-pod.requests.cpu_m, -pod.requests.memory, pod.key)


class Remainder:
    """The nodes pods may move to, with their free capacity, as removals are simulated."""

    def __init__(
        self,
        *,
        nodes: Iterable[NodeRecord],
        pods_by_node: Mapping[str, Sequence[PodRecord]],
        candidates: Collection[str],
        moving: Sequence[PodRecord],
    ) -> None:
        """``nodes``: the destinations (see ``is_destination``); ``pods_by_node``: the pods on
        each node, finished ones left out; ``candidates``: the nodes a later removal may take
        out; ``moving``: every pod a removal may move (it decides which checks run)."""
        order = sorted(nodes, key=lambda n: (n.name in candidates, n.name))
        self._dims = extra_dims(p.requests for p in moving)
        self._names = [n.name for n in order]
        self._index = {name: j for j, name in enumerate(self._names)}
        self._nodes = order
        self._labels = [dict(n.labels) for n in order]
        self._on = [True] * len(order)
        self._open = len(order)
        self._shared: dict[Peer, Peer] = {}
        self._conflicts: dict[tuple[int, int], bool] = {}
        self._interpod = _needs_interpod(order, pods_by_node, moving)
        every_peer = any(hostname_anti_affinity(p) for p in moving)
        self._free: list[list[int]] = []
        self._extra: list[list[int]] = []
        self._peers: list[list[Peer]] = []
        for node in order:
            bound = pods_by_node.get(node.name, ())
            free = sub(node.allocatable, total(as_pod_request(p.requests) for p in bound))
            self._free.append([free.cpu_m, free.memory, free.pods])
            self._extra.append(list(extra_vector(free, self._dims)))
            self._peers.append(
                [
                    self._peer(p)
                    for p in bound
                    if self._interpod and (every_peer or p.host_ports or hostname_anti_affinity(p))
                ]
            )
        keys = _selected_keys(moving)
        grouped: dict[object, list[int]] = {}
        for j, node in enumerate(order):
            selected = tuple(kv for kv in node.labels if kv[0] in keys)
            grouped.setdefault((node.name in candidates, selected, node.taints), []).append(j)
        self._profiles = [_Profile(members) for members in grouped.values()]
        self._slot = [(0, 0)] * len(order)
        for number, profile in enumerate(self._profiles):
            for leaf, j in enumerate(profile.members):
                self._slot[j] = (number, leaf)
                self._refresh(j)
        self._hosted: dict[int, list[PodRecord]] = {}
        self._destination: dict[str, str] = {}
        self._origin: dict[str, str] = {}

    @property
    def destinations(self) -> int:
        """How many nodes can take pods now."""
        return self._open

    def destination_of(self, pod_key: str) -> str | None:
        """Where the simulation put the pod with ``pod_key`` last, or ``None``."""
        return self._destination.get(pod_key)

    def remove(self, node: str, pods: Sequence[PodRecord]) -> Stranded | None:
        """Take ``node`` out and place ``pods`` (and those moved onto it) on the rest.

        Returns ``None`` when every pod found a place (the placements are kept), or the pod
        that found none (nothing changes).
        """
        j = self._index.get(node)
        hosted = self._hosted.get(j, []) if j is not None else []
        if j is not None:
            self._switch(j, on=False)
        placed: list[tuple[int, PodRecord, Demand]] = []
        for pod in sorted((*pods, *hosted), key=_largest_first):
            demand = self._demand(pod)
            k = self._first_fit(pod, demand)
            if k < 0:
                stranded = Stranded(pod, self._origin.get(pod.key), self.destinations)
                for k2, _, d2 in reversed(placed):
                    self._take(k2, d2, sign=-1)
                if j is not None:
                    self._switch(j, on=True)
                return stranded
            self._take(k, demand, sign=1)
            placed.append((k, pod, demand))
        if j is not None:
            self._hosted.pop(j, None)
        for k, pod, _ in placed:
            self._hosted.setdefault(k, []).append(pod)
            self._destination[pod.key] = self._names[k]
            self._origin.setdefault(pod.key, node)
        return None

    def _peer(self, pod: PodRecord) -> Peer:
        found = peer_of(pod, pod.host_ports)
        return self._shared.setdefault(found, found)

    def _demand(self, pod: PodRecord) -> Demand:
        peer = self._peer(pod) if self._interpod else None
        return Demand.of(as_pod_request(pod.requests), self._dims, peer, exclusive=False)

    def _refresh(self, j: int) -> None:
        number, leaf = self._slot[j]
        tree = self._profiles[number].tree
        if self._on[j]:
            cpu, mem, pods = self._free[j]
            tree.set(leaf, max(cpu, 0), max(mem, 0), max(pods, 0))
        else:
            tree.set(leaf, OFF, OFF, OFF)

    def _switch(self, j: int, *, on: bool) -> None:
        self._open += 1 if on else -1
        self._on[j] = on
        self._refresh(j)

    def _take(self, j: int, d: Demand, *, sign: int) -> None:
        """Place (``sign=1``) or take back (``sign=-1``, the last placed first) one pod."""
        free = self._free[j]
        free[0] -= sign * d.cpu
        free[1] -= sign * d.memory
        free[2] -= sign * d.pods
        extra = self._extra[j]
        for i, amount in enumerate(d.extra):
            extra[i] -= sign * amount
        if d.peer is not None:
            if sign > 0:
                self._peers[j].append(d.peer)
            else:
                self._peers[j].pop()
        self._refresh(j)

    def _conflict(self, a: Peer, b: Peer) -> bool:
        key = (id(a), id(b))
        found = self._conflicts.get(key)
        if found is None:
            found = self._conflicts[key] = peers_conflict(a, b)
        return found

    def _admits(self, j: int, d: Demand) -> bool:
        extra = zip(d.extra, self._extra[j], strict=True)
        if d.extra and any(want > 0 and want > have for want, have in extra):
            return False
        peer = d.peer
        return peer is None or not any(self._conflict(peer, q) for q in self._peers[j])

    def _mismatch(self, pod: PodRecord, j: int) -> bool:
        node = self._nodes[j]
        found = node_mismatch(pod, labels=self._labels[j], taints=node.taints, node_name=node.name)
        return found is not None

    def _rejects(self, profile: _Profile, pod: PodRecord) -> bool:
        key = _constraints(pod)
        found = profile.rejects.get(key)
        if found is None:
            found = profile.rejects[key] = self._mismatch(pod, profile.members[0])
        return found

    def _first_fit(self, pod: PodRecord, d: Demand) -> int:
        """The first destination in order that takes ``pod``, or -1."""
        per_node = names_nodes(pod)
        for profile in self._profiles:
            if not per_node and self._rejects(profile, pod):
                continue
            start = 0
            while True:
                leaf = profile.tree.find(d.cpu, d.memory, d.pods, start)
                if leaf < 0:
                    break
                start = leaf + 1
                j = profile.members[leaf]
                if (not per_node or not self._mismatch(pod, j)) and self._admits(j, d):
                    return j
        return -1


def _needs_interpod(
    order: Sequence[NodeRecord],
    pods_by_node: Mapping[str, Sequence[PodRecord]],
    moving: Sequence[PodRecord],
) -> bool:
    """Whether a host port or a hostname anti-affinity term can decide a placement."""
    if any(p.host_ports or hostname_anti_affinity(p) for p in moving):
        return True
    return any(hostname_anti_affinity(p) for n in order for p in pods_by_node.get(n.name, ()))
