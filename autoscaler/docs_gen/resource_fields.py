"""Field tables of the custom resources, read from the models the CRDs are generated from.

Each model class becomes one section (``spec.provider``, ``spec.template.taints[]``...) with a
row per field: its type, its default and every check the API server makes, taken from the
same schema the CRD carries (``autoscaler.core.resources.openapi``), so the page, the CRD and
``kubectl explain`` say the same thing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from autoscaler.core.resources.introspect import ModelField, Shape, model_fields
from autoscaler.core.resources.meta import class_rules
from autoscaler.core.resources.openapi import doc, field_schema
from autoscaler.core.resources.values import Quantity
from autoscaler.docs_gen.markdown import code, slug, table

NOT_WRITTEN = frozenset({"VPSieNode.status.vpsieId", "VPSieNode.status.attempts"})
"""Status fields the schema declares but the autoscaler does not write yet (a test checks)."""

_VALUE_TYPES: dict[object, str] = {
    dt.timedelta: "duration string (`90s`, `10m`, `1h30m`)",
    dt.time: "time of day `HH:MM`",
    dt.datetime: "RFC 3339 time",
    Decimal: "decimal string",
    Quantity: "quantity (`100m`, `512Mi` or an integer)",
}
_SCALAR_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
_BOUNDS = (
    ("minimum", ">= {}"),
    ("maximum", "<= {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("maxProperties", "at most {} entries"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    """One model class at one place in a resource: NodeGroup ``spec.provider``."""

    kind: str
    path: str
    cls: type

    @property
    def heading(self) -> str:
        """The heading text: the kind, then the path as code."""
        return f"{self.kind} {code(self.path)}"

    @property
    def anchor(self) -> str:
        """The heading's anchor."""
        return slug(self.heading)


def sections(root: type, *, skip: frozenset[type] = frozenset()) -> Iterator[Section]:
    """The model classes under ``root``, depth first, each once, at its first path.

    Classes in ``skip`` (documented with another resource) are neither repeated nor entered.
    """
    seen: set[type] = set(skip)
    kind = root.__name__

    def walk(cls: type, path: str) -> Iterator[Section]:
        seen.add(cls)
        yield Section(kind, path, cls)
        for f in model_fields(cls):
            inner = _object_of(f.shape)
            if inner is not None and inner not in seen:
                yield from walk(inner, f"{path}.{f.json}{'[]' if f.shape.kind == 'list' else ''}")

    for f in model_fields(root):
        inner = _object_of(f.shape)
        if inner is not None and inner not in seen:
            yield from walk(inner, f.json)


def _object_of(shape: Shape) -> type | None:
    if shape.kind == "object":
        return shape.py  # type: ignore[no-any-return]
    if shape.kind == "list" and shape.item is not None and shape.item.kind == "object":
        return shape.item.py  # type: ignore[no-any-return]
    return None


def type_text(shape: Shape, links: dict[type, str]) -> str:
    """A reader's name for a field's shape, linking object types to their section."""
    if shape.kind == "object":
        return f"object, see [{shape.py.__name__}](#{links[shape.py]})"
    if shape.kind == "list":
        assert shape.item is not None
        return f"list of {type_text(shape.item, links)}"
    if shape.kind == "map":
        return "map of string to string"
    if shape.kind == "enum":
        return "string"
    if shape.kind == "value":
        return _VALUE_TYPES[shape.py]
    return _SCALAR_TYPES[shape.py]


def default_text(field: ModelField, schema: dict[str, Any]) -> str:
    """``required``, the schema default as JSON, or ``unset``."""
    if field.required:
        return "required"
    if "default" not in schema:
        return "unset"
    value = schema["default"]
    return code(value if isinstance(value, str) else json.dumps(value))


def checks_text(schema: dict[str, Any], *, skip: frozenset[str] = frozenset()) -> str:
    """Every check of a schema: choices, bounds, list semantics and CEL rule messages.

    Rules whose message is in ``skip`` are left out (an object's own rules, shown with it).
    """
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(code(v) for v in schema["enum"]))
    parts += [
        "not empty" if k in ("minLength", "minItems") and schema[k] == 1 else t.format(schema[k])
        for k, t in _BOUNDS
        if k in schema
    ]
    if schema.get("x-kubernetes-list-type") == "set":
        parts.append("no duplicates")
    keys = schema.get("x-kubernetes-list-map-keys")
    if keys:
        parts.append("unique by " + " and ".join(code(k) for k in keys))
    for inner, label in (("items", "each item"), ("additionalProperties", "each value")):
        if isinstance(schema.get(inner), dict) and "properties" not in schema[inner]:
            text = checks_text(schema[inner])
            if text:
                parts.append(f"{label}: {text}")
    rules = schema.get("x-kubernetes-validations", [])
    parts += [rule["message"] for rule in rules if rule["message"] not in skip]
    return "; ".join(parts)


def field_rows(section: Section, *, links: dict[type, str]) -> list[tuple[str, ...]]:
    """One table row per field of the section's class."""
    rows: list[tuple[str, ...]] = []
    for f in model_fields(section.cls):
        schema = field_schema(f)
        inner = _object_of(f.shape)
        shown_there = frozenset(r.message for r in class_rules(inner)) if inner else frozenset()
        description = f.meta.description
        if f"{section.kind}.{section.path}.{f.json}" in NOT_WRITTEN:
            description += " **Not written yet**: the autoscaler does not set it."
        rows.append(
            (
                code(f.json),
                type_text(f.shape, links),
                default_text(f, schema),
                checks_text(schema, skip=shown_there) or "-",
                description,
            )
        )
    return rows


def section_text(section: Section, *, links: dict[type, str], level: int = 3) -> str:
    """A section: heading, the class's description, its field table and its own rules."""
    header = ("field", "type", "default", "checks", "description")
    described = doc(section.cls).replace("``", "`")  # docstrings are reST, the page Markdown
    text = f"{'#' * level} {section.heading}\n\n{described}\n\n"
    text += table(header, field_rows(section, links=links))
    rules = class_rules(section.cls)
    if rules:
        text += "\nChecked across fields:\n\n" + "".join(f"- {r.message}\n" for r in rules)
    return text


def reference(
    root: type, *, links: dict[type, str] | None = None, level: int = 3
) -> tuple[str, dict[type, str]]:
    """Every section of the resource ``root``, and the anchors of its classes.

    ``links`` holds classes documented already (with another resource): they are linked to,
    not repeated. The returned anchors include them, for the next resource.
    """
    known = dict(links or {})
    found = list(sections(root, skip=frozenset(known)))
    known |= {s.cls: s.anchor for s in found}
    text = "\n".join(section_text(s, links=known, level=level) for s in found)
    return text, known


def all_paths(root: type) -> Iterator[str]:
    """``spec.minNodes``, ``spec.provider.mode``...: the path of every field under ``root``."""
    for s in sections(root):
        for f in model_fields(s.cls):
            yield f"{s.path}.{f.json}"
