"""Fault knobs: 5xx, 429 (rate and bucket), error200, hangs, latency, quota, schedules,
per-route knob overrides, and the admin API that sets them at runtime."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.simulator import LARGE, Sim, k4, manual_config, running_simulator, vm_body


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator() as s:
        yield s


async def large_count(sim: Sim) -> int:
    return (await sim.groups())[LARGE]["nodes_count"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("code", [500, 502, 503, 504])
async def test_5xx_answers_in_the_envelope(sim: Sim, code: int) -> None:
    await sim.set_faults({"route": "C2", "error_5xx_rate": 1, "error_5xx_codes": [code]})
    answer = await sim.get("/apps/v2/datacenter")
    assert answer.status == code
    assert answer.json["error"] is True
    assert answer.json["code"] == code


async def test_502_can_be_an_html_page(sim: Sim) -> None:
    await sim.set_faults({"error_5xx_rate": 1, "error_5xx_codes": [502], "html_502": True})
    answer = await sim.get("/apps/v2/datacenter")
    assert answer.status == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in answer.raw


async def test_a_5xx_on_a_create_changes_nothing(sim: Sim) -> None:
    await sim.set_faults({"route": "K4", "error_5xx_rate": 1, "error_5xx_codes": [500]})
    assert (await sim.post(k4(LARGE))).status == 500
    assert await large_count(sim) == 0


async def test_a_schedule_hits_only_the_third_call(sim: Sim) -> None:
    await sim.set_faults(
        {"route": "K4", "calls": [3], "error_5xx_rate": 1, "error_5xx_codes": [503]}
    )
    statuses = [(await sim.post(k4(LARGE))).status for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
    assert await large_count(sim) == 3


@pytest.mark.parametrize(
    ("selector", "hit", "missed"),
    [
        pytest.param("GET", "/apps/v2/projects", "/apps/v2/k8s/offers", id="method"),
        pytest.param("/apps/v2/projects", "/apps/v2/projects", "/apps/v2/datacenter", id="path"),
        pytest.param("GET /apps/v2/projects", "/apps/v2/projects", "/api/v2/vm", id="route"),
        pytest.param("{vm}", "/apps/v2/vm", "/apps/v2/projects", id="both-vm-prefixes"),
        pytest.param("GET /api/v2/vm", "/api/v2/vm", "/apps/v2/vm", id="one-vm-prefix"),
    ],
)
async def test_rules_select_routes(sim: Sim, selector: str, hit: str, missed: str) -> None:
    await sim.set_faults({"route": selector, "error_5xx_rate": 1, "error_5xx_codes": [500]})
    method = "POST" if missed.endswith("offers") else "GET"
    assert (await sim.get(hit)).status == 500
    other = await sim.call(method, missed, json={"dcIdentifier": "x"} if method == "POST" else None)
    assert other.status == 200


@pytest.mark.parametrize(
    ("style", "check"),
    [
        pytest.param("seconds", lambda v: v == "7", id="seconds"),
        pytest.param(
            "http-date",
            lambda v: (
                email.utils.parsedate_to_datetime(v).isoformat() == "2026-01-01T00:00:07+00:00"
            ),
            id="http-date",
        ),
        pytest.param("absent", lambda v: v is None, id="absent"),
    ],
)
async def test_429_rate_with_retry_after(sim: Sim, style: str, check: Any) -> None:
    await sim.set_faults({"429_rate": 1, "retry_after": style, "retry_after_seconds": 7})
    answer = await sim.get("/apps/v2/datacenter")
    assert answer.status == 429
    assert answer.json == {"error": True, "code": 429, "message": "Too many requests"}
    assert check(answer.headers.get("Retry-After"))


async def test_the_bucket_limits_each_token(sim: Sim) -> None:
    await sim.set_faults({"rate_limit": {"rate": 0.5, "burst": 2}})
    statuses = [(await sim.get("/apps/v2/projects")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await sim.get("/apps/v2/projects")
    assert limited.headers["Retry-After"] == "2"
    bearer = {"Authorization": "Bearer sim-token", "Vpsie-Auth": "other"}
    assert (await sim.get("/apps/v2/projects", headers=bearer, auth=False)).status == 401
    await sim.advance(2)
    assert (await sim.get("/apps/v2/projects")).status == 200


async def test_error200_is_a_200_with_error_true(sim: Sim) -> None:
    await sim.set_faults({"error200_rate": 1, "error200_message": "Something broke"})
    answer = await sim.get("/apps/v2/projects")
    assert answer.status == 200
    assert answer.json == {"error": True, "message": "Something broke"}


async def test_a_forced_quota_hits_the_next_create_once(sim: Sim) -> None:
    await sim.set_faults({"route": ["K4", "V4"], "quota_rate": 1, "times": 1})
    first = await sim.post("/api/v2/vm", json=vm_body())
    assert first.json["message"] == "VM count exceeds the allowed limit"
    assert (await sim.post(k4(LARGE))).data is True
    assert (await sim.post("/api/v2/vm", json=vm_body("b"))).data is True


async def test_a_forced_quota_on_k4(sim: Sim) -> None:
    await sim.set_faults({"route": "K4", "quota_rate": 1, "times": 1})
    answer = await sim.post(k4(LARGE))
    assert answer.json["message"] == "Worker nodes count exceeds the allowed limit"
    assert await large_count(sim) == 0


async def test_rates_between_zero_and_one_are_drawn(sim: Sim) -> None:
    await sim.set_faults({"route": "C3", "error_5xx_rate": 0.5, "error_5xx_codes": [500]})
    statuses = [(await sim.get("/apps/v2/projects")).status for _ in range(40)]
    assert 5 < statuses.count(500) < 35


async def test_a_knob_override_applies_to_the_scheduled_call_only(sim: Sim) -> None:
    await sim.set_faults(
        {"route": "V4", "calls": [2], "knobs": {"provision": {"stuck_pending_rate": 1}}}
    )
    for name in ("a", "b", "c"):
        await sim.post("/api/v2/vm", json=vm_body(name))
    await sim.advance(3600)
    assert set(await sim.pending()) == {"b"}
    assert set(await sim.vms()) >= {"a", "c"}


async def test_shape_knobs_apply_per_route(sim: Sim) -> None:
    await sim.set_faults(
        {"route": "K4", "calls": [2], "knobs": {"shape": {"add_slave_returns": "object"}}}
    )
    assert (await sim.post(k4(LARGE))).data is True
    assert "identifier" in (await sim.post(k4(LARGE))).data


async def test_faults_from_the_configuration_apply_at_start() -> None:
    config = manual_config(faults=[{"route": "C3", "error_5xx_rate": 1, "error_5xx_codes": [504]}])
    async with running_simulator(config) as sim:
        assert (await sim.get("/apps/v2/projects")).status == 504


async def test_faults_can_be_read_and_cleared(sim: Sim) -> None:
    await sim.set_faults({"route": "C3", "429_rate": 1}, knobs={"account_password": "pw"})
    faults = (await sim.get("/__sim/faults", auth=False)).json
    assert faults["rules"] == [{"route": "C3", "429_rate": 1.0}]
    assert faults["knobs"]["account_password"] == "pw"
    assert (await sim.get("/apps/v2/projects")).status == 429
    cleared = (await sim.call("DELETE", "/__sim/faults", auth=False)).json
    assert cleared["rules"] == []
    assert cleared["knobs"]["account_password"] == "sim-password"
    assert (await sim.get("/apps/v2/projects")).status == 200


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"rules": [{"hang_mode": "sometimes"}]}, id="bad-mode"),
        pytest.param({"rules": [{"error_5xx_rate": 2}]}, id="rate-over-one"),
        pytest.param({"rules": [{"knobs": {"provision": {"list_delay": -1}}}]}, id="bad-override"),
        pytest.param({"knobs": {"shape": {"vm_prefixes": "neither"}}}, id="bad-knob"),
        pytest.param({"rules": [{"unknown": 1}]}, id="unknown-field"),
    ],
)
async def test_invalid_faults_are_refused(sim: Sim, body: dict[str, Any]) -> None:
    answer = await sim.call("PUT", "/__sim/faults", json=body, auth=False)
    assert answer.status == 400
    assert (await sim.get("/__sim/faults", auth=False)).json["rules"] == []


@pytest.mark.looptime
async def test_latency_delays_the_answer(sim: Sim) -> None:
    await sim.set_faults({"route": "C3", "latency": 2.5})
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert (await sim.get("/apps/v2/projects")).status == 200
    assert loop.time() - start == pytest.approx(2.5, abs=0.1)


@pytest.mark.looptime
async def test_latency_jitter_is_drawn(sim: Sim) -> None:
    await sim.set_faults({"latency": 1, "latency_jitter": 4, "latency_distribution": "exponential"})
    loop = asyncio.get_running_loop()
    start = loop.time()
    await sim.get("/apps/v2/projects")
    assert loop.time() - start > 1


@pytest.mark.looptime
async def test_a_never_hang_holds_until_the_client_gives_up(sim: Sim) -> None:
    await sim.set_faults({"route": "K4", "hang_rate": 1, "hang_mode": "never"})
    with pytest.raises(asyncio.TimeoutError):
        await sim.post(k4(LARGE), client_timeout=30)
    assert await large_count(sim) == 0
    calls = (await sim.get("/__sim/calls", auth=False)).json["calls"]
    k4_call = next(c for c in calls if c["route_id"] == "K4")
    assert (k4_call["status"], k4_call["fault"]) == (0, "hang:never")


@pytest.mark.looptime
async def test_commit_then_hang_applies_the_mutation(sim: Sim) -> None:
    await sim.set_faults({"route": "K4", "hang_rate": 1, "hang_mode": "commit_then_hang"})
    with pytest.raises(asyncio.TimeoutError):
        await sim.post(k4(LARGE), client_timeout=30)
    assert await large_count(sim) == 1
    calls = (await sim.get("/__sim/calls", auth=False)).json["calls"]
    k4_call = next(c for c in calls if c["route_id"] == "K4")
    assert (k4_call["status"], k4_call["committed_status"]) == (0, 200)


@pytest.mark.looptime
async def test_a_slow_hang_answers_late(sim: Sim) -> None:
    await sim.set_faults({"route": "K4", "hang_rate": 1, "hang_mode": "slow", "hang_seconds": 45})
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert (await sim.post(k4(LARGE))).data is True
    assert loop.time() - start == pytest.approx(45, abs=0.5)
    assert await large_count(sim) == 1


async def test_a_drop_resets_the_connection_and_changes_nothing(sim: Sim) -> None:
    await sim.set_faults({"route": "K4", "hang_rate": 1, "hang_mode": "drop"})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await sim.post(k4(LARGE))
    assert await large_count(sim) == 0


@pytest.mark.looptime
async def test_a_held_call_is_released_when_the_server_stops() -> None:
    async with running_simulator() as sim:
        await sim.set_faults({"route": "C3", "hang_rate": 1})
        held = asyncio.create_task(sim.get("/apps/v2/projects"))
        calls = sim.simulation.calls
        await calls.wait_for(lambda: any(c["fault"] == "hang:never" for c in calls.entries))
        await sim.client.server.close()  # the server alone: its shutdown releases the call
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await held
