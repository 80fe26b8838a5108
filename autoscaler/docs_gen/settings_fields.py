"""One row of the configuration reference per setting: variable, type, default, limits.

Everything is read from the pydantic models in ``autoscaler.settings``, except what a model
cannot say about itself, kept here next to the code that renders it:

* ``CROSS_FIELD_RULES``: the sentence for each ``model_validator`` (a test checks that every
  validator of the settings, and of the VPSie client config built from them, has one);
* ``NOT_READ``: settings the daemon accepts but does not read yet (a test checks that the
  daemon's code never names them, and names every other one);
* ``SHADOWED``: ``vm`` defaults that every ``vm`` NodeGroup must give itself (a test checks
  that the CRD requires those fields), so the setting never takes effect.
"""

from __future__ import annotations

import enum
import pathlib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from autoscaler.docs_gen.markdown import code
from autoscaler.settings import ENV_PREFIX, Settings

NOT_READ: frozenset[str] = frozenset()
SHADOWED = {
    "vpsie.dc_identifier": "datacenterIdentifier",
    "vpsie.os_identifier": "osIdentifier",
    "vpsie.project_id": "projectId",
    "vpsie.hostname_prefix": "hostnamePrefix",
}
NOTES = {
    "kube.namespace": "NodeGroups in any other namespace are ignored",
    "vpsie.mode": "every NodeGroup's `spec.provider.mode` must be the same",
    "vpsie.cluster_identifier": "every vke NodeGroup's `spec.provider.clusterIdentifier` must"
    " be the same",
}
"""What a setting means for the NodeGroups, added to its description."""
STARTUP_RULES = "VPSieClientConfig._consistent"
"""The checks ``run`` makes on the ``vpsie`` group before it connects anywhere."""
CROSS_FIELD_RULES: dict[str, tuple[str, ...]] = {
    "KubeSettings._lease_timings": (
        "`lease_duration_s` must be greater than `renew_deadline_s`, and `renew_deadline_s`"
        " greater than 1.2 x `retry_period_s`.",
    ),
    "ScalingSettings._batch_windows": (
        "`batch_idle_s` must not exceed `batch_max_s`.",
        "`expanders` must name at least one expander, each at most once, from `priority`,"
        " `least-waste`, `price`, `most-pods` and `least-nodes`.",
    ),
    "LifecycleSettings._backoff": ("`backoff_base_s` must not exceed `backoff_max_s`.",),
    "WatchSettings._timeouts": ("`min_timeout_s` must not exceed `max_timeout_s`.",),
    STARTUP_RULES: (
        "`url` must be https unless `allow_http` is true.",
        "Either `token`, or `client_id` and `client_secret` together, must be given; not both.",
        "`vke` mode needs `cluster_identifier`.",
        "`vm` mode needs `account_password` (VPSie asks for it when a VM is deleted).",
    ),
}
_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}
_LIMITS = (
    ("gt", "> {}"),
    ("ge", ">= {}"),
    ("lt", "< {}"),
    ("le", "<= {}"),
    ("min_length", "at least {} characters"),
    ("max_length", "at most {} characters"),
    ("pattern", "matches `{}`"),
)


@dataclass(frozen=True, slots=True)
class SettingRow:
    """What the reference says about one setting."""

    group: str
    name: str
    env: str
    type: str
    default: str
    allowed: str
    description: str

    @property
    def path(self) -> str:
        """``group.name``, as in the config file and in error messages."""
        return f"{self.group}.{self.name}"


def groups() -> Iterator[tuple[str, type[BaseModel]]]:
    """The settings groups in declaration order, by their key."""
    for name, field in Settings.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield name, ann


def env_name(*parts: str) -> str:
    """The environment variable of a setting: prefix, then the parts joined by ``__``."""
    return (ENV_PREFIX + "__".join(parts)).upper()


def _number(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def type_text(annotation: Any) -> str:
    """A reader's name for a settings annotation (``number``, ``secret string``...)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return type_text(args[0])
    if typing.get_origin(annotation) is typing.Literal:
        return "string"
    if annotation is SecretStr:
        return "secret string"
    if annotation is pathlib.Path:
        return "file path"
    return _SCALARS[annotation]


def default_text(value: Any) -> str:
    """The default as a reader would write it; ``unset`` for none."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return code(str(value).lower())
    if isinstance(value, enum.Enum):
        return code(value.value)
    return code(_number(value))


def allowed_text(field: FieldInfo) -> str:
    """The field's constraints (bounds, length, pattern, choices), or ``any``."""
    parts = []
    if typing.get_origin(field.annotation) is typing.Literal:
        parts.append("one of " + ", ".join(code(v) for v in typing.get_args(field.annotation)))
    for item in field.metadata:
        for attr, template in _LIMITS:
            value = getattr(item, attr, None)
            if value is not None:
                short = attr == "min_length" and value == 1
                parts.append("not empty" if short else template.format(_number(value)))
    return "; ".join(parts) or "any"


def setting_rows(group: str, model: type[BaseModel]) -> list[SettingRow]:
    """One row per field of the settings group ``model`` (key ``group``)."""
    rows = []
    for name, field in model.model_fields.items():
        description = field.description or ""
        path = f"{group}.{name}"
        if path in NOTES:
            description += f"; {NOTES[path]}"
        if path in NOT_READ:
            description += ". **Not used yet**: accepted and validated, but not read by the daemon"
        if path in SHADOWED:
            description += (
                f". **No effect in practice**: every vm NodeGroup must set"
                f" `spec.provider.{SHADOWED[path]}`, which wins"
            )
        rows.append(
            SettingRow(
                group=group,
                name=name,
                env=env_name(group, name),
                type=type_text(field.annotation),
                default=default_text(field.default),
                allowed=allowed_text(field),
                description=description,
            )
        )
    return rows


def cross_field_rules(model: type[BaseModel]) -> tuple[str, ...]:
    """The sentences for the ``model_validator``s of ``model``."""
    found: list[str] = []
    for name in model.__pydantic_decorators__.model_validators:
        found += CROSS_FIELD_RULES[f"{model.__name__}.{name}"]
    return tuple(found)
