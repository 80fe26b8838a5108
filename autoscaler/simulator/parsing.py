"""Tolerant parsing of request bodies and fields (§3 quirks, §8 "Parsing").

Bodies are JSON (on POST and DELETE alike) or form-encoded; an empty body is ``{}``.
Flags accept ``"0"``/``"1"``, ints and booleans; ids accept ints and numeric strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from autoscaler.simulator.envelope import Reject, bad_request
from autoscaler.simulator.routing import BodyKind

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_TRUE = {"1", "true", "yes", "on"}


async def read_body(request: web.Request) -> tuple[dict[str, Any], BodyKind]:
    """The body as a mapping, and how it was encoded; a malformed body is a 400."""
    if request.content_type in _FORMS:
        form = await request.post()
        return {k: v for k, v in form.items() if isinstance(v, str)}, "form"
    raw = await request.read()
    if not raw.strip():
        return {}, "json" if request.content_type == "application/json" else "none"
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Reject(bad_request("Invalid JSON body")) from None
    if not isinstance(body, dict):
        raise Reject(bad_request("The body must be a JSON object"))
    return body, "json"


def flag(value: Any, *, strings_only: bool = False) -> bool:
    """A 0/1 flag; with ``strings_only`` (live VPSie), numbers and booleans count as 0."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    if strings_only:
        return False
    if isinstance(value, bool | int | float):
        return bool(value)
    return False


def as_int(value: Any) -> int | None:
    """An int from an int or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def required(body: Mapping[str, Any], name: str) -> Any:
    """A field that must be present and non-empty, else a 400 ``"<name> is required"``."""
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Reject(bad_request(f"{name} is required"))
    return value


def required_int(body: Mapping[str, Any], name: str) -> int:
    """A required numeric field (int or numeric string)."""
    value = as_int(required(body, name))
    if value is None:
        raise Reject(bad_request(f"{name} must be a number"))
    return value


def query_int(value: str | None) -> int | None:
    """A well-formed non-negative query integer, or None (malformed ones are ignored)."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
