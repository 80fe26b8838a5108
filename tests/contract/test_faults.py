"""Faults injected by the simulator, met by the real client and providers (§3, §5.3, §7).

Unknown create outcomes never provision twice; 429 pauses the whole client; the breaker
opens and closes; business errors are typed; a wrong account password stops deletes; HTML
error pages, dropped connections and a forced 401 are handled as the contract says.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from autoscaler.vpsie import (
    ApiError,
    AuthError,
    BadAccountPassword,
    CircuitOpen,
    CreateHandle,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Resolution,
    ServerError,
    TransportError,
    UnknownOutcome,
    VkeGroupSpec,
    VkeProvider,
    VmProvider,
    VPSieError,
    WorkerState,
)
from autoscaler.vpsie.breaker import BreakerState
from tests.contract import (
    CATEGORY,
    CLUSTER,
    DC,
    K4,
    LARGE,
    OS,
    SMALL,
    Connected,
    Contract,
    vm_group,
)

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

SMALL_SPEC = VkeGroupSpec(name="small", group_id=SMALL)
LARGE_SPEC = VkeGroupSpec(name="large", group_id=LARGE)
WEB = vm_group("web")
V4 = "/api/v2/vm"  # the default VM prefix: the template of V4 in the counters
WINDOW = 180.0  # the providers' unknown-outcome window (§5.3)


def hang(route: str, mode: str, **more: Any) -> dict[str, Any]:
    return {"route": route, "hang_rate": 1, "hang_mode": mode, "times": 1} | more


def html_502(route: str) -> dict[str, Any]:
    return {"route": route, "error_5xx_rate": 1, "error_5xx_codes": [502], "html_502": True,
            "times": 1}  # fmt: skip


async def create_vke(provider: VkeProvider, spec: VkeGroupSpec) -> CreateHandle:
    return await provider.create_worker(spec, intent=provider.prepare_create(spec))


async def create_vm(provider: VmProvider) -> CreateHandle:
    return await provider.create_worker(WEB, intent=provider.prepare_create(WEB))


async def hung(contract: Contract, route_id: str) -> None:
    """Wait until the simulator holds a call of ``route_id`` without answering it."""
    log = contract.sim.simulation.calls
    await log.wait_for(
        lambda: any(c["route_id"] == route_id and c["status"] == 0 for c in log.entries)
    )


def breaker(connected: Connected) -> BreakerState:
    return connected.http.breaker.statistics().state


def elapsed_since(start: float) -> float:
    return asyncio.get_running_loop().time() - start


def now() -> float:
    return asyncio.get_running_loop().time()


# --- unknown outcomes of creates (§5.3) ---------------------------------------------------


@pytest.mark.parametrize(
    "count_when_listed", [False, True], ids=["count-at-once", "count-when-listed"]
)
async def test_a_k4_answer_lost_after_commit_provisions_exactly_one_worker(
    contract: Contract, vke: Connected, count_when_listed: bool
) -> None:
    await contract.set_faults(
        hang("K4", "commit_then_hang"),
        knobs={"shape": {"count_when_listed": count_when_listed}},
    )
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(create_vke(vke.vke, LARGE_SPEC))
        await hung(contract, "K4")
        if count_when_listed:  # nothing shows before the node is listed: let it be
            await contract.advance(20)
    handle = task.result()
    assert (handle.confirmed_by_listing, handle.identifier) == (True, None)
    await contract.advance(20)
    answer = await vke.vke.resolve(handle)
    assert answer.state is Resolution.RESOLVED
    [sim_worker] = await contract.workers_of(LARGE)  # exactly one, never a second K4
    assert answer.worker is not None
    assert answer.worker.identifier == sim_worker["identifier"]
    assert await contract.counted("POST", K4) == 1
    assert await contract.statuses("K4") == [0]


@pytest.mark.parametrize("mode", ["never", "drop"])
async def test_a_k4_lost_before_commit_is_verified_absent_and_not_resent(
    contract: Contract, vke: Connected, mode: str
) -> None:
    await contract.set_faults(hang("K4", mode))
    start = now()
    with pytest.raises(UnknownOutcome) as info:
        await create_vke(vke.vke, LARGE_SPEC)
    assert info.value.verified_absent is True
    assert elapsed_since(start) >= WINDOW  # the listings were watched for the whole window
    assert await contract.workers_of(LARGE) == []
    assert await contract.counted("POST", K4) == 1


async def test_a_v4_answer_lost_after_commit_provisions_exactly_one_vm(
    contract: Contract, vm: Connected
) -> None:
    await contract.set_faults(hang("V4", "commit_then_hang"))
    intent = vm.vm.prepare_create(WEB)
    handle = await vm.vm.create_worker(WEB, intent=intent)
    assert (handle.confirmed_by_listing, handle.hostname) == (True, intent.hostname)
    await contract.advance(20)
    answer = await vm.vm.resolve(handle)
    assert answer.state is Resolution.RESOLVED
    [sim_vm] = await contract.machines(kind="vm")  # exactly one VM, found by its hostname
    assert answer.worker is not None
    assert (answer.worker.hostname, answer.worker.identifier) == (
        sim_vm["hostname"], sim_vm["identifier"],
    )  # fmt: skip
    assert await contract.counted("POST", V4) == 1
    assert await contract.statuses("V4") == [0]


async def test_a_v4_lost_before_commit_is_verified_absent_and_retried_under_a_new_name(
    contract: Contract, vm: Connected
) -> None:
    await contract.set_faults(hang("V4", "never"))
    first = vm.vm.prepare_create(WEB)
    start = now()
    with pytest.raises(UnknownOutcome) as info:
        await vm.vm.create_worker(WEB, intent=first)
    assert info.value.verified_absent is True
    assert elapsed_since(start) >= WINDOW
    assert await contract.machines(kind="vm") == []
    assert await contract.counted("POST", V4) == 1
    second = vm.vm.prepare_create(WEB)
    assert second.hostname != first.hostname
    await vm.vm.create_worker(WEB, intent=second)
    assert [m["hostname"] for m in await contract.machines(kind="vm")] == [second.hostname]


# --- HTML error pages (§3) ----------------------------------------------------------------


async def test_an_html_502_on_a_read_is_retried(contract: Contract, vke: Connected) -> None:
    await contract.set_faults(html_502("C3"))
    assert len(await vke.api.list_projects()) == 1
    assert await contract.statuses("C3") == [502, 200]


async def test_an_html_502_on_a_vm_create_is_an_unknown_outcome(
    contract: Contract, vm: Connected
) -> None:
    await contract.set_faults(html_502("V4"))
    with pytest.raises(UnknownOutcome) as info:
        await create_vm(vm.vm)
    assert info.value.verified_absent is True  # resolved by listing V3 and V1: not there
    assert isinstance(info.value.__cause__, UnknownOutcome)
    assert info.value.__cause__.status == 502
    assert await contract.statuses("V4") == [502]
    assert len(await contract.statuses("V3")) >= WINDOW / 10
    assert await contract.machines(kind="vm") == []


async def test_an_html_502_on_k4_is_an_unknown_outcome(contract: Contract, vke: Connected) -> None:
    await contract.set_faults(html_502("K4"))
    with pytest.raises(UnknownOutcome) as info:
        await create_vke(vke.vke, LARGE_SPEC)
    assert info.value.verified_absent is True
    assert await contract.statuses("K4") == [502]
    assert await contract.workers_of(LARGE) == []


@pytest.mark.parametrize("route", ["C1", "K6", "V7"])
async def test_a_5xx_on_a_read_only_post_is_retried(contract: Contract, route: str) -> None:
    await contract.set_faults(
        {"route": route, "error_5xx_rate": 1, "error_5xx_codes": [503], "times": 1}
    )
    async with contract.connect(contract.exchange_config("vm")) as c:
        await c.api.list_offers(DC)
        await c.api.list_plans(dc_identifier=DC, os_identifier=OS, category_identifier=CATEGORY)
    assert await contract.statuses(route) == [503, 200]


async def test_a_5xx_on_k7_is_an_unknown_outcome_and_not_resent(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults({"route": "K7", "error_5xx_rate": 1, "error_5xx_codes": [500]})
    with pytest.raises(UnknownOutcome) as info:
        await vke.api.add_group(CLUSTER, group_name="xl", kube_size_id=104)
    assert info.value.status == 500
    assert await contract.statuses("K7") == [500]


async def test_a_refused_vm_create_is_a_definite_api_error(
    contract: Contract, vm: Connected
) -> None:
    bad_plan = vm_group("web", plan_identifier="a1000000-0000-4000-8000-000000000999")
    with pytest.raises(ApiError) as info:
        await vm.vm.create_worker(bad_plan, intent=vm.vm.prepare_create(bad_plan))
    assert (type(info.value), info.value.status) == (ApiError, 400)  # not an unknown outcome
    assert info.value.message == "resourceIdentifier is invalid"
    assert await contract.statuses("V4") == [400]
    assert await contract.statuses("V3") == []  # nothing to look for
    assert await contract.machines(kind="vm") == []


# --- 429 and Retry-After (§7) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "asked", "waited"),
    [
        pytest.param("seconds", 7, 7.0, id="delta-seconds"),
        pytest.param("http-date", 7, 7.0, id="http-date"),
        pytest.param("absent", 7, 0.25, id="no-header-backs-off"),  # full jitter: 0.5 x 0.5 s
        pytest.param("seconds", 1000, 300.0, id="capped-at-300-s"),
    ],
)
async def test_a_429_on_a_read_is_retried_after_retry_after(
    contract: Contract, vke: Connected, style: str, asked: int, waited: float
) -> None:
    rule = {"route": "C3", "429_rate": 1, "times": 1, "retry_after": style,
            "retry_after_seconds": asked}  # fmt: skip
    await contract.set_faults(rule)
    start = now()
    assert len(await vke.api.list_projects()) == 1
    assert elapsed_since(start) == pytest.approx(waited, abs=0.01)
    assert await contract.statuses("C3") == [429, 200]


@pytest.mark.parametrize("style", ["seconds", "http-date"])
async def test_a_429_on_a_create_is_not_retried_and_pauses_the_whole_client(
    contract: Contract, vke: Connected, style: str
) -> None:
    rule = {"route": "K4", "429_rate": 1, "times": 1, "retry_after": style,
            "retry_after_seconds": 7}  # fmt: skip
    await contract.set_faults(rule)
    with pytest.raises(RateLimited) as info:
        await create_vke(vke.vke, LARGE_SPEC)
    assert info.value.retry_after == 7
    assert await contract.statuses("K4") == [429]
    assert await contract.workers_of(LARGE) == []
    start = now()
    await vke.api.list_clusters()  # another call waits out the pause before it is sent
    assert elapsed_since(start) == pytest.approx(7, abs=0.01)
    assert await contract.statuses("K1") == [200]


async def test_latency_is_waited_with_at_most_four_calls_in_flight(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults({"route": "K1", "latency": 1.5})
    start = now()
    async with asyncio.TaskGroup() as tg:
        for _ in range(8):
            tg.create_task(vke.api.list_clusters())
    assert elapsed_since(start) == pytest.approx(3.0, abs=0.01)  # two rounds of four
    assert await contract.statuses("K1") == [200] * 8


# --- circuit breaker (§7) -----------------------------------------------------------------


async def test_the_breaker_opens_after_five_5xx_and_closes_after_two_probes(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults({"route": "C3", "error_5xx_rate": 1, "error_5xx_codes": [503]})
    with pytest.raises(ServerError):
        await vke.api.list_projects()  # one call and its three retries
    assert await contract.statuses("C3") == [503] * 4
    assert breaker(vke) is BreakerState.CLOSED
    with pytest.raises(CircuitOpen):
        await vke.api.list_projects()  # the fifth 5xx opens it; the retry is refused
    assert await contract.statuses("C3") == [503] * 5
    assert (vke.http.available, vke.vke.available) == (False, False)
    with pytest.raises(CircuitOpen):
        await vke.api.list_clusters()
    assert await contract.statuses("K1") == []  # nothing is sent while it is open

    await contract.set_faults()  # the API recovers
    await asyncio.sleep(29)
    with pytest.raises(CircuitOpen):
        await vke.api.list_clusters()
    await asyncio.sleep(1.5)  # 30 s since it opened
    await vke.api.list_clusters()
    assert breaker(vke) is BreakerState.HALF_OPEN
    assert vke.vke.available is True
    await vke.api.list_clusters()
    assert breaker(vke) is BreakerState.CLOSED
    assert await contract.statuses("K1") == [200, 200]
    assert await contract.statuses("C3") == [503] * 5


async def test_business_errors_and_429_do_not_count_toward_the_breaker(
    contract: Contract, vke: Connected
) -> None:
    await contract.set_faults(
        {"route": "C3", "error200_rate": 1},
        {"route": "K1", "429_rate": 1, "retry_after": "absent"},
    )
    for _ in range(3):
        with pytest.raises(ApiError):
            await vke.api.list_projects()
        with pytest.raises(RateLimited):
            await vke.api.list_clusters()
    assert vke.http.breaker.statistics().consecutive_failures == 0
    assert vke.http.available is True


# --- business errors: HTTP 200 with error:true (§3) ---------------------------------------


@pytest.mark.parametrize(
    ("rule", "knobs", "spec", "message"),
    [
        pytest.param({"route": "K4", "quota_rate": 1, "times": 1}, {}, LARGE_SPEC,
                     "Worker nodes count exceeds the allowed limit", id="forced-quota"),
        pytest.param(None, {"quota": {"max_workers_per_group": 1}}, SMALL_SPEC,
                     "Worker nodes count exceeds the allowed limit", id="group-limit"),
        pytest.param(None, {"quota": {"max_workers": 1}, "business_error_status": 400},
                     LARGE_SPEC, "Worker nodes count exceeds the allowed limit",
                     id="cluster-limit-as-400"),
    ],
)  # fmt: skip
async def test_a_vke_quota_error_is_quota_exceeded_and_not_retried(
    contract: Contract,
    vke: Connected,
    rule: dict[str, Any] | None,
    knobs: dict[str, Any],
    spec: VkeGroupSpec,
    message: str,
) -> None:
    await contract.set_faults(*([rule] if rule else []), knobs=knobs)
    before = len(await contract.machines(kind="worker"))
    with pytest.raises(QuotaExceeded) as info:
        await create_vke(vke.vke, spec)
    assert info.value.message == message
    assert len(await contract.statuses("K4")) == 1
    assert len(await contract.machines(kind="worker")) == before


async def test_a_vm_quota_error_is_quota_exceeded(contract: Contract, vm: Connected) -> None:
    await contract.set_faults(knobs={"quota": {"max_vms": 0}})
    with pytest.raises(QuotaExceeded) as info:
        await create_vm(vm.vm)
    assert info.value.message == "VM count exceeds the allowed limit"
    assert await contract.statuses("V4") == [200]
    assert await contract.machines(kind="vm") == []


@pytest.mark.parametrize(
    ("route", "message", "error"),
    [
        pytest.param("K2", "Cluster not found", NotFound, id="not-found"),
        pytest.param("K2", "Internal server error", ApiError, id="generic"),
        pytest.param("K2", "Maximum number of API calls reached", QuotaExceeded, id="quota"),
    ],
)
async def test_an_error_in_a_200_is_typed_by_its_message_and_never_retried(
    contract: Contract, vke: Connected, route: str, message: str, error: type[VPSieError]
) -> None:
    await contract.set_faults({"route": route, "error200_rate": 1, "error200_message": message})
    with pytest.raises(VPSieError) as info:
        await vke.api.get_cluster(CLUSTER)
    assert type(info.value) is error
    assert info.value.status == 200
    assert await contract.statuses(route) == [200]  # a GET, and still sent once


# --- the account password of VM deletes (§3, §4 V5) ---------------------------------------


@pytest.mark.parametrize("http_status", [200, 400], ids=["http-200", "http-400"])
async def test_a_wrong_account_password_is_reported_and_the_vm_keeps_running(
    contract: Contract, vm: Connected, http_status: int
) -> None:
    provider = vm.vm
    handle = await create_vm(provider)
    await contract.advance(40)
    worker = (await provider.resolve(handle)).worker
    assert worker is not None
    assert worker.state is WorkerState.RUNNING
    await contract.set_faults(
        knobs={"account_password": "rotated-by-someone-else", "business_error_status": http_status}
    )
    with pytest.raises(BadAccountPassword) as info:
        await provider.delete_worker(WEB, hostname=worker.hostname, identifier=worker.identifier)
    assert info.value.message == "You entered the wrong password"
    assert provider.deletes_disabled is not None
    await contract.advance(60)  # long past the delete delay
    [status] = await provider.list_groups([WEB])
    assert (status.size, [w.state for w in status.workers]) == (1, [WorkerState.RUNNING])
    [sim_vm] = await contract.machines(kind="vm")
    assert (sim_vm["deleted_at"], sim_vm["gone_at"]) == (None, None)
    with pytest.raises(BadAccountPassword):  # latched off: no second V5
        await provider.delete_worker(WEB, hostname=worker.hostname, identifier=worker.identifier)
    assert await contract.statuses("V5") == [http_status]


async def test_a_v5_answer_lost_after_commit_is_retried_and_deletes_once(
    contract: Contract, vm: Connected
) -> None:
    provider = vm.vm
    handle = await create_vm(provider)
    await contract.advance(40)
    worker = (await provider.resolve(handle)).worker
    assert worker is not None
    await contract.set_faults(hang("V5", "commit_then_hang"))
    deleted = await provider.delete_worker(
        WEB, hostname=worker.hostname, identifier=worker.identifier
    )
    assert deleted is True
    assert await contract.statuses("V5") == [0, 200]  # a delete by identifier may be re-sent
    await contract.advance(10)
    [sim_vm] = await contract.machines(kind="vm")
    assert sim_vm["state"] == "deleted"


# --- transport errors (§3, §7) ------------------------------------------------------------


@pytest.mark.parametrize("route", ["C3", "K5"], ids=["read", "delete-by-identifier"])
async def test_a_dropped_idempotent_call_is_sent_once_plus_three_retries(
    contract: Contract, vke: Connected, route: str
) -> None:
    [initial] = await contract.workers_of(SMALL)
    await contract.set_faults({"route": route, "hang_rate": 1, "hang_mode": "drop"})
    call = (
        vke.api.list_projects()
        if route == "C3"
        else vke.api.delete_worker(CLUSTER, initial["identifier"])
    )
    with pytest.raises(TransportError):
        await call
    assert vke.http.breaker.statistics().consecutive_failures == 4
    assert await contract.statuses(route) == [0] * 4  # what the breaker counted, no more


# --- authentication (§2) -------------------------------------------------------------------


async def test_a_forced_401_in_exchange_mode_triggers_exactly_one_re_exchange(
    contract: Contract,
) -> None:
    await contract.set_faults({"route": "C3", "unauthorized_rate": 1, "times": 1})
    async with contract.connect(contract.exchange_config()) as c:
        assert len(await c.api.list_projects()) == 1
    assert await contract.statuses("C1") == [200, 200]
    assert await contract.statuses("C3") == [401, 200]


async def test_a_second_401_after_the_re_exchange_stops(contract: Contract) -> None:
    await contract.set_faults({"route": "C3", "unauthorized_rate": 1})
    async with contract.connect(contract.exchange_config()) as c:
        with pytest.raises(AuthError):
            await c.api.list_projects()
    assert await contract.statuses("C1") == [200, 200]
    assert await contract.statuses("C3") == [401, 401]


async def test_a_k4_refused_with_401_is_sent_again_once_after_the_re_exchange(
    contract: Contract,
) -> None:
    await contract.set_faults({"route": "K4", "unauthorized_rate": 1, "times": 1})
    async with contract.connect(contract.exchange_config()) as c:
        await create_vke(c.vke, LARGE_SPEC)  # a 401 is definite: nothing was created
    assert await contract.statuses("C1") == [200, 200]
    assert await contract.statuses("K4") == [401, 200]
    assert len(await contract.workers_of(LARGE)) == 1
