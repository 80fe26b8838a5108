"""Redaction of the secrets listed in vpsie-api.md §7, for anything that may be logged.

Headers ``Vpsie-Auth`` and ``Authorization`` and the body fields below are replaced by
``REDACTED`` at any depth. Secret values themselves travel as ``pydantic.SecretStr``, whose
``repr`` and ``str`` never show the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REDACTED = "**********"

SENSITIVE_HEADERS = frozenset({"vpsie-auth", "authorization", "cookie", "set-cookie"})
SENSITIVE_FIELDS = frozenset(
    {
        "password",
        "vmpassword",
        "clientid",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "userdata",
        "scriptcontent",
        "initial_password",
    }
)
_MAX_DEPTH = 20


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with the authentication headers hidden."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


def redact_body(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON-like body with every sensitive field hidden, at any depth."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in SENSITIVE_FIELDS else redact_body(v, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_body(v, _depth + 1) for v in value]
    return value
