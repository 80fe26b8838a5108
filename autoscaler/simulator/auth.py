"""Authentication (§2, §8): static tokens, tokens exchanged through C1, and their expiry.

A request authenticates with ``Vpsie-Auth: <token>``; without that header,
``Authorization: Bearer <token>`` is used (when both are sent, ``Authorization`` is
ignored). Static tokens from the configuration never expire; exchanged tokens expire
``token_ttl`` simulated seconds after they were issued. Refresh tokens are issued (both
response shapes carry one) but never accepted, as no client uses them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from autoscaler.simulator.config import AuthConfig
from autoscaler.simulator.rng import draw_suffix

REFRESH_TTL = 30 * 24 * 3600.0


def token_from(headers: Mapping[str, str]) -> str | None:
    """The token a request carries, if any."""
    vpsie = headers.get("Vpsie-Auth")
    if vpsie is not None:
        return vpsie.strip() or None
    scheme, _, token = headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """The result of one C1 exchange."""

    access: str
    access_expires: float
    refresh: str
    refresh_expires: float


class TokenStore:
    """Which tokens are valid now."""

    def __init__(self, config: AuthConfig) -> None:
        self._config = config
        self._static = frozenset(config.tokens)
        self._issued: dict[str, float] = {}

    def valid(self, token: str | None, now: float) -> bool:
        """Whether ``token`` authenticates a request at simulated time ``now``."""
        if token is None:
            return False
        if token in self._static:
            return True
        expires = self._issued.get(token)
        return expires is not None and now < expires

    def credentials_ok(self, client_id: str, client_secret: str) -> bool:
        """Whether C1 accepts this client id and secret."""
        return any(
            c.client_id == client_id and c.client_secret == client_secret
            for c in self._config.clients
        )

    def issue(self, rng: random.Random, *, now: float, ttl: float) -> IssuedTokens:
        """Issue an access token valid for ``ttl`` seconds, and a refresh token."""
        access, refresh = f"sim-at-{draw_suffix(rng, 24)}", f"sim-rt-{draw_suffix(rng, 24)}"
        self._issued[access] = now + ttl
        return IssuedTokens(access, now + ttl, refresh, now + REFRESH_TTL)
