"""Tolerant field types for the VPSie response models (vpsie-api.md §3 type quirks).

Flags arrive as ``0``/``1``, ``"0"``/``"1"`` or booleans; numbers as ints or numeric strings;
prices as numbers or strings; IPs as null or empty strings. Each type here accepts every
observed form and rejects anything else with ``ValueError`` (which pydantic reports as a
``ValidationError``), except prices: a price we cannot read is unknown (``None``).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator

_MAX_DIGITS = 18
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def to_flag(value: object) -> bool:
    """``True``/``1``/``"1"``/``"true"`` are true; ``False``/``0``/``"0"``/``""``/null are false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("not a flag")


def to_int(value: object) -> int | None:
    """An int, an integral float, or a string of decimal digits; null or ``""`` is ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        digits = text.removeprefix("-")
        if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
            return int(text)
    raise ValueError("not an integer")


def to_str(value: object) -> str | None:
    """A string (or a number, as text); null is ``None``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("not a string")


def to_id(value: object) -> str:
    """A required non-empty identifier (a string, or a number as text)."""
    text = to_str(value)
    if not text or not text.strip():
        raise ValueError("missing identifier")
    return text.strip()


def to_ip(value: object) -> str | None:
    """An IP address as text; null, empty or non-string values mean "no address"."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def to_price(value: object) -> Decimal | None:
    """``Decimal(str(x))`` of a number or numeric string; anything else is unknown (``None``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    text = str(value).strip()
    if len(text) > 40:
        return None
    try:
        price = Decimal(text)
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


Flag = Annotated[bool, BeforeValidator(to_flag)]
OptInt = Annotated[int | None, BeforeValidator(to_int)]
ReqInt = Annotated[int, BeforeValidator(to_int)]
OptStr = Annotated[str | None, BeforeValidator(to_str)]
Id = Annotated[str, BeforeValidator(to_id)]
Ip = Annotated[str | None, BeforeValidator(to_ip)]
Money = Annotated[Decimal | None, BeforeValidator(to_price)]
