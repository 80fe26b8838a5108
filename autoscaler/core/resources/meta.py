"""The vocabulary the resource models are written in: field metadata, CEL rules, kinds.

A model field is declared with :func:`prop`, which stores a :class:`Meta` (description,
default, bounds, rules) in the dataclass field's metadata. A class lists its cross-field
rules in ``RULES``. Each :class:`Rule` holds the CEL text the API server runs *and* the
Python predicate the parser runs, next to one human message, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

META_KEY = "autoscaler.vpsie.com/meta"
_MISSING: Any = dataclasses.MISSING


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One validation rule: CEL for the API server, ``check`` for the parser, one message.

    ``check`` receives the parsed value (or object) that ``self`` denotes in ``cel``; it is
    ``None`` for transition rules (``oldSelf``), which only the API server can evaluate.
    ``field_path`` and ``reason`` become the rule's ``fieldPath`` and ``reason``.
    """

    cel: str
    message: str
    check: Callable[[Any], bool] | None = None
    field_path: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Meta:
    """Schema metadata of one field (or of the items of a list or the values of a map)."""

    description: str
    name: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    max_properties: int | None = None
    int64: bool = False
    rules: tuple[Rule, ...] = ()
    items: Meta | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    immutable: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry of ``kubectl get``."""

    name: str
    json_path: str
    type: str
    description: str
    priority: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class KindInfo:
    """The names and table columns of one top-level resource kind."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    columns: tuple[PrinterColumn, ...]
    selectable_fields: tuple[str, ...] = ()

    @property
    def singular(self) -> str:
        """The lowercase singular name (``nodegroup``)."""
        return self.kind.lower()


def prop(description: str, *, default: Any = _MISSING, **meta: Any) -> Any:
    """Declare a model field with its description, optional default and schema metadata."""
    metadata = {META_KEY: Meta(description=description, **meta)}
    if default is _MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def meta_of(field: dataclasses.Field[Any]) -> Meta:
    """The :class:`Meta` of a model field; every model field must have one."""
    meta = field.metadata.get(META_KEY)
    if not isinstance(meta, Meta):
        raise TypeError(f"field {field.name!r} was not declared with prop()")
    return meta


def json_name(field: dataclasses.Field[Any]) -> str:
    """The field's JSON name: ``Meta.name``, else the attribute name in lowerCamelCase."""
    explicit = meta_of(field).name
    if explicit:
        return explicit
    head, *rest = field.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def class_rules(cls: type) -> tuple[Rule, ...]:
    """The cross-field rules a model class declares in ``RULES`` (none by default)."""
    rules = getattr(cls, "RULES", ())
    return tuple(rules)


class FrozenMap(Mapping[str, str]):
    """An immutable, hashable ``str -> str`` mapping (labels), iterated in sorted key order."""

    __slots__ = ("_data",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._data = dict(sorted((items or {}).items()))

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"
