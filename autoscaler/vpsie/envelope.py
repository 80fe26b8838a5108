"""Turn any VPSie response (status, headers, body bytes) into data or a typed error.

This is the one place where HTTP status and the ``{"error": ..., "data": ...}`` envelope of
vpsie-api.md §3 become values. ``error: true`` is checked on every status, 204 (or an empty
2xx body) is success without data, and a body that is not JSON becomes ``ServerError`` on a
5xx and ``Malformed`` on a 2xx. Bodies above ``MAX_BODY`` are never parsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from autoscaler.vpsie.errors import (
    ApiError,
    AuthError,
    Malformed,
    NotFound,
    RateLimited,
    ServerError,
    VPSieError,
    classify_message,
)
from autoscaler.vpsie.retry import parse_retry_after

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Envelope:
    """A successful answer: ``data``, ``total`` (lists) and the whole decoded object."""

    data: Any
    total: int | None = None
    raw: Mapping[str, Any] | None = None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that also works on plain dicts."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def parse_response(
    *,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    now: dt.datetime,
    oversized: bool = False,
) -> Envelope:
    """Return the envelope of a successful answer, or raise the typed ``VPSieError``."""
    if status == 429:
        retry_after = parse_retry_after(header(headers, "Retry-After"), now=now)
        raise RateLimited(_message_of(body) or "too many requests", retry_after=retry_after)
    if oversized:
        raise _without_json(status, "response body larger than 10 MiB")
    ok = 200 <= status < 300
    if status == 204 or (ok and not body.strip()):
        return Envelope(data=None)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _without_json(status, "response body is not JSON") from None
    if isinstance(decoded, dict):
        return _from_object(status, decoded)
    if ok:  # a bare value instead of an envelope: tolerate it as the data
        return Envelope(data=decoded)
    raise _without_json(status, "error response without an envelope")


def _from_object(status: int, obj: dict[str, Any]) -> Envelope:
    ok = 200 <= status < 300
    if _truthy(obj.get("error")) or not ok:
        message = _text(obj.get("message")) or _text(obj.get("error")) or f"HTTP {status}"
        code = _int_or_none(obj.get("code"))
        raise classify_message(message, status=status, code=status if code is None else code)
    return Envelope(data=obj.get("data"), total=_int_or_none(obj.get("total")), raw=obj)


def _without_json(status: int, message: str) -> VPSieError:
    if status >= 500:
        return ServerError(message, status=status)
    if status == 401:
        return AuthError(message, status=status)
    if status == 404:
        return NotFound(message, status=status)
    if 200 <= status < 300:
        return Malformed(message, status=status)
    return ApiError(message, status=status, code=status)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return value is True or (isinstance(value, int | float) and value == 1)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip()[:18])
    return None


def _message_of(body: bytes) -> str:
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return ""
    return _text(decoded.get("message")) if isinstance(decoded, dict) else ""
