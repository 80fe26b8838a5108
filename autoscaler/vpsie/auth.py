"""Authentication (vpsie-api.md §2): a static token, or the optional client-credentials exchange.

A static token is sent as ``Vpsie-Auth: <token>`` (no ``Bearer``). In exchange mode C1
(``POST /apps/v2/auth/from/api``) is sent as a form first; on 400/415/422 it is sent once as
JSON and that encoding is remembered. Both response shapes are read; a missing or unreadable
``expires`` means one hour. The token is refreshed 5 minutes before it expires and once after
a 401; the refresh token is never used. The exchanged token goes out as ``Authorization:
Bearer`` and as ``Vpsie-Auth``. Tokens and secrets are ``SecretStr`` throughout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import SecretStr

from autoscaler.clock import Clock
from autoscaler.vpsie.envelope import Envelope
from autoscaler.vpsie.errors import ApiError, AuthError, Malformed
from autoscaler.vpsie.request import ApiRequest

EXCHANGE_PATH = "/apps/v2/auth/from/api"
DEFAULT_TTL = 3600.0
REFRESH_MARGIN = 300.0
_FALLBACK_STATUSES = frozenset({400, 415, 422})

Encoding = Literal["form", "json"]
Send = Callable[[ApiRequest], Awaitable[Envelope]]


class Authenticator(Protocol):
    """Supplies the authentication headers of each call."""

    async def headers(self) -> dict[str, str]:
        """Headers to add to an authenticated request."""

    def invalidate(self, used: Mapping[str, str]) -> bool:
        """A call sent with ``used`` got a 401; return whether a refreshed token may help."""


class StaticToken:
    """A user-managed API token, sent as ``Vpsie-Auth``. A 401 is final."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    async def headers(self) -> dict[str, str]:
        """``{"Vpsie-Auth": token}``."""
        return {"Vpsie-Auth": self._token.get_secret_value()}

    def invalidate(self, used: Mapping[str, str]) -> bool:
        """A static token cannot be refreshed."""
        return False


@dataclass(frozen=True, slots=True)
class Token:
    """An exchanged access token and how long it lives (seconds from when it was read)."""

    value: SecretStr
    ttl: float


def exchange_request(*, encoding: Encoding, client_id: SecretStr, secret: SecretStr) -> ApiRequest:
    """The C1 request in the given encoding."""
    body = {"clientId": client_id.get_secret_value(), "clientSecret": secret.get_secret_value()}
    return ApiRequest(
        method="POST", path=EXCHANGE_PATH, template=EXCHANGE_PATH, endpoint="C1",
        idempotent=True, authenticated=False,
        json=body if encoding == "json" else None, form=body if encoding == "form" else None,
    )  # fmt: skip


def parse_token(raw: Mapping[str, Any] | None, *, now: dt.datetime) -> Token:
    """Read either C1 shape: ``token.access`` (S) or ``accessToken`` (A), also under ``data``."""
    for obj in (raw, (raw or {}).get("data")):
        if not isinstance(obj, Mapping):
            continue
        token = obj.get("token")
        access = token.get("access") if isinstance(token, Mapping) else obj.get("accessToken")
        if isinstance(access, Mapping) and isinstance(access.get("token"), str) and access["token"]:
            return Token(SecretStr(access["token"]), _ttl(access.get("expires"), now=now))
    raise Malformed("token exchange answered without an access token")


def _ttl(expires: object, *, now: dt.datetime) -> float:
    if not isinstance(expires, str):
        return DEFAULT_TTL
    try:
        when = dt.datetime.fromisoformat(expires.strip().replace("Z", "+00:00"))
    except ValueError:
        return DEFAULT_TTL
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else DEFAULT_TTL


class ExchangedToken:
    """Client id and secret exchanged (C1) for a token, refreshed before it expires."""

    def __init__(
        self, *, client_id: SecretStr, client_secret: SecretStr, clock: Clock, send: Send
    ) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._send = send
        self._encoding: Encoding = "form"
        self._token: SecretStr | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def encoding(self) -> Encoding:
        """The C1 body encoding that worked last (``form`` until JSON was needed)."""
        return self._encoding

    async def headers(self) -> dict[str, str]:
        """``Authorization: Bearer`` and ``Vpsie-Auth`` with a fresh token."""
        async with self._lock:
            if self._token is None or self._clock.monotonic() >= self._refresh_at:
                await self._exchange()
            assert self._token is not None
            value = self._token.get_secret_value()
        return {"Authorization": f"Bearer {value}", "Vpsie-Auth": value}

    def invalidate(self, used: Mapping[str, str]) -> bool:
        """Drop the token that got a 401 (unless it was already replaced); always refreshable."""
        if self._token is not None and used.get("Vpsie-Auth") == self._token.get_secret_value():
            self._token = None
        return True

    async def _exchange(self) -> None:
        try:
            envelope = await self._post(self._encoding)
        except ApiError as err:
            if self._encoding != "form" or err.status not in _FALLBACK_STATUSES:
                raise AuthError(
                    f"token exchange refused: {err.message}", status=err.status
                ) from None
            try:
                envelope = await self._post("json")
            except ApiError as again:
                raise AuthError(
                    f"token exchange refused: {again.message}", status=again.status
                ) from None
            self._encoding = "json"
        token = parse_token(envelope.raw, now=self._clock.now())
        self._token = token.value
        self._refresh_at = self._clock.monotonic() + token.ttl - min(REFRESH_MARGIN, token.ttl / 2)

    async def _post(self, encoding: Encoding) -> Envelope:
        request = exchange_request(
            encoding=encoding, client_id=self._client_id, secret=self._secret
        )
        return await self._send(request)
