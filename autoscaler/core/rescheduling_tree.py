"""A max segment tree over free CPU, memory and pod slots, for the rescheduling simulation.

Each inner entry holds the largest free amount of each resource below it, so ``find`` skips a
range of nodes at once when none of them has enough of one resource, and reaches the leftmost
node with enough of all three in about log2(nodes) steps. A range can pass the three checks
through different nodes, so the search backtracks then; the other checks (extra resources,
inter-pod, per-node predicates) are the caller's, on the leaf it returns.
"""

from __future__ import annotations

__all__ = ["OFF", "FreeTree"]

OFF = -1
"""The value of a node that takes no pod: below any request, since every pod takes a slot."""


class FreeTree:
    """Max segment tree of free CPU, memory and pod slots over a fixed number of nodes."""

    def __init__(self, leaves: int) -> None:
        """A tree of ``leaves`` nodes, each ``OFF`` until set."""
        size = 1
        while size < leaves:
            size *= 2
        self.size = size
        self.cpu = [OFF] * (2 * size)
        self.mem = [OFF] * (2 * size)
        self.pods = [OFF] * (2 * size)

    def set(self, leaf: int, cpu: int, mem: int, pods: int) -> None:
        """Set what ``leaf`` has free (``OFF`` in all three: it takes nothing)."""
        c, m, p = self.cpu, self.mem, self.pods
        i = leaf + self.size
        c[i], m[i], p[i] = cpu, mem, pods
        i >>= 1
        while i:
            left, right = 2 * i, 2 * i + 1
            c[i] = c[left] if c[left] > c[right] else c[right]
            m[i] = m[left] if m[left] > m[right] else m[right]
            p[i] = p[left] if p[left] > p[right] else p[right]
            i >>= 1

    def find(self, cpu: int, mem: int, pods: int, start: int) -> int:
        """The leftmost leaf at or after ``start`` with room for the three amounts, or -1."""
        c, m, p = self.cpu, self.mem, self.pods
        stack = [(1, 0, self.size)]
        while stack:
            i, lo, hi = stack.pop()
            if hi <= start or c[i] < cpu or m[i] < mem or p[i] < pods:
                continue
            if i >= self.size:
                return i - self.size
            mid = (lo + hi) >> 1
            stack.append((2 * i + 1, mid, hi))
            stack.append((2 * i, lo, mid))
        return -1
