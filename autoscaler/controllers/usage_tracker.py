"""Measured node usage, kept per node in a bounded ring and handed out as immutable records.

The tracker keeps, for every node, the last ``capacity`` samples from ``metrics.k8s.io`` in
a ``collections.deque(maxlen=capacity)``, so memory per node is constant (review HIGH-3).
Readers never see the rings: ``usage()`` and ``snapshot()`` return frozen ``NodeUsage``
records holding tuples, so no caller can change what the tracker holds (CRITICAL-3). Every
method is plain ``def``: on the event loop each call is one atomic step, so a collection
pass applied with ``record_all`` + ``retain`` is never seen half-done (GAP-1). Entries of
nodes that left the Node cache are dropped by ``forget`` (from an informer handler,
``ForgetDeletedNodes``) and by ``retain`` after every collection pass (HIGH-1).

Samples are ordered by the time the kubelet measured them: a sample no newer than a node's
latest one (the same scrape listed twice, or a slow pass applied after a faster one) is
ignored, so each ring stays sorted and free of duplicates.
"""

from __future__ import annotations

import datetime as dt
import types
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from autoscaler.core.records import NodeRecord
from autoscaler.kube.store import DeletedFinalStateUnknown

__all__ = [
    "DEFAULT_CAPACITY",
    "ForgetDeletedNodes",
    "NodeUsage",
    "TrackerStatistics",
    "UsageSample",
    "UsageTracker",
]

#: Samples kept per node: 20 samples are 10 minutes at the default 30 s interval.
DEFAULT_CAPACITY = 20


def _ceil_div(total: int, count: int) -> int:
    return -(-total // count)


@dataclass(frozen=True, slots=True)
class UsageSample:
    """One measurement of a node: when it was taken, CPU in millicores, memory in bytes."""

    at: dt.datetime
    cpu_millis: int
    memory_bytes: int


@dataclass(frozen=True, slots=True)
class NodeUsage:
    """The samples of one node, oldest first, and figures derived from them.

    Every figure is ``None`` when there is no sample: unknown usage must never read as idle.
    Averages are rounded up, so usage is never under-counted.
    """

    node: str
    samples: tuple[UsageSample, ...]

    def since(self, start: dt.datetime) -> NodeUsage:
        """Return the samples taken at or after ``start`` (a window ending now)."""
        return NodeUsage(self.node, tuple(s for s in self.samples if s.at >= start))

    @property
    def latest(self) -> UsageSample | None:
        """The newest sample, if any."""
        return self.samples[-1] if self.samples else None

    @property
    def max_cpu_millis(self) -> int | None:
        """The highest CPU usage among the samples (millicores)."""
        return max((s.cpu_millis for s in self.samples), default=None)

    @property
    def max_memory_bytes(self) -> int | None:
        """The highest memory usage among the samples (bytes)."""
        return max((s.memory_bytes for s in self.samples), default=None)

    @property
    def avg_cpu_millis(self) -> int | None:
        """The mean CPU usage of the samples (millicores, rounded up)."""
        if not self.samples:
            return None
        return _ceil_div(sum(s.cpu_millis for s in self.samples), len(self.samples))

    @property
    def avg_memory_bytes(self) -> int | None:
        """The mean memory usage of the samples (bytes, rounded up)."""
        if not self.samples:
            return None
        return _ceil_div(sum(s.memory_bytes for s in self.samples), len(self.samples))


@dataclass(frozen=True, slots=True)
class TrackerStatistics:
    """How much the tracker holds: nodes, samples over all nodes, ring size per node."""

    nodes: int
    samples: int
    capacity: int


class UsageTracker:
    """Per-node rings of usage samples; readers get immutable ``NodeUsage`` records."""

    def __init__(self, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1 sample")
        self._capacity = capacity
        self._rings: dict[str, deque[UsageSample]] = {}
        self._views: dict[str, NodeUsage] = {}  # cached records, dropped on every change

    def __len__(self) -> int:
        return len(self._rings)

    def __contains__(self, node: object) -> bool:
        return node in self._rings

    def record(self, node: str, sample: UsageSample) -> bool:
        """Append ``sample`` to ``node``'s ring; ``False`` if it is not newer than the last."""
        ring = self._rings.get(node)
        if ring is None:
            ring = self._rings[node] = deque(maxlen=self._capacity)
        elif ring and sample.at <= ring[-1].at:
            return False
        ring.append(sample)
        self._views.pop(node, None)
        return True

    def record_all(self, samples: Mapping[str, UsageSample]) -> int:
        """Record one sample per node in one step; return how many were newer and kept."""
        return sum(self.record(node, sample) for node, sample in samples.items())

    def forget(self, node: str) -> bool:
        """Drop everything about ``node``; ``False`` if nothing was held."""
        self._views.pop(node, None)
        return self._rings.pop(node, None) is not None

    def retain(self, names: Collection[str]) -> int:
        """Drop every node not in ``names``; return how many were dropped."""
        gone = [node for node in self._rings if node not in names]
        for node in gone:
            self.forget(node)
        return len(gone)

    def clear(self) -> None:
        """Drop every node (usage is no longer measured)."""
        self._rings.clear()
        self._views.clear()

    def usage(self, node: str) -> NodeUsage | None:
        """Return ``node``'s samples as an immutable record, or ``None`` if none are held."""
        ring = self._rings.get(node)
        return None if ring is None else self._view(node, ring)

    def snapshot(self) -> Mapping[str, NodeUsage]:
        """Return a read-only mapping of every node's usage, consistent at this instant."""
        return types.MappingProxyType(
            {node: self._view(node, ring) for node, ring in self._rings.items()}
        )

    def _view(self, node: str, ring: deque[UsageSample]) -> NodeUsage:
        view = self._views.get(node)
        if view is None:
            view = self._views[node] = NodeUsage(node, tuple(ring))
        return view

    def statistics(self) -> TrackerStatistics:
        """Return how many nodes and samples are held."""
        return TrackerStatistics(
            nodes=len(self._rings),
            samples=sum(len(ring) for ring in self._rings.values()),
            capacity=self._capacity,
        )


class ForgetDeletedNodes:
    """A Node informer handler that drops a deleted node's usage at once (HIGH-1)."""

    def __init__(self, tracker: UsageTracker) -> None:
        self._tracker = tracker

    def on_add(self, obj: NodeRecord) -> None:
        """Nothing to do: usage arrives with the next collection pass."""

    def on_update(self, old: NodeRecord, new: NodeRecord) -> None:
        """Forget the old samples when the name now belongs to a new Node (another UID)."""
        if old.uid != new.uid:
            self._tracker.forget(new.name)

    def on_delete(self, obj: NodeRecord | DeletedFinalStateUnknown[Any]) -> None:
        """Forget the node, whether given its final state or a tombstone."""
        self._tracker.forget(obj.key)
