"""Strict parsing of resource JSON into the frozen models: the controller's second line of defence.

The same checks as the CRD schema, in the same words: types, bounds, enums, lengths, list
and map limits, unknown fields, then each field's and each class's :class:`Rule`. Missing
fields take the model's defaults, as the API server's defaulting would have set them. Every
problem is collected; one :class:`InvalidResource` names them all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from autoscaler.core.resources.common import API_VERSION, ObjectMeta
from autoscaler.core.resources.introspect import ModelField, model_fields
from autoscaler.core.resources.meta import Rule, class_rules
from autoscaler.core.resources.scalars import BAD, Errors, parse_leaf
from autoscaler.core.resources.values import parse_timestamp

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    """One violation: the JSON path of the field and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidResource(ValueError):
    """A resource failed validation; ``errors`` lists every violation found."""

    def __init__(self, what: str, errors: Sequence[FieldError]) -> None:
        self.what = what
        self.errors = tuple(errors)
        super().__init__(f"{what} is invalid: " + "; ".join(str(e) for e in self.errors))


def _run_rules(rules: Sequence[Rule], value: Any, path: str, errs: Errors) -> None:
    for rule in rules:
        if rule.check is not None and not rule.check(value):
            errs.add(path + (rule.field_path or ""), rule.message)


def _field(field: ModelField, raw: Any, path: str, errs: Errors) -> Any:
    if field.shape.kind == "object":
        value = parse_object(field.shape.py, raw, path, errs)
    elif field.shape.kind == "list" and field.shape.item and field.shape.item.kind == "object":
        value = _object_list(field, raw, path, errs)
    else:
        value = parse_leaf(field.shape, field.meta, raw, path, errs)
    if value is not BAD:
        _run_rules(field.meta.rules, value, path, errs)
    return value


def _object_list(field: ModelField, raw: Any, path: str, errs: Errors) -> Any:
    checked = parse_leaf(field.shape, field.meta, raw, path, errs, items=False)
    if checked is BAD:
        return BAD
    assert field.shape.item is not None
    cls = field.shape.item.py
    items = tuple(parse_object(cls, r, f"{path}[{i}]", errs) for i, r in enumerate(checked))
    if any(i is BAD for i in items):
        return BAD
    if field.meta.list_type == "map":
        seen: set[tuple[Any, ...]] = set()
        attrs = [f.attr for f in model_fields(cls) if f.json in field.meta.list_map_keys]
        for i, item in enumerate(items):
            key = tuple(getattr(item, a) for a in attrs)
            if key in seen:
                errs.add(f"{path}[{i}]", f"Duplicate value: {dict(zip(attrs, key, strict=True))}")
            seen.add(key)
    return items


def _fields(
    cls: type, raw: Mapping[str, Any], path: str, errs: Errors, *, ignore: Sequence[str] = ()
) -> dict[str, Any] | Any:
    fields = model_fields(cls)
    known = {f.json for f in fields}
    unknown = [key for key in raw if key not in known and key not in ignore]
    for key in unknown:
        errs.add(_join(path, str(key)), f'unknown field "{key}"')
    values: dict[str, Any] = {}
    for field in fields:
        sub = _join(path, field.json)
        if raw.get(field.json) is None:  # absent, or null (pruned by the API server)
            if field.required:
                errs.add(sub, "Required value")
            values[field.attr] = BAD if field.required else field.default
            continue
        values[field.attr] = _field(field, raw[field.json], sub, errs)
    if unknown or any(v is BAD for v in values.values()):
        return BAD
    return values


def parse_object(cls: type[T], raw: Any, path: str, errs: Errors) -> T | Any:
    """Parse one model object at ``path``; record problems in ``errs`` and return ``BAD``."""
    if not isinstance(raw, Mapping):
        errs.add(path, "must be of type object")
        return BAD
    values = _fields(cls, raw, path, errs)
    if values is BAD:
        return BAD
    obj = cls(**values)
    _run_rules(class_rules(cls), obj, path, errs)
    return obj


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _metadata(raw: Any, errs: Errors) -> ObjectMeta | Any:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
        errs.add("metadata.name", "Required value")
        return BAD

    def stamp(key: str) -> dt.datetime | None:
        text = raw.get(key)
        try:
            return parse_timestamp(text) if isinstance(text, str) else None
        except ValueError:
            errs.add(f"metadata.{key}", "must be an RFC 3339 date-time")
            return None

    generation = raw.get("generation")
    return ObjectMeta(
        name=raw["name"],
        namespace=str(raw.get("namespace") or ""),
        uid=str(raw.get("uid") or ""),
        generation=generation if isinstance(generation, int) else 0,
        resource_version=str(raw.get("resourceVersion") or ""),
        creation_timestamp=stamp("creationTimestamp"),
        deletion_timestamp=stamp("deletionTimestamp"),
    )


def parse_resource(cls: type[T], obj: Mapping[str, Any]) -> T:
    """Parse a whole object (apiVersion, kind, metadata, spec, status) of model ``cls``."""
    kind = cls.KIND.kind  # type: ignore[attr-defined]
    errs = Errors()
    if not isinstance(obj, Mapping):
        raise InvalidResource(kind, [FieldError("", "must be a JSON object")])
    if obj.get("apiVersion") != API_VERSION:
        errs.add("apiVersion", f'must be "{API_VERSION}", not {obj.get("apiVersion")!r}')
    if obj.get("kind") != kind:
        errs.add("kind", f'must be "{kind}", not {obj.get("kind")!r}')
    metadata = _metadata(obj.get("metadata"), errs)
    values = _fields(cls, obj, "", errs, ignore=("apiVersion", "kind", "metadata"))
    key = "" if metadata is BAD else "/".join(filter(None, (metadata.namespace, metadata.name)))
    what = f"{kind} {key}".strip()
    if not errs.found:
        result: T = cast(Any, cls)(metadata=metadata, **values)
        _run_rules(class_rules(cls), result, "", errs)
    if errs.found:
        raise InvalidResource(what, [FieldError(p, m) for p, m in errs.found])
    return result
