"""Strict grammars of the pod annotations the drainability rules read.

``go_duration_ns`` reads a Go ``time.ParseDuration`` value (Karpenter's
``do-not-disrupt: "30m"``), ``listed_volumes`` Cluster Autoscaler's
``safe-to-evict-local-volumes`` list. Each returns ``None`` for a value it cannot read:
the caller blocks (fail safe) and says why (``annotation_text`` repeats the value safely).
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "DURATION_WORDS",
    "SAFE_TO_EVICT_WORDS",
    "VOLUMES_WORDS",
    "go_duration_ns",
    "listed_volumes",
]


SAFE_TO_EVICT_WORDS = '"true", "false" or "on-completion"'
DURATION_WORDS = '"true", "false" or a positive duration such as "30m" or "1h30m"'
VOLUMES_WORDS = "volume names separated by commas, without spaces"
_GO_DURATION = re.compile(r"\+?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"([0-9.]+)(ns|us|µs|μs|ms|s|m|h)")
_NS_PER_UNIT = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_MAX_GO_DURATION_NS = 2**63 - 1
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def go_duration_ns(text: str) -> int | None:
    """Nanoseconds of a Go duration (``time.ParseDuration``), or ``None`` if it is not one."""
    if len(text) > 64 or _GO_DURATION.fullmatch(text) is None:
        return None
    total = 0
    for number, unit in _DURATION_PART.findall(text):
        total += int(Decimal(number) * _NS_PER_UNIT[unit])  # Go truncates each part too
    return total if total <= _MAX_GO_DURATION_NS else None


def listed_volumes(value: str) -> frozenset[str] | None:
    """The names in a ``safe-to-evict-local-volumes`` value, or ``None`` if malformed."""
    if not value:
        return frozenset()
    names = value.split(",")
    if not all(_DNS_LABEL.fullmatch(name) for name in names):
        return None
    return frozenset(names)
