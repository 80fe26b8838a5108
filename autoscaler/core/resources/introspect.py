"""Reading the model classes: each field's JSON name, shape and metadata, and JSON output.

The parser and the schema generator both walk models through :func:`model_fields`, so a
field means the same thing to both.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any

from autoscaler.core.resources.meta import FrozenMap, Meta, json_name, meta_of
from autoscaler.core.resources.values import KINDS

SCALARS: dict[object, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """The JSON shape of a Python type: ``kind`` is object, list, map, enum, value or scalar."""

    kind: str
    py: Any
    item: Shape | None = None
    optional: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ModelField:
    """One field of a model class, as both the parser and the generator see it."""

    attr: str
    json: str
    shape: Shape
    meta: Meta
    default: Any
    required: bool


def shape_of(tp: Any) -> Shape:
    """Classify a type annotation (``X | None``, ``tuple[X, ...]``, enums, models, ...)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) != 1:
            raise TypeError(f"unsupported union {tp!r}")
        return dataclasses.replace(shape_of(present[0]), optional=True)
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"only tuple[X, ...] is supported, not {tp!r}")
        return Shape("list", tp, item=shape_of(args[0]))
    if tp is FrozenMap:
        return Shape("map", tp, item=Shape("scalar", str))
    if dataclasses.is_dataclass(tp):
        return Shape("object", tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return Shape("enum", tp)
    if tp in KINDS:
        return Shape("value", tp)
    if tp in SCALARS:
        return Shape("scalar", tp)
    raise TypeError(f"unsupported field type {tp!r}")


@functools.cache
def model_fields(cls: type) -> tuple[ModelField, ...]:
    """The fields of model ``cls`` in declaration order (``metadata`` excluded)."""
    hints = typing.get_type_hints(cls)
    found = []
    for field in dataclasses.fields(cls):
        if field.name == "metadata":
            continue
        has_default = field.default is not dataclasses.MISSING
        found.append(
            ModelField(
                attr=field.name,
                json=json_name(field),
                shape=shape_of(hints[field.name]),
                meta=meta_of(field),
                default=field.default if has_default else None,
                required=not has_default,
            )
        )
    return tuple(found)


def to_json(value: Any) -> Any:
    """The JSON form of a model value; ``None`` fields are left out of objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.json: to_json(getattr(value, f.attr))
            for f in model_fields(type(value))
            if getattr(value, f.attr) is not None
        }
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, FrozenMap):
        return dict(value)
    if isinstance(value, enum.Enum):
        return value.value
    kind = KINDS.get(type(value))
    if kind is not None:
        return kind.dump(value)
    return value
