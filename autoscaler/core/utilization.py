"""How full a node is by requests, and since when each node has been unneeded.

Utilization is Cluster Autoscaler's: the larger of the CPU and memory fractions of
allocatable that the node's pods request. DaemonSet and mirror (static) pods are left out,
since they would not move elsewhere with the node's other pods, and so are pods that have
finished (``Succeeded`` or ``Failed``). A node with no allocatable CPU or memory counts as
full in that resource, so a node that reports nothing is never taken for underutilized.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from autoscaler.core.records import NodeRecord, PodRecord

__all__ = [
    "TERMINAL_PHASES",
    "Utilization",
    "counts_toward_utilization",
    "requests_utilization",
    "unneeded_since",
]

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True)
class Utilization:
    """Fractions of a node's allocatable CPU and memory that its movable pods request."""

    cpu: float
    memory: float

    @property
    def value(self) -> float:
        """The larger of the two fractions: what is compared with the threshold."""
        return max(self.cpu, self.memory)


def _fraction(requested: int, allocatable: int) -> float:
    return requested / allocatable if allocatable > 0 else 1.0


def counts_toward_utilization(pod: PodRecord) -> bool:
    """Whether ``pod``'s requests count toward its node's utilization."""
    return not (pod.is_daemonset or pod.is_mirror or pod.phase in TERMINAL_PHASES)


def requests_utilization(node: NodeRecord, pods: Iterable[PodRecord]) -> Utilization:
    """Return ``node``'s utilization by the requests of ``pods`` (the pods bound to it)."""
    cpu_m = memory = 0
    for pod in pods:
        if counts_toward_utilization(pod):
            cpu_m += pod.requests.cpu_m
            memory += pod.requests.memory
    allocatable = node.allocatable
    return Utilization(
        cpu=_fraction(cpu_m, allocatable.cpu_m), memory=_fraction(memory, allocatable.memory)
    )


def unneeded_since(
    previous: Mapping[str, dt.datetime],
    utilization_by_node: Mapping[str, float],
    thresholds: Mapping[str, float],
    now: dt.datetime,
) -> dict[str, dt.datetime]:
    """Return, per node now under its threshold, since when it has been under it.

    A node under its threshold keeps its time from ``previous``, or starts at ``now``. A node
    at or over its threshold, without a threshold, with a NaN utilization, or missing from
    ``utilization_by_node`` (gone from the cluster) is left out. The inputs are not changed.
    """
    since: dict[str, dt.datetime] = {}
    for name, used in utilization_by_node.items():
        threshold = thresholds.get(name)
        if threshold is not None and used < threshold:  # False for a NaN on either side
            since[name] = previous.get(name, now)
    return since
