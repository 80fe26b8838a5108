"""A small time-to-live cache on the injected clock, for catalogue data (offers, plans)."""

from __future__ import annotations

from typing import Generic, TypeVar

from autoscaler.clock import Clock

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values kept for ``ttl`` seconds of ``clock.monotonic()``."""

    def __init__(self, *, clock: Clock, ttl: float) -> None:
        self._clock = clock
        self._ttl = ttl
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The cached value, or ``None`` if absent or expired."""
        item = self._items.get(key)
        if item is None or self._clock.monotonic() >= item[0]:
            self._items.pop(key, None)
            return None
        return item[1]

    def put(self, key: K, value: V) -> V:
        """Store ``value`` and return it."""
        self._items[key] = (self._clock.monotonic() + self._ttl, value)
        return value
