"""User-written annotation values as the autoscaler reads and repeats them.

The projection keeps at most ``MAX_VALUE_LENGTH`` characters of a value and replaces a
longer one with ``too_long_marker(n)``, which no parser accepts; ``describe_value`` says
either how long such a value was or, quoted, what it is; ``quote_value`` makes any text
safe to show in an Event or a log line (cut, and everything but printable ASCII escaped, so
no control or text-direction characters from a user's value get through).
"""

from __future__ import annotations

import json
import re

__all__ = ["MAX_VALUE_LENGTH", "describe_value", "oversize", "quote_value", "too_long_marker"]

MAX_VALUE_LENGTH = 1024
_TOO_LONG = re.compile(r"<too long: ([0-9]+) characters>")


def too_long_marker(length: int) -> str:
    """What the projection keeps instead of a value of ``length`` characters."""
    return f"<too long: {length} characters>"


def quote_value(text: str, limit: int = 80) -> str:
    """Return ``text`` double-quoted, cut after ``limit``, all but printable ASCII escaped."""
    cut = text if len(text) <= limit else f"{text[:limit]}..."
    return json.dumps(cut).replace("\x7f", "\\u007f")


def oversize(value: str) -> int | None:
    """The length of an over-long value (or of the one the marker stands for), else ``None``."""
    match = _TOO_LONG.fullmatch(value)
    if match is not None:
        return int(match.group(1))
    return len(value) if len(value) > MAX_VALUE_LENGTH else None


def describe_value(value: str) -> str:
    """``is N characters long`` for an over-long value (or its marker), else
    ``has the value "..."``."""
    size = oversize(value)
    return f"is {size} characters long" if size else f"has the value {quote_value(value)}"
