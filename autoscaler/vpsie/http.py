"""The VPSie HTTP client: one aiohttp session, auth, pacing, breaker, retries, typed errors.

Each call goes: whole-client pause -> token bucket -> in-flight slot (4) -> circuit breaker
-> one request under ``asyncio.timeout`` (and aiohttp's connect 5 s / total 30 s) -> body
read with a 10 MiB cap -> ``envelope.parse_response``. Failures go through the pure
``retry.decide``; a non-idempotent call (K4, V4, K7) that failed ambiguously raises
``UnknownOutcome`` and is never re-sent. Logs carry the method, path template, status,
duration, VPSie message and identifiers only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from yarl import URL

from autoscaler import __version__
from autoscaler.clock import Clock
from autoscaler.vpsie.auth import Authenticator, Send
from autoscaler.vpsie.breaker import BreakerState, CircuitBreaker
from autoscaler.vpsie.envelope import Envelope, header, parse_response
from autoscaler.vpsie.errors import (
    AuthError,
    CircuitOpen,
    ConnectError,
    RateLimited,
    TransportError,
    UnknownOutcome,
    VPSieError,
)
from autoscaler.vpsie.ratelimit import ClientPause, TokenBucket
from autoscaler.vpsie.request import ApiRequest
from autoscaler.vpsie.retry import RetryPolicy, decide
from autoscaler.vpsie.transport import Raw, Transport

log = logging.getLogger(__name__)
USER_AGENT = f"vpsie-autoscaler/{__version__}"

Observer = Callable[[str, str, float], None]
"""Told each request's endpoint (``"K4"``), outcome (``"200"``, or the error's type) and
duration in seconds (the daemon's ``vpsie_request_duration_seconds``)."""


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """Timeouts, pacing and breaker settings (defaults from vpsie-api.md §7)."""

    connect_timeout: float = 5.0
    total_timeout: float = 30.0
    max_in_flight: int = 4
    rate: float = 2.0
    burst: int = 10
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 5
    breaker_open_seconds: float = 30.0
    breaker_close_after: int = 2


def origin_of(api_url: str) -> URL:
    """Scheme and host (and port) only: older configs carry ``/apps/v2`` or ``/v2`` paths."""
    url = URL(api_url)
    if not url.is_absolute() or url.scheme not in ("http", "https"):
        raise ValueError("api_url must be an absolute http(s) URL")
    return url.origin()


class HttpClient:
    """Sends ``ApiRequest``s; use as ``async with HttpClient(...) as client``."""

    def __init__(
        self,
        *,
        api_url: str,
        auth: Callable[[Send], Authenticator],
        clock: Clock,
        limits: ClientLimits = ClientLimits(),
        rand: Callable[[], float] = random.random,
        allow_http: bool = False,
    ) -> None:
        self._origin = origin_of(api_url)
        if self._origin.scheme != "https" and not allow_http:
            raise ValueError("the VPSie API is reached over HTTPS only")
        self._clock = clock
        self._limits = limits
        self._rand = rand
        self._auth = auth(self._call_unauthenticated)
        self._transport = Transport(origin=self._origin, limits=limits, user_agent=USER_AGENT)
        self._pause = ClientPause(clock=clock)
        self._bucket = TokenBucket(clock=clock, rate=limits.rate, burst=limits.burst)
        self._slots = asyncio.Semaphore(limits.max_in_flight)
        self.breaker = CircuitBreaker(
            clock=clock,
            failure_threshold=limits.breaker_threshold,
            open_seconds=limits.breaker_open_seconds,
            close_after=limits.breaker_close_after,
        )
        self.observer: Observer | None = None

    async def __aenter__(self) -> Self:
        await self._transport.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections."""
        await self._transport.close()

    @property
    def available(self) -> bool:
        """False while the circuit breaker is open (scale-ups are skipped meanwhile)."""
        return self.breaker.state is not BreakerState.OPEN

    @property
    def paused_for(self) -> float:
        """Seconds left of a ``Retry-After`` pause of the whole client."""
        return self._pause.remaining

    async def call(self, request: ApiRequest) -> Envelope:
        """Send ``request`` (with retries if idempotent); return its envelope or raise."""
        attempt, refreshed = 0, False
        while True:
            used = await self._auth.headers() if request.authenticated else {}
            try:
                return await self._attempt(request, used)
            except AuthError:
                if request.authenticated and not refreshed and self._auth.invalidate(used):
                    refreshed = True
                    continue
                raise
            except VPSieError as err:
                decision = decide(
                    err, attempt, idempotent=request.idempotent,
                    policy=self._limits.retry, jitter=self._rand(),
                )  # fmt: skip
                if not decision.retry:
                    if not request.idempotent and err.ambiguous:
                        raise UnknownOutcome(
                            f"{request.endpoint} outcome unknown after {type(err).__name__}",
                            status=err.status,
                        ) from err
                    raise
                log.info("retrying VPSie call", extra=_fields(request, delay_s=decision.delay))
                await asyncio.sleep(decision.delay)
                attempt += 1

    async def _call_unauthenticated(self, request: ApiRequest) -> Envelope:
        return await self.call(request)

    async def _attempt(self, request: ApiRequest, auth: Mapping[str, str]) -> Envelope:
        await self._pause.wait_open()
        await self._bucket.acquire()
        async with self._slots:
            start = self._clock.monotonic()
            if not self.breaker.allow():
                self._observe(request, CircuitOpen.__name__, start)
                raise CircuitOpen(f"{request.endpoint}: VPSie API unavailable (circuit open)")
            raw: Raw | None = None
            try:
                raw = await self._send(request, auth)
                envelope = parse_response(
                    status=raw.status, body=raw.body, headers=raw.headers,
                    now=self._clock.now(), oversized=raw.oversized,
                )  # fmt: skip
            except VPSieError as err:
                self._record(err)
                self._observe(request, type(err).__name__, start)
                log.log(
                    logging.WARNING if err.breaker or err.configuration else logging.INFO,
                    "VPSie call failed",
                    extra=self._outcome(request, raw, start, err),
                )
                raise
            except BaseException:
                self.breaker.release()
                raise
            self.breaker.record_success()
            self._observe(request, str(raw.status), start)
            log.debug("VPSie call", extra=self._outcome(request, raw, start, None))
            return envelope

    def _observe(self, request: ApiRequest, outcome: str, start: float) -> None:
        if self.observer is not None:
            self.observer(request.endpoint, outcome, self._clock.monotonic() - start)

    def _outcome(
        self, request: ApiRequest, raw: Raw | None, start: float, err: VPSieError | None
    ) -> dict[str, Any]:
        """Log fields: method, path template, status, duration, VPSie message and ids only."""
        return _fields(
            request,
            status=err.status if err is not None else raw.status if raw else None,
            duration_ms=round((self._clock.monotonic() - start) * 1000),
            error=type(err).__name__ if err is not None else None,
            vpsie_message=err.message if err is not None else None,
            request_id=header(raw.headers, "X-Request-ID") if raw is not None else None,
        )

    async def _send(self, request: ApiRequest, auth: Mapping[str, str]) -> Raw:
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                return await self._transport.send(request, auth)
        except aiohttp.ConnectionTimeoutError:
            raise ConnectError(f"{request.endpoint}: connect timed out") from None
        except TimeoutError:
            raise TransportError(f"{request.endpoint}: timed out") from None
        except aiohttp.ClientConnectorError as err:
            raise ConnectError(
                f"{request.endpoint}: cannot connect ({type(err).__name__})"
            ) from None
        except (aiohttp.ClientError, OSError) as err:
            raise TransportError(f"{request.endpoint}: {type(err).__name__}") from None

    def _record(self, err: VPSieError) -> None:
        if err.breaker:
            self.breaker.record_failure()
        else:
            self.breaker.record_success()
        if isinstance(err, RateLimited) and err.retry_after is not None:
            self._pause.pause(err.retry_after)


def _fields(request: ApiRequest, **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": request.method,
        "path": request.template,
        "endpoint": request.endpoint,
    }
    if request.ids:
        out["ids"] = dict(request.ids)
    return out | {k: v for k, v in more.items() if v is not None}
