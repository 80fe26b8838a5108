"""Typed errors of the VPSie API, classified once for retry, breaker and create outcome.

::

    VPSieError                      retryable  breaker  ambiguous  (for a create)
     ├── NotFound            404 or "not found"       terminal; on delete it means success
     ├── QuotaExceeded       quota/limit messages     terminal; the group backs off
     ├── AuthError           401 / "Please authenticate"  terminal (exchange mode refreshes once)
     ├── BadAccountPassword  V5 "wrong password"      terminal configuration error; VM still runs
     ├── RateLimited         429 (retry_after)        retryable; pauses the whole client
     ├── ServerError         5xx, non-JSON error page retryable, breaker, ambiguous
     ├── TransportError      reset, timeout           retryable, breaker, ambiguous
     │    └── ConnectError   never connected          retryable, breaker, NOT ambiguous
     ├── Malformed           2xx body we cannot read  terminal, ambiguous
     ├── UnknownOutcome      a create (K4/V4/K7) may or may not have happened; never re-sent
     ├── CircuitOpen         the breaker refused the call (nothing was sent)
     ├── NotDeletable        a worker without identifier; never deleted (vpsie-api.md §1)
     └── ApiError            any other business error (code, message)

``retryable`` says whether an idempotent call may be retried (``retry.decide``), ``breaker``
whether the circuit breaker counts the error, ``ambiguous`` whether a non-idempotent call that
failed this way may still have been carried out (§5.3). Messages hold the VPSie ``message``,
the endpoint and identifiers, never a secret or a request body.
"""

from __future__ import annotations

_MAX_MESSAGE = 300


class VPSieError(Exception):
    """Base of every error raised by the VPSie client."""

    retryable = False
    breaker = False
    ambiguous = False
    configuration = False

    def __init__(self, message: str = "", *, status: int | None = None, code: int | None = None):
        self.message = message[:_MAX_MESSAGE]
        self.status = status
        self.code = code
        super().__init__(self.message or type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status})"


class NotFound(VPSieError):
    """The object does not exist (404, or a message containing "not found")."""


class QuotaExceeded(VPSieError):
    """VPSie refused a create because a quota or plan limit was reached."""


class AuthError(VPSieError):
    """The credentials were refused (401); fatal with a static token."""

    configuration = True


class BadAccountPassword(VPSieError):
    """V5 refused the account password ("You entered the wrong password"); the VM keeps running."""

    configuration = True


class RateLimited(VPSieError):
    """429 Too Many Requests; ``retry_after`` (seconds, capped) when the server said so."""

    retryable = True

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = 429,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ServerError(VPSieError):
    """A 5xx answer, or an error page that is not JSON."""

    retryable = True
    breaker = True
    ambiguous = True


class TransportError(VPSieError):
    """The request failed on the way: reset, timeout, protocol error."""

    retryable = True
    breaker = True
    ambiguous = True


class ConnectError(TransportError):
    """The connection was never established, so the request was never sent."""

    ambiguous = False


class Malformed(VPSieError):
    """A successful status whose body we cannot read (not JSON, wrong shape, too large)."""

    ambiguous = True


class UnknownOutcome(VPSieError):
    """A create call failed in a way that does not say whether VPSie carried it out.

    It is never re-sent (§5.3). ``verified_absent`` is true when the provider then watched
    the listings for the verification window and saw nothing appear.
    """

    def __init__(
        self, message: str = "", *, status: int | None = None, verified_absent: bool = False
    ) -> None:
        super().__init__(message, status=status)
        self.verified_absent = verified_absent


class CircuitOpen(VPSieError):
    """The circuit breaker is open: the provider is unavailable and nothing was sent."""


class NotDeletable(VPSieError):
    """The worker has no identifier (or it is ambiguous), so it is never deleted."""


class ApiError(VPSieError):
    """Any other error answered by VPSie: ``code`` and ``message`` as sent."""


_QUOTA_PATTERNS = (
    "exceeds the allowed limit",
    "quota exceeded",
    "plan does not allow",
    "maximum number of",
    "limit reached",
    "subscription does not allow",
)


def classify_message(message: str, *, status: int | None, code: int | None) -> VPSieError:
    """Return the typed error for a business error (``error: true``) by its message."""
    text = message.lower()
    if status == 401 or "please authenticate" in text:
        return AuthError(message, status=status, code=code)
    if status is not None and status >= 500:
        return ServerError(message, status=status, code=code)
    if "wrong password" in text:
        return BadAccountPassword(message, status=status, code=code)
    if any(p in text for p in _QUOTA_PATTERNS):
        return QuotaExceeded(message, status=status, code=code)
    if status == 404 or "not found" in text:
        return NotFound(message, status=status, code=code)
    return ApiError(message, status=status, code=code)
