"""Node templates from a plan or group size (vpsie-api.md §6).

capacity: ``cpu`` (millicores), ``memory`` (bytes, ``ram`` MB read as MiB),
``ephemeral-storage`` (bytes, ``ssd`` GB read as GiB) and ``pods``; allocatable is capacity
minus the reserved amounts (100m CPU, 356Mi memory, 10 % of the disk by default), never
below zero. Integers only, as the core expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from autoscaler.core.quantity import format_int, format_milli

MI = 2**20
GI = 2**30


@dataclass(frozen=True, slots=True)
class Reserve:
    """Amounts kept back from capacity (the ``ReservedResources`` of the config)."""

    cpu_m: int = 100
    memory_mi: int = 356
    ephemeral_storage_pct: int = 10
    pods: int = 110


DEFAULT_RESERVE = Reserve()


@dataclass(frozen=True, slots=True)
class NodeTemplate:
    """What a new worker of a group will offer: capacity and allocatable, as integers."""

    capacity: Mapping[str, int]
    allocatable: Mapping[str, int]

    def quantities(self) -> dict[str, dict[str, str]]:
        """Both maps as Kubernetes quantity strings (CPU in millicores)."""
        return {"capacity": _as_text(self.capacity), "allocatable": _as_text(self.allocatable)}


def node_template(*, cpu: int, ram_mb: int, disk_gb: int, reserve: Reserve) -> NodeTemplate:
    """Capacity from the size, allocatable = capacity - reserved."""
    capacity = {
        "cpu": max(0, cpu) * 1000,
        "memory": max(0, ram_mb) * MI,
        "ephemeral-storage": max(0, disk_gb) * GI,
        "pods": reserve.pods,
    }
    disk = capacity["ephemeral-storage"]
    allocatable = {
        "cpu": max(0, capacity["cpu"] - reserve.cpu_m),
        "memory": max(0, capacity["memory"] - reserve.memory_mi * MI),
        "ephemeral-storage": disk * (100 - reserve.ephemeral_storage_pct) // 100,
        "pods": reserve.pods,
    }
    return NodeTemplate(MappingProxyType(capacity), MappingProxyType(allocatable))


def _as_text(values: Mapping[str, int]) -> dict[str, str]:
    return {k: format_milli(v) if k == "cpu" else format_int(v) for k, v in values.items()}
