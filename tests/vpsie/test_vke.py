"""The VKE provider against a small stateful fake of K2-K6 (claims, unknown outcomes, deletes)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from autoscaler.clock import LoopClock
from autoscaler.vpsie import errors
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.http import HttpClient
from autoscaler.vpsie.provider import (
    CreateHandle,
    CreateIntent,
    Provider,
    Resolution,
    VkeGroupSpec,
    WorkerState,
)
from autoscaler.vpsie.types import Price
from autoscaler.vpsie.vke import VkeProvider
from tests.vpsie.scripted import HTML_502, Reply, ScriptedVPSie, Seen, fail, ok

pytestmark = pytest.mark.looptime

CID = "c-1"
BASE = f"/apps/v2/k8s/cluster/byId/{CID}"
K3 = f"/apps/v2/k8s/node/groups/byClusterId/{CID}"
K5 = f"{BASE}/delete/slave"
WEB = VkeGroupSpec(name="web", group_id=7)
BIG = VkeGroupSpec(name="big", group_name="BIG")


def k4(gid: int) -> str:
    return f"{BASE}/add/slave/group/{gid}"


class FakeVke:
    """K2/K3/K4/K5 over a little state; new nodes are listed ``list_delay`` s after K4."""

    def __init__(self, server: ScriptedVPSie, *, list_delay: float = 20.0) -> None:
        self.server = server
        self.list_delay = list_delay
        self.groups: dict[int, dict[str, Any]] = {
            7: {"id": 7, "group_name": "web", "boxsize_id": 31, "cpu": 2, "ram": 4096, "ssd": 80,
                "nodes_count": 1, "dcIdentifier": "dc", "is_active": 1},
            8: {"id": 8, "group_name": "big", "boxsize_id": 32, "cpu": 4, "ram": 8192, "ssd": 160,
                "nodes_count": 0, "dcIdentifier": "dc", "is_active": 1},
        }  # fmt: skip
        self.nodes: list[dict[str, Any]] = [
            {"id": 1, "identifier": "m-1", "hostname": "c-master", "node_type": "master"},
            {"id": 2, "identifier": "w-2", "hostname": "c-web-aaaaa", "cpu": 2, "ram": 4096},
        ]
        self.coming: list[tuple[float, dict[str, Any]]] = []
        self.serial = 10
        self.sizes_in_k2 = True
        self.hostname_case = str.lower
        server.always("GET", BASE, self.k2)
        server.always("GET", K3, self.k3)
        server.always("POST", k4(7), lambda seen: self.k4(seen, 7))
        server.always("POST", k4(8), lambda seen: self.k4(seen, 8))
        server.always("DELETE", K5, self.k5)

    def k2(self, seen: Seen) -> Reply:
        due = [n for t, n in self.coming if t <= seen.time]
        self.coming = [(t, n) for t, n in self.coming if t > seen.time]
        self.nodes += due
        return ok({"identifier": CID, "nodes": self.nodes})

    def k3(self, seen: Seen) -> Reply:
        return ok(list(self.groups.values()))

    def commit(self, seen: Seen, gid: int) -> dict[str, Any]:
        self.serial += 1
        group = self.groups[gid]
        group["nodes_count"] += 1
        node: dict[str, Any] = {
            "id": self.serial,
            "identifier": f"n-{self.serial}",
            "hostname": self.hostname_case(f"c-{group['group_name']}-{self.serial:05d}"),
        }
        if self.sizes_in_k2:
            node |= {"cpu": group["cpu"], "ram": group["ram"]}
        self.coming.append((seen.time + self.list_delay, node))
        return node

    def k4(self, seen: Seen, gid: int) -> Reply:
        self.commit(seen, gid)
        return ok(True)

    def k5(self, seen: Seen) -> Reply:
        ident = seen.json["identifier"]
        before = len(self.nodes)
        self.nodes = [n for n in self.nodes if n.get("identifier") != ident]
        return ok() if len(self.nodes) < before else fail("Node not found", status=404)


@pytest.fixture
def vke(server: ScriptedVPSie) -> FakeVke:
    return FakeVke(server)


@pytest.fixture
async def provider(http: HttpClient) -> VkeProvider:
    return VkeProvider(
        api=VPSieApi(http), cluster=CID, clock=LoopClock(), availability=lambda: http.available
    )


async def create(provider: VkeProvider, spec: VkeGroupSpec) -> CreateHandle:
    return await provider.create_worker(spec, intent=provider.prepare_create(spec))


def test_vke_provider_is_a_provider(provider: VkeProvider) -> None:
    typed: Provider = provider
    assert typed.mode == "vke"


async def test_new_worker_is_identified_by_diffing_the_group(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    handle = await create(provider, WEB)
    assert handle.identifier is None
    order = [r.path for r in server.calls()]
    assert order == [BASE, K3, k4(7)]  # snapshot before the add
    assert (await provider.resolve(handle)).state is Resolution.PENDING
    await asyncio.sleep(20)
    resolved = await provider.resolve(handle)
    assert resolved.state is Resolution.RESOLVED
    assert resolved.worker is not None
    assert (resolved.worker.identifier, resolved.worker.hostname) == ("n-11", "c-web-00011")
    assert resolved.worker.provider_id == "vpsie://n-11"
    assert resolved.worker.state is WorkerState.RUNNING
    assert len(server.calls("POST")) == 1


async def test_polls_of_many_creates_share_one_listing(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    handles = [await create(provider, WEB) for _ in range(4)]
    before = len(server.calls())
    await asyncio.sleep(20)

    answers = await asyncio.gather(*(provider.resolve(h) for h in handles))

    assert {a.state for a in answers} == {Resolution.RESOLVED}
    assert len({a.worker.identifier for a in answers if a.worker}) == 4
    assert [r.path for r in server.calls()[before:]] == [BASE, K3]  # one K2 and one K3


async def test_identifier_in_the_add_answer_settles_at_once(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    def answer(seen: Seen) -> Reply:
        node = vke.commit(seen, 7)
        return ok({"id": node["id"], "identifier": node["identifier"], "status": "creating"})

    server.on("POST", k4(7), answer)
    handle = await create(provider, WEB)
    assert handle.identifier == "n-11"
    resolved = await provider.resolve(handle)
    assert resolved.state is Resolution.RESOLVED
    assert resolved.worker is not None
    assert resolved.worker.state is WorkerState.PENDING  # not listed yet
    await asyncio.sleep(20)
    assert (await provider.resolve(handle)).worker.state is WorkerState.RUNNING  # type: ignore[union-attr]


async def test_concurrent_adds_are_serialised_and_attributed_by_size(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    vke.list_delay = 30

    def slow_add(seen: Seen) -> Reply:
        vke.commit(seen, 7)
        return Reply(json={"error": False, "data": True}, delay=2)

    server.on("POST", k4(7), slow_add)
    web, big = await asyncio.gather(create(provider, WEB), create(provider, BIG))
    adds = server.calls("POST")
    later_snapshot = [r for r in server.calls("GET", BASE) if r.time > adds[0].time]
    assert (
        later_snapshot[0].time >= adds[0].time + 2
    )  # the second snapshot waited for the first add
    vke.coming.reverse()  # the big node is listed first
    await asyncio.sleep(40)
    assert (await provider.resolve(big)).worker.hostname == "c-big-00012"  # type: ignore[union-attr]
    assert (await provider.resolve(web)).worker.hostname == "c-web-00011"  # type: ignore[union-attr]


async def test_sizes_from_vm_records_when_nodes_carry_none(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    vke.sizes_in_k2 = False
    vke.hostname_case = str.upper
    web, big = await create(provider, WEB), await create(provider, BIG)
    vke.coming.reverse()
    await asyncio.sleep(20)
    vms = [
        {"identifier": "v1", "hostname": "c-web-00011", "cpu": 2, "ram": 4096, "boxsize_id": 31},
        {"identifier": "v2", "hostname": "c-big-00012", "cpu": 4, "ram": 8192, "boxsize_id": 32},
    ]
    server.always("GET", "/api/v2/vm", ok(vms))
    assert (await provider.resolve(web)).worker.identifier == "n-11"  # type: ignore[union-attr]
    assert (await provider.resolve(big)).worker.identifier == "n-12"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "failure", [pytest.param(HTML_502, id="502"), pytest.param(Reply(hang=True), id="timeout")]
)
async def test_lost_answer_of_an_accepted_add_is_confirmed_by_the_listing(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider, failure: Reply
) -> None:
    def commit_then_fail(seen: Seen) -> Reply:
        vke.commit(seen, 7)
        return failure

    server.on("POST", k4(7), commit_then_fail)
    handle = await create(provider, WEB)
    assert handle.confirmed_by_listing
    assert len(server.calls("POST")) == 1
    await asyncio.sleep(20)
    assert (await provider.resolve(handle)).state is Resolution.RESOLVED


async def test_unknown_outcome_without_growth_fails_after_three_minutes(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    server.on("POST", k4(7), HTML_502)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(errors.UnknownOutcome) as info:
        await create(provider, WEB)
    assert info.value.verified_absent
    assert 180 <= loop.time() - start <= 191
    assert len(server.calls("POST")) == 1  # never re-sent
    assert provider.claims.claims() == []


async def test_quota_refusal_opens_no_claim(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    server.on("POST", k4(7), fail("Worker nodes count exceeds the allowed limit"))
    with pytest.raises(errors.QuotaExceeded):
        await create(provider, WEB)
    assert provider.claims.claims() == []


async def test_restarted_provider_does_not_know_the_claim(provider: VkeProvider) -> None:
    handle = CreateHandle(CreateIntent("web", "old-attempt"), 0.0)
    assert (await provider.resolve(handle)).state is Resolution.LOST


async def test_delete_by_hostname_ignores_case(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    assert await provider.delete_worker(WEB, hostname="C-WEB-AAAAA", identifier=None)
    assert server.calls("DELETE")[0].json == {"identifier": "w-2"}
    assert not server.unscripted


async def test_delete_of_a_gone_node_is_success(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    assert not await provider.delete_worker(WEB, hostname="c-web-zzzzz", identifier=None)
    assert server.calls("DELETE") == []
    vke.nodes.append({"id": 3, "identifier": "w-3", "hostname": "c-web-bbbbb"})
    server.on("DELETE", K5, fail("Node not found", status=404))
    assert not await provider.delete_worker(WEB, hostname="c-web-bbbbb", identifier="w-3")


@pytest.mark.parametrize(
    ("hostname", "identifier"),
    [
        pytest.param("c-web-noid0", None, id="no-identifier"),
        pytest.param("c-master", None, id="control-plane"),
        pytest.param("c-web-aaaaa", "other", id="identifier-mismatch"),
        pytest.param("c-web-elsewhere", "w-2", id="identifier-of-another-host"),
    ],
)
async def test_nodes_that_are_never_deleted(
    server: ScriptedVPSie,
    vke: FakeVke,
    provider: VkeProvider,
    hostname: str,
    identifier: str | None,
) -> None:
    vke.nodes.append({"id": 4, "hostname": "c-web-noid0"})
    with pytest.raises(errors.NotDeletable):
        await provider.delete_worker(WEB, hostname=hostname, identifier=identifier)
    assert server.calls("DELETE") == []


async def test_list_groups_attributes_workers(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    web, big = await provider.list_groups([WEB, BIG])
    assert (web.size, [w.identifier for w in web.workers]) == (1, ["w-2"])
    assert (big.size, big.workers) == (0, ())
    assert big.vpsie_group is not None
    assert big.vpsie_group.id == 8  # found by name, ignoring case


async def test_node_template_and_price_from_the_offer(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    offers = [{"id": 31, "cpu": 2, "ram": 4096, "disk": 80, "price": "20", "hourly_price": "0.03"}]
    server.on("POST", "/apps/v2/k8s/offers", ok(offers))
    template = await provider.node_template(WEB)
    assert template.quantities() == {
        "capacity": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "80Gi", "pods": "110"},
        "allocatable": {
            "cpu": "1900m",
            "memory": "3740Mi",
            "ephemeral-storage": "72Gi",
            "pods": "110",
        },
    }
    assert await provider.price(WEB) == Price(Decimal(20), Decimal("0.03"))
    assert await provider.price(WEB) == Price(Decimal(20), Decimal("0.03"))  # cached
    assert len(server.calls("POST", "/apps/v2/k8s/offers")) == 1


async def test_price_is_unknown_when_offers_fail(
    server: ScriptedVPSie, vke: FakeVke, provider: VkeProvider
) -> None:
    server.always("POST", "/apps/v2/k8s/offers", fail("nope", status=400))
    assert await provider.price(WEB) == Price(None, None)


async def test_a_missing_cluster_is_never_read_as_gone(
    server: ScriptedVPSie, provider: VkeProvider
) -> None:
    server.always("GET", BASE, fail("Cluster not found", status=404))
    with pytest.raises(errors.ApiError, match="cluster"):
        await provider.delete_worker(WEB, hostname="c-web-aaaaa", identifier=None)
    assert server.calls("DELETE") == []
