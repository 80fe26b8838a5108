"""V1-V5 and the VM provider end to end against the simulator, under both VM prefixes.

Each test runs once per prefix, with the simulator serving only that prefix, so a request
sent under the other one would be a 404. The V4 body is checked in the simulator's call log
(flags as the strings ``"0"``/``"1"``, ``projectId`` as a string, ``userData`` present and
redacted there) and ``userData`` itself where the simulator hands it on: the Node hook.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from pydantic import SecretStr

from autoscaler.vpsie import CreateHandle, Resolution, VmProvider, Worker, WorkerState
from autoscaler.vpsie.templates import GI, MI
from autoscaler.vpsie.types import PendingVm, Price, Vm, VmCreate
from tests.contract import (
    DC,
    OS,
    PASSWORD,
    PLAN,
    PREFIX_KNOB,
    PREFIXES,
    PROJECT,
    USER_DATA,
    Connected,
    Contract,
    vm_group,
)

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

WEB = vm_group("web")
LIST_DELAY, RUN_DELAY, JOIN_DELAY, DELETE_DELAY = 20, 40, 60, 10  # simulator defaults
FLAGS = {
    "addPublicIpV4": "1",
    "addPublicIpV6": "0",
    "addPrivateIp": "1",
    "backupEnabled": "0",
    "weeklyBackupEnabled": "0",
    "monthlyBackupEnabled": "0",
}


@pytest.fixture(params=PREFIXES)
async def client(contract: Contract, request: pytest.FixtureRequest) -> AsyncIterator[Connected]:
    """A vm-mode client on one prefix; the simulator serves that prefix only and, like the
    live API, ignores create flags that are not strings."""
    prefix: str = request.param
    await contract.set_faults(
        knobs={"shape": {"vm_prefixes": PREFIX_KNOB[prefix], "numeric_flags_ignored": True}}
    )
    async with contract.connect(contract.config("vm", vm_prefix=prefix)) as connected:
        yield connected


def create_body(hostname: str) -> VmCreate:
    return VmCreate(
        resource_identifier=PLAN, os_identifier=OS, dc_identifier=DC, hostname=hostname,
        project_id=PROJECT, user_data=SecretStr(USER_DATA), tags=("contract",),
    )  # fmt: skip


def ours(vms: list[Vm]) -> list[Vm]:
    """The VMs of this test (V1 also lists the VKE workers, mirrored)."""
    return [v for v in vms if (v.hostname or "").startswith("va-")]


async def resolve(provider: VmProvider, handle: CreateHandle) -> Worker:
    answer = await provider.resolve(handle)
    assert answer.worker is not None, answer
    return answer.worker


async def test_the_vm_endpoints_follow_a_vm_through_its_life(
    contract: Contract, client: Connected
) -> None:
    api, prefix = client.api, client.config.vm_prefix
    await api.create_vm(create_body("va-web-k3m9q2aa"))  # answers with no identifier
    [pending] = await api.list_pending()
    assert pending == PendingVm(pending.id, "va-web-k3m9q2aa", PLAN, DC, PROJECT)
    assert ours(await api.list_vms()) == []  # accepted, queued, not listed yet
    await contract.advance(LIST_DELAY)
    [sim_vm] = await contract.machines(kind="vm")
    [listed] = ours(await api.list_vms())
    assert listed.hostname == "va-web-k3m9q2aa"
    assert listed.identifier == sim_vm["identifier"]
    assert (listed.is_active, listed.power, listed.running) == (False, False, False)
    assert await api.list_pending() == []
    await contract.advance(RUN_DELAY - LIST_DELAY)
    vm = await api.get_vm(sim_vm["identifier"])
    assert vm is not None
    assert (vm.is_active, vm.power, vm.running) == (True, True, True)
    assert (vm.default_ip, vm.private_ip) == (sim_vm["default_ip"], sim_vm["private_ip"])
    assert (vm.project_id, vm.boxsize_id, vm.cpu, vm.ram_mb, vm.ssd_gb) == (
        PROJECT, 31, 2, 4096, 80,
    )  # fmt: skip
    assert ours(await api.list_vms(project_id=PROJECT)) == [vm]
    assert await api.list_vms(project_id=999) == []

    deleted = await api.delete_vm(vm.identifier, password=SecretStr(PASSWORD), reason="test")
    assert deleted is True
    [marked] = ours(await api.list_vms())
    assert marked.identifier == vm.identifier
    assert (marked.deleted, marked.gone) == (True, True)
    await contract.advance(DELETE_DELAY)
    assert ours(await api.list_vms()) == []
    assert await api.get_vm(vm.identifier) is None
    assert await api.delete_vm(vm.identifier, password=SecretStr(PASSWORD), reason="t") is False
    [gone] = await contract.machines(kind="vm")
    assert gone["state"] == "deleted"  # the admin view keeps it

    paths = {(c["route_id"], c["path"]) for c in await contract.calls() if c["route_id"]}
    assert {p for r, p in paths if r in ("V1", "V2", "V4", "V5")} <= {
        prefix, f"{prefix}/{vm.identifier}",
    }  # fmt: skip
    assert {p for r, p in paths if r == "V3"} == {"/apps/v2/vm/pending"}
    [v5, _] = await contract.calls("V5")
    assert v5["body"] == {
        "vmIdentifier": vm.identifier,
        "password": "<redacted>",
        "deleteStatistic": {"reason": "test", "note": "deleted by vpsie-autoscaler"},
    }
    assert await contract.statuses("V5") == [200, 404]


async def test_the_create_body_carries_string_flags_and_base64_user_data(
    contract: Contract, client: Connected
) -> None:
    await client.api.create_vm(create_body("va-web-abcdefgh"))
    [v4] = await contract.calls("V4")
    assert v4["path"] == client.config.vm_prefix
    assert v4["body"] == FLAGS | {
        "resourceIdentifier": PLAN,
        "osIdentifier": OS,
        "dcIdentifier": DC,
        "hostname": "va-web-abcdefgh",
        "projectId": str(PROJECT),
        "tags": ["contract"],
        "userData": "<redacted>",  # sent, and kept out of the simulator's call log
    }
    await contract.advance(JOIN_DELAY)
    [(stage, record)] = contract.hooked("va-web-abcdefgh")
    assert stage == "registered"
    assert record.user_data == base64.b64encode(USER_DATA.encode()).decode()
    assert record.user_data_text() == USER_DATA
    [vm] = await contract.machines(kind="vm")
    assert vm["default_ip"]  # string flags were honoured
    assert vm["private_ip"]


async def test_a_worker_is_created_run_and_deleted_by_the_provider(
    contract: Contract, client: Connected
) -> None:
    provider = client.vm
    [status] = await provider.list_groups([WEB])
    assert (status.size, status.workers) == (0, ())  # the mirrored VKE worker is not ours
    template = await provider.node_template(WEB)
    assert dict(template.capacity) == {
        "cpu": 2000, "memory": 4096 * MI, "ephemeral-storage": 80 * GI, "pods": 110,
    }  # fmt: skip
    assert await provider.price(WEB) == Price(Decimal(20), Decimal(20) / 730)

    intent = provider.prepare_create(WEB)
    assert intent.hostname is not None
    assert intent.hostname.startswith("va-web-")
    handle = await provider.create_worker(WEB, intent=intent)
    [v4] = await contract.calls("V4")
    assert {k: v4["body"][k] for k in FLAGS} == FLAGS
    assert v4["body"]["userData"] == "<redacted>"
    assert v4["body"]["tags"] == ["vpsie-autoscaler", "ng-web", "contract"]
    early = await provider.resolve(handle)
    assert early.state is Resolution.PENDING
    assert early.worker is not None
    assert early.worker.state is WorkerState.PENDING  # found in V3 by hostname
    [status] = await provider.list_groups([WEB])
    assert status.size == 1

    waited = 0
    worker = await resolve(provider, handle)
    while worker.state is not WorkerState.RUNNING:
        assert waited < 300, worker
        await contract.advance(5)
        waited += 5
        worker = await resolve(provider, handle)
    assert waited == RUN_DELAY
    [sim_vm] = await contract.machines(kind="vm")
    assert (worker.hostname, worker.identifier) == (intent.hostname, sim_vm["identifier"])
    assert (worker.public_ip, worker.private_ip) == (sim_vm["default_ip"], sim_vm["private_ip"])
    await contract.advance(JOIN_DELAY - RUN_DELAY)
    [(_, record)] = contract.hooked(intent.hostname)
    assert record.user_data_text() == USER_DATA

    assert await provider.delete_worker(WEB, hostname=worker.hostname,
                                        identifier=worker.identifier) is True  # fmt: skip
    [status] = await provider.list_groups([WEB])
    assert (status.size, [w.state for w in status.workers]) == (0, [WorkerState.DELETING])
    await contract.advance(DELETE_DELAY)
    [status] = await provider.list_groups([WEB])
    assert status.workers == ()
    [gone] = await contract.machines(kind="vm")
    assert gone["state"] == "deleted"
    assert await provider.delete_worker(WEB, hostname=worker.hostname,
                                        identifier=worker.identifier) is False  # fmt: skip
    assert await contract.statuses("V5") == [200]
