"""Node opt-out keys of CA, Karpenter and ours are read strictly and fail safe (review SEC-1)."""

from __future__ import annotations

import pytest

from autoscaler.core.disruption_keys import (
    ALLOWED_HOURS,
    CA_SCALE_DOWN_DISABLED,
    KARPENTER_DO_NOT_DISRUPT,
    PROTECTED,
    SCALE_DOWN,
    SCALE_DOWN_DISABLED_LABEL,
    OptOutReason,
    node_opt_out,
    node_opt_outs,
)
from autoscaler.core.node_eligibility import KeptReason
from tests.core.factories import NOW, node

DISABLED = OptOutReason.SCALE_DOWN_DISABLED_ANNOTATION
MALFORMED = OptOutReason.MALFORMED_ANNOTATION
OUTSIDE = OptOutReason.OUTSIDE_ALLOWED_WINDOW
# NOW is Saturday 2026-08-01 12:00 UTC.


@pytest.mark.parametrize(
    ("annotations", "labels"),
    [
        pytest.param({}, {}, id="no-keys"),
        pytest.param({PROTECTED: "false"}, {}, id="protected-false"),
        pytest.param({}, {SCALE_DOWN_DISABLED_LABEL: "false"}, id="label-false"),
        pytest.param({SCALE_DOWN_DISABLED_LABEL: "false"}, {}, id="our-annotation-false"),
        pytest.param({SCALE_DOWN: "enabled"}, {}, id="scale-down-enabled"),
        pytest.param({CA_SCALE_DOWN_DISABLED: "false"}, {}, id="ca-false"),
        pytest.param({KARPENTER_DO_NOT_DISRUPT: "false"}, {}, id="karpenter-false"),
        pytest.param({ALLOWED_HOURS: "10:00-14:00"}, {}, id="inside-allowed-hours"),
        pytest.param({ALLOWED_HOURS: "Fri 22:00-13:00"}, {}, id="inside-fridays-wrapping-hours"),
        pytest.param({}, {PROTECTED: "true"}, id="protected-as-label-is-not-read"),
        pytest.param({}, {SCALE_DOWN: "disabled"}, id="scale-down-as-label-is-not-read"),
        pytest.param({"autoscaler.vpsie.com/drain-status": "failed"}, {}, id="other-our-keys"),
    ],
)
def test_node_keys_that_allow_scale_down(
    annotations: dict[str, str], labels: dict[str, str]
) -> None:
    assert node_opt_out(node("n", annotations=annotations, labels=labels), NOW) is None


@pytest.mark.parametrize(
    ("annotations", "labels", "key", "fragment"),
    [
        pytest.param({PROTECTED: "true"}, {}, PROTECTED, "annotation", id="protected"),
        pytest.param(
            {},
            {SCALE_DOWN_DISABLED_LABEL: "true"},
            SCALE_DOWN_DISABLED_LABEL,
            "label",
            id="our-label",
        ),
        pytest.param(
            {SCALE_DOWN_DISABLED_LABEL: "true"},
            {},
            SCALE_DOWN_DISABLED_LABEL,
            "annotation",
            id="our-label-key-as-annotation",
        ),
        pytest.param({SCALE_DOWN: "disabled"}, {}, SCALE_DOWN, '="disabled"', id="scale-down"),
        pytest.param(
            {CA_SCALE_DOWN_DISABLED: "true"},
            {},
            CA_SCALE_DOWN_DISABLED,
            '="true"',
            id="cluster-autoscaler",
        ),
        pytest.param(
            {KARPENTER_DO_NOT_DISRUPT: "true"},
            {},
            KARPENTER_DO_NOT_DISRUPT,
            '="true"',
            id="karpenter",
        ),
    ],
)
def test_node_keys_that_disable_scale_down(
    annotations: dict[str, str], labels: dict[str, str], key: str, fragment: str
) -> None:
    found = node_opt_out(node("n", annotations=annotations, labels=labels), NOW)
    assert found is not None
    assert (found.reason, found.key, found.warning) == (DISABLED, key, False)
    assert key in found.message
    assert fragment in found.message


@pytest.mark.parametrize(
    ("hours", "shown"),
    [
        pytest.param("Mon-Fri 09:00-17:00", "Mon-Fri 09:00-17:00 UTC", id="weekdays-only"),
        pytest.param("13:00-14:00", "13:00-14:00 UTC", id="later-today"),
        pytest.param("Sat 10:00-12:00", "Sat 10:00-12:00 UTC", id="end-excluded"),
        pytest.param(
            "Sat 10:00-12:00 America/New_York", "Sat 10:00-12:00 America/New_York", id="zone"
        ),
    ],
)
def test_node_outside_its_allowed_hours_is_kept(hours: str, shown: str) -> None:
    found = node_opt_out(node("n", annotations={ALLOWED_HOURS: hours}), NOW)
    assert found is not None
    assert (found.reason, found.key, found.value) == (OUTSIDE, ALLOWED_HOURS, hours)
    assert f"only in the window {shown}" in found.message


@pytest.mark.parametrize(
    ("key", "value", "on_label", "fragments"),
    [
        pytest.param(
            PROTECTED,
            "True",
            False,
            ['has the value "True"', '"true" or "false"'],
            id="capitalised-true",
        ),
        pytest.param(PROTECTED, "TRUE", False, ['"TRUE"'], id="upper-case-true"),
        pytest.param(
            PROTECTED,
            "False",
            False,
            ['"False"', "(lowercase)"],
            id="capitalised-false-also-blocks",
        ),
        pytest.param(PROTECTED, "yes", False, ['"yes"'], id="yes"),
        pytest.param(PROTECTED, "1", False, ['"1"'], id="one"),
        pytest.param(PROTECTED, "", False, ['has the value ""'], id="empty"),
        pytest.param(PROTECTED, " true", False, ['" true"'], id="leading-space"),
        pytest.param(
            SCALE_DOWN_DISABLED_LABEL, "yes", True, ["node label", '"yes"'], id="label-yes"
        ),
        pytest.param(
            SCALE_DOWN, "true", False, ['"true"', '"disabled" or "enabled"'], id="scale-down-true"
        ),
        pytest.param(SCALE_DOWN, "Disabled", False, ['"Disabled"'], id="scale-down-capitalised"),
        pytest.param(CA_SCALE_DOWN_DISABLED, "on", False, ['"on"'], id="ca-on"),
        pytest.param(
            KARPENTER_DO_NOT_DISRUPT, "30m", False, ['"30m"'], id="karpenter-pod-duration-on-a-node"
        ),
        pytest.param(
            PROTECTED,
            "<too long: 2048 characters>",
            False,
            ["is 2048 characters long"],
            id="projection-marker",
        ),
        pytest.param(
            PROTECTED, "x" * 1025, False, ["is 1025 characters long"], id="over-long-raw-value"
        ),
        pytest.param(PROTECTED, 'tr"ue\n', False, [r'"tr\"ue\n"'], id="control-characters"),
        pytest.param(
            ALLOWED_HOURS,
            "25:00-xx",
            False,
            ['"25:00-xx" is not a time range'],
            id="hours-not-a-range",
        ),
        pytest.param(ALLOWED_HOURS, "00:00-00:00", False, ["ambiguous"], id="hours-ambiguous"),
        pytest.param(
            ALLOWED_HOURS,
            "10:00-11:00 Mars/Olympus",
            False,
            ['"Mars/Olympus" is not a known IANA time zone'],
            id="hours-unknown-zone",
        ),
        pytest.param(
            ALLOWED_HOURS,
            "<too long: 4096 characters>",
            False,
            ["is 4096 characters long", "at most 128"],
            id="hours-projection-marker",
        ),
        pytest.param(
            ALLOWED_HOURS,
            "Mon " * 50 + "10:00-11:00",
            False,
            ["is 211 characters long"],
            id="hours-over-128",
        ),
    ],
)
def test_malformed_node_value_blocks_and_names_key_and_value(
    key: str, value: str, on_label: bool, fragments: list[str]
) -> None:
    keys = {key: value}
    subject = node("n", labels=keys) if on_label else node("n", annotations=keys)
    found = node_opt_out(subject, NOW)
    assert found is not None
    assert (found.reason, found.key, found.value, found.warning) == (MALFORMED, key, value, True)
    assert key in found.message
    assert "scale-down of this node is blocked" in found.message
    for fragment in fragments:
        assert fragment in found.message


@pytest.mark.parametrize(
    ("annotations", "labels", "expected"),
    [
        pytest.param(
            {PROTECTED: "true", ALLOWED_HOURS: "bad"},
            {},
            [(MALFORMED, ALLOWED_HOURS), (DISABLED, PROTECTED)],
            id="malformed-first-even-when-protected",
        ),
        pytest.param(
            {CA_SCALE_DOWN_DISABLED: "true", ALLOWED_HOURS: "Mon 01:00-02:00"},
            {},
            [(DISABLED, CA_SCALE_DOWN_DISABLED), (OUTSIDE, ALLOWED_HOURS)],
            id="opt-out-before-window",
        ),
        pytest.param(
            {
                KARPENTER_DO_NOT_DISRUPT: "true",
                CA_SCALE_DOWN_DISABLED: "true",
                SCALE_DOWN: "disabled",
                PROTECTED: "true",
            },
            {SCALE_DOWN_DISABLED_LABEL: "true"},
            [
                (DISABLED, PROTECTED),
                (DISABLED, SCALE_DOWN_DISABLED_LABEL),
                (DISABLED, SCALE_DOWN),
                (DISABLED, CA_SCALE_DOWN_DISABLED),
                (DISABLED, KARPENTER_DO_NOT_DISRUPT),
            ],
            id="ours-then-cluster-autoscaler-then-karpenter",
        ),
        pytest.param(
            {KARPENTER_DO_NOT_DISRUPT: "maybe", PROTECTED: "maybe"},
            {},
            [(MALFORMED, PROTECTED), (MALFORMED, KARPENTER_DO_NOT_DISRUPT)],
            id="every-malformed-value-is-reported",
        ),
    ],
)
def test_node_opt_outs_are_in_documented_order(
    annotations: dict[str, str],
    labels: dict[str, str],
    expected: list[tuple[OptOutReason, str]],
) -> None:
    subject = node("n", annotations=annotations, labels=labels)
    found = node_opt_outs(subject, NOW)
    assert [(o.reason, o.key) for o in found] == expected
    assert node_opt_out(subject, NOW) == found[0]


def test_opt_out_reasons_are_kept_reasons() -> None:
    assert {r.value for r in OptOutReason} <= {r.value for r in KeptReason}
