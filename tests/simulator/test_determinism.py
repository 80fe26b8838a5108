"""Determinism: same seed, config and calls give the same bytes; routes draw independently."""

from __future__ import annotations

from typing import Any

from tests.simulator import (
    K2,
    K3,
    LARGE,
    SMALL,
    Sim,
    k4,
    manual_config,
    running_simulator,
    vm_body,
)


async def scripted_run(sim: Sim) -> list[bytes]:
    """A mixed call sequence over most routes, with faults drawn at partial rates."""
    await sim.set_faults(
        {"route": "K3", "error_5xx_rate": 0.5},
        {"route": "V1", "latency": 0, "429_rate": 0.3, "retry_after": "http-date"},
        knobs={"provision": {"list_delay": {"seconds": 20, "jitter": 10}}},
    )
    bodies: list[bytes] = []

    async def record(method: str, path: str, **kwargs: Any) -> None:
        answer = await sim.call(method, path, **kwargs)
        bodies.append(str(answer.status).encode() + b" " + answer.raw)
        bodies.append(str(answer.headers.get("Retry-After")).encode())

    credentials = {"clientId": "sim-client", "clientSecret": "sim"}
    await record("POST", "/apps/v2/auth/from/api", json=credentials, auth=False)
    for step in range(6):
        await record("POST", k4(LARGE if step % 2 else SMALL))
        await record("POST", "/api/v2/vm", json=vm_body(f"va-web-{step}"))
        await sim.advance(13)
        await record("GET", K2)
        await record("GET", K3)
        await record("GET", "/api/v2/vm")
        await record("GET", "/apps/v2/vm/pending")
    nodes = (await sim.get(K2)).data["nodes"]
    await record("DELETE", f"{K2}/delete/slave", json={"identifier": nodes[-1]["identifier"]})
    await sim.advance(30)
    await record("GET", K2)
    await record("GET", "/__sim/state", auth=False)
    await record("GET", "/__sim/calls", auth=False)
    return bodies


async def test_two_runs_with_one_seed_answer_byte_for_byte_alike() -> None:
    runs = []
    for _ in range(2):
        async with running_simulator(manual_config(seed=42)) as sim:
            runs.append(await scripted_run(sim))
    assert runs[0] == runs[1]


async def test_another_seed_answers_differently() -> None:
    runs = []
    for seed in (1, 2):
        async with running_simulator(manual_config(seed=seed)) as sim:
            runs.append(await scripted_run(sim))
    assert runs[0] != runs[1]


async def test_reset_replays_the_same_world() -> None:
    async with running_simulator(manual_config(seed=5)) as sim:
        first = await scripted_run(sim)
        await sim.post("/__sim/reset", json={}, auth=False)
        second = await scripted_run(sim)
    assert first[:-2] == second[:-2]  # the call log's sequence numbers go on


async def k4_hostnames(sim: Sim, *, interleave: bool) -> list[str]:
    for step in range(3):
        await sim.post(k4(LARGE))
        if interleave:
            await sim.post("/api/v2/vm", json=vm_body(f"other-{step}"))
            await sim.get("/apps/v2/datacenter")
    await sim.advance(20)
    return [n["hostname"] for n in (await sim.get(K2)).data["nodes"] if "large" in n["hostname"]]


async def test_calls_on_other_routes_do_not_shift_a_routes_draws() -> None:
    names = []
    for interleave in (False, True):
        async with running_simulator(manual_config(seed=3)) as sim:
            names.append(await k4_hostnames(sim, interleave=interleave))
    assert len(names[0]) == 3
    assert names[0] == names[1]
