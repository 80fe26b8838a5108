"""Kubernetes quantities parse strictly into integers (table cases and properties)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoscaler.core.quantity import (
    QuantityError,
    format_int,
    format_milli,
    int_value,
    milli_value,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "millis", "units"),
    [
        pytest.param("100m", 100, 1, id="millicores"),
        pytest.param("1.5", 1500, 2, id="decimal-rounds-units-up"),
        pytest.param("2", 2000, 2, id="whole-cores"),
        pytest.param("0", 0, 0, id="zero"),
        pytest.param("2Gi", 2 * 2**30 * 1000, 2 * 2**30, id="gibibytes"),
        pytest.param("500Mi", 500 * 2**20 * 1000, 500 * 2**20, id="mebibytes"),
        pytest.param("1Ki", 1024_000, 1024, id="kibibytes"),
        pytest.param("1k", 1_000_000, 1000, id="kilo"),
        pytest.param("1M", 10**9, 10**6, id="mega"),
        pytest.param("1e3", 1_000_000, 1000, id="exponent"),
        pytest.param("1E3", 1_000_000, 1000, id="capital-exponent"),
        pytest.param("12e-3", 12, 1, id="negative-exponent"),
        pytest.param(".5", 500, 1, id="leading-dot"),
        pytest.param("5.", 5000, 5, id="trailing-dot"),
        pytest.param("+3", 3000, 3, id="plus-sign"),
        pytest.param("0.0001", 1, 1, id="below-a-millicore-rounds-up"),
        pytest.param("1.5Gi", 1610612736000, 1610612736, id="fractional-binary"),
        pytest.param("-250m", -250, -1, id="negative-rounds-away-from-zero"),
        pytest.param("1E", None, 10**18, id="exa-is-a-suffix-not-an-exponent"),
        pytest.param("137132918n", 138, 1, id="nano-as-metrics-server-reports-cpu"),
        pytest.param("2500u", 3, 1, id="micro"),
    ],
)
def test_quantity_values(text: str, millis: int | None, units: int) -> None:
    assert int_value(text) == units
    if millis is None:
        with pytest.raises(QuantityError, match="out of range"):
            milli_value(text)
    else:
        assert milli_value(text) == millis


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(" 1", id="leading-space"),
        pytest.param("1 ", id="trailing-space"),
        pytest.param("1KB", id="unit-not-a-quantity"),
        pytest.param("1ki", id="lower-case-binary"),
        pytest.param("1e", id="exponent-without-digits"),
        pytest.param("e3", id="no-mantissa"),
        pytest.param(".", id="lone-dot"),
        pytest.param("1.2.3", id="two-dots"),
        pytest.param("--1", id="double-sign"),
        pytest.param("1m2", id="digits-after-suffix"),
        pytest.param("Ki", id="suffix-only"),
        pytest.param("1e99", id="beyond-int64-exponent"),
        pytest.param("99999999999999999999", id="beyond-int64"),
        pytest.param("1" * 65, id="too-long"),
    ],
)
def test_malformed_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        int_value(text)


def test_parse_is_exact() -> None:
    assert parse_quantity("0.1") * 3 == Fraction(3, 10)
    assert parse_quantity("1.5Ki") == 1536


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_millis_round_trip(millis: int) -> None:
    assert milli_value(format_milli(millis)) == millis


@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_integers_round_trip(value: int) -> None:
    assert int_value(format_int(value)) == value


_SCALES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
}


@given(
    whole=st.integers(min_value=0, max_value=10**6),
    frac=st.text(alphabet="0123456789", max_size=4),
    suffix=st.sampled_from(sorted(_SCALES)),
)
def test_generated_quantities_match_exact_arithmetic(whole: int, frac: str, suffix: str) -> None:
    text = f"{whole}.{frac}{suffix}" if frac else f"{whole}{suffix}"
    exact = (whole + Fraction(int(frac or "0"), 10 ** len(frac))) * _SCALES[suffix]
    assert parse_quantity(text) == exact
    assert int_value(text) >= exact > int_value(text) - 1
    assert milli_value(text) >= exact * 1000 > milli_value(text) - 1
