"""``NodeGroup``: a set of identical VPSie nodes that the autoscaler keeps between bounds."""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from autoscaler.core.resources.common import Condition, ObjectMeta
from autoscaler.core.resources.meta import KindInfo, PrinterColumn, Rule, prop
from autoscaler.core.resources.parsing import parse_resource
from autoscaler.core.resources.provider import ProviderSpec
from autoscaler.core.resources.scaling import ScaleDown, ScaleUp
from autoscaler.core.resources.template import NodeTemplate

MAX_NODES = 1000
MAX_PRIORITY = 100
SUMMARY_LENGTH = 1024
_COUNT = {"minimum": 0}


class NodeGroupConditionType(enum.StrEnum):
    """The condition types a NodeGroup's status carries."""

    READY = "Ready"
    SCALING = "Scaling"
    AT_MIN_CAPACITY = "AtMinCapacity"
    AT_MAX_CAPACITY = "AtMaxCapacity"
    BACKOFF = "Backoff"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroupSpec:
    """The desired bounds, provisioning and scaling behaviour of a node group."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.minNodes <= self.maxNodes",
            message="minNodes must not be greater than maxNodes",
            check=lambda s: s.min_nodes <= s.max_nodes,
            field_path=".minNodes",
        ),
    )

    min_nodes: int = prop(
        "Fewest nodes the group keeps; the autoscaler adds nodes up to it and never removes"
        " below it.",
        default=0,
        minimum=0,
        maximum=MAX_NODES,
    )
    max_nodes: int = prop(
        "Most nodes the group may have, counting nodes still being provisioned.",
        minimum=0,
        maximum=MAX_NODES,
    )
    provider: ProviderSpec = prop("Where and how the group's nodes are created on VPSie.")
    template: NodeTemplate = prop(
        "Labels, taints and reserved resources of every node of the group.",
        default=NodeTemplate(),
    )
    priority: int = prop(
        "Preference among groups that can all fit the pending pods: the highest priority"
        " wins, as in Cluster Autoscaler's priority expander; ties go to the cheapest.",
        default=0,
        minimum=0,
        maximum=MAX_PRIORITY,
    )
    scale_up: ScaleUp = prop("How the group grows for unschedulable pods.", default=ScaleUp())
    scale_down: ScaleDown = prop("How and when unneeded nodes are removed.", default=ScaleDown())


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroupStatus:
    """What the autoscaler last observed and did; written only through the status subresource."""

    observed_generation: int | None = prop(
        "The .metadata.generation this status was computed for.",
        default=None,
        minimum=0,
        int64=True,
    )
    current_nodes: int | None = prop(
        "Nodes of the group registered with the cluster.", default=None, **_COUNT
    )
    ready_nodes: int | None = prop("Registered nodes that are Ready.", default=None, **_COUNT)
    upcoming_nodes: int | None = prop(
        "Nodes requested but not yet Ready; they count against maxNodes.",
        default=None,
        **_COUNT,
    )
    target_nodes: int | None = prop(
        "Size the autoscaler is steering the group to.", default=None, **_COUNT
    )
    monthly_cost: Decimal | None = prop(
        "Estimated monthly price of the group's nodes, in USD, as a decimal string.",
        default=None,
    )
    conditions: tuple[Condition, ...] = prop(
        "Current state: Ready, Scaling, AtMinCapacity, AtMaxCapacity and Backoff.",
        default=(),
        max_items=16,
        list_type="map",
        list_map_keys=("type",),
    )
    last_scale_up_time: dt.datetime | None = prop(
        "When the autoscaler last added nodes to the group.", default=None
    )
    last_scale_down_time: dt.datetime | None = prop(
        "When the autoscaler last removed a node from the group.", default=None
    )
    last_error: str | None = prop(
        "The most recent provisioning or deletion error, if any.",
        default=None,
        max_length=SUMMARY_LENGTH,
    )
    pending_summary: str | None = prop(
        "Short summary of why pending pods did or did not trigger a scale-up of this group.",
        default=None,
        max_length=SUMMARY_LENGTH,
    )
    kept_summary: str | None = prop(
        "Short summary of why the group's underused nodes are kept.",
        default=None,
        max_length=SUMMARY_LENGTH,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroup:
    """A group of identical VPSie nodes that the autoscaler keeps between minNodes and maxNodes."""

    KIND: ClassVar[KindInfo] = KindInfo(
        kind="NodeGroup",
        plural="nodegroups",
        short_names=("ng",),
        categories=("vpsie",),
        columns=(
            PrinterColumn("Min", ".spec.minNodes", "integer", "Fewest nodes kept"),
            PrinterColumn("Max", ".spec.maxNodes", "integer", "Most nodes allowed"),
            PrinterColumn("Current", ".status.currentNodes", "integer", "Registered nodes"),
            PrinterColumn("Ready", ".status.readyNodes", "integer", "Ready nodes"),
            PrinterColumn("Upcoming", ".status.upcomingNodes", "integer", "Nodes on the way"),
            PrinterColumn("Mode", ".spec.provider.mode", "string", "vke or vm", priority=1),
            PrinterColumn("Age", ".metadata.creationTimestamp", "date", "Time since creation"),
        ),
    )
    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="size(self.metadata.name) <= 63",
            message="NodeGroup names are at most 63 characters: nodes carry the name as a label",
            check=lambda g: len(g.metadata.name) <= 63,
        ),
    )

    metadata: ObjectMeta
    spec: NodeGroupSpec = prop("Desired bounds, provisioning and scaling behaviour.")
    status: NodeGroupStatus = prop(
        "Observed state, written by the autoscaler.", default=NodeGroupStatus()
    )


def nodegroup_from_dict(obj: Mapping[str, Any]) -> NodeGroup:
    """Parse and validate a NodeGroup object (as JSON) strictly, applying schema defaults.

    Raises ``InvalidResource`` naming every offending field and the rule it breaks.
    """
    return parse_resource(NodeGroup, obj)
