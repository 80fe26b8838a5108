"""The resource models parse API objects strictly, apply the CRD's defaults, and stay frozen."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from autoscaler.core.resources import (
    AllowedWindow,
    ConditionStatus,
    InvalidResource,
    Phase,
    ProviderMode,
    TaintEffect,
    Weekday,
    nodegroup_from_dict,
    to_json,
    vpsienode_from_dict,
)
from autoscaler.core.resources.formats import is_label_value, is_qualified_name
from autoscaler.core.resources.values import (
    format_duration,
    parse_clock,
    parse_duration,
    parse_reserved_quantity,
)
from tests.core.resource_objects import (
    INVALID_NODEGROUPS,
    nodegroup,
    taint,
    vm_provider,
    vpsienode,
    window,
)


def rejected(parse: Any, obj: dict[str, Any]) -> InvalidResource:
    with pytest.raises(InvalidResource) as info:
        parse(obj)
    return info.value


def test_minimal_nodegroup_gets_the_schema_defaults() -> None:
    group = nodegroup_from_dict(nodegroup())

    spec = group.spec
    assert (spec.min_nodes, spec.max_nodes, spec.priority) == (0, 5, 0)
    assert spec.provider.mode is ProviderMode.VKE
    assert spec.scale_up.enabled is True
    assert spec.scale_down.enabled is True
    assert spec.scale_down.utilization_threshold == 0.5
    assert spec.scale_down.unneeded_time == dt.timedelta(minutes=10)
    assert spec.scale_down.delay_after_add == dt.timedelta(minutes=10)
    assert spec.scale_down.allowed_windows == ()
    assert spec.template.labels == {}
    assert spec.template.taints == ()
    assert (group.metadata.name, group.metadata.namespace) == ("web", "default")


def test_full_vm_nodegroup_parses_into_typed_values() -> None:
    obj = nodegroup(
        provider=vm_provider(sshKeyIdentifier="key-1"),
        template={
            "labels": {"example.com/tier": "web"},
            "taints": [taint(value="web")],
            "reserved": {"cpu": "250m", "memory": "1Gi", "ephemeralStorage": 2},
        },
        scaleDown={"unneededTime": "1h30m", "allowedWindows": [window(days=["Sat", "Sun"])]},
    )
    spec = nodegroup_from_dict(obj).spec

    assert spec.provider.mode is ProviderMode.VM
    assert spec.provider.user_data_secret_ref is not None
    assert spec.provider.user_data_secret_ref.key == "user-data"
    assert spec.template.taints[0].effect is TaintEffect.NO_SCHEDULE
    reserved = spec.template.reserved
    assert (reserved.cpu_millis, reserved.memory_bytes, reserved.ephemeral_storage_bytes) == (
        250,
        2**30,
        2,
    )
    assert spec.scale_down.unneeded_time == dt.timedelta(hours=1, minutes=30)
    assert spec.scale_down.allowed_windows == (
        AllowedWindow(
            days=(Weekday.SAT, Weekday.SUN), start=dt.time(22), end=dt.time(6), time_zone="UTC"
        ),
    )


def test_window_days_default_to_every_day() -> None:
    spec = nodegroup_from_dict(nodegroup(scaleDown={"allowedWindows": [window()]})).spec
    assert spec.scale_down.allowed_windows[0].days == tuple(Weekday)


def test_json_round_trip_is_lossless() -> None:
    group = nodegroup_from_dict(
        nodegroup(provider=vm_provider(), scaleDown={"unneededTime": "90s"})
    )
    again = nodegroup_from_dict({**nodegroup(), "spec": to_json(group.spec)})
    assert again.spec == group.spec
    assert to_json(group.spec)["scaleDown"]["unneededTime"] == "1m30s"


@pytest.mark.parametrize(("obj", "path", "message"), INVALID_NODEGROUPS)
def test_invalid_nodegroup_is_rejected_with_its_message(obj: Any, path: str, message: str) -> None:
    err = rejected(nodegroup_from_dict, obj)
    assert any(e.path == path and message in e.message for e in err.errors), err.errors


@pytest.mark.parametrize(
    ("obj", "path", "message"),
    [
        pytest.param(
            {**nodegroup(), "apiVersion": "v1"}, "apiVersion", "must be", id="api-version"
        ),
        pytest.param({**nodegroup(), "kind": "Node"}, "kind", "must be", id="kind"),
        pytest.param({**nodegroup(), "metadata": {}}, "metadata.name", "Required", id="no-name"),
        pytest.param(nodegroup(foo=1), "spec.foo", 'unknown field "foo"', id="unknown-field"),
        pytest.param(
            nodegroup(scaleDown={"allowedWindows": [window(days=["Mon", "Mon"])]}),
            "spec.scaleDown.allowedWindows[0].days",
            "Duplicate value",
            id="duplicate-weekday",
        ),
        pytest.param(
            nodegroup(scaleUp={"enabled": "yes"}),
            "spec.scaleUp.enabled",
            "must be of type boolean",
            id="bool-as-string",
        ),
        pytest.param(
            nodegroup(priority=True), "spec.priority", "must be of type integer", id="bool-as-int"
        ),
        pytest.param(
            {**nodegroup(), "status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}},
            "status.conditions[0].status",
            'Unsupported value: "Maybe"',
            id="condition-status",
        ),
        pytest.param(
            {**nodegroup(), "status": {"monthlyCost": "12,50"}},
            "status.monthlyCost",
            "must be a non-negative decimal",
            id="monthly-cost-comma",
        ),
    ],
)
def test_malformed_object_is_rejected(obj: Any, path: str, message: str) -> None:
    err = rejected(nodegroup_from_dict, obj)
    assert any(e.path == path and message in e.message for e in err.errors), err.errors


def test_every_problem_is_reported_at_once() -> None:
    err = rejected(nodegroup_from_dict, nodegroup(minNodes=-1, priority=500, foo=1))
    assert {e.path for e in err.errors} == {"spec.minNodes", "spec.priority", "spec.foo"}
    assert str(err).startswith("NodeGroup default/web is invalid: ")


def test_status_parses_conditions_times_and_cost() -> None:
    obj = {
        **nodegroup(),
        "status": {
            "observedGeneration": 3,
            "monthlyCost": "123.45",
            "lastScaleUpTime": "2026-08-01T10:00:00Z",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": "2026-08-01T10:00:00Z",
                    "reason": "GroupReady",
                    "message": "",
                }
            ],
        },
    }
    status = nodegroup_from_dict(obj).status
    assert status.monthly_cost == Decimal("123.45")
    assert status.last_scale_up_time == dt.datetime(2026, 8, 1, 10, tzinfo=dt.UTC)
    assert status.conditions[0].status is ConditionStatus.TRUE
    assert to_json(status)["lastScaleUpTime"] == "2026-08-01T10:00:00Z"


def test_parsed_models_are_frozen() -> None:
    group = nodegroup_from_dict(nodegroup(template={"labels": {"tier": "web"}}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        group.spec.max_nodes = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        group.spec.template.labels["tier"] = "db"  # type: ignore[index]
    assert hash(group) == hash(nodegroup_from_dict(nodegroup(template={"labels": {"tier": "web"}})))


def test_valid_vpsienode_parses() -> None:
    node = vpsienode_from_dict(
        {**vpsienode(), "status": {"phase": "Joining", "vpsieId": 5120, "publicIP": "198.51.100.7"}}
    )
    assert node.spec.mode is ProviderMode.VM
    assert node.status.phase is Phase.JOINING
    assert node.status.public_ip == "198.51.100.7"


@pytest.mark.parametrize(
    ("obj", "path", "message"),
    [
        pytest.param(
            vpsienode(hostname=None),
            "spec.hostname",
            "hostname is required when mode is vm",
            id="vm-without-hostname",
        ),
        pytest.param(
            vpsienode(planIdentifier=None),
            "spec.planIdentifier",
            "planIdentifier is required when mode is vm",
            id="vm-without-plan",
        ),
        pytest.param(
            vpsienode(nodeGroup="Web_Group"),
            "spec.nodeGroup",
            "must be a lowercase RFC 1123 subdomain",
            id="bad-group-name",
        ),
        pytest.param(
            {**vpsienode(), "status": {"phase": "Terminating"}},
            "status.phase",
            'Unsupported value: "Terminating"',
            id="unknown-phase",
        ),
    ],
)
def test_invalid_vpsienode_is_rejected(obj: Any, path: str, message: str) -> None:
    obj["spec"] = {k: v for k, v in obj["spec"].items() if v is not None}
    err = rejected(vpsienode_from_dict, obj)
    assert any(e.path == path and message in e.message for e in err.errors), err.errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("10m", dt.timedelta(minutes=10), id="minutes"),
        pytest.param("1h30m", dt.timedelta(hours=1, minutes=30), id="hours-minutes"),
        pytest.param("90s", dt.timedelta(seconds=90), id="seconds"),
        pytest.param("2h0m5s", dt.timedelta(hours=2, seconds=5), id="all-units"),
        pytest.param("0s", dt.timedelta(0), id="zero"),
    ],
)
def test_parse_duration_accepts(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("10", id="no-unit"),
        pytest.param("10 minutes", id="words"),
        pytest.param("1.5h", id="fraction"),
        pytest.param("30m1h", id="wrong-order"),
        pytest.param("-5m", id="negative"),
        pytest.param("10ms", id="milliseconds"),
        pytest.param("10m\n", id="trailing-newline"),
        pytest.param("1d", id="days"),
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "value",
    [dt.timedelta(0), dt.timedelta(minutes=10), dt.timedelta(hours=26, seconds=1)],
    ids=["zero", "ten-minutes", "over-a-day"],
)
def test_format_duration_round_trips(value: dt.timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("00:00", True, id="midnight"),
        pytest.param("23:59", True, id="last-minute"),
        pytest.param("24:00", False, id="hour-24"),
        pytest.param("25:00", False, id="hour-25"),
        pytest.param("7:30", False, id="single-digit-hour"),
        pytest.param("07:60", False, id="minute-60"),
        pytest.param("07:30:00", False, id="seconds"),
    ],
)
def test_parse_clock(text: str, ok: bool) -> None:
    if ok:
        assert parse_clock(text) == dt.time(int(text[:2]), int(text[3:]))
    else:
        with pytest.raises(ValueError, match="not a time of day"):
            parse_clock(text)


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        pytest.param("tier", True, id="plain"),
        pytest.param("example.com/tier", True, id="prefixed"),
        pytest.param("a" * 63, True, id="name-63"),
        pytest.param("a" * 64, False, id="name-64"),
        pytest.param("example.com/" + "a" * 64, False, id="prefixed-name-64"),
        pytest.param("Example.com/tier", False, id="uppercase-prefix"),
        pytest.param("/tier", False, id="empty-prefix"),
        pytest.param("a/b/c", False, id="two-slashes"),
        pytest.param("-tier", False, id="leading-dash"),
        pytest.param("", False, id="empty"),
    ],
)
def test_qualified_names_follow_kubernetes(key: str, ok: bool) -> None:
    assert is_qualified_name(key) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("", True, id="empty"),
        pytest.param("web-1.a_b", True, id="punctuated"),
        pytest.param("v" * 63, True, id="length-63"),
        pytest.param("v" * 64, False, id="length-64"),
        pytest.param("a b", False, id="space"),
        pytest.param("web-", False, id="trailing-dash"),
    ],
)
def test_label_values_follow_kubernetes(value: str, ok: bool) -> None:
    assert is_label_value(value) is ok


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        pytest.param("100m", True, id="millicores"),
        pytest.param("1.5Gi", True, id="binary"),
        pytest.param(2, True, id="integer"),
        pytest.param(-1, False, id="negative-integer"),
        pytest.param("-1", False, id="negative-string"),
        pytest.param("1 GB", False, id="space-and-unit"),
        pytest.param(1.5, False, id="float"),
        pytest.param(True, False, id="bool"),
    ],
)
def test_reserved_quantities(raw: object, ok: bool) -> None:
    if ok:
        assert parse_reserved_quantity(raw) == str(raw)
    else:
        with pytest.raises(ValueError, match="quantity"):
            parse_reserved_quantity(raw)
