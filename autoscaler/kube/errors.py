"""Typed errors for the Kubernetes API, mapped once from HTTP status.

::

    KubeError                         (retryable: bool)
     ├── NotFound            404      terminal
     ├── Conflict            409      transient: re-read and retry
     ├── AlreadyExists       409      terminal (reason AlreadyExists)
     ├── Gone                410      transient: relist (resourceVersion expired)
     ├── ResourceVersionTooLarge      transient: relist with a consistent read
     ├── TooManyRequests     429      transient, carries retry_after (seconds)
     ├── Unauthorized        401      terminal
     ├── Forbidden           403      terminal
     ├── Invalid             400/422  terminal
     ├── ServerError         5xx      transient
     └── Timeout             504, client deadline, connection problems: transient

``from_status`` is the only place a status code becomes a type; ``from_api_exception``
and ``from_status_object`` adapt kubernetes_asyncio exceptions and watch ERROR events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


class KubeError(Exception):
    """An error answered by (or on the way to) the Kubernetes API server."""

    retryable = False

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    """The object does not exist (404)."""


class Conflict(KubeError):
    """A write lost a race: stale resourceVersion or UID precondition (409)."""

    retryable = True


class AlreadyExists(KubeError):
    """A create found an object with that name (409, reason AlreadyExists)."""


class Gone(KubeError):
    """The resourceVersion is too old for the server (410 Expired/Gone)."""

    retryable = True


class ResourceVersionTooLarge(KubeError):
    """The resourceVersion is newer than the server has seen; relist consistently."""

    retryable = True


class TooManyRequests(KubeError):
    """Throttled or refused by a PodDisruptionBudget (429); wait ``retry_after`` seconds."""

    retryable = True

    def __init__(
        self, message: str, *, status: int = 429, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.retry_after = retry_after


class Unauthorized(KubeError):
    """The credentials were not accepted (401)."""


class Forbidden(KubeError):
    """The caller may not do this (403)."""


class Invalid(KubeError):
    """The request or object was rejected as invalid (400, 422)."""


class ServerError(KubeError):
    """The server failed (5xx other than 504)."""

    retryable = True


class Timeout(KubeError):
    """The request did not complete in time, or the connection failed."""

    retryable = True


_BY_STATUS: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
    504: Timeout,
}


def _retry_after(headers: Mapping[str, str] | None, details: Mapping[str, Any]) -> float | None:
    raw = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if raw is None and "retryAfterSeconds" in details:
        raw = str(details["retryAfterSeconds"])
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def from_status(
    status: int,
    message: str = "",
    *,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> KubeError:
    """Return the typed error for an HTTP status and (optional) ``metav1.Status`` fields."""
    details = details or {}
    causes = details.get("causes") or []
    text = message or reason or f"HTTP {status}"
    if any(c.get("reason") == "ResourceVersionTooLarge" for c in causes if isinstance(c, dict)):
        return ResourceVersionTooLarge(text, status=status, reason="ResourceVersionTooLarge")
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(text, status=status, reason=reason)
    if status == 429:
        return TooManyRequests(
            text, status=status, reason=reason, retry_after=_retry_after(headers, details)
        )
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else KubeError
    return cls(text, status=status, reason=reason)


def from_status_object(
    obj: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> KubeError:
    """Map a ``metav1.Status`` body (also the object of a watch ERROR event)."""
    code = obj.get("code")
    status = code if isinstance(code, int) else 500
    return from_status(
        status,
        str(obj.get("message") or ""),
        reason=str(obj.get("reason") or ""),
        details=obj.get("details") if isinstance(obj.get("details"), dict) else None,
        headers=headers,
    )


def from_body(
    status: int, body: bytes | str | None, headers: Mapping[str, str] | None = None
) -> KubeError:
    """Map a status code and a (possibly non-JSON) response body."""
    if body:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and obj.get("kind") == "Status":
            obj = {**obj, "code": obj.get("code") or status}
            return from_status_object(obj, headers)
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        return from_status(status, text[:500], headers=headers)
    return from_status(status, headers=headers)


def from_api_exception(exc: Exception) -> KubeError:
    """Map a ``kubernetes_asyncio.client.ApiException`` (duck-typed: status, body, headers)."""
    status = getattr(exc, "status", None) or 0
    headers = getattr(exc, "headers", None)
    hdrs = {str(k): str(v) for k, v in dict(headers).items()} if headers else None
    err = from_body(int(status), getattr(exc, "body", None), hdrs) if status else Timeout(str(exc))
    err.__cause__ = exc
    return err
