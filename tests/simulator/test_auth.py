"""Authentication: Vpsie-Auth and Bearer, the exact 401, C1 in both encodings, token expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from tests.simulator import Sim, manual_config, running_simulator

UNAUTHENTICATED = b'{"error":true,"message":"Please authenticate"}'
CREDENTIALS = {"clientId": "sim-client", "clientSecret": "sim"}


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator(manual_config(knobs={"auth": {"token_ttl": 600}})) as s:
        yield s


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-token"),
        pytest.param({"Vpsie-Auth": "nope"}, 401, id="unknown-token"),
        pytest.param({"Vpsie-Auth": "sim-token"}, 200, id="vpsie-auth"),
        pytest.param({"Authorization": "Bearer sim-token"}, 200, id="bearer"),
        pytest.param({"Authorization": "sim-token"}, 401, id="authorization-without-bearer"),
        pytest.param(
            {"Vpsie-Auth": "sim-token", "Authorization": "Bearer nope"}, 200, id="capi-both"
        ),
        pytest.param(
            {"Vpsie-Auth": "nope", "Authorization": "Bearer sim-token"},
            401,
            id="authorization-ignored-when-vpsie-auth-present",
        ),
    ],
)
async def test_static_token_headers(sim: Sim, headers: dict[str, str], status: int) -> None:
    answer = await sim.get("/apps/v2/datacenter", headers=headers, auth=False)
    assert answer.status == status
    if status == 401:
        assert answer.raw == UNAUTHENTICATED


@pytest.mark.parametrize("encoding", ["form", "json"])
async def test_exchange_answers_both_token_shapes(sim: Sim, encoding: str) -> None:
    if encoding == "form":
        answer = await sim.post("/apps/v2/auth/from/api", data=CREDENTIALS, auth=False)
    else:
        answer = await sim.post("/apps/v2/auth/from/api", json=CREDENTIALS, auth=False)
    body = answer.json
    assert answer.status == 200
    assert body["error"] is False
    assert body["token"]["access"] == body["accessToken"]
    assert body["token"]["refresh"] == body["refreshToken"]
    assert body["accessToken"]["expires"] == "2026-01-01T00:10:00Z"
    expires = dt.datetime.fromisoformat(body["refreshToken"]["expires"])
    assert expires.tzinfo is not None
    token = body["accessToken"]["token"]
    for header in ({"Vpsie-Auth": token}, {"Authorization": f"Bearer {token}"}):
        assert (await sim.get("/apps/v2/projects", headers=header, auth=False)).status == 200


@pytest.mark.parametrize(
    ("accepted", "form", "json"),
    [
        pytest.param("form", 200, 415, id="form-only"),
        pytest.param("json", 415, 200, id="json-only"),
    ],
)
async def test_exchange_encodings_knob(accepted: str, form: int, json: int) -> None:
    config = manual_config(knobs={"auth": {"exchange_encodings": accepted}})
    async with running_simulator(config) as sim:
        by_form = await sim.post("/apps/v2/auth/from/api", data=CREDENTIALS, auth=False)
        by_json = await sim.post("/apps/v2/auth/from/api", json=CREDENTIALS, auth=False)
    assert (by_form.status, by_json.status) == (form, json)


async def test_exchanged_tokens_expire_after_the_ttl(sim: Sim) -> None:
    body = (await sim.post("/apps/v2/auth/from/api", json=CREDENTIALS, auth=False)).json
    header = {"Vpsie-Auth": body["accessToken"]["token"]}
    await sim.advance(599)
    assert (await sim.get("/apps/v2/projects", headers=header, auth=False)).status == 200
    await sim.advance(1)
    answer = await sim.get("/apps/v2/projects", headers=header, auth=False)
    assert (answer.status, answer.raw) == (401, UNAUTHENTICATED)


async def test_refresh_tokens_do_not_authenticate(sim: Sim) -> None:
    body = (await sim.post("/apps/v2/auth/from/api", json=CREDENTIALS, auth=False)).json
    header = {"Vpsie-Auth": body["refreshToken"]["token"]}
    assert (await sim.get("/apps/v2/projects", headers=header, auth=False)).status == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"clientId": "sim-client", "clientSecret": "wrong"}, 401, id="bad-secret"),
        pytest.param({"clientId": "sim-client"}, 400, id="missing-secret"),
        pytest.param({}, 400, id="empty"),
    ],
)
async def test_exchange_refuses_bad_credentials(
    sim: Sim, body: dict[str, str], status: int
) -> None:
    answer = await sim.post("/apps/v2/auth/from/api", json=body, auth=False)
    assert answer.status == status
    assert answer.json["error"] is True


async def test_a_forced_401_hits_only_the_next_call(sim: Sim) -> None:
    await sim.set_faults({"unauthorized_rate": 1, "times": 1})
    first = await sim.get("/apps/v2/projects")
    second = await sim.get("/apps/v2/projects")
    assert (first.status, first.raw) == (401, UNAUTHENTICATED)
    assert second.status == 200


async def test_an_admin_token_guards_the_admin_api() -> None:
    config = manual_config(auth={"admin_token": "root"})
    async with running_simulator(config) as sim:
        assert (await sim.get("/__sim/state", auth=False)).status == 401
        assert (await sim.get("/__sim/healthz", auth=False)).status == 200
        bearer = {"Authorization": "Bearer root"}
        assert (await sim.get("/__sim/state", headers=bearer, auth=False)).status == 200
        header = {"X-Sim-Admin": "root"}
        assert (await sim.get("/__sim/calls", headers=header, auth=False)).status == 200
