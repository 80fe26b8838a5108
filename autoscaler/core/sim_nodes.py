"""Nodes being filled by one simulation, with a fast leftmost-fit search.

A max segment tree over the nodes (in opening order) keeps the largest free CPU, memory
and pod count of every range, so ``first_fit`` finds the leftmost node with room for a
pod in about ``log2(nodes)`` integer comparisons instead of scanning every open node. The
other dimensions (ephemeral storage, extended resources) and the inter-pod checks are
verified on the candidate leaf; a miss moves the search past it. For one class of pods
the misses only grow as nodes fill, so callers pass the last miss as ``start``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from autoscaler.core.interpod import Peer, peers_conflict
from autoscaler.core.records import Resources

__all__ = ["Demand", "NodePool", "extra_dims", "extra_vector"]

_EMPTY = -1
_MANY = 1 << 62
_STORAGE = "ephemeral-storage"


def extra_dims(requests: Iterable[Resources]) -> tuple[str, ...]:
    """Return the dimensions beyond CPU, memory and pods that any of ``requests`` uses."""
    names: set[str] = set()
    for request in requests:
        if request.ephemeral_storage:
            names.add(_STORAGE)
        names.update(name for name, amount in request.extended if amount)
    return tuple(sorted(names))


def extra_vector(resources: Resources, dims: tuple[str, ...]) -> tuple[int, ...]:
    """Return ``resources`` in the extra dimensions ``dims``."""
    if not dims:
        return ()
    extended = dict(resources.extended)
    return tuple(resources.ephemeral_storage if d == _STORAGE else extended.get(d, 0) for d in dims)


@dataclass(frozen=True, slots=True)
class Demand:
    """One pod of a class, as the pool compares it."""

    cpu: int
    memory: int
    pods: int
    extra: tuple[int, ...]
    peer: Peer | None
    """``None`` when no inter-pod check is needed in this simulation."""
    exclusive: bool
    """At most one pod of the class per node."""

    @classmethod
    def of(
        cls, request: Resources, dims: tuple[str, ...], peer: Peer | None, exclusive: bool
    ) -> Demand:
        """Return the demand of one pod with ``request``."""
        return cls(
            request.cpu_m,
            request.memory,
            request.pods,
            extra_vector(request, dims),
            peer,
            exclusive,
        )


class NodePool:
    """Simulated nodes: free resources, the peers on each, and what was placed."""

    def __init__(self, *, interpod: bool) -> None:
        self._size = 16
        self._cpu = [_EMPTY] * 32
        self._mem = [_EMPTY] * 32
        self._pods = [_EMPTY] * 32
        self._interpod = interpod
        self._conflicts: dict[tuple[int, int], bool] = {}
        self.names: list[str] = []
        self.extra: list[list[int]] = []
        self.peers: list[dict[int, Peer]] = []
        self.placements: list[list[tuple[int, int]]] = []
        """Per node: (class index, pods placed) in placement order."""

    def __len__(self) -> int:
        return len(self.names)

    def _grow(self) -> None:
        old, size = self._size, self._size * 2
        for name in ("_cpu", "_mem", "_pods"):
            leaves = getattr(self, name)[old : 2 * old]
            tree = [_EMPTY] * size + leaves + [_EMPTY] * (size - old)
            for i in range(size - 1, 0, -1):
                tree[i] = max(tree[2 * i], tree[2 * i + 1])
            setattr(self, name, tree)
        self._size = size

    def _set(self, leaf: int, cpu: int, mem: int, pods: int) -> None:
        c, m, p = self._cpu, self._mem, self._pods
        i = leaf + self._size
        c[i], m[i], p[i] = cpu, mem, pods
        i >>= 1
        while i:
            left, right = 2 * i, 2 * i + 1
            nc = c[left] if c[left] > c[right] else c[right]
            nm = m[left] if m[left] > m[right] else m[right]
            np = p[left] if p[left] > p[right] else p[right]
            if nc == c[i] and nm == m[i] and np == p[i]:
                return
            c[i], m[i], p[i] = nc, nm, np
            i >>= 1

    def open(
        self, name: str, free: Resources, dims: tuple[str, ...], peers: Sequence[Peer] = ()
    ) -> int:
        """Add a node with ``free`` resources and the ``peers`` already on it; its index."""
        leaf = len(self.names)
        if leaf == self._size:
            self._grow()
        self.names.append(name)
        self.extra.append(list(extra_vector(free, dims)))
        self.peers.append({id(p): p for p in peers} if self._interpod else {})
        self.placements.append([])
        self._set(leaf, free.cpu_m, free.memory, free.pods)
        return leaf

    def _find(self, d: Demand, start: int) -> int:
        c, m, p, size = self._cpu, self._mem, self._pods, self._size
        cpu, mem, pods = d.cpu, d.memory, d.pods
        if c[1] < cpu or m[1] < mem or p[1] < pods:
            return -1
        depth = size.bit_length() - 1
        stack = [1]
        while stack:
            i = stack.pop()
            if start and ((i + 1) << (depth - i.bit_length() + 1)) - size <= start:
                continue  # the whole range (a leaf, too) lies before start
            if i >= size:
                return i - size
            right, left = 2 * i + 1, 2 * i
            if c[right] >= cpu and m[right] >= mem and p[right] >= pods:
                stack.append(right)
            if c[left] >= cpu and m[left] >= mem and p[left] >= pods:
                stack.append(left)
        return -1

    def _conflict(self, a: Peer, b: Peer) -> bool:
        key = (id(a), id(b))
        found = self._conflicts.get(key)
        if found is None:
            found = self._conflicts[key] = peers_conflict(a, b)
        return found

    def admits(self, leaf: int, d: Demand) -> bool:
        """Whether the extra dimensions and the inter-pod checks admit one pod on ``leaf``."""
        if d.extra and any(w > h for w, h in zip(d.extra, self.extra[leaf], strict=True)):
            return False
        peer = d.peer
        return peer is None or not any(self._conflict(peer, q) for q in self.peers[leaf].values())

    def first_fit(self, d: Demand, start: int = 0) -> int:
        """Return the leftmost node at or after ``start`` with room for one pod, or -1."""
        while True:
            leaf = self._find(d, start)
            if leaf < 0 or self.admits(leaf, d):
                return leaf
            start = leaf + 1

    def copies(self, leaf: int, d: Demand) -> int:
        """Return how many pods of the demand fit on ``leaf`` by resources."""
        i = leaf + self._size
        count = self._pods[i] // d.pods if d.pods > 0 else _MANY
        if d.cpu > 0:
            count = min(count, self._cpu[i] // d.cpu)
        if d.memory > 0:
            count = min(count, self._mem[i] // d.memory)
        for want, have in zip(d.extra, self.extra[leaf], strict=True):
            if want > 0:
                count = min(count, have // want)
        return min(count, 1) if d.exclusive else count

    def place(self, leaf: int, d: Demand, count: int, class_index: int) -> None:
        """Put ``count`` pods of the demand on ``leaf``."""
        size = self._size
        self._set(
            leaf,
            self._cpu[leaf + size] - d.cpu * count,
            self._mem[leaf + size] - d.memory * count,
            self._pods[leaf + size] - d.pods * count,
        )
        if d.extra:
            row = self.extra[leaf]
            for j, amount in enumerate(d.extra):
                row[j] -= amount * count
        if d.peer is not None:
            self.peers[leaf][id(d.peer)] = d.peer
        self.placements[leaf].append((class_index, count))
