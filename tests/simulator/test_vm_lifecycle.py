"""VM mode: V4 -> V3 -> listed 0/0 -> 1/1 with IPs, V2, V5 with the account password, hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.simulator import (
    DC,
    PROJECT,
    RecordingHook,
    Sim,
    manual_config,
    running_simulator,
    vm_body,
)

VMDATA_KEYS = {
    "id",
    "identifier",
    "hostname",
    "boxsize_id",
    "datacenter_id",
    "dcIdentifier",
    "projectId",
    "project_id",
    "cpu",
    "ram",
    "ssd",
    "traffic",
    "default_ip",
    "private_ip",
    "is_active",
    "power",
    "is_suspended",
    "is_locked",
    "is_terminated",
    "is_deleted",
    "state",
    "initial_password",
    "created_on",
    "dropped_on",
}
HOST = "va-web-k3m9q2"


def delete_body(identifier: str, password: str = "sim-password") -> dict[str, Any]:
    return {
        "vmIdentifier": identifier,
        "password": password,
        "deleteStatistic": {"reason": "scale-down", "note": "vpsie-autoscaler"},
    }


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook()


@pytest.fixture
async def sim(hook: RecordingHook) -> AsyncIterator[Sim]:
    async with running_simulator(hook=hook) as s:
        yield s


async def running_vm(sim: Sim, hostname: str = HOST) -> dict[str, Any]:
    assert (await sim.post("/api/v2/vm", json=vm_body(hostname))).data is True
    await sim.advance(40)
    return (await sim.vms())[hostname]  # type: ignore[no-any-return]


async def test_create_answers_true_and_queues_the_request(sim: Sim) -> None:
    answer = await sim.post("/api/v2/vm", json=vm_body())
    assert answer.json == {"error": False, "data": True}
    entry = (await sim.pending())[HOST]
    assert isinstance(entry["id"], str)
    assert entry["data"]["projectId"] == PROJECT
    assert entry["data"]["addPublicIpV4"] is True
    assert entry["data"]["addPublicIpV6"] is False
    assert entry["data"]["dcIdentifier"] == DC
    assert HOST not in await sim.vms()


async def test_a_vm_is_listed_stopped_then_runs_with_ips(sim: Sim) -> None:
    await sim.post("/api/v2/vm", json=vm_body())
    await sim.advance(20)
    listed = (await sim.vms())[HOST]
    assert HOST not in await sim.pending()
    assert (listed["is_active"], listed["power"]) == (0, 0)
    assert listed["default_ip"] is None
    assert listed["private_ip"] is None
    await sim.advance(20)
    running = (await sim.vms())[HOST]
    assert (running["is_active"], running["power"], running["is_deleted"]) == (1, 1, 0)
    assert running["default_ip"].startswith("198.1")
    assert running["private_ip"].startswith("10.")
    assert set(running) == VMDATA_KEYS
    assert running["projectId"] == running["project_id"] == PROJECT
    assert (running["boxsize_id"], running["cpu"], running["ram"], running["ssd"]) == (
        31,
        2,
        4096,
        80,
    )


async def test_both_prefixes_serve_the_same_vms(sim: Sim) -> None:
    await sim.post("/apps/v2/vm", json=vm_body(projectId=PROJECT))
    await sim.advance(40)
    api = (await sim.get("/api/v2/vm")).raw
    apps = (await sim.get("/apps/v2/vm/")).raw
    assert api == apps
    assert HOST in await sim.vms()


async def test_vm_list_filters_by_project(sim: Sim) -> None:
    await running_vm(sim)
    assert len((await sim.get(f"/api/v2/vm?projectId={PROJECT}")).data) >= 1
    assert (await sim.get("/api/v2/vm?projectId=1")).data == []


@pytest.mark.parametrize(
    ("flags", "strict", "has_ips"),
    [
        pytest.param({"addPublicIpV4": "1", "addPrivateIp": "1"}, False, True, id="strings"),
        pytest.param({"addPublicIpV4": 1, "addPrivateIp": True}, False, True, id="int-and-bool"),
        pytest.param({"addPublicIpV4": "0", "addPrivateIp": "0"}, False, False, id="off"),
        pytest.param({"addPublicIpV4": 1, "addPrivateIp": 1}, True, False, id="live-ignores-ints"),
    ],
)
async def test_ip_flags_are_parsed_tolerantly(
    flags: dict[str, Any], strict: bool, has_ips: bool
) -> None:
    config = manual_config(knobs={"shape": {"numeric_flags_ignored": strict}})
    async with running_simulator(config) as sim:
        vm = await running_vm_with(sim, flags)
    assert (vm["default_ip"] is not None, vm["private_ip"] is not None) == (has_ips, has_ips)


async def running_vm_with(sim: Sim, flags: dict[str, Any]) -> dict[str, Any]:
    await sim.post("/api/v2/vm", json=vm_body(**flags))
    await sim.advance(40)
    return (await sim.vms())[HOST]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"hostname": None}, "hostname is required", id="no-hostname"),
        pytest.param({"projectId": None}, "projectId is required", id="no-project"),
        pytest.param({"resourceIdentifier": "x"}, "resourceIdentifier is invalid", id="bad-plan"),
        pytest.param({"osIdentifier": "x"}, "osIdentifier is invalid", id="bad-os"),
        pytest.param({"projectId": "12"}, "projectId is invalid", id="unknown-project"),
    ],
)
async def test_create_validates_required_fields(
    sim: Sim, change: dict[str, Any], message: str
) -> None:
    body = {k: v for k, v in (vm_body() | change).items() if v is not None}
    answer = await sim.post("/api/v2/vm", json=body)
    assert answer.status == 400
    assert answer.json["message"] == message
    assert await sim.pending() == {}


async def test_get_wraps_vmdata(sim: Sim) -> None:
    vm = await running_vm(sim)
    data = (await sim.get(f"/api/v2/vm/{vm['identifier']}")).data
    assert set(data) == {"vmData", "vmTags", "imageCategories", "privateIpData", "floatingIpData"}
    assert data["vmData"] == vm
    missing = await sim.get("/api/v2/vm/00000000-0000-4000-8000-000000000000")
    assert missing.status == 404
    assert missing.json["message"] == "VM not found"


async def test_delete_with_the_wrong_password_keeps_the_vm(sim: Sim) -> None:
    vm = await running_vm(sim)
    answer = await sim.delete("/api/v2/vm", json=delete_body(vm["identifier"], "guess"))
    assert answer.status == 200
    assert answer.json["error"] is True
    assert answer.json["message"] == "You entered the wrong password"
    await sim.advance(3600)
    assert (await sim.vms())[HOST]["is_deleted"] == 0


async def test_wrong_password_status_follows_the_business_error_knob() -> None:
    async with running_simulator(manual_config(knobs={"business_error_status": 400})) as sim:
        answer = await sim.delete("/api/v2/vm", json=delete_body("x", "guess"))
    assert answer.status == 400
    assert answer.json["message"] == "You entered the wrong password"


async def test_a_deleted_vm_shows_is_deleted_then_leaves_the_list(sim: Sim) -> None:
    vm = await running_vm(sim)
    assert (await sim.delete("/apps/v2/vm", json=delete_body(vm["identifier"]))).data is True
    deleting = (await sim.vms())[HOST]
    assert (deleting["is_deleted"], deleting["is_active"], deleting["power"]) == (1, 0, 0)
    assert deleting["dropped_on"] == "2026-01-01T00:00:40Z"
    await sim.advance(10)
    assert HOST not in await sim.vms()
    assert (await sim.get(f"/api/v2/vm/{vm['identifier']}")).status == 404
    again = await sim.delete("/api/v2/vm", json=delete_body(vm["identifier"]))
    assert again.status == 404
    kept = [v for v in (await sim.state())["vms"] if v["hostname"] == HOST]
    assert kept[0]["deleted_at"] == "2026-01-01T00:00:40Z"
    assert kept[0]["gone_at"] == "2026-01-01T00:00:50Z"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"password": "sim-password"}, id="no-identifier"),
        pytest.param({"vmIdentifier": "x", "password": "sim-password"}, id="no-reason"),
        pytest.param(
            {"vmIdentifier": "x", "password": "sim-password", "deleteStatistic": {"reason": ""}},
            id="empty-reason",
        ),
    ],
)
async def test_delete_without_required_fields_is_400(sim: Sim, body: dict[str, Any]) -> None:
    assert (await sim.delete("/api/v2/vm", json=body)).status == 400


async def test_vm_quota_refuses_creates_over_the_limit() -> None:
    async with running_simulator(manual_config(knobs={"quota": {"max_vms": 1}})) as sim:
        assert (await sim.post("/api/v2/vm", json=vm_body("a"))).data is True
        answer = await sim.post("/api/v2/vm", json=vm_body("b"))
    assert answer.status == 200
    assert answer.json["error"] is True
    assert answer.json["message"] == "VM count exceeds the allowed limit"


async def test_a_stuck_vm_never_leaves_the_queue() -> None:
    config = manual_config(knobs={"provision": {"stuck_pending_rate": 1}})
    async with running_simulator(config) as sim:
        await sim.post("/api/v2/vm", json=vm_body())
        await sim.advance(3600)
        assert HOST in await sim.pending()
        assert HOST not in await sim.vms()


async def test_a_failed_provision_vanishes_from_the_queue() -> None:
    config = manual_config(knobs={"provision": {"fail_provision_rate": 1}})
    async with running_simulator(config) as sim:
        await sim.post("/api/v2/vm", json=vm_body())
        await sim.advance(19)
        assert HOST in await sim.pending()
        await sim.advance(1)
        assert HOST not in await sim.pending()
        await sim.advance(3600)
        assert HOST not in await sim.vms()
        assert [v["state"] for v in (await sim.state())["vms"] if v["hostname"] == HOST] == [
            "failed"
        ]


async def test_the_hook_sees_a_vm_register_become_ready_and_go(
    sim: Sim, hook: RecordingHook
) -> None:
    vm = await running_vm(sim)
    assert hook.stages(HOST) == []
    await sim.advance(20)
    assert hook.stages(HOST) == ["registered"]
    await sim.advance(15)
    assert hook.stages(HOST) == ["registered", "ready"]
    await sim.delete("/api/v2/vm", json=delete_body(vm["identifier"]))
    await sim.advance(10)
    assert hook.stages(HOST) == ["registered", "ready", "deleted"]
    worker = next(w for _, w in hook.events if w.hostname == HOST)
    assert worker.mode == "vm"
    assert (worker.identifier, worker.private_ip, worker.default_ip) == (
        vm["identifier"],
        vm["private_ip"],
        vm["default_ip"],
    )
    assert (worker.cpu, worker.ram_mb, worker.ssd_gb) == (2, 4096, 80)
    assert worker.instance_type == "shared-2c-4g"
    assert worker.dc_name == "New York"
    assert worker.group_name is None
    assert worker.cluster_identifier is None
    assert worker.user_data_text() == "#cloud-config\n"
    assert worker.provider_id() is None
    assert worker.sim_run == "seed-7"


@pytest.mark.parametrize(
    ("mode", "stages"),
    [
        pytest.param("no_node", [], id="no-node"),
        pytest.param("not_ready", ["registered"], id="node-stays-not-ready"),
    ],
)
async def test_workers_that_never_join(mode: str, stages: list[str]) -> None:
    hook = RecordingHook()
    config = manual_config(knobs={"join": {"never_join_rate": 1, "never_join_mode": mode}})
    async with running_simulator(config, hook=hook) as sim:
        vm = await running_vm(sim)
        await sim.advance(3600)
    assert vm["is_active"] == 1
    assert hook.stages(HOST) == stages
    assert all(not w.becomes_ready for _, w in hook.events if w.hostname == HOST)


async def test_slow_join_delays_registration() -> None:
    hook = RecordingHook()
    config = manual_config(knobs={"join": {"slow_join": 100}})
    async with running_simulator(config, hook=hook) as sim:
        await running_vm(sim)
        await sim.advance(119)
        assert hook.stages(HOST) == []
        await sim.advance(1)
        assert hook.stages(HOST) == ["registered"]
