"""Sharing equal immutable values between cached records (part of the edge, I10).

Pods of one ReplicaSet carry the same labels, requests and tolerations; storing them once
keeps a cached pod small. An ``Interner`` maps a value, or a cheap key built from the raw
JSON, to one shared instance. It is bounded: when full it forgets everything and starts
again, which costs some sharing but never correctness. Strings are ``sys.intern``-ed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar, cast

from autoscaler.core.records import Pairs

__all__ = ["SHARED", "Interner", "pairs"]

H = TypeVar("H", bound=Hashable)
V = TypeVar("V")


class Interner:
    """Shared values by value (``share``) or by a key derived from raw input (``memo``)."""

    def __init__(self, max_entries: int = 65_536) -> None:
        self._max = max_entries
        self._values: dict[Any, Any] = {}

    def share(self, value: H) -> H:
        """Return the stored value equal to ``value``, storing ``value`` if there is none."""
        found = self._values.get(value)
        if found is not None:
            return cast(H, found)
        self._store(value, value)
        return value

    def lookup(self, value: H) -> H | None:
        """Return the stored value equal to ``value``, or ``None`` (nothing is stored)."""
        return cast("H | None", self._values.get(value))

    def memo(self, key: Hashable, build: Callable[[], V]) -> V:
        """Return the value stored under ``key``, building and storing it if there is none."""
        found = self._values.get(key)
        if found is not None:
            return cast(V, found)
        value = build()
        self._store(key, value)
        return value

    def _store(self, key: Hashable, value: object) -> None:
        if len(self._values) >= self._max:
            self._values.clear()
        self._values[key] = value

    def __len__(self) -> int:
        return len(self._values)


SHARED = Interner()
"""The process-wide interner used by the projections unless one is passed in."""


def pairs(raw: Mapping[str, str] | None, shared: Interner = SHARED) -> Pairs:
    """Return a string map as shared ``(key, value)`` pairs with interned strings."""
    if not raw:
        return ()
    plain = tuple(raw.items())
    found = shared.lookup(plain)  # equal to a stored tuple of interned strings
    if found is not None:
        return found
    intern = sys.intern
    return shared.share(tuple((intern(k), intern(v)) for k, v in plain))
