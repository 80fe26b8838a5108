"""Value kinds that travel as JSON strings, parsed strictly, with their CEL twins.

::

    timedelta  "10m", "1h30m", "90s"     DURATION   (hours, minutes, seconds; no fractions)
    time       "22:00"                  CLOCK      (HH:MM, 00:00 to 23:59)
    datetime   "2026-08-01T10:00:00Z"   TIMESTAMP  (RFC 3339, always with a zone)
    Decimal    "123.45"                 DECIMAL    (non-negative, at most 6 decimals)
    Quantity   "100m", "512Mi", 2       QUANTITY   (non-negative Kubernetes quantity)

Each kind pairs a parser (raising ``ValueError``) with the CEL rule that makes the API
server reject the same strings with the same message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

from autoscaler.core.quantity import QuantityError, parse_quantity
from autoscaler.core.resources.meta import Rule

Quantity = NewType("Quantity", str)
"""A Kubernetes quantity kept as its text; ``autoscaler.core.quantity`` gives its value."""

DURATION_RE = r"^([0-9]{1,5}h)?([0-9]{1,5}m)?([0-9]{1,5}s)?$"
CLOCK_RE = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
DECIMAL_RE = r"^[0-9]{1,12}([.][0-9]{1,6})?$"
_DURATION = re.compile(DURATION_RE)


@dataclasses.dataclass(frozen=True, slots=True)
class ValueKind:
    """How one Python type is written in JSON: base schema, rule, parser and formatter."""

    schema: Mapping[str, Any]
    rule: Rule | None
    parse: Callable[[Any], Any]
    dump: Callable[[Any], Any]
    message: str


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``"10m"``, ``"1h30m"`` or ``"0s"`` strictly; anything else is a ``ValueError``."""
    match = _DURATION.fullmatch(text) if text else None
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    hours, minutes, seconds = (int(g[:-1]) if g else 0 for g in match.groups())
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: dt.timedelta) -> str:
    """The canonical text of a whole-second duration: ``"10m"``, ``"1h30m"``, ``"0s"``."""
    total = int(value.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts) or "0s"


def parse_clock(text: str) -> dt.time:
    """Parse a time of day ``"HH:MM"`` (``"00:00"`` to ``"23:59"``) strictly."""
    if re.fullmatch(CLOCK_RE, text) is None:
        raise ValueError(f"not a time of day: {text!r}")
    return dt.time(int(text[:2]), int(text[3:]))


def parse_timestamp(text: str) -> dt.datetime:
    """Parse an RFC 3339 time with a zone (``metav1.Time``), e.g. ``2026-08-01T10:00:00Z``."""
    if "T" not in text:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"RFC 3339 time without a zone: {text!r}")
    return moment


def format_timestamp(moment: dt.datetime) -> str:
    """Format as ``metav1.Time``: UTC, whole seconds, ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_decimal(text: str) -> Decimal:
    """Parse a non-negative decimal string such as ``"123.45"``."""
    if re.fullmatch(DECIMAL_RE, text) is None:
        raise ValueError(f"not a decimal: {text!r}")
    try:
        return Decimal(text)
    except InvalidOperation as err:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"not a decimal: {text!r}") from err


def parse_reserved_quantity(raw: object) -> Quantity:
    """Accept a non-negative integer or quantity string; return the quantity text."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return Quantity(str(raw))
    if not isinstance(raw, str):
        raise ValueError(f"not a quantity: {raw!r}")
    try:
        value = parse_quantity(raw)
    except QuantityError as err:
        raise ValueError(str(err)) from err
    if value < 0:
        raise ValueError(f"negative quantity: {raw!r}")
    return Quantity(raw)


def _string_rule(cel: str, message: str) -> Rule:
    return Rule(cel=cel, message=message)


def _text(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """Wrap a string parser so that a non-string JSON value is a ``ValueError`` too."""

    def parse_text(raw: Any) -> Any:
        if not isinstance(raw, str):
            raise ValueError(f"not a string: {raw!r}")
        return parse(raw)

    return parse_text


DURATION_MESSAGE = "must be a duration in hours, minutes and seconds, such as 10m, 90s or 1h30m"
CLOCK_MESSAGE = "must be a time of day HH:MM between 00:00 and 23:59"
DECIMAL_MESSAGE = "must be a non-negative decimal number such as 123.45"
QUANTITY_MESSAGE = "must be a non-negative Kubernetes quantity such as 100m, 512Mi or 2"

KINDS: Mapping[object, ValueKind] = {
    dt.timedelta: ValueKind(
        schema={"type": "string", "maxLength": 32},
        rule=_string_rule(f"self.matches('{DURATION_RE}') && size(self) > 0", DURATION_MESSAGE),
        parse=_text(parse_duration),
        dump=format_duration,
        message=DURATION_MESSAGE,
    ),
    dt.time: ValueKind(
        schema={"type": "string", "maxLength": 5},
        rule=_string_rule(f"self.matches('{CLOCK_RE}')", CLOCK_MESSAGE),
        parse=_text(parse_clock),
        dump=lambda t: t.strftime("%H:%M"),
        message=CLOCK_MESSAGE,
    ),
    dt.datetime: ValueKind(
        schema={"type": "string", "format": "date-time"},
        rule=None,
        parse=_text(parse_timestamp),
        dump=format_timestamp,
        message="must be an RFC 3339 date-time such as 2026-08-01T10:00:00Z",
    ),
    Decimal: ValueKind(
        schema={"type": "string", "maxLength": 24},
        rule=_string_rule(f"self.matches('{DECIMAL_RE}')", DECIMAL_MESSAGE),
        parse=_text(parse_decimal),
        dump=str,
        message=DECIMAL_MESSAGE,
    ),
    Quantity: ValueKind(
        schema={
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        },
        rule=_string_rule(
            "type(self) == int ? self >= 0"
            " : (isQuantity(self) && !quantity(self).isLessThan(quantity('0')))",
            QUANTITY_MESSAGE,
        ),
        parse=parse_reserved_quantity,
        dump=str,
        message=QUANTITY_MESSAGE,
    ),
}
