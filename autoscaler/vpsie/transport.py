"""The aiohttp session: one connection pool per process, and the bytes of one exchange.

``Transport.send`` turns an ``ApiRequest`` into one HTTP request (JSON bodies on POST and
DELETE, form bodies where asked, ``Accept: application/json``, our User-Agent, redirects not
followed) and returns the status, headers and body, read with a 10 MiB cap. It raises
aiohttp's own exceptions; ``http.HttpClient`` maps them to the typed tree.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
import orjson
from multidict import CIMultiDict
from yarl import URL

from autoscaler.vpsie.envelope import MAX_BODY
from autoscaler.vpsie.request import ApiRequest

if TYPE_CHECKING:
    from autoscaler.vpsie.http import ClientLimits

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Raw:
    """One HTTP answer as bytes; ``oversized`` when the body passed the cap (and was dropped)."""

    status: int
    body: bytes = field(repr=False)
    headers: Mapping[str, str]
    oversized: bool = False


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Transport:
    """Owns the ``aiohttp.ClientSession``; ``open()`` inside the loop, ``close()`` at the end."""

    def __init__(self, *, origin: URL, limits: ClientLimits, user_agent: str) -> None:
        self._origin = origin
        self._limits = limits
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the session (TLS 1.2 or later for https; the CA bundle is read off the loop)."""
        if self._session is not None:
            return
        tls: ssl.SSLContext | bool = False
        if self._origin.scheme == "https":
            tls = await asyncio.to_thread(_tls_context)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limits.max_in_flight, ssl=tls),
            timeout=aiohttp.ClientTimeout(
                total=self._limits.total_timeout, connect=self._limits.connect_timeout
            ),
            headers={"Accept": "application/json", "User-Agent": self._user_agent},
            trust_env=False,
        )
        # aiohttp silently re-sends an idempotent request once when the server drops the
        # connection; every retry must go through the retry policy and the breaker instead
        # (contract section 7). aiohttp has no public switch; its own TestClient sets this.
        self._session._retry_connection = False

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def send(self, request: ApiRequest, auth: Mapping[str, str]) -> Raw:
        """Send one request; return its status, headers and (capped) body."""
        if self._session is None:
            raise RuntimeError("Transport.open() was not awaited (use 'async with' on the client)")
        headers = CIMultiDict(auth)
        data: bytes | dict[str, str] | None = None
        if request.json is not None:
            data = orjson.dumps(request.json)
            headers["Content-Type"] = "application/json"
        elif request.form is not None:
            data = dict(request.form)
        url = self._origin.with_path(request.path, encoded=True)
        async with self._session.request(
            request.method, url, params=dict(request.query) or None, data=data,
            headers=headers, allow_redirects=False,
        ) as response:  # fmt: skip
            body, oversized = await _read_capped(response)
            return Raw(response.status, body, dict(response.headers), oversized)


async def _read_capped(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    length = response.content_length
    if length is not None and length > MAX_BODY:
        return b"", True
    buffer = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        buffer += chunk
        if len(buffer) > MAX_BODY:
            return b"", True
    return bytes(buffer), False
