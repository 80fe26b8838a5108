"""C1 and authentication against the simulator: static tokens, both exchange encodings,
both token shapes, expiry, refresh, and the one re-exchange after a 401."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from autoscaler.vpsie import AuthError
from autoscaler.vpsie.auth import DEFAULT_TTL, parse_token
from tests.contract import CLIENT_ID, CLIENT_SECRET, Contract

pytestmark = [pytest.mark.looptime(end=7200), pytest.mark.usefixtures("hangs_fail")]

C1 = "/apps/v2/auth/from/api"


async def test_a_static_token_authenticates_without_an_exchange(contract: Contract) -> None:
    async with contract.connect(contract.config()) as c:
        await c.api.list_projects()
    assert await contract.statuses("C3") == [200]
    assert await contract.statuses("C1") == []


async def test_an_unknown_static_token_is_refused_once(contract: Contract) -> None:
    async with contract.connect(contract.config(token=SecretStr("not-a-token"))) as c:
        with pytest.raises(AuthError):
            await c.api.list_projects()
    assert await contract.statuses("C3") == [401]  # static token: no retry, no refresh


@pytest.mark.parametrize(
    ("accepted", "exchanges"),
    [
        pytest.param("both", [200], id="form-accepted"),
        pytest.param("form", [200], id="form-only"),
        pytest.param("json", [415, 200], id="json-only-falls-back"),
    ],
)
async def test_the_exchange_uses_an_encoding_the_api_accepts(
    contract: Contract, accepted: str, exchanges: list[int]
) -> None:
    await contract.set_faults(knobs={"auth": {"exchange_encodings": accepted}})
    async with contract.connect(contract.exchange_config()) as c:
        await c.api.list_projects()
    assert await contract.statuses("C1") == exchanges
    assert await contract.statuses("C3") == [200]
    bodies = [c["body"] for c in await contract.calls("C1")]
    assert all(b == {"clientId": CLIENT_ID, "clientSecret": "<redacted>"} for b in bodies)


async def test_the_encoding_that_worked_is_remembered(contract: Contract) -> None:
    await contract.set_faults(
        {"route": "C3", "unauthorized_rate": 1, "calls": [2]},
        knobs={"auth": {"exchange_encodings": "json"}},
    )
    async with contract.connect(contract.exchange_config()) as c:
        await c.api.list_projects()
        await c.api.list_projects()  # 401, one re-exchange, sent again
    assert await contract.statuses("C1") == [415, 200, 200]  # the refresh went straight to JSON
    assert await contract.statuses("C3") == [200, 401, 200]


@pytest.mark.parametrize("shape", ["token.access", "accessToken"])
async def test_either_token_shape_of_the_exchange_authenticates(
    contract: Contract, shape: str
) -> None:
    form = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    body = (await contract.sim.post(C1, data=form, auth=False)).json
    assert body["token"]["access"] == body["accessToken"]  # the superset of both shapes
    only = (
        {"error": False, "token": body["token"]}
        if shape == "token.access"
        else {"accessToken": body["accessToken"], "refreshToken": body["refreshToken"]}
    )
    token = parse_token(only, now=contract.clock.now())
    assert token.ttl == DEFAULT_TTL  # the simulator's token_ttl, read from "expires"
    async with contract.connect(contract.config(token=token.value)) as c:
        await c.api.list_projects()
    assert await contract.statuses("C3") == [200]


async def test_wrong_client_credentials_are_refused_once(contract: Contract) -> None:
    config = contract.exchange_config(client_secret=SecretStr("not-the-secret"))
    async with contract.connect(config) as c:
        with pytest.raises(AuthError):
            await c.api.list_projects()
    assert await contract.statuses("C1") == [401]  # a 401 is no reason to try JSON
    assert await contract.statuses("C3") == []


async def elapse(contract: Contract, seconds: float) -> None:
    """Move the simulator's clock and the client's together."""
    await contract.advance(seconds)
    await asyncio.sleep(seconds)


async def test_a_token_is_exchanged_again_five_minutes_before_it_expires(
    contract: Contract,
) -> None:
    async with contract.connect(contract.exchange_config()) as c:
        await c.api.list_projects()  # exchanged at t=0; the simulator's TTL is one hour
        await elapse(contract, DEFAULT_TTL - 300 - 10)
        await c.api.list_projects()
        assert await contract.statuses("C1") == [200]
        await elapse(contract, 20)
        await c.api.list_projects()
    assert await contract.statuses("C1") == [200, 200]
    assert await contract.statuses("C3") == [200, 200, 200]  # never sent with a stale token


async def test_an_expired_token_gets_exactly_one_re_exchange(contract: Contract) -> None:
    await contract.set_faults(knobs={"auth": {"token_ttl": 600}})
    async with contract.connect(contract.exchange_config()) as c:
        await c.api.list_projects()
        await contract.advance(700)  # the simulator's token expires; the client cannot know
        await c.api.list_projects()
    assert await contract.statuses("C1") == [200, 200]
    assert await contract.statuses("C3") == [200, 401, 200]
