"""``NodeGroup.spec.template``: labels, taints and reserved resources of every node of a group."""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import enum

from autoscaler.core.quantity import int_value, milli_value
from autoscaler.core.resources import formats
from autoscaler.core.resources.meta import FrozenMap, Meta, prop
from autoscaler.core.resources.values import Quantity

MAX_LABELS = 64
MAX_TAINTS = 32


class TaintEffect(enum.StrEnum):
    """What a taint does to pods that do not tolerate it."""

    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Taint:
    """A node taint, as in ``Node.spec.taints``."""

    key: str = prop(
        "Taint key, a qualified name such as example.com/dedicated.",
        max_length=317,
        rules=(formats.QUALIFIED_NAME,),
    )
    value: str = prop(
        "Taint value; empty by default.", default="", max_length=63, rules=(formats.LABEL_VALUE,)
    )
    effect: TaintEffect = prop(
        "Effect on pods that do not tolerate the taint: NoSchedule, PreferNoSchedule or NoExecute."
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReservedResources:
    """Resources kept back from a node's capacity (kube-reserved, system-reserved, eviction)."""

    cpu: Quantity | None = prop(
        "CPU kept back from capacity, e.g. 100m. Unset: the controller's default (100m).",
        default=None,
        max_length=64,
    )
    memory: Quantity | None = prop(
        "Memory kept back from capacity, e.g. 356Mi. Unset: the controller's default"
        " (356Mi: 256Mi reserved plus a 100Mi eviction threshold).",
        default=None,
        max_length=64,
    )
    ephemeral_storage: Quantity | None = prop(
        "Ephemeral storage kept back from capacity, e.g. 10Gi. Unset: the controller's"
        " default (10% of the disk).",
        default=None,
        max_length=64,
    )

    @property
    def cpu_millis(self) -> int | None:
        """Reserved CPU in millicores, or ``None`` when unset."""
        return None if self.cpu is None else milli_value(self.cpu)

    @property
    def memory_bytes(self) -> int | None:
        """Reserved memory in bytes, or ``None`` when unset."""
        return None if self.memory is None else int_value(self.memory)

    @property
    def ephemeral_storage_bytes(self) -> int | None:
        """Reserved ephemeral storage in bytes, or ``None`` when unset."""
        return None if self.ephemeral_storage is None else int_value(self.ephemeral_storage)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeTemplate:
    """What every node of the group looks like to the scheduler (and to the simulation)."""

    labels: FrozenMap = prop(
        "Labels put on every node of the group and assumed for new nodes when simulating"
        " scale-up. Keys under autoscaler.vpsie.com/ are reserved for the autoscaler.",
        default=FrozenMap(),
        max_properties=MAX_LABELS,
        items=Meta(description="A label value.", max_length=63),
        rules=(formats.LABEL_KEYS, formats.LABEL_VALUES, formats.NO_RESERVED_LABELS),
    )
    taints: tuple[Taint, ...] = prop(
        "Taints put on every node of the group and assumed for new nodes when simulating"
        " scale-up; each key and effect pair at most once.",
        default=(),
        max_items=MAX_TAINTS,
        list_type="map",
        list_map_keys=("key", "effect"),
    )
    reserved: ReservedResources = prop(
        "Resources kept back from each node's capacity: allocatable = capacity - reserved."
        " Used to size new nodes in the simulation.",
        default=ReservedResources(),
    )
