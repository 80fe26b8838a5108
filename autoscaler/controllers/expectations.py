"""Creates made but not yet seen in the cache (the ReplicaSet controller's expectations).

Between a create call and its watch event the cache does not show the new object; a
reconcile in that gap would count too few and create again. ``expect`` records the name,
``pending`` counts those still unseen and forgets the seen ones, and anything unseen for
``ttl`` seconds is forgotten (the create must have failed after all). Memory only: after a
restart the cache, synced before any worker starts, is complete.
"""

from __future__ import annotations

from autoscaler.clock import Clock


class Expectations:
    """Names of created objects per owner key, until the cache shows them."""

    def __init__(self, *, clock: Clock, ttl: float = 120.0) -> None:
        self._clock = clock
        self._ttl = ttl
        self._names: dict[str, dict[str, float]] = {}

    def expect(self, owner: str, name: str) -> None:
        """Remember a create for ``owner``."""
        self._names.setdefault(owner, {})[name] = self._clock.monotonic()

    def forget(self, owner: str, name: str) -> None:
        """Drop a create that provably did not happen (the API server refused it)."""
        self._names.get(owner, {}).pop(name, None)

    def pending(self, owner: str, *, seen: set[str]) -> int:
        """How many of ``owner``'s creates the cache does not show yet."""
        now = self._clock.monotonic()
        names = {
            n: t
            for n, t in self._names.get(owner, {}).items()
            if n not in seen and now - t < self._ttl
        }
        if names:
            self._names[owner] = names
        else:
            self._names.pop(owner, None)
        return len(names)
