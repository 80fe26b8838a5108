"""Informer handlers that only turn notifications into work-queue keys (I6).

A handler never does work itself: it computes the keys an event concerns and adds them
to a queue, whose deduplication collapses a burst of events into one reconcile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from autoscaler.kube.store import DeletedFinalStateUnknown, Keyed

T = TypeVar("T", bound=Keyed)


class KeyQueue(Protocol):
    """What a handler needs of a queue."""

    def add(self, key: str) -> None:
        """Mark ``key`` as needing work."""


def own_key(obj: Keyed) -> Iterable[str]:
    """The object's own ``namespace/name`` key."""
    return (obj.key,)


class EnqueueKeys(Generic[T]):
    """Adds ``keys_of(obj)`` to ``queue`` for every add, update and delete.

    ``keys_of`` maps an object to the keys of the objects that must be reconciled
    because of it (the object itself by default; e.g. a pod's node for a node
    controller). On delete it receives the last known state, also from a tombstone.
    """

    def __init__(self, queue: KeyQueue, keys_of: Callable[[T], Iterable[str]] = own_key) -> None:
        self._queue = queue
        self._keys_of = keys_of

    def _enqueue(self, obj: T) -> None:
        for key in self._keys_of(obj):
            self._queue.add(key)

    def on_add(self, obj: T) -> None:
        """Enqueue the object's keys."""
        self._enqueue(obj)

    def on_update(self, old: T, new: T) -> None:
        """Enqueue the keys of both states (a pod that moved concerns both nodes)."""
        self._enqueue(old)
        self._enqueue(new)

    def on_delete(self, obj: T | DeletedFinalStateUnknown[Any]) -> None:
        """Enqueue the keys of the final (or last known) state."""
        self._enqueue(obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj)


def _ignore(*_: Any) -> None:
    return None


class Handler(Generic[T]):
    """An event handler from up to three callables (the missing ones do nothing)."""

    def __init__(
        self,
        *,
        on_add: Callable[[T], None] = _ignore,
        on_update: Callable[[T, T], None] = _ignore,
        on_delete: Callable[[T | DeletedFinalStateUnknown[Any]], None] = _ignore,
    ) -> None:
        self.on_add = on_add
        self.on_update = on_update
        self.on_delete = on_delete
