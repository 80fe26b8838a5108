"""The VM provider against a small stateful fake of V1-V7."""

from __future__ import annotations

import asyncio
import base64
import random
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from autoscaler.clock import LoopClock
from autoscaler.vpsie import errors
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.hostnames import HostnameMinter, is_valid_hostname
from autoscaler.vpsie.http import HttpClient
from autoscaler.vpsie.provider import Provider, Resolution, VmGroupSpec, WorkerState
from autoscaler.vpsie.types import Price
from autoscaler.vpsie.vm import VmDefaults, VmProvider
from tests.vpsie.scripted import HTML_502, Reply, ScriptedVPSie, Seen, fail, ok

pytestmark = pytest.mark.looptime

VM = "/api/v2/vm"
PENDING = "/apps/v2/vm/pending"
PASSWORD = "account-pw-77"
CLOUD_INIT = "#cloud-config\nruncmd: [kubeadm join --token abcdef.0123456789abcdef]\n"
WEB = VmGroupSpec(
    name="web",
    plan_identifier="plan-s",
    category_identifier="cat",
    user_data=SecretStr(CLOUD_INIT),
    ssh_key_identifier="key-1",
)


class FakeVm:
    """V1-V5 over a little state: queued, listed after 20 s, running after 40 s."""

    def __init__(self, server: ScriptedVPSie) -> None:
        self.vms: list[dict[str, Any]] = []
        self.pending: list[tuple[float, dict[str, Any]]] = []
        self.serial = 100
        server.always("GET", VM, self.v1)
        server.always("GET", PENDING, self.v3)
        server.always("POST", VM, self.v4)
        server.always("DELETE", VM, self.v5)

    def _advance(self, now: float) -> None:
        for t, entry in list(self.pending):
            if now >= t + 20:
                self.pending.remove((t, entry))
                self.serial += 1
                self.vms.append(
                    {"id": self.serial, "identifier": f"vm-{self.serial}", "born": t,
                     "hostname": entry["data"]["hostname"], "projectId": 880, "is_active": 0,
                     "power": 0, "default_ip": None, "initial_password": "root-pw-secret"}
                )  # fmt: skip
        for vm in self.vms:
            if now >= vm.get("born", -100) + 40:
                vm |= {"is_active": 1, "power": 1, "default_ip": "198.51.100.7"}

    def v1(self, seen: Seen) -> Reply:
        self._advance(seen.time)
        return ok(self.vms, total=len(self.vms))

    def v3(self, seen: Seen) -> Reply:
        self._advance(seen.time)
        return ok([e for _, e in self.pending])

    def commit(self, seen: Seen) -> None:
        body = seen.json
        data = {k: (v == "1" if k.startswith("add") else v) for k, v in body.items()}
        self.pending.append((seen.time, {"id": str(len(self.pending) + 1), "data": data}))

    def v4(self, seen: Seen) -> Reply:
        self.commit(seen)
        return ok(True)

    def v5(self, seen: Seen) -> Reply:
        body = seen.json
        if body["password"] != PASSWORD:
            return fail("You entered the wrong password")
        before = len(self.vms)
        self.vms = [v for v in self.vms if v["identifier"] != body["vmIdentifier"]]
        return ok() if len(self.vms) < before else fail("VM not found", status=404)

    def add(self, hostname: str, **fields: Any) -> dict[str, Any]:
        self.serial += 1
        vm = {"id": self.serial, "identifier": f"vm-{self.serial}", "hostname": hostname,
              "is_active": 1, "power": 1, "default_ip": "203.0.113.9"} | fields  # fmt: skip
        self.vms.append(vm)
        return vm


@pytest.fixture
def fake(server: ScriptedVPSie) -> FakeVm:
    return FakeVm(server)


@pytest.fixture
async def provider(http: HttpClient) -> VmProvider:
    defaults = VmDefaults(
        account_password=SecretStr(PASSWORD), dc_identifier="dc", os_identifier="os",
        project_id=880, hostname_prefix="va",
    )  # fmt: skip
    return VmProvider(
        api=VPSieApi(http), defaults=defaults, clock=LoopClock(),
        minter=HostnameMinter(rand=random.Random(3)),
    )  # fmt: skip


def test_vm_provider_is_a_provider(provider: VmProvider) -> None:
    typed: Provider = provider
    assert typed.mode == "vm"


async def test_create_sends_the_contract_body_once(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    intent = provider.prepare_create(WEB)
    assert intent.hostname is not None
    assert is_valid_hostname(intent.hostname)
    assert intent.hostname.startswith("va-web-")
    handle = await provider.create_worker(WEB, intent=intent)
    assert handle.hostname == intent.hostname
    [post] = server.calls("POST", VM)
    body = post.json
    assert body["resourceIdentifier"] == "plan-s"
    assert (body["osIdentifier"], body["dcIdentifier"], body["projectId"]) == ("os", "dc", "880")
    assert (body["addPublicIpV4"], body["addPrivateIp"], body["addPublicIpV6"]) == ("1", "1", "0")
    assert base64.b64decode(body["userData"]).decode() == CLOUD_INIT
    assert body["sshKeyIdentifier"] == "key-1"
    assert body["tags"] == ["vpsie-autoscaler", "ng-web"]


async def test_new_vm_is_found_by_hostname_through_its_stages(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    handle = await provider.create_worker(WEB, intent=provider.prepare_create(WEB))
    queued = await provider.resolve(handle)
    assert (queued.state, queued.worker and queued.worker.state) == (
        Resolution.PENDING, WorkerState.PENDING,
    )  # fmt: skip
    await asyncio.sleep(20)
    listed = await provider.resolve(handle)
    assert listed.state is Resolution.RESOLVED
    assert listed.worker is not None
    assert (listed.worker.identifier, listed.worker.state) == ("vm-101", WorkerState.PROVISIONING)
    await asyncio.sleep(20)
    running = await provider.resolve(handle)
    assert running.worker is not None
    assert (running.worker.state, running.worker.public_ip) == (WorkerState.RUNNING, "198.51.100.7")


@pytest.mark.parametrize("failure", [HTML_502, Reply(hang=True)], ids=["502", "timeout"])
async def test_lost_answer_is_settled_by_searching_for_the_hostname(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider, failure: Reply
) -> None:
    def commit_then_fail(seen: Seen) -> Reply:
        fake.commit(seen)
        return failure

    server.on("POST", VM, commit_then_fail)
    handle = await provider.create_worker(WEB, intent=provider.prepare_create(WEB))
    assert handle.confirmed_by_listing
    assert len(server.calls("POST", VM)) == 1


async def test_unknown_outcome_without_the_hostname_fails_and_the_next_try_is_renamed(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    server.on("POST", VM, HTML_502)
    first = provider.prepare_create(WEB)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(errors.UnknownOutcome) as info:
        await provider.create_worker(WEB, intent=first)
    assert info.value.verified_absent
    assert 180 <= loop.time() - start <= 191
    assert len(server.calls("POST", VM)) == 1
    assert provider.prepare_create(WEB).hostname != first.hostname


async def test_quota_refusal(server: ScriptedVPSie, fake: FakeVm, provider: VmProvider) -> None:
    server.on("POST", VM, fail("VM count exceeds the allowed limit"))
    with pytest.raises(errors.QuotaExceeded):
        await provider.create_worker(WEB, intent=provider.prepare_create(WEB))


async def test_foreign_hostname_is_refused_before_any_call(
    server: ScriptedVPSie, provider: VmProvider
) -> None:
    intent = provider.prepare_create(VmGroupSpec(name="db", plan_identifier="p"))
    with pytest.raises(ValueError, match="minted"):
        await provider.create_worker(WEB, intent=intent)
    assert server.calls() == []


async def test_delete_sends_identifier_password_and_reason(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    vm = fake.add("VA-WEB-ABCD1234")
    assert await provider.delete_worker(
        WEB, hostname="va-web-abcd1234", identifier=vm["identifier"]
    )
    [delete] = server.calls("DELETE", VM)
    assert delete.json["vmIdentifier"] == vm["identifier"]
    assert delete.json["password"] == PASSWORD
    assert delete.json["deleteStatistic"]["reason"]


async def test_delete_by_hostname_and_of_a_gone_vm(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    fake.add("va-web-abcd1234")
    assert await provider.delete_worker(WEB, hostname="va-web-abcd1234", identifier=None)
    assert not await provider.delete_worker(WEB, hostname="va-web-abcd1234", identifier=None)
    assert len(server.calls("DELETE", VM)) == 1


async def test_wrong_password_latches_deletes_off(
    server: ScriptedVPSie, fake: FakeVm, http: HttpClient
) -> None:
    defaults = VmDefaults(account_password=SecretStr("wrong"), hostname_prefix="va")
    provider = VmProvider(api=VPSieApi(http), defaults=defaults, clock=LoopClock())
    fake.add("va-web-abcd1234")
    for _ in range(2):
        with pytest.raises(errors.BadAccountPassword):
            await provider.delete_worker(WEB, hostname="va-web-abcd1234", identifier=None)
    assert len(server.calls("DELETE", VM)) == 1  # the second was never sent
    assert len(fake.vms) == 1  # the VM is not counted as gone
    assert provider.deletes_disabled


@pytest.mark.parametrize("hostname", ["va-db-abcd1234", "someone-elses-vm", "va-web-abcd1234-x"])
async def test_vms_of_others_are_never_deleted(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider, hostname: str
) -> None:
    fake.add(hostname)
    with pytest.raises(errors.NotDeletable):
        await provider.delete_worker(WEB, hostname=hostname, identifier=None)
    assert server.calls("DELETE") == []


async def test_list_groups_counts_listed_and_queued_vms_by_prefix(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    fake.add("va-web-aaaaaaaa")
    fake.add("va-web-bbbbbbbb", is_deleted=1)
    fake.add("va-db-cccccccc")
    fake.add("unrelated")
    await provider.create_worker(WEB, intent=provider.prepare_create(WEB))
    [web] = await provider.list_groups([WEB])
    states = sorted(w.state.value for w in web.workers)
    assert states == ["deleting", "pending", "running"]
    assert web.size == 2


async def test_node_template_and_price_from_the_plan(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    plans = [
        {"identifier": "plan-xs", "cpu": 1, "ram": 1024, "ssd": 20, "price": 5},
        {"identifier": "plan-s", "cpu": 2, "ram": 4096, "ssd": 80, "price": "14.60"},
    ]
    server.on("POST", "/apps/v2/resources", ok(plans))
    template = await provider.node_template(WEB)
    assert template.allocatable["cpu"] == 1900
    assert template.allocatable["memory"] == (4096 - 356) * 2**20
    assert await provider.price(WEB) == Price(Decimal("14.60"), Decimal("0.02"))
    [plans_call] = server.calls("POST", "/apps/v2/resources")
    assert plans_call.form["planCatIdentifier"] == "cat"


async def test_plan_is_searched_in_every_category(
    server: ScriptedVPSie, fake: FakeVm, provider: VmProvider
) -> None:
    spec = VmGroupSpec(name="web", plan_identifier="plan-d")
    server.on(
        "GET", "/api/v2/plans/category", ok([{"identifier": "shared"}, {"identifier": "dedicated"}])
    )
    server.on(
        "POST",
        "/apps/v2/resources",
        ok([]),
        ok([{"identifier": "plan-d", "cpu": 8, "ram": 16384, "price": 80}]),
    )
    assert (await provider.price(spec)).monthly == Decimal(80)
    categories = [c.form["planCatIdentifier"] for c in server.calls("POST", "/apps/v2/resources")]
    assert categories == ["shared", "dedicated"]


async def test_a_missing_vm_route_is_never_read_as_gone(
    server: ScriptedVPSie, provider: VmProvider
) -> None:
    server.always("GET", VM, fail("Route not found", status=404))
    with pytest.raises(errors.NotFound):
        await provider.delete_worker(WEB, hostname=None, identifier="vm-1")
    assert server.calls("DELETE") == []
