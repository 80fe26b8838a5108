"""VKE mode: K4 counts at once and lists later, K5/K8 remove, quotas, K7 sizes, shapes, hooks."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.simulator import (
    CLUSTER,
    K2,
    LARGE,
    SMALL,
    RecordingHook,
    Sim,
    k4,
    manual_config,
    running_simulator,
)

NODE_KEYS = {
    "id",
    "hostname",
    "default_ip",
    "private_ip",
    "node_type",
    "node_id",
    "datacenter_id",
    "user_id",
    "created_on",
    "identifier",
    "ip",
    "status",
    "role",
    "cpu",
    "ram",
    "disk",
}
GROUP_KEYS = {
    "id",
    "identifier",
    "group_name",
    "boxsize_id",
    "cpu",
    "ram",
    "ssd",
    "traffic",
    "nodes_count",
    "cluster_id",
    "datacenter_id",
    "dcIdentifier",
    "project_id",
    "is_active",
    "is_deleted",
    "notes",
    "created_on",
    "last_updated",
    "dropped_on",
}


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook()


@pytest.fixture
async def sim(hook: RecordingHook) -> AsyncIterator[Sim]:
    async with running_simulator(hook=hook) as s:
        yield s


async def workers(sim: Sim) -> dict[str, Any]:
    return {n["hostname"]: n for n in await sim.nodes() if n["role"] == "worker"}


async def add_listed_worker(sim: Sim, group: int = LARGE) -> dict[str, Any]:
    before = set(await workers(sim))
    assert (await sim.post(k4(group))).data is True
    await sim.advance(20)
    (new,) = [n for name, n in (await workers(sim)).items() if name not in before]
    return new  # type: ignore[no-any-return]


async def test_groups_carry_the_contract_fields(sim: Sim) -> None:
    groups = await sim.groups()
    assert set(groups[SMALL]) == GROUP_KEYS
    assert (groups[SMALL]["boxsize_id"], groups[SMALL]["nodes_count"]) == (101, 1)
    assert (groups[LARGE]["boxsize_id"], groups[LARGE]["nodes_count"]) == (102, 0)
    assert groups[SMALL]["dropped_on"] is None


async def test_add_worker_counts_at_once_and_lists_after_the_delay(sim: Sim) -> None:
    answer = await sim.post(k4(LARGE))
    assert answer.json == {"error": False, "data": True}
    assert (await sim.groups())[LARGE]["nodes_count"] == 1
    assert len(await workers(sim)) == 1
    await sim.advance(19)
    assert len(await workers(sim)) == 1
    await sim.advance(1)
    new = [n for n in (await workers(sim)).values() if n["cpu"] == 4]
    assert len(new) == 1
    node = new[0]
    assert set(node) == NODE_KEYS  # the union of S and A fields, and no group field
    assert str(uuid.UUID(node["identifier"])) == node["identifier"]
    assert re.fullmatch(r"demo-large-[a-z0-9]{5}", node["hostname"])
    assert node["default_ip"] is None
    assert node["private_ip"] is None
    assert (node["node_type"], node["role"], node["status"]) == ("slave", "worker", "provisioning")
    await sim.advance(20)
    running = (await workers(sim))[node["hostname"]]
    assert running["private_ip"]
    assert running["default_ip"] == running["ip"]
    assert running["status"] == "running"


async def test_workers_are_mirrored_as_vms(sim: Sim) -> None:
    node = await add_listed_worker(sim)
    mirrored = (await sim.vms())[node["hostname"]]
    assert (mirrored["is_active"], mirrored["boxsize_id"]) == (0, 102)
    assert mirrored["identifier"] == node["identifier"]
    await sim.advance(20)
    assert (await sim.vms())[node["hostname"]]["is_active"] == 1


async def test_mirroring_can_be_switched_off() -> None:
    async with running_simulator(manual_config(knobs={"shape": {"mirror_workers": False}})) as sim:
        await add_listed_worker(sim)
        assert await sim.vms() == {}


async def test_delete_worker_removes_it_after_the_delay(sim: Sim) -> None:
    node = await add_listed_worker(sim)
    answer = await sim.delete(f"{K2}/delete/slave", json={"identifier": node["identifier"]})
    assert answer.json == {"error": False, "data": True}
    assert (await workers(sim))[node["hostname"]]["status"] == "deleting"
    assert (await sim.groups())[LARGE]["nodes_count"] == 1
    await sim.advance(10)
    assert node["hostname"] not in await workers(sim)
    groups = await sim.groups()
    assert groups[LARGE]["nodes_count"] == 0
    assert groups[LARGE]["last_updated"] == "2026-01-01T00:00:30Z"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param({"identifier": str(uuid.UUID(int=1))}, 404, "Node not found", id="unknown"),
        pytest.param({}, 400, "identifier is required", id="no-body"),
    ],
)
async def test_delete_worker_errors(
    sim: Sim, body: dict[str, Any], status: int, message: str
) -> None:
    answer = await sim.delete(f"{K2}/delete/slave", json=body)
    assert (answer.status, answer.json["message"]) == (status, message)


async def test_masters_cannot_be_deleted(sim: Sim) -> None:
    master = next(n for n in await sim.nodes() if n["role"] == "master")
    answer = await sim.delete(f"{K2}/delete/slave", json={"identifier": master["identifier"]})
    assert (answer.status, answer.json["error"]) == (200, True)


async def test_reduce_removes_the_newest_worker(sim: Sim) -> None:
    first = await add_listed_worker(sim)
    second = await add_listed_worker(sim)
    assert (await sim.delete(f"{K2}/reduce/slave", json={"groupId": str(LARGE)})).data is True
    await sim.advance(10)
    remaining = await workers(sim)
    assert first["hostname"] in remaining
    assert second["hostname"] not in remaining


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param(
            f"/apps/v2/k8s/cluster/byId/{uuid.UUID(int=9)}/add/slave/group/11",
            "Cluster not found",
            id="unknown-cluster",
        ),
        pytest.param(k4(99), "Node group not found", id="unknown-group"),
    ],
)
async def test_add_worker_to_unknown_things_is_404(sim: Sim, path: str, message: str) -> None:
    answer = await sim.post(path)
    assert (answer.status, answer.json["message"]) == (404, message)


@pytest.mark.parametrize(
    "quota",
    [
        pytest.param({"max_workers_per_group": 1}, id="per-group"),
        pytest.param({"max_workers": 2}, id="per-cluster"),
    ],
)
async def test_worker_quota(quota: dict[str, int]) -> None:
    async with running_simulator(manual_config(knobs={"quota": quota})) as sim:
        assert (await sim.post(k4(LARGE))).data is True
        answer = await sim.post(k4(LARGE))
        groups = await sim.groups()
        calls = (await sim.get("/__sim/calls", auth=False)).json["calls"]
    assert (answer.status, answer.json["error"]) == (200, True)
    assert answer.json["message"] == "Worker nodes count exceeds the allowed limit"
    assert groups[LARGE]["nodes_count"] == 1
    assert [(c["route_id"], c["status"], c["refused"]) for c in calls if c["route_id"] == "K4"] == [
        ("K4", 200, False),
        ("K4", 200, True),
    ]


async def test_add_group_refuses_a_size_the_cluster_has(sim: Sim) -> None:
    body = {"clusterIdentifier": CLUSTER, "groupName": "again", "KubeSizeID": 101}
    answer = await sim.post("/apps/v2/k8s/cluster/add/group", json=body)
    assert (answer.status, answer.json["error"]) == (200, True)
    assert (
        answer.json["message"] == "Group small has same selected Size, please select another size"
    )


async def test_add_group_creates_an_empty_group(sim: Sim) -> None:
    body = {"clusterIdentifier": CLUSTER, "groupName": "huge", "KubeSizeID": "103"}
    assert (await sim.post("/apps/v2/k8s/cluster/add/group", json=body)).data is True
    (group,) = [g for g in (await sim.groups()).values() if g["group_name"] == "huge"]
    assert (group["boxsize_id"], group["cpu"], group["nodes_count"]) == (103, 8, 0)
    assert (await sim.post(k4(group["id"]))).data is True
    assert (await sim.groups())[group["id"]]["nodes_count"] == 1


async def test_add_worker_can_return_an_object() -> None:
    config = manual_config(knobs={"shape": {"add_slave_returns": "object"}})
    async with running_simulator(config) as sim:
        data = (await sim.post(k4(LARGE))).data
        await sim.advance(20)
        listed = await workers(sim)
    assert set(data) == {"id", "identifier", "status", "hostname"}
    assert listed[data["hostname"]]["identifier"] == data["identifier"]


async def test_nodes_can_miss_their_identifier() -> None:
    config = manual_config(knobs={"shape": {"nodes_missing_identifier": True}})
    async with running_simulator(config) as sim:
        nodes = await sim.nodes()
    assert [("identifier" in n) for n in nodes] == [True, False]  # the master keeps its own


async def test_hostnames_can_be_uppercase() -> None:
    async with running_simulator(manual_config(knobs={"shape": {"hostname_case": "upper"}})) as sim:
        node = await add_listed_worker(sim)
    assert re.fullmatch(r"DEMO-LARGE-[A-Z0-9]{5}", node["hostname"])


async def test_count_can_wait_for_the_listing() -> None:
    async with running_simulator(
        manual_config(knobs={"shape": {"count_when_listed": True}})
    ) as sim:
        await sim.post(k4(LARGE))
        assert (await sim.groups())[LARGE]["nodes_count"] == 0
        await sim.advance(20)
        assert (await sim.groups())[LARGE]["nodes_count"] == 1


async def test_the_initial_worker_reaches_the_hook_at_start(hook: RecordingHook, sim: Sim) -> None:
    (name,) = await workers(sim)
    assert hook.stages(name) == ["registered", "ready"]


async def test_the_hook_sees_a_vke_worker_with_its_group(sim: Sim, hook: RecordingHook) -> None:
    node = await add_listed_worker(sim)
    await sim.advance(54)
    assert hook.stages(node["hostname"]) == ["registered"]
    await sim.advance(1)
    assert hook.stages(node["hostname"]) == ["registered", "ready"]
    worker = hook.events[-1][1]
    assert worker.mode == "vke"
    assert (worker.group_name, worker.group_id, worker.cluster_name) == ("large", LARGE, "demo")
    assert (worker.cpu, worker.ram_mb, worker.ssd_gb, worker.instance_type) == (
        4,
        8192,
        160,
        "k8s-4c-8g",
    )
    assert worker.provider_id() == f"vpsie://{node['identifier']}"
    assert worker.node_name == node["hostname"]


async def test_provider_id_forms() -> None:
    hook = RecordingHook()
    config = manual_config(knobs={"bridge": {"provider_id": "long", "vke_group_label": "ng"}})
    async with running_simulator(config, hook=hook) as sim:
        await sim.advance(0)
    worker = hook.events[0][1]
    assert worker.provider_id() == f"vpsie://{worker.dc_identifier}/{CLUSTER}/{worker.identifier}"
    assert worker.bridge.vke_group_label == "ng"


async def test_a_killed_worker_goes_not_ready_then_disappears(
    sim: Sim, hook: RecordingHook
) -> None:
    (name, node) = next(iter((await workers(sim)).items()))
    answer = await sim.post(f"/__sim/vms/{node['identifier']}/kill", auth=False)
    assert answer.status == 200
    assert hook.stages(name) == ["registered", "ready", "lost"]
    assert (await workers(sim))[name]["status"] == "stopped"
    await sim.advance(10)
    assert hook.stages(name) == ["registered", "ready", "lost", "deleted"]
    assert name not in await workers(sim)
    assert (await sim.groups())[SMALL]["nodes_count"] == 0
    assert (await sim.post(f"/__sim/vms/{node['identifier']}/kill", auth=False)).status == 404
