"""Replies in the §3 envelope, and the exception handlers raise to answer early.

Success: ``{"error": false, "data": ..., "total": n}`` (``total`` on lists only).
Error: ``{"error": true, "code": n, "message": "...", "stack": ""}``; the 401 and 429
bodies are exactly those §2 and §8 give. Bodies are serialised with orjson, so the same
value always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = "application/json"
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    def payload(self) -> Any:
        """The body as JSON (None if it is not JSON)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


class Reject(Exception):
    """Raised by a handler to answer with ``reply`` instead."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def json_reply(
    payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Reply:
    """A JSON reply."""
    return Reply(status, orjson.dumps(payload), JSON, dict(headers or {}))


def ok(data: Any, *, total: int | None = None) -> Reply:
    """Success; pass ``total`` for lists."""
    body: dict[str, Any] = {"error": False, "data": data}
    if total is not None:
        body["total"] = total
    return json_reply(body)


def error(status: int, message: str, *, code: int | None = None) -> Reply:
    """An error in the §3 shape."""
    body = {"error": True, "code": code or status, "message": message, "stack": ""}
    return json_reply(body, status=status)


def bad_request(message: str) -> Reply:
    """400, for a missing or malformed field."""
    return error(400, message)


def not_found(thing: str) -> Reply:
    """404 ``"<Thing> not found"``."""
    return error(404, f"{thing} not found")


def business(message: str, *, status: int) -> Reply:
    """A business error: ``error: true`` with HTTP 200 (or 400, per knob)."""
    return error(status, message, code=400)


def unauthorized() -> Reply:
    """401 ``Please authenticate``."""
    return json_reply({"error": True, "message": "Please authenticate"}, status=401)


def too_many_requests(retry_after: str | None) -> Reply:
    """429 with an optional ``Retry-After``."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": True, "code": 429, "message": "Too many requests"}
    return json_reply(body, status=429, headers=headers)


def retry_after_value(style: str, seconds: int, wall: dt.datetime) -> str | None:
    """``Retry-After`` as delta-seconds, as an HTTP date (``wall`` + seconds), or absent."""
    if style == "absent":
        return None
    if style == "http-date":
        return email.utils.format_datetime(wall + dt.timedelta(seconds=seconds), usegmt=True)
    return str(seconds)


def server_error(code: int, *, html: bool) -> Reply:
    """A 5xx; a 502 can be nginx's HTML page."""
    if code == 502 and html:
        return Reply(502, HTML_502, "text/html")
    return error(code, _REASONS.get(code, "Server Error"))


def error200(message: str) -> Reply:
    """HTTP 200 with ``{"error": true, "message": ...}``."""
    return json_reply({"error": True, "message": message})
