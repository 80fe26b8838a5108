"""The HTTP client against a scripted server: headers, encodings, retries, pauses, breaker."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import itertools
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from autoscaler.observability.vpsie_metrics import VPSieMetrics
from autoscaler.vpsie import endpoints as ep
from autoscaler.vpsie import errors
from autoscaler.vpsie.breaker import BreakerState
from autoscaler.vpsie.http import USER_AGENT, ClientLimits, HttpClient
from autoscaler.vpsie.retry import RetryPolicy
from autoscaler.vpsie.types import VmCreate
from tests.vpsie.conftest import TOKEN, connect
from tests.vpsie.scripted import DROP, HANG, HTML_502, Reply, ScriptedVPSie, fail, ok

pytestmark = pytest.mark.looptime

K1 = "/apps/v2/k8s/cluster/all"
K4 = "/apps/v2/k8s/cluster/byId/c-1/add/slave/group/7"
V1 = "/api/v2/vm"


async def test_request_carries_auth_accept_and_user_agent(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.on("GET", K1, ok([]))
    await http.call(ep.list_clusters())
    [seen] = server.calls()
    assert seen.path == K1  # the "/apps/v2" of the configured URL was dropped
    assert seen.headers["Vpsie-Auth"] == TOKEN
    assert "Authorization" not in seen.headers
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("vpsie-autoscaler/")


async def test_delete_sends_a_json_body(server: ScriptedVPSie, http: HttpClient) -> None:
    path = "/apps/v2/k8s/cluster/byId/c-1/delete/slave"
    server.on("DELETE", path, ok())
    await http.call(ep.delete_worker("c-1", "node-uuid"))
    [seen] = server.calls()
    assert seen.content_type == "application/json"
    assert seen.json == {"identifier": "node-uuid"}


async def test_vm_delete_sends_password_and_reason_as_json(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.on("DELETE", V1, ok())
    request = ep.delete_vm("vm-1", vm_prefix=V1, password=SecretStr("pw"), reason="scale down")
    await http.call(request)
    [seen] = server.calls()
    assert seen.json == {
        "vmIdentifier": "vm-1",
        "password": "pw",
        "deleteStatistic": {"reason": "scale down", "note": "deleted by vpsie-autoscaler"},
    }


async def test_plans_are_asked_for_with_a_form(server: ScriptedVPSie, http: HttpClient) -> None:
    server.on("POST", "/apps/v2/resources", ok([]))
    await http.call(ep.list_plans(dc_identifier="dc", os_identifier="os", category_identifier="c"))
    [seen] = server.calls()
    assert seen.content_type.startswith("application/x-www-form-urlencoded")
    assert seen.form == {
        "dcIdentifier": "dc",
        "osIdentifier": "os",
        "planCatIdentifier": "c",
        "name": "query",
        "description": "query",
        "isCustom": "0",
    }


async def test_add_worker_has_no_body(server: ScriptedVPSie, http: HttpClient) -> None:
    server.on("POST", K4, ok(True))
    await http.call(ep.add_worker("c-1", 7))
    [seen] = server.calls()
    assert seen.body == b""


async def test_vm_create_sends_string_flags_and_string_project(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.on("POST", V1, ok(True))
    spec = VmCreate("plan", "os", "dc", "vpsie-web-abcd1234", 880, user_data=SecretStr("#cloud"))
    await http.call(ep.create_vm(spec, vm_prefix="api/v2/vm/"))
    body = server.calls()[0].json
    assert body["projectId"] == "880"
    flags = ("addPublicIpV4", "addPublicIpV6", "addPrivateIp", "backupEnabled")
    assert [body[f] for f in flags] == ["1", "0", "1", "0"]
    assert body["userData"] == "I2Nsb3Vk"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(fail("Something odd"), errors.ApiError, id="error-true-on-200"),
        pytest.param(fail("Bad input", status=400), errors.ApiError, id="error-true-on-400"),
        pytest.param(fail("Cluster not found", status=404), errors.NotFound, id="404"),
        pytest.param(fail("Please authenticate", status=401), errors.AuthError, id="401"),
        pytest.param(Reply(status=200, body=b"<html>"), errors.Malformed, id="html-200"),
    ],
)
async def test_terminal_errors_are_not_retried(
    server: ScriptedVPSie, http: HttpClient, reply: Reply, expected: type[Exception]
) -> None:
    server.always("GET", K1, reply)
    with pytest.raises(expected):
        await http.call(ep.list_clusters())
    assert len(server.calls()) == 1


async def test_no_content_is_success(server: ScriptedVPSie, http: HttpClient) -> None:
    server.on("DELETE", V1, Reply(status=204))
    request = ep.delete_vm("vm-1", vm_prefix=V1, password=SecretStr("pw"), reason="r")
    envelope = await http.call(request)
    assert envelope.data is None


async def test_html_502_on_a_get_is_retried_with_backoff(
    server: ScriptedVPSie, http: HttpClient, looptime: Any
) -> None:
    server.always("GET", K1, HTML_502)
    with pytest.raises(errors.ServerError) as info:
        await http.call(ep.list_clusters())
    assert info.value.status == 502
    times = [r.time for r in server.calls()]
    assert len(times) == 4  # one call and three retries
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps == [0.5, 1.0, 2.0]  # full jitter at its ceiling: 0.5 s x2


async def test_get_recovers_after_a_transient_failure(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.on("GET", K1, Reply(status=503, json={"error": True}), DROP, ok([]))
    envelope = await http.call(ep.list_clusters())
    assert envelope.data == []
    assert len(server.calls()) == 3


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(HTML_502, id="html-502"),
        pytest.param(fail("Internal", status=500), id="500-envelope"),
        pytest.param(HANG, id="timeout"),
        pytest.param(DROP, id="connection-reset"),
        pytest.param(Reply(body=b"not json"), id="unreadable-200"),
    ],
)
async def test_add_worker_is_never_resent_and_its_outcome_is_unknown(
    server: ScriptedVPSie, http: HttpClient, reply: Reply
) -> None:
    server.always("POST", K4, reply)
    with pytest.raises(errors.UnknownOutcome):
        await http.call(ep.add_worker("c-1", 7))
    assert len(server.calls()) == 1


async def test_vm_create_timeout_is_unknown_after_the_request_deadline(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.always("POST", V1, HANG)
    spec = VmCreate("plan", "os", "dc", "vpsie-web-abcd1234", 880)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(errors.UnknownOutcome) as info:
        await http.call(ep.create_vm(spec, vm_prefix=V1))
    assert isinstance(info.value.__cause__, errors.TransportError)
    assert loop.time() - start == pytest.approx(30, abs=0.1)
    assert len(server.calls()) == 1


async def test_create_that_never_connected_is_not_unknown(server: ScriptedVPSie) -> None:
    port_closed = ScriptedVPSie()
    async with port_closed:
        url = port_closed.url
    client = HttpClient(api_url=url, auth=lambda send: _static(), clock=_clock(), allow_http=True)
    async with client:
        with pytest.raises(errors.ConnectError):
            await client.call(ep.add_worker("c-1", 7))


async def test_quota_on_add_worker_is_quota_exceeded(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.on("POST", K4, fail("Worker nodes count exceeds the allowed limit"))
    with pytest.raises(errors.QuotaExceeded):
        await http.call(ep.add_worker("c-1", 7))


async def test_retry_after_seconds_pauses_the_whole_client(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.on("GET", K1, fail("Too many requests", status=429, headers={"Retry-After": "7"}))
    server.always("GET", K1, ok([]))
    server.always("GET", "/apps/v2/projects", ok({"rows": [], "count": 0}))
    first = asyncio.ensure_future(http.call(ep.list_clusters()))
    await asyncio.sleep(1)
    assert http.paused_for == pytest.approx(6, abs=0.01)
    await http.call(ep.list_projects())  # another endpoint waits out the pause too
    await first
    [throttled, other, retried] = sorted(server.calls(), key=lambda r: (r.time, r.path))
    assert throttled.path == K1
    assert other.time - throttled.time == pytest.approx(7, abs=0.01)
    assert retried.time - throttled.time == pytest.approx(7, abs=0.01)


async def test_retry_after_http_date_pauses_the_client(
    server: ScriptedVPSie, http: HttpClient, looptime: Any
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    date = email.utils.format_datetime(when, usegmt=True)
    server.on("GET", K1, fail("Too many requests", status=429, headers={"Retry-After": date}))
    server.always("GET", K1, ok([]))
    await http.call(ep.list_clusters())
    [first, second] = server.calls()
    assert 17 <= second.time - first.time <= 21


async def test_429_on_a_create_is_not_retried_but_pauses(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    server.always("POST", K4, fail("Too many", status=429, headers={"Retry-After": "5"}))
    with pytest.raises(errors.RateLimited) as info:
        await http.call(ep.add_worker("c-1", 7))
    assert info.value.retry_after == 5
    assert len(server.calls()) == 1
    assert http.paused_for == pytest.approx(5, abs=0.01)


async def test_breaker_opens_after_five_failures_and_closes_after_two_probes(
    server: ScriptedVPSie, looptime: Any
) -> None:
    limits = ClientLimits(retry=RetryPolicy(retries=0))
    async with connect(server, limits=limits) as client:
        for _ in range(5):
            server.on("GET", K1, HTML_502)
            with pytest.raises(errors.ServerError):
                await client.call(ep.list_clusters())
        assert client.breaker.statistics().state is BreakerState.OPEN
        assert not client.available
        with pytest.raises(errors.CircuitOpen):
            await client.call(ep.list_clusters())
        assert len(server.calls()) == 5  # nothing was sent while open

        await asyncio.sleep(30)
        assert client.breaker.statistics().state is BreakerState.HALF_OPEN
        server.always("GET", K1, ok([]))
        await client.call(ep.list_clusters())
        assert client.breaker.statistics().state is BreakerState.HALF_OPEN
        await client.call(ep.list_clusters())
        assert client.breaker.statistics().state is BreakerState.CLOSED


async def test_failed_probe_reopens_the_breaker(server: ScriptedVPSie) -> None:
    limits = ClientLimits(retry=RetryPolicy(retries=0), breaker_threshold=1)
    async with connect(server, limits=limits) as client:
        server.always("GET", K1, HTML_502)
        with pytest.raises(errors.ServerError):
            await client.call(ep.list_clusters())
        await asyncio.sleep(30)
        with pytest.raises(errors.ServerError):
            await client.call(ep.list_clusters())
        assert client.breaker.statistics().state is BreakerState.OPEN


async def test_business_errors_do_not_open_the_breaker(server: ScriptedVPSie) -> None:
    async with connect(server, limits=ClientLimits(breaker_threshold=1)) as client:
        server.always("GET", K1, fail("nope", status=400))
        for _ in range(3):
            with pytest.raises(errors.ApiError):
                await client.call(ep.list_clusters())
        assert client.breaker.statistics().state is BreakerState.CLOSED


async def test_token_bucket_paces_a_burst(server: ScriptedVPSie, http: HttpClient) -> None:
    server.always("GET", K1, ok([]))
    for _ in range(12):
        await http.call(ep.list_clusters())
    times = [r.time - server.calls()[0].time for r in server.calls()]
    assert times[:10] == pytest.approx([0] * 10, abs=0.01)
    assert times[10:] == pytest.approx([0.5, 1.0], abs=0.01)


async def test_at_most_four_requests_in_flight(server: ScriptedVPSie, http: HttpClient) -> None:
    server.always("GET", K1, Reply(json={"error": False, "data": []}, delay=1.0))
    await asyncio.gather(*(http.call(ep.list_clusters()) for _ in range(10)))
    assert server.max_in_flight == 4


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(Reply(stream=10 * 2**20 + 1), errors.Malformed, id="chunked-200"),
        pytest.param(Reply(body=b" " * (10 * 2**20 + 1)), errors.Malformed, id="sized-200"),
        pytest.param(Reply(status=500, stream=11 * 2**20), errors.ServerError, id="chunked-500"),
    ],
)
async def test_bodies_above_ten_mebibytes_are_refused(
    server: ScriptedVPSie, reply: Reply, expected: type[Exception]
) -> None:
    async with connect(server, limits=ClientLimits(retry=RetryPolicy(retries=0))) as client:
        server.always("GET", K1, reply)
        with pytest.raises(expected):
            await client.call(ep.list_clusters())


def test_https_is_required_unless_allowed() -> None:
    with pytest.raises(ValueError, match="HTTPS"):
        HttpClient(api_url="http://api.vpsie.com", auth=lambda send: _static(), clock=_clock())


def _static() -> Any:
    from autoscaler.vpsie.auth import StaticToken

    return StaticToken(SecretStr(TOKEN))


def _clock() -> Any:
    from autoscaler.clock import LoopClock

    return LoopClock()


async def test_logs_hold_only_the_allowed_fields(
    server: ScriptedVPSie, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="autoscaler.vpsie")
    server.on("GET", f"{V1}/vm-1", fail("VM not found", headers={"X-Request-ID": "req-1"}))
    server.on("GET", K1, Reply(json={"error": False, "data": []}, headers={"X-Request-ID": "r2"}))
    with pytest.raises(errors.NotFound):
        await http.call(ep.get_vm("vm-1", vm_prefix=V1))
    await http.call(ep.list_clusters())
    standard = set(vars(logging.makeLogRecord({})))
    allowed = {"method", "path", "endpoint", "ids", "status", "duration_ms", "error"}
    allowed |= {"vpsie_message", "request_id", "delay_s"}
    failed, succeeded = [r for r in caplog.records if r.name == "autoscaler.vpsie.http"]
    for record in (failed, succeeded):
        assert set(vars(record)) - standard - {"message", "asctime"} <= allowed
    assert vars(failed)["path"] == "{vm}/{identifier}"
    assert vars(failed)["ids"] == {"vm": "vm-1"}
    assert (vars(failed)["vpsie_message"], vars(failed)["request_id"]) == ("VM not found", "req-1")
    assert (vars(succeeded)["status"], vars(succeeded)["request_id"]) == (200, "r2")


async def test_every_attempt_is_observed_with_its_endpoint_outcome_and_duration(
    server: ScriptedVPSie, http: HttpClient
) -> None:
    seen: list[tuple[str, str, float]] = []
    http.observer = lambda endpoint, outcome, seconds: seen.append((endpoint, outcome, seconds))
    server.on("GET", K1, Reply(status=503, json={"error": True}), ok([]))
    await http.call(ep.list_clusters())
    assert [(e, o) for e, o, _ in seen] == [("K1", "ServerError"), ("K1", "200")]
    assert all(s >= 0 for _, _, s in seen)


def test_request_durations_are_a_histogram_by_endpoint_and_outcome() -> None:
    registry = CollectorRegistry()
    metrics = VPSieMetrics(registry)
    metrics.observe("K4", "200", 0.3)
    metrics.observe("K4", "TransportError", 10.0)
    name = "vpsie_autoscaler_vpsie_request_duration_seconds"
    assert registry.get_sample_value(f"{name}_count", {"endpoint": "K4", "outcome": "200"}) == 1
    slow = {"endpoint": "K4", "outcome": "TransportError", "le": "5.0"}
    assert registry.get_sample_value(f"{name}_bucket", slow) == 0


def test_the_circuit_breaker_is_read_at_each_scrape() -> None:
    registry = CollectorRegistry()
    metrics = VPSieMetrics(registry)
    reading: list[tuple[str, int]] = [("closed", 0)]
    metrics.track_breaker(lambda: reading[-1], ["closed", "open"])
    state = "vpsie_autoscaler_vpsie_circuit_state"
    assert registry.get_sample_value(state, {"state": "closed"}) == 1
    reading.append(("open", 1))
    assert registry.get_sample_value(state, {"state": "closed"}) == 0
    assert registry.get_sample_value(state, {"state": "open"}) == 1
    assert registry.get_sample_value("vpsie_autoscaler_vpsie_circuit_opened_total") == 1


async def test_a_call_the_breaker_refuses_is_observed(server: ScriptedVPSie) -> None:
    limits = ClientLimits(
        breaker_threshold=1, breaker_open_seconds=60, retry=RetryPolicy(retries=0)
    )
    async with connect(server, limits=limits) as http:
        seen: list[str] = []
        http.observer = lambda endpoint, outcome, seconds: seen.append(outcome)
        server.always("GET", K1, HTML_502)
        with pytest.raises(errors.ServerError):
            await http.call(ep.list_clusters())
        with pytest.raises(errors.CircuitOpen):
            await http.call(ep.list_clusters())
    assert seen[-1] == "CircuitOpen"
