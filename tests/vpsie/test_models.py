"""Tolerant parsing of the §3 type quirks, and fuzzing: parsers raise typed errors only."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaler.vpsie import errors
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.auth import parse_token
from autoscaler.vpsie.envelope import Envelope, parse_response
from autoscaler.vpsie.fields import to_flag, to_int, to_price
from autoscaler.vpsie.request import ApiRequest

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "flag"),
    [(1, True), (0, False), ("1", True), ("0", False), (True, True), (False, False),
     (None, False), ("true", True), ("", False), (1.0, True)],
)  # fmt: skip
def test_flags(raw: object, flag: bool) -> None:
    assert to_flag(raw) is flag


@pytest.mark.parametrize("raw", [2, "2", "maybe", [], {}, -1])
def test_bad_flags_are_refused(raw: object) -> None:
    with pytest.raises(ValueError, match="flag"):
        to_flag(raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [(5, 5), ("5", 5), (" 7 ", 7), (5.0, 5), ("", None), (None, None), ("-3", -3)],
)
def test_ints(raw: object, value: int | None) -> None:
    assert to_int(raw) == value


@pytest.mark.parametrize("raw", [True, "5.5", 5.5, "1e3", "9" * 19, float("nan"), [5]])
def test_bad_ints_are_refused(raw: object) -> None:
    with pytest.raises(ValueError, match=r"number|integer"):
        to_int(raw)


@pytest.mark.parametrize(
    ("raw", "price"),
    [
        pytest.param(20, Decimal(20), id="int"),
        pytest.param("20.50", Decimal("20.50"), id="string"),
        pytest.param(0.1, Decimal("0.1"), id="float-via-str"),
        pytest.param("NaN", None, id="nan"),
        pytest.param(float("inf"), None, id="inf"),
        pytest.param("-1", None, id="negative"),
        pytest.param("cheap", None, id="text"),
        pytest.param(True, None, id="bool"),
        pytest.param(None, None, id="null"),
        pytest.param("1" * 50, None, id="absurdly-long"),
    ],
)
def test_prices(raw: object, price: Decimal | None) -> None:
    assert to_price(raw) == price


# --- fuzzing -------------------------------------------------------------------------------

FIELDS = [
    "id", "identifier", "hostname", "nodes", "masters", "slaves", "rows", "count", "cpu", "ram",
    "ssd", "disk", "price", "hourly_price", "nodes_count", "is_active", "power", "is_deleted",
    "projectId", "project_id", "vmData", "data", "default_ip", "private_ip", "group_name",
    "boxsize_id", "token", "access", "accessToken", "expires", "dc_name", "error", "message",
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["0", "1", "", "true", "NaN", "1e999", "-0", "12.5", "2026-05-01T12:00:00Z"]),
)  # fmt: skip
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=4)), inner, max_size=5),
    ),
    max_leaves=10,
)
VALID = [
    {"identifier": "x", "id": 1, "hostname": "h", "cpu": 2, "ram": 4096, "nodes_count": 1,
     "price": "10", "is_active": 1, "power": 1, "default_ip": "1.2.3.4"},
    {"identifier": "c", "nodes": [{"id": 1, "identifier": "n", "hostname": "h"}]},
    {"rows": [{"id": 1, "identifier": "p"}], "count": 1},
    {"vmData": {"identifier": "v", "projectId": "5", "is_active": "1"}},
    {"id": "3", "data": {"hostname": "h", "projectId": 880}},
]  # fmt: skip
mutated = st.builds(
    lambda base, key, value: base | {key: value},
    st.sampled_from(VALID), st.sampled_from(FIELDS), json_like,
)  # fmt: skip
records = st.one_of(mutated, st.dictionaries(st.sampled_from(FIELDS), json_like, max_size=8))
payloads = st.one_of(json_like, records, st.lists(records, max_size=3), st.sampled_from(VALID))


class Canned:
    """A caller that answers every request with the same envelope."""

    def __init__(self, data: Any) -> None:
        self.envelope = Envelope(data=data, total=None, raw=None)

    async def call(self, request: ApiRequest) -> Envelope:
        return self.envelope


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Drive a coroutine that never suspends (the canned caller answers at once)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError("the coroutine suspended")


def every_parser(api: VPSieApi) -> list[Coroutine[Any, Any, Any]]:
    return [
        api.list_datacenters(), api.list_projects(), api.list_clusters(), api.get_cluster("c"),
        api.list_node_groups("c"), api.add_worker("c", 1), api.list_offers("dc"),
        api.list_vms(), api.get_vm("v"), api.list_pending(), api.list_plan_categories(),
        api.list_plans(dc_identifier="d", os_identifier="o", category_identifier="c"),
    ]  # fmt: skip


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(payloads)
def test_response_models_raise_only_typed_errors(data: Any) -> None:
    for call in every_parser(VPSieApi(Canned(data))):
        with contextlib.suppress(errors.VPSieError):
            run_sync(call)


@settings(max_examples=1000)
@given(status=st.integers(100, 599), body=st.binary(max_size=300))
def test_envelope_of_random_bytes_raises_only_typed_errors(status: int, body: bytes) -> None:
    with contextlib.suppress(errors.VPSieError):
        parse_response(status=status, body=body, headers={}, now=NOW)


@settings(max_examples=1000)
@given(
    status=st.sampled_from([200, 201, 204, 400, 401, 404, 415, 429, 500, 502]),
    obj=json_like.filter(lambda v: not isinstance(v, float) and v is not None),
    headers=st.dictionaries(st.sampled_from(["Retry-After", "X-Request-ID"]), st.text(max_size=40)),
)
def test_envelope_of_random_json_raises_only_typed_errors(
    status: int, obj: Any, headers: dict[str, str]
) -> None:
    try:
        body = orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):
        return
    try:
        envelope = parse_response(status=status, body=body, headers=headers, now=NOW)
    except errors.VPSieError:
        return
    assert 200 <= status < 300
    assert envelope.raw is None or isinstance(envelope.raw, dict)


@settings(max_examples=500)
@given(payloads)
def test_token_parser_raises_only_malformed(raw: Any) -> None:
    try:
        token = parse_token(raw if isinstance(raw, dict) else {"data": raw}, now=NOW)
    except errors.Malformed:
        return
    assert token.value.get_secret_value()
    assert token.ttl > 0
