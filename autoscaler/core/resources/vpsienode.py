"""``VPSieNode``: one VPSie worker or VM, from the intent to create it until it is gone.

Written to the API server *before* the VPSie create call (architecture §2.1), owned by its
NodeGroup and held by a finalizer until the VPSie side is deleted.
"""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, ClassVar

from autoscaler.core.resources import formats
from autoscaler.core.resources.common import ObjectMeta
from autoscaler.core.resources.meta import KindInfo, PrinterColumn, Rule, prop
from autoscaler.core.resources.parsing import parse_resource
from autoscaler.core.resources.provider import ProviderMode
from autoscaler.core.resources.vpsienode_status import VPSieNodeStatus

__all__ = ["VPSieNode", "VPSieNodeConditionType", "VPSieNodeSpec", "vpsienode_from_dict"]

_IDENT = {"max_length": 64, "min_length": 1, "rules": (formats.IDENTIFIER,)}


class VPSieNodeConditionType(enum.StrEnum):
    """The condition types a VPSieNode's status carries (Karpenter NodeClaim vocabulary)."""

    LAUNCHED = "Launched"
    REGISTERED = "Registered"
    READY = "Ready"
    DRAINED = "Drained"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VPSieNodeSpec:
    """What to create; fixed when the VPSieNode is created."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.mode != 'vm' || has(self.hostname)",
            message=(
                "hostname is required when mode is vm: it is chosen before the VM is created,"
                " so that a create with an unknown outcome can be found again"
            ),
            check=lambda s: s.mode != ProviderMode.VM or s.hostname is not None,
            field_path=".hostname",
            reason="FieldValueRequired",
        ),
        Rule(
            cel="self.mode != 'vm' || has(self.planIdentifier)",
            message="planIdentifier is required when mode is vm",
            check=lambda s: s.mode != ProviderMode.VM or s.plan_identifier is not None,
            field_path=".planIdentifier",
            reason="FieldValueRequired",
        ),
        Rule(
            cel="self == oldSelf",
            message="spec is immutable: a VPSieNode describes one worker from creation to deletion",
        ),
    )

    node_group: str = prop(
        "Name of the NodeGroup (in this namespace) the node belongs to.",
        max_length=63,
        rules=(formats.DNS_SUBDOMAIN,),
    )
    mode: ProviderMode = prop(
        "Provisioning mode, copied from the NodeGroup: vke (managed worker) or vm (plain VM)."
    )
    hostname: str | None = prop(
        "vm: hostname of the VM to create, unique and chosen before the create call. vke:"
        " unset (VPSie names the worker; status.hostname records it).",
        default=None,
        max_length=63,
        rules=(formats.DNS_LABEL,),
    )
    plan_identifier: str | None = prop(
        "vm: identifier of the VPSie plan the VM is created with.", default=None, **_IDENT
    )
    offer_id: int | None = prop(
        "vke: id of the VPSie Kubernetes offer (KubeSizeID) of the group's workers, used for"
        " the node's expected capacity and price.",
        default=None,
        minimum=1,
        int64=True,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VPSieNode:
    """One VPSie worker or VM managed by the autoscaler, from creation intent to deletion."""

    KIND: ClassVar[KindInfo] = KindInfo(
        kind="VPSieNode",
        plural="vpsienodes",
        short_names=("vn",),
        categories=("vpsie",),
        columns=(
            PrinterColumn("Group", ".spec.nodeGroup", "string", "Owning NodeGroup"),
            PrinterColumn("Phase", ".status.phase", "string", "Lifecycle phase"),
            PrinterColumn("Hostname", ".status.hostname", "string", "VPSie hostname"),
            PrinterColumn("Node", ".status.nodeName", "string", "Kubernetes Node name"),
            PrinterColumn("Age", ".metadata.creationTimestamp", "date", "Time since creation"),
        ),
        selectable_fields=(".spec.nodeGroup",),
    )
    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="size(self.metadata.name) <= 63",
            message="VPSieNode names are at most 63 characters: nodes carry the name as a label",
            check=lambda n: len(n.metadata.name) <= 63,
        ),
    )

    metadata: ObjectMeta
    spec: VPSieNodeSpec = prop("What to create; immutable.")
    status: VPSieNodeStatus = prop(
        "Observed lifecycle state, written by the autoscaler.", default=VPSieNodeStatus()
    )


def vpsienode_from_dict(obj: Mapping[str, Any]) -> VPSieNode:
    """Parse and validate a VPSieNode object (as JSON) strictly, applying schema defaults."""
    return parse_resource(VPSieNode, obj)
