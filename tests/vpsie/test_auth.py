"""Client-credentials exchange (C1): encodings, response shapes, expiry and refresh."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from autoscaler.clock import LoopClock
from autoscaler.vpsie import endpoints as ep
from autoscaler.vpsie import errors
from autoscaler.vpsie.auth import Authenticator, ExchangedToken, Send, parse_token
from autoscaler.vpsie.http import HttpClient
from tests.vpsie.conftest import connect
from tests.vpsie.scripted import Reply, ScriptedVPSie, fail, ok

pytestmark = pytest.mark.looptime

C1 = "/apps/v2/auth/from/api"
K1 = "/apps/v2/k8s/cluster/all"
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SECRET = "client-secret-Q9"


def s_shape(token: str, expires: str | None = None) -> Reply:
    access: dict[str, Any] = {"token": token}
    if expires is not None:
        access["expires"] = expires
    return Reply(json={"error": False, "token": {"access": access, "refresh": {"token": "r"}}})


def a_shape(token: str, expires: str | None = None) -> Reply:
    access: dict[str, Any] = {"token": token}
    if expires is not None:
        access["expires"] = expires
    return Reply(json={"accessToken": access, "refreshToken": {"token": "r"}})


class Holder:
    """Keeps the authenticator the client built, so tests can look at it."""

    auth: ExchangedToken

    def __call__(self, send: Send) -> Authenticator:
        self.auth = ExchangedToken(
            client_id=SecretStr("cid"),
            client_secret=SecretStr(SECRET),
            clock=LoopClock(),
            send=send,
        )
        return self.auth


@asynccontextmanager
async def exchanging(server: ScriptedVPSie) -> AsyncIterator[tuple[HttpClient, Holder]]:
    holder = Holder()
    async with connect(server, auth=holder) as client:
        yield client, holder


@pytest.mark.parametrize("shape", [s_shape, a_shape], ids=["sdk-shape", "autoscaler-shape"])
async def test_exchange_posts_a_form_and_sends_both_headers(
    server: ScriptedVPSie, shape: Any
) -> None:
    server.on("POST", C1, shape("t1"))
    server.always("GET", K1, ok([]))
    async with exchanging(server) as (client, _):
        await client.call(ep.list_clusters())
    exchange, call = server.calls()
    assert exchange.content_type.startswith("application/x-www-form-urlencoded")
    assert exchange.form == {"clientId": "cid", "clientSecret": SECRET}
    assert "Vpsie-Auth" not in exchange.headers
    assert call.headers["Authorization"] == "Bearer t1"
    assert call.headers["Vpsie-Auth"] == "t1"


@pytest.mark.parametrize("status", [400, 415, 422])
async def test_refused_form_is_sent_once_as_json_and_remembered(
    server: ScriptedVPSie, status: int
) -> None:
    server.on("POST", C1, Reply(status=status, json={"error": True}), s_shape("t1"), s_shape("t2"))
    server.always("GET", K1, ok([]))
    async with exchanging(server) as (client, holder):
        await client.call(ep.list_clusters())
        assert holder.auth.encoding == "json"
        await asyncio.sleep(3600)  # the token (no expiry given: 1 h) is refreshed
        await client.call(ep.list_clusters())
    form, as_json, again = server.calls("POST", C1)
    assert form.form["clientSecret"] == SECRET
    assert as_json.json == {"clientId": "cid", "clientSecret": SECRET}
    assert again.content_type == "application/json"


async def test_refused_both_ways_is_an_auth_error(server: ScriptedVPSie) -> None:
    server.always("POST", C1, Reply(status=400, json={"error": True, "message": "bad"}))
    async with exchanging(server) as (client, _):
        with pytest.raises(errors.AuthError):
            await client.call(ep.list_clusters())
    assert len(server.calls("POST", C1)) == 2


async def test_exchange_error_true_is_an_auth_error(server: ScriptedVPSie) -> None:
    server.always("POST", C1, fail("Invalid client credentials"))
    async with exchanging(server) as (client, _):
        with pytest.raises(errors.AuthError, match="Invalid client"):
            await client.call(ep.list_clusters())


async def test_missing_expiry_means_one_hour_refreshed_five_minutes_early(
    server: ScriptedVPSie,
) -> None:
    server.on("POST", C1, s_shape("t1"), s_shape("t2"))
    server.always("GET", K1, ok([]))
    async with exchanging(server) as (client, _):
        await client.call(ep.list_clusters())
        await asyncio.sleep(3290)
        await client.call(ep.list_clusters())
        await asyncio.sleep(20)  # 3310 s: inside the last five minutes
        await client.call(ep.list_clusters())
    tokens = [r.headers["Vpsie-Auth"] for r in server.calls("GET", K1)]
    assert tokens == ["t1", "t1", "t2"]


async def test_a_401_refreshes_once_and_retries(server: ScriptedVPSie) -> None:
    server.on("POST", C1, s_shape("t1"), s_shape("t2"))
    server.on("GET", K1, fail("Please authenticate", status=401), ok([]))
    async with exchanging(server) as (client, _):
        await client.call(ep.list_clusters())
    assert [r.headers["Vpsie-Auth"] for r in server.calls("GET", K1)] == ["t1", "t2"]


async def test_a_second_401_stops(server: ScriptedVPSie) -> None:
    server.always("POST", C1, s_shape("t"))
    server.always("GET", K1, fail("Please authenticate", status=401))
    async with exchanging(server) as (client, _):
        with pytest.raises(errors.AuthError):
            await client.call(ep.list_clusters())
    assert len(server.calls("GET", K1)) == 2
    assert len(server.calls("POST", C1)) == 2


@pytest.mark.parametrize(
    ("expires", "ttl"),
    [
        pytest.param("2026-05-01T14:00:00Z", 7200, id="rfc3339-z"),
        pytest.param("2026-05-01T13:00:00+00:00", 3600, id="rfc3339-offset"),
        pytest.param("tomorrow", 3600, id="unparseable"),
        pytest.param("2026-05-01T11:00:00Z", 3600, id="already-past"),
        pytest.param(None, 3600, id="missing"),
    ],
)
def test_token_lifetime(expires: str | None, ttl: float) -> None:
    raw: dict[str, Any] = {"token": {"access": {"token": "t"}}}
    if expires is not None:
        raw["token"]["access"]["expires"] = expires
    assert parse_token(raw, now=NOW).ttl == ttl


def test_token_without_access_is_malformed() -> None:
    with pytest.raises(errors.Malformed):
        parse_token({"error": False, "token": {"refresh": {"token": "r"}}}, now=NOW)
