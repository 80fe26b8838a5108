"""Kubernetes resource quantities, parsed strictly into integers.

The grammar is apimachinery's ``resource.Quantity``::

    <quantity> ::= <sign><number><suffix>
    <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei          (powers of 1024)
                 | n | u | m | "" | k | M | G | T | P | E   (powers of 1000)
                 | e<sign><digits> | E<sign><digits>    (powers of ten)

``milli_value`` gives millicores (CPU) and ``int_value`` bytes or counts; both round away
from zero like ``Quantity.MilliValue()`` and ``Quantity.Value()``, so a request is never
under-counted. Anything else (spaces, units such as ``"1KB"``, values beyond int64) is a
``QuantityError``. Arithmetic is exact (``Fraction``), never floating point.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

__all__ = [
    "QuantityError",
    "format_int",
    "format_milli",
    "int_value",
    "milli_value",
    "parse_quantity",
]

MAX_LENGTH = 64
_MAX_EXPONENT = 40
_INT64_MAX = 2**63 - 1

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?:(?P<bin>[KMGTPE]i)|[eE](?P<exp>[+-]?[0-9]+)|(?P<dec>[numkMGTPE]?))"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_FORMAT_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20))
_FORMAT_BINARY_KI = ("Ki", 2**10)
_FORMAT_DECIMAL = (("E", 10**18), ("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6))


class QuantityError(ValueError):
    """The text is not a valid Kubernetes quantity, or is out of range."""


def parse_quantity(text: str) -> Fraction:
    """Return the exact value of a quantity string such as ``"100m"`` or ``"1.5Gi"``."""
    if not text or len(text) > MAX_LENGTH:
        raise QuantityError(f"not a quantity: {text!r}")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"not a quantity: {text!r}")
    whole, frac = match["int"], match["frac"] or ""
    if not whole and not frac:
        raise QuantityError(f"not a quantity (no digits): {text!r}")
    mantissa = int(whole + frac or "0")
    exponent = -len(frac)
    if match["bin"] is not None:
        scale = Fraction(1024 ** _BINARY[match["bin"]])
    else:
        exponent += int(match["exp"]) if match["exp"] is not None else _DECIMAL[match["dec"]]
        scale = Fraction(1)
    if mantissa and not -_MAX_EXPONENT <= exponent + len(str(mantissa)) <= _MAX_EXPONENT:
        raise QuantityError(f"quantity out of range: {text!r}")
    value = mantissa * scale * Fraction(10) ** exponent
    return -value if match["sign"] == "-" else value


def _round_away(value: Fraction, text: str) -> int:
    whole, rest = divmod(abs(value.numerator), value.denominator)
    magnitude = whole + (1 if rest else 0)
    if magnitude > _INT64_MAX:
        raise QuantityError(f"quantity out of range: {text!r}")
    return -magnitude if value < 0 else magnitude


@lru_cache(maxsize=4096)
def milli_value(text: str) -> int:
    """Return the quantity in thousandths (CPU millicores), rounded away from zero."""
    return _round_away(parse_quantity(text) * 1000, text)


@lru_cache(maxsize=4096)
def int_value(text: str) -> int:
    """Return the quantity as an integer (bytes, pods), rounded away from zero."""
    return _round_away(parse_quantity(text), text)


def format_milli(millis: int) -> str:
    """Return the canonical quantity for ``millis`` thousandths: ``"2"``, ``"250m"``."""
    whole, rest = divmod(millis, 1000)
    return str(whole) if rest == 0 else f"{millis}m"


def format_int(value: int) -> str:
    """Return a canonical quantity for an integer: ``"2Gi"``, ``"5G"``, ``"1500"``."""
    if value == 0:
        return "0"
    for suffix, unit in (*_FORMAT_BINARY, *_FORMAT_DECIMAL, _FORMAT_BINARY_KI, ("k", 1000)):
        if value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)
