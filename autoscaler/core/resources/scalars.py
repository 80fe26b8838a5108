"""Checks on non-object values (scalars, enums, kinds, lists, maps), as the API server does.

Messages follow the API server's wording, so a problem reads the same whether the CRD
schema or the controller's parser caught it.
"""

from __future__ import annotations

import enum
from typing import Any

from autoscaler.core.resources.introspect import SCALARS, Shape
from autoscaler.core.resources.meta import FrozenMap, Meta
from autoscaler.core.resources.values import KINDS

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_NO_META = Meta(description="")


class _Bad(enum.Enum):
    BAD = "BAD"


BAD = _Bad.BAD
"""Marks a value that failed validation (its errors are already recorded)."""


class Errors:
    """Collects ``(path, message)`` pairs while a resource is parsed."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.found.append((path, message))


def _is_type(raw: Any, py: object) -> bool:
    if py is float:
        return isinstance(raw, int | float) and not isinstance(raw, bool)
    if py is int:
        return isinstance(raw, int) and not isinstance(raw, bool)
    return isinstance(raw, py)  # type: ignore[arg-type]


def _scalar(py: Any, meta: Meta, raw: Any, path: str, errs: Errors) -> Any:
    if not _is_type(raw, py):
        errs.add(path, f"must be of type {SCALARS[py]}")
        return BAD
    bad = len(errs.found)
    if py is int:
        low, high = INT64 if meta.int64 else INT32
        if not low <= raw <= high:
            errs.add(path, f"must be between {low} and {high}")
    if py in (int, float):
        if meta.minimum is not None and raw < meta.minimum:
            errs.add(path, f"should be greater than or equal to {meta.minimum:g}")
        if meta.maximum is not None and raw > meta.maximum:
            errs.add(path, f"should be less than or equal to {meta.maximum:g}")
        raw = float(raw) if py is float else raw
    if py is str:
        _length(meta, raw, path, errs)
    return raw if len(errs.found) == bad else BAD


def _length(meta: Meta, raw: str, path: str, errs: Errors) -> None:
    if meta.max_length is not None and len(raw) > meta.max_length:
        errs.add(path, f"Too long: may not be more than {meta.max_length} bytes")
    if meta.min_length is not None and len(raw) < meta.min_length:
        errs.add(path, f"should be at least {meta.min_length} chars long")


def _enum(py: type[enum.Enum], raw: Any, path: str, errs: Errors) -> Any:
    values = [m.value for m in py]
    if isinstance(raw, str) and raw in values:
        return py(raw)
    allowed = ", ".join(f'"{v}"' for v in values)
    shown = f'"{raw}"' if isinstance(raw, str) else repr(raw)
    errs.add(path, f"Unsupported value: {shown}: supported values: {allowed}")
    return BAD


def _value(py: Any, meta: Meta, raw: Any, path: str, errs: Errors) -> Any:
    kind = KINDS[py]
    if isinstance(raw, str):
        bad = len(errs.found)
        _length(meta, raw, path, errs)
        if len(errs.found) != bad:
            return BAD
    try:
        return kind.parse(raw)
    except ValueError:
        errs.add(path, kind.message)
        return BAD


def _list(shape: Shape, meta: Meta, raw: Any, path: str, errs: Errors, *, items: bool) -> Any:
    if not isinstance(raw, list):
        errs.add(path, "must be of type array")
        return BAD
    if meta.max_items is not None and len(raw) > meta.max_items:
        errs.add(path, f"Too many: {len(raw)}: must have at most {meta.max_items} items")
        return BAD
    if meta.min_items is not None and len(raw) < meta.min_items:
        errs.add(path, f"should have at least {meta.min_items} items")
        return BAD
    if not items:
        return raw
    assert shape.item is not None
    item_meta = meta.items or _NO_META
    parsed = [parse_leaf(shape.item, item_meta, r, f"{path}[{i}]", errs) for i, r in enumerate(raw)]
    if any(p is BAD for p in parsed):
        return BAD
    for i, value in enumerate(parsed):
        for rule in item_meta.rules:
            if rule.check is not None and not rule.check(value):
                errs.add(f"{path}[{i}]", rule.message)
    if meta.list_type == "set" and len(set(parsed)) != len(parsed):
        errs.add(path, "Duplicate value: the list is a set")
        return BAD
    return tuple(parsed)


def _map(meta: Meta, raw: Any, path: str, errs: Errors) -> Any:
    if not isinstance(raw, dict):
        errs.add(path, "must be of type object")
        return BAD
    if meta.max_properties is not None and len(raw) > meta.max_properties:
        errs.add(path, f"Too many: {len(raw)}: must have at most {meta.max_properties} items")
        return BAD
    item_meta = meta.items or _NO_META
    parsed = {k: _scalar(str, item_meta, v, f"{path}.{k}", errs) for k, v in raw.items()}
    if any(v is BAD for v in parsed.values()):
        return BAD
    return FrozenMap(parsed)


def parse_leaf(
    shape: Shape, meta: Meta, raw: Any, path: str, errs: Errors, *, items: bool = True
) -> Any:
    """Check and convert a non-object value; ``BAD`` (with errors recorded) if it is invalid.

    With ``items=False`` a list is only checked as a container (lists of objects are
    parsed item by item by the caller).
    """
    if shape.kind == "list":
        return _list(shape, meta, raw, path, errs, items=items)
    if shape.kind == "map":
        return _map(meta, raw, path, errs)
    if shape.kind == "enum":
        return _enum(shape.py, raw, path, errs)
    if shape.kind == "value":
        return _value(shape.py, meta, raw, path, errs)
    return _scalar(shape.py, meta, raw, path, errs)
