"""K2-K5 and the VKE provider end to end against the simulator.

A worker is added (K4), identified by the claim diff once the simulator lists it, sized and
priced from the group and its k8s offer, deleted by identifier (K5) and seen gone. The
simulator's own record of which group each worker was requested for (``claims`` in
``/__sim/state``) is the ground truth for attribution.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from autoscaler.vpsie import (
    CreateHandle,
    NotDeletable,
    NotFound,
    Resolution,
    VkeGroupSpec,
    VkeProvider,
    Worker,
    WorkerState,
)
from autoscaler.vpsie.templates import GI, MI
from autoscaler.vpsie.types import AddedWorker, NodeGroup, Price
from tests.contract import CLUSTER, DC, K4, K5, K8, LARGE, PROJECT, SMALL, Connected, Contract

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

SMALL_SPEC = VkeGroupSpec(name="small", group_id=SMALL)
LARGE_SPEC = VkeGroupSpec(name="large", group_name="large")
LIST_DELAY, RUN_DELAY, DELETE_DELAY = 20, 40, 10  # the simulator's default stage times


async def create(provider: VkeProvider, spec: VkeGroupSpec) -> CreateHandle:
    return await provider.create_worker(spec, intent=provider.prepare_create(spec))


async def resolved(provider: VkeProvider, handle: CreateHandle) -> Worker:
    answer = await provider.resolve(handle)
    assert answer.state is Resolution.RESOLVED, answer
    assert answer.worker is not None
    return answer.worker


async def claims(contract: Contract) -> dict[str, Any]:
    """The simulator's claims: which group each worker was requested for, by hostname."""
    return (await contract.state())["claims"]  # type: ignore[no-any-return]


async def test_the_cluster_lists_its_nodes_as_the_simulator_has_them(
    contract: Contract, vke: Connected
) -> None:
    cluster = await vke.api.get_cluster(CLUSTER)
    [sim_cluster] = (await contract.state())["clusters"]
    assert (cluster.identifier, cluster.name) == (CLUSTER, "demo")
    assert [(n.id, n.identifier, n.hostname, n.private_ip) for n in cluster.nodes] == [
        (n["id"], n["identifier"], n["hostname"], n["private_ip"]) for n in sim_cluster["nodes"]
    ]
    master, worker = cluster.nodes
    assert (master.node_type, worker.node_type) == ("master", "slave")
    assert (worker.cpu, worker.ram_mb, worker.disk_gb) == (2, 4096, 80)


async def test_an_unknown_cluster_is_not_found(vke: Connected) -> None:
    with pytest.raises(NotFound):
        await vke.api.get_cluster("c9999999-0000-4000-8000-000000000000")


async def test_node_groups_are_read_with_size_and_count(vke: Connected) -> None:
    groups = await vke.api.list_node_groups(CLUSTER)
    assert groups == [
        NodeGroup(SMALL, "e1000000-0000-4000-8000-000000000011", "small", 101, 2, 4096, 80, 1,
                  DC, PROJECT, active=True),
        NodeGroup(LARGE, "e1000000-0000-4000-8000-000000000012", "large", 102, 4, 8192, 160, 0,
                  DC, PROJECT, active=True),
    ]  # fmt: skip


async def test_k4_sends_no_body_and_the_count_rises_at_once(
    contract: Contract, vke: Connected
) -> None:
    assert await vke.api.add_worker(CLUSTER, LARGE) is None  # data: true
    [k4] = await contract.calls("K4")
    assert (k4["path"], k4["body"], k4["status"]) == (f"{_base()}/add/slave/group/{LARGE}", {}, 200)
    [_, large] = await vke.api.list_node_groups(CLUSTER)
    assert large.nodes_count == 1


async def test_k4_answers_with_the_node_under_the_object_knob(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults(knobs={"shape": {"add_slave_returns": "object"}})
    added = await vke.api.add_worker(CLUSTER, LARGE)
    [(hostname, claim)] = (await claims(contract)).items()
    assert added is not None
    assert added == AddedWorker(added.id, claim["identifier"], hostname, "provisioning")
    await contract.advance(LIST_DELAY)
    [listed] = [n for n in (await vke.api.get_cluster(CLUSTER)).nodes if n.hostname == hostname]
    assert (listed.id, listed.identifier) == (added.id, added.identifier)  # the same node row


async def test_k4_on_an_unknown_group_is_not_found(contract: Contract, vke: Connected) -> None:
    with pytest.raises(NotFound):
        await vke.api.add_worker(CLUSTER, 999)
    assert await contract.statuses("K4") == [404]


async def test_k5_deletes_by_identifier_and_then_reports_gone(
    contract: Contract, vke: Connected
) -> None:
    [initial] = await contract.workers_of(SMALL)
    assert await vke.api.delete_worker(CLUSTER, initial["identifier"]) is True
    [k5] = await contract.calls("K5")
    assert k5["body"] == {"identifier": initial["identifier"]}  # a JSON body on DELETE
    await contract.advance(DELETE_DELAY)
    assert await vke.api.delete_worker(CLUSTER, initial["identifier"]) is False
    assert await contract.statuses("K5") == [200, 404]


async def test_a_worker_is_added_identified_priced_and_deleted(
    contract: Contract, vke: Connected
) -> None:
    provider = vke.vke
    [small, large] = await provider.list_groups([SMALL_SPEC, LARGE_SPEC])
    assert (small.size, large.size) == (1, 0)

    handle = await create(provider, LARGE_SPEC)
    assert handle.identifier is None  # K4 said only "true": a claim is open
    assert (await provider.resolve(handle)).state is Resolution.PENDING
    await contract.advance(LIST_DELAY)
    worker = await resolved(provider, handle)
    [sim_worker] = await contract.workers_of(LARGE)
    assert (worker.identifier, worker.hostname) == (
        sim_worker["identifier"],
        sim_worker["hostname"],
    )
    assert (await claims(contract))[sim_worker["hostname"]]["group_id"] == LARGE
    assert worker.provider_id == f"vpsie://{sim_worker['identifier']}"
    await contract.advance(RUN_DELAY - LIST_DELAY)
    worker = await resolved(provider, handle)
    assert (worker.state, worker.private_ip) == (WorkerState.RUNNING, sim_worker["private_ip"])

    template = await provider.node_template(LARGE_SPEC)
    assert dict(template.capacity) == {
        "cpu": 4000, "memory": 8192 * MI, "ephemeral-storage": 160 * GI, "pods": 110,
    }  # fmt: skip
    assert dict(template.allocatable) == {
        "cpu": 3900, "memory": (8192 - 356) * MI, "ephemeral-storage": 144 * GI, "pods": 110,
    }  # fmt: skip
    assert await provider.price(LARGE_SPEC) == Price(Decimal(48), Decimal("0.0658"))

    assert await provider.delete_worker(LARGE_SPEC, hostname=worker.hostname,
                                        identifier=worker.identifier) is True  # fmt: skip
    [k5] = await contract.calls("K5")
    assert k5["body"] == {"identifier": worker.identifier}
    await contract.advance(DELETE_DELAY)
    [small, large] = await provider.list_groups([SMALL_SPEC, LARGE_SPEC])
    assert (small.size, large.size, large.workers) == (1, 0, ())
    [gone] = await contract.workers_of(LARGE)
    assert gone["state"] == "deleted"
    [survivor] = await contract.workers_of(SMALL)
    assert survivor["state"] == "ready"  # the delete was targeted
    assert await provider.delete_worker(LARGE_SPEC, hostname=worker.hostname,
                                        identifier=worker.identifier) is False  # fmt: skip
    assert await contract.statuses("K5") == [200]  # "already gone" needs no K5
    assert await contract.counted("DELETE", K8) == 0  # reduce/slave is never used


async def test_a_new_groups_price_comes_from_its_offer(contract: Contract, vke: Connected) -> None:
    await vke.api.add_group(CLUSTER, group_name="xl", kube_size_id=104)
    xl = VkeGroupSpec(name="xl", group_name="xl")
    assert await vke.vke.price(xl) == Price(Decimal(192), Decimal("0.3"))  # hourly_price wins
    assert (await vke.vke.node_template(xl)).capacity["cpu"] == 16000


async def test_a_price_is_unknown_when_the_offers_fail(contract: Contract, vke: Connected) -> None:
    await contract.set_faults({"route": "K6", "error_5xx_rate": 1, "error_5xx_codes": [503]})
    assert await vke.vke.price(LARGE_SPEC) == Price(None, None)
    assert (await vke.vke.node_template(LARGE_SPEC)).capacity["cpu"] == 4000  # from K3 alone
    assert await contract.statuses("K6") == [503] * 4


async def test_concurrent_claims_of_two_groups_are_attributed_by_size(
    contract: Contract, vke: Connected
) -> None:
    provider = vke.vke
    specs = [SMALL_SPEC, LARGE_SPEC, SMALL_SPEC]
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(create(provider, spec)) for spec in specs]
    handles = [t.result() for t in tasks]
    assert await contract.counted("POST", K4) == 3
    await contract.advance(LIST_DELAY)
    workers = [await resolved(provider, h) for h in handles]
    by_claim = await claims(contract)
    assert [by_claim[w.hostname or ""]["group_id"] for w in workers] == [SMALL, LARGE, SMALL]
    new_small = [m["hostname"] for m in await contract.workers_of(SMALL)][1:]
    assert [workers[0].hostname, workers[2].hostname] == new_small  # FIFO within a group
    [small, large] = await provider.list_groups([SMALL_SPEC, LARGE_SPEC])
    assert (small.size, large.size) == (3, 1)
    assert {w.hostname for w in large.workers} == {workers[1].hostname}
    assert {w.hostname for w in small.workers} == {
        m["hostname"] for m in await contract.workers_of(SMALL)
    }


async def test_an_uppercase_hostname_is_matched_ignoring_case(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults(knobs={"shape": {"hostname_case": "upper"}})
    provider = vke.vke
    handle = await create(provider, LARGE_SPEC)
    await contract.advance(LIST_DELAY)
    worker = await resolved(provider, handle)
    [sim_worker] = await contract.workers_of(LARGE)
    assert worker.hostname == sim_worker["hostname"]
    assert worker.hostname is not None
    assert worker.hostname.isupper()
    node_name = worker.hostname.lower()  # the Kubernetes Node is named in lowercase
    assert await provider.delete_worker(LARGE_SPEC, hostname=node_name, identifier=None) is True
    [k5] = await contract.calls("K5")
    assert k5["body"] == {"identifier": sim_worker["identifier"]}


async def test_the_object_answer_of_k4_identifies_the_worker_at_once(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults(knobs={"shape": {"add_slave_returns": "object"}})
    provider = vke.vke
    handle = await create(provider, LARGE_SPEC)
    [sim_worker] = await contract.workers_of(LARGE)
    assert (handle.identifier, handle.hostname) == (
        sim_worker["identifier"], sim_worker["hostname"],
    )  # fmt: skip
    early = await resolved(provider, handle)
    assert (early.identifier, early.state) == (sim_worker["identifier"], WorkerState.PENDING)
    await contract.advance(RUN_DELAY)
    worker = await resolved(provider, handle)
    assert (worker.state, worker.private_ip) == (WorkerState.RUNNING, sim_worker["private_ip"])


async def test_a_worker_listed_without_identifier_is_never_deleted(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults(knobs={"shape": {"nodes_missing_identifier": True}})
    provider = vke.vke
    handle = await create(provider, LARGE_SPEC)
    await contract.advance(LIST_DELAY)
    worker = await resolved(provider, handle)
    [sim_worker] = await contract.workers_of(LARGE)
    assert (worker.hostname, worker.identifier, worker.deletable) == (
        sim_worker["hostname"], None, False,
    )  # fmt: skip
    with pytest.raises(NotDeletable):
        await provider.delete_worker(LARGE_SPEC, hostname=worker.hostname, identifier=None)
    assert await contract.counted("DELETE", K5) == 0
    assert await contract.counted("DELETE", K8) == 0


def _base() -> str:
    return f"/apps/v2/k8s/cluster/byId/{CLUSTER}"
