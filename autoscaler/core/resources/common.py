"""Pieces shared by both kinds: ``metav1.Condition`` and the slim object metadata we read."""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from autoscaler.core.resources import formats
from autoscaler.core.resources.meta import prop

GROUP = "autoscaler.vpsie.com"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class ConditionStatus(enum.StrEnum):
    """The three values of a condition's ``status``."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One observation of the object's state, shaped exactly like ``metav1.Condition``."""

    type: str = prop(
        "Type of condition in CamelCase or in foo.example.com/CamelCase.",
        max_length=316,
        rules=(
            formats.matches(
                formats.CONDITION_TYPE_RE, "must be CamelCase or foo.example.com/CamelCase"
            ),
        ),
    )
    status: ConditionStatus = prop("Status of the condition: True, False or Unknown.")
    observed_generation: int | None = prop(
        "The .metadata.generation the condition was set for; older than the current"
        " generation means the condition is out of date.",
        default=None,
        minimum=0,
        int64=True,
    )
    last_transition_time: dt.datetime = prop(
        "Last time the condition changed from one status to another."
    )
    reason: str = prop(
        "Programmatic identifier in CamelCase saying why the condition last changed.",
        min_length=1,
        max_length=1024,
        rules=(
            formats.matches(
                formats.CONDITION_REASON_RE,
                "must start with a letter and contain only letters, digits, '_', ',' or ':'",
            ),
        ),
    )
    message: str = prop(
        "Human-readable details of the last transition; may be empty.", max_length=32768
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ObjectMeta:
    """The part of ``metadata`` the autoscaler reads (not part of the generated schema)."""

    name: str
    namespace: str = ""
    uid: str = ""
    generation: int = 0
    resource_version: str = ""
    creation_timestamp: dt.datetime | None = None
    deletion_timestamp: dt.datetime | None = None
