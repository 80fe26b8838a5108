"""``VPSieNode.status``: the lifecycle phase and what VPSie and Kubernetes report about the node."""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from autoscaler.core.resources import formats
from autoscaler.core.resources.common import Condition
from autoscaler.core.resources.meta import prop

MAX_ERROR_LENGTH = 1024


class Phase(enum.StrEnum):
    """Lifecycle phase: Pending, Provisioning, Joining, Ready, Draining, Deleting; or Failed."""

    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    JOINING = "Joining"
    READY = "Ready"
    DRAINING = "Draining"
    DELETING = "Deleting"
    FAILED = "Failed"


def _entered(phase: str) -> str:
    return f"When the node entered the {phase} phase."


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PhaseTimestamps:
    """When the node entered each phase; a phase not reached yet is unset."""

    pending: dt.datetime | None = prop(_entered("Pending"), default=None)
    provisioning: dt.datetime | None = prop(_entered("Provisioning"), default=None)
    joining: dt.datetime | None = prop(_entered("Joining"), default=None)
    ready: dt.datetime | None = prop(_entered("Ready"), default=None)
    draining: dt.datetime | None = prop(_entered("Draining"), default=None)
    deleting: dt.datetime | None = prop(_entered("Deleting"), default=None)
    failed: dt.datetime | None = prop(_entered("Failed"), default=None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VPSieNodeStatus:
    """What the autoscaler last observed; written only through the status subresource."""

    phase: Phase | None = prop(
        "Lifecycle phase: Pending, Provisioning, Joining, Ready, Draining, Deleting or Failed."
        " Provisioning and Joining each time out after 15m (Failed).",
        default=None,
    )
    vpsie_id: int | None = prop(
        "Numeric VPSie id of the worker or VM, once known.", default=None, minimum=1, int64=True
    )
    vpsie_identifier: str | None = prop(
        "VPSie identifier (UUID) of the worker or VM, once known; used to delete exactly it.",
        default=None,
        max_length=64,
        rules=(formats.IDENTIFIER,),
    )
    hostname: str | None = prop(
        "Hostname VPSie reports for the node.", default=None, max_length=253
    )
    node_name: str | None = prop(
        "Name of the Kubernetes Node object once the node has registered.",
        default=None,
        max_length=253,
    )
    public_ip: str | None = prop(
        "Public IP address VPSie reports.", default=None, name="publicIP", max_length=64
    )
    private_ip: str | None = prop(
        "Private IP address VPSie reports.", default=None, name="privateIP", max_length=64
    )
    timestamps: PhaseTimestamps | None = prop("When the node entered each phase.", default=None)
    attempts: int | None = prop(
        "Create or delete attempts made in the current phase.", default=None, minimum=0
    )
    conditions: tuple[Condition, ...] = prop(
        "Current state: Launched, Registered, Ready and Drained.",
        default=(),
        max_items=16,
        list_type="map",
        list_map_keys=("type",),
    )
    last_error: str | None = prop(
        "The most recent error in this node's lifecycle, if any.",
        default=None,
        max_length=MAX_ERROR_LENGTH,
    )
