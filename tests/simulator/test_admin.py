"""The /__sim/ admin API: state, call log with redaction, clock, reset, healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.simulator import (
    LARGE,
    RecordingHook,
    Sim,
    k4,
    manual_config,
    running_simulator,
    vm_body,
)


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook()


@pytest.fixture
async def sim(hook: RecordingHook) -> AsyncIterator[Sim]:
    async with running_simulator(hook=hook) as s:
        yield s


async def test_healthz(sim: Sim) -> None:
    answer = await sim.get("/__sim/healthz", auth=False)
    assert (answer.status, answer.json) == (200, {"ok": True})


async def test_state_shows_machines_pending_clusters_and_claims(sim: Sim) -> None:
    await sim.post(k4(LARGE))
    await sim.post("/api/v2/vm", json=vm_body("va-one", vmPassword="hunter2"))
    state = await sim.state()
    assert (state["seed"], state["clock"], state["now"]) == (7, "manual", 0.0)
    kinds = sorted(v["kind"] for v in state["vms"])
    assert kinds == ["master", "vm", "worker", "worker"]
    assert [p["data"]["hostname"] for p in state["pending"]] == ["va-one"]
    assert state["pending"][0]["data"]["vmPassword"] == "<redacted>"
    (cluster,) = state["clusters"]
    groups = {g["group_name"]: g for g in cluster["groups"]}
    assert groups["large"]["nodes_count"] == 1
    assert len(groups["large"]["nodes"]) == 1
    (claimed,) = state["claims"].items()
    assert claimed[0] == groups["large"]["nodes"][0]["hostname"]
    assert claimed[1]["group_name"] == "large"
    assert claimed[1]["requested_at"] == "2026-01-01T00:00:00Z"


async def test_state_keeps_deleted_vms(sim: Sim) -> None:
    await sim.post("/api/v2/vm", json=vm_body("va-gone"))
    await sim.advance(40)
    vm = (await sim.vms())["va-gone"]
    delete = {
        "vmIdentifier": vm["identifier"],
        "password": "sim-password",
        "deleteStatistic": {"reason": "test"},
    }
    await sim.delete("/api/v2/vm", json=delete)
    await sim.advance(60)
    (record,) = [v for v in (await sim.state())["vms"] if v["hostname"] == "va-gone"]
    assert record["state"] == "deleted"
    assert (record["created_at"], record["deleted_at"], record["gone_at"]) == (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:40Z",
        "2026-01-01T00:00:50Z",
    )


async def test_calls_are_counted_by_route_template_and_status(sim: Sim) -> None:
    await sim.get("/api/v2/vm")
    await sim.get("/api/v2/vm")
    await sim.get("/api/v2/vm", auth=False)
    await sim.get("/apps/v2/vm")
    await sim.get("/apps/v2/nothing")
    counters = (await sim.get("/__sim/calls", auth=False)).json["counters"]
    assert counters == [
        {"method": "GET", "route": "/api/v2/vm", "status": 200, "count": 2},
        {"method": "GET", "route": "/api/v2/vm", "status": 401, "count": 1},
        {"method": "GET", "route": "/apps/v2/vm", "status": 200, "count": 1},
        {"method": "GET", "route": "<unmatched>", "status": 404, "count": 1},
    ]


async def test_call_log_since_and_reset(sim: Sim) -> None:
    await sim.get("/apps/v2/projects")
    await sim.get("/apps/v2/datacenter?offset=0&limit=5")
    calls = (await sim.get("/__sim/calls", auth=False)).json["calls"]
    assert [c["route_id"] for c in calls] == ["C3", "C2"]
    assert calls[1]["query"] == {"offset": "0", "limit": "5"}
    assert calls[1]["at"] == "2026-01-01T00:00:00Z"
    later = (await sim.get(f"/__sim/calls?since={calls[0]['seq']}&reset=1", auth=False)).json
    assert [c["route_id"] for c in later["calls"]] == ["C2"]
    after_reset = (await sim.get("/__sim/calls", auth=False)).json
    assert after_reset == {"counters": [], "calls": []}
    await sim.get("/apps/v2/projects")
    await sim.call("DELETE", "/__sim/calls", auth=False)
    assert (await sim.get("/__sim/calls", auth=False)).json["calls"] == []


async def test_secrets_are_redacted_in_the_call_log(sim: Sim) -> None:
    await sim.post("/api/v2/vm", json=vm_body(vmPassword="hunter2", notes="keep me"))
    await sim.delete(
        "/api/v2/vm",
        json={"vmIdentifier": "x", "password": "hunter3", "deleteStatistic": {"reason": "r"}},
    )
    credentials = {"clientId": "sim-client", "clientSecret": "sim"}
    await sim.post("/apps/v2/auth/from/api", data=credentials, auth=False)
    await sim.post(
        "/apps/v2/script/add",
        json={
            "name": "s",
            "scriptContent": "echo hi",
            "nested": [{"token": "tok-secret", "accessToken": "a"}],
        },
    )
    log = (await sim.get("/__sim/calls", auth=False)).raw
    for secret in (
        b"hunter2",
        b"hunter3",
        b"I2Nsb3VkLWNvbmZpZwo=",
        b'"sim"',
        b"echo hi",
        b"tok-secret",
    ):
        assert secret not in log
    calls = (await sim.get("/__sim/calls", auth=False)).json["calls"]
    assert calls[0]["body"]["userData"] == "<redacted>"
    assert calls[0]["body"]["notes"] == "keep me"
    assert calls[2]["body"] == {"clientId": "sim-client", "clientSecret": "<redacted>"}
    assert calls[3]["body"]["nested"] == [{"token": "<redacted>", "accessToken": "<redacted>"}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"seconds": -1}, id="negative"),
        pytest.param({"seconds": "ten"}, id="not-a-number"),
    ],
)
async def test_clock_advance_validates_seconds(sim: Sim, body: dict[str, object]) -> None:
    assert (await sim.post("/__sim/clock/advance", json=body, auth=False)).status == 400


async def test_clock_advance_reports_the_new_time(sim: Sim) -> None:
    answer = await sim.post("/__sim/clock/advance", json={"seconds": 90}, auth=False)
    assert answer.json == {"now": 90.0, "wall": "2026-01-01T00:01:30Z"}


async def test_clock_advance_needs_a_manual_clock() -> None:
    async with running_simulator(manual_config(clock={"mode": "scaled", "factor": 20})) as sim:
        answer = await sim.post("/__sim/clock/advance", json={"seconds": 1}, auth=False)
    assert answer.status == 409


async def test_reset_restores_the_initial_world_with_a_new_seed(
    sim: Sim, hook: RecordingHook
) -> None:
    await sim.post(k4(LARGE))
    await sim.advance(100)
    before = {v["hostname"] for v in (await sim.state())["vms"]}
    answer = await sim.post("/__sim/reset", json={"seed": 8}, auth=False)
    assert answer.json == {"seed": 8, "now": 0.0}
    state = await sim.state()
    assert state["seed"] == 8
    assert len(state["vms"]) == 2  # the master and the initial worker
    assert not {v["hostname"] for v in state["vms"]} & before
    assert (await sim.get("/__sim/calls", auth=False)).json["calls"] == []
    assert (await sim.groups())[LARGE]["nodes_count"] == 0
    deleted = [w.hostname for stage, w in hook.events if stage == "deleted"]
    assert sorted(deleted) == sorted(h for h in before if "master" not in h)
    assert hook.events[-1][0] == "ready"  # the new initial worker


async def test_reset_refuses_a_bad_seed(sim: Sim) -> None:
    assert (await sim.post("/__sim/reset", json={"seed": "x"}, auth=False)).status == 400


async def test_a_failing_hook_is_counted_and_does_not_break_the_api() -> None:
    class Broken(RecordingHook):
        async def on_registered(self, worker: object) -> None:
            raise RuntimeError("kube is down")

    async with running_simulator(manual_config(), hook=Broken()) as sim:
        assert (await sim.post(k4(LARGE))).status == 200
        await sim.advance(100)
        hooks = (await sim.state())["hooks"]
    assert hooks["errors"] == 2  # the initial worker and the new one
