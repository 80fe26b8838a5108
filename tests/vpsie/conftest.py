"""Fixtures of the VPSie client tests: a scripted server and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from pydantic import SecretStr

from autoscaler.clock import LoopClock
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.auth import Authenticator, Send, StaticToken
from autoscaler.vpsie.http import ClientLimits, HttpClient
from tests.vpsie.scripted import ScriptedVPSie

TOKEN = "tok-Zx81-very-secret"
DEFAULT_LIMITS = ClientLimits()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedVPSie]:
    async with ScriptedVPSie() as api:
        yield api


def static_auth(send: Send) -> Authenticator:
    return StaticToken(SecretStr(TOKEN))


@asynccontextmanager
async def connect(
    server: ScriptedVPSie,
    *,
    limits: ClientLimits = DEFAULT_LIMITS,
    auth: Callable[[Send], Authenticator] = static_auth,
    jitter: float = 1.0,
    path: str = "/apps/v2",
) -> AsyncIterator[HttpClient]:
    """A client for ``server`` (the URL carries a path, which the client must drop)."""
    client = HttpClient(
        api_url=server.url + path,
        auth=auth,
        clock=LoopClock(),
        limits=limits,
        rand=lambda: jitter,
        allow_http=True,
    )
    async with client:
        yield client


@pytest.fixture
async def http(server: ScriptedVPSie) -> AsyncIterator[HttpClient]:
    async with connect(server) as client:
        yield client


@pytest.fixture
def api(http: HttpClient) -> VPSieApi:
    return VPSieApi(http, vm_prefix="/api/v2/vm")
