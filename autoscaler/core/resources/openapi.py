"""The OpenAPI v3 schema (structural, with CEL rules) of a model class, for its CRD.

Properties are sorted by name and every schema's keys come in one fixed order, so the
output is byte-for-byte stable.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, cast

from autoscaler.core.resources.introspect import SCALARS, ModelField, Shape, model_fields, to_json
from autoscaler.core.resources.meta import FrozenMap, Meta, Rule, class_rules
from autoscaler.core.resources.values import KINDS

Schema = dict[str, Any]

KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "maxProperties",
    "x-kubernetes-int-or-string",
    "anyOf",
    "items",
    "additionalProperties",
    "properties",
    "required",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-validations",
)


def _ordered(schema: Schema) -> Schema:
    extra = set(schema) - set(KEY_ORDER)
    if extra:
        raise ValueError(f"schema keys without a place in KEY_ORDER: {sorted(extra)}")
    return {key: schema[key] for key in KEY_ORDER if key in schema}


def rule_json(rule: Rule) -> Schema:
    """One ``x-kubernetes-validations`` entry."""
    entry: Schema = {"rule": rule.cel, "message": rule.message}
    if rule.field_path:
        entry["fieldPath"] = rule.field_path
    if rule.reason:
        entry["reason"] = rule.reason
    return entry


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def doc(cls: type) -> str:
    """The description of a model class: its docstring, cleaned."""
    return inspect.cleandoc(cls.__doc__ or "")


def object_schema(cls: type, description: str | None = None) -> Schema:
    """The schema of model ``cls``: sorted properties, required names and class rules."""
    fields = model_fields(cls)
    schema: Schema = {
        "description": description if description is not None else doc(cls),
        "type": "object",
        "properties": {f.json: field_schema(f) for f in sorted(fields, key=lambda f: f.json)},
    }
    required = sorted(f.json for f in fields if f.required)
    if required:
        schema["required"] = required
    rules = class_rules(cls)
    if rules:
        schema["x-kubernetes-validations"] = [rule_json(r) for r in rules]
    return _ordered(schema)


def _shape_schema(shape: Shape, meta: Meta) -> tuple[Schema, list[Rule]]:
    """The type part of a schema, plus any rule that comes with a value kind."""
    if shape.kind == "object":
        return object_schema(shape.py), []
    if shape.kind == "list":
        assert shape.item is not None
        if shape.item.kind == "object":
            return {"type": "array", "items": object_schema(shape.item.py)}, []
        item_meta = meta.items or Meta(description="")
        return {"type": "array", "items": leaf_schema(shape.item, item_meta)}, []
    if shape.kind == "map":
        values = leaf_schema(Shape("scalar", str), meta.items or Meta(description=""))
        return {"type": "object", "additionalProperties": values}, []
    if shape.kind == "enum":
        return {"type": "string", "enum": [m.value for m in shape.py]}, []
    if shape.kind == "value":
        kind = KINDS[shape.py]
        return dict(kind.schema), [kind.rule] if kind.rule else []
    schema: Schema = {"type": SCALARS[shape.py]}
    if shape.py is int:
        schema["format"] = "int64" if meta.int64 else "int32"
    return schema, []


def leaf_schema(shape: Shape, meta: Meta) -> Schema:
    """The full schema of a value with metadata ``meta``: type, bounds, description, rules."""
    schema, rules = _shape_schema(shape, meta)
    if meta.description:
        schema["description"] = meta.description
    bounds = {
        "minimum": meta.minimum,
        "maximum": meta.maximum,
        "minLength": meta.min_length,
        "maxLength": meta.max_length,
        "minItems": meta.min_items,
        "maxItems": meta.max_items,
        "maxProperties": meta.max_properties,
    }
    schema.update({k: _number(v) for k, v in bounds.items() if v is not None})
    if meta.list_type:
        schema["x-kubernetes-list-type"] = meta.list_type
    if meta.list_map_keys:
        schema["x-kubernetes-list-map-keys"] = list(meta.list_map_keys)
    rules = [*rules, *meta.rules]
    if rules:
        schema["x-kubernetes-validations"] = [
            *schema.get("x-kubernetes-validations", []),
            *(rule_json(r) for r in rules),
        ]
    return _ordered(schema)


def _default(field: ModelField) -> Any:
    value = field.default
    if value is None or value in ("", ()) or (isinstance(value, FrozenMap) and not value):
        return None
    if dataclasses.is_dataclass(value):
        if value != cast(Any, type(value))():
            raise ValueError(f"default of {field.attr} must be {type(value).__name__}()")
        return {}
    return to_json(value)


def field_schema(field: ModelField) -> Schema:
    """The schema of one model field, with its default."""
    schema = leaf_schema(field.shape, field.meta)
    if field.meta.immutable:
        immutable = Rule(cel="self == oldSelf", message=f"{field.json} is immutable")
        schema["x-kubernetes-validations"] = [
            *schema.get("x-kubernetes-validations", []),
            rule_json(immutable),
        ]
    default = None if field.required else _default(field)
    if default is not None:
        schema["default"] = default
        if not isinstance(default, dict | list):  # kubectl explain shows no defaults itself
            shown = str(default).lower() if isinstance(default, bool) else default
            schema["description"] = f"{schema['description']} Defaults to {shown}."
    return _ordered(schema)
