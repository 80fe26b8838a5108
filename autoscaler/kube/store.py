"""A synchronous keyed store with indexes (client-go ``tools/cache/{store,index}.go``, I2, I9).

Keys are ``namespace/name`` (or ``name`` when cluster-scoped), never UIDs (I8). An index
function maps a record to the index values it belongs under; ``by_index`` returns records
and ``index_keys`` their keys. Every method is plain ``def``: on the event loop each call is
one atomic step, so readers never see a half-applied update and no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from autoscaler.core.records import NodeRecord, PodRecord

__all__ = [
    "DeletedFinalStateUnknown",
    "IndexFunc",
    "Keyed",
    "Store",
    "nodes_by_group",
    "pods_by_node",
]


class Keyed(Protocol):
    """A record that knows its store key."""

    @property
    def key(self) -> str:
        """The store key."""


T = TypeVar("T", bound=Keyed)
IndexFunc = Callable[[T], Iterable[str]]


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown(Generic[T]):
    """A key that vanished between two lists; ``obj`` is its last known (maybe stale) state."""

    key: str
    obj: T


def pods_by_node(pod: PodRecord) -> tuple[str, ...]:
    """Index pods by ``spec.nodeName`` (unscheduled pods are not indexed)."""
    return (pod.node_name,) if pod.node_name else ()


def nodes_by_group(node: NodeRecord) -> tuple[str, ...]:
    """Index nodes by their ``autoscaler.vpsie.com/nodegroup`` label."""
    group = node.group
    return (group,) if group else ()


class Store(Generic[T]):
    """Records by key, plus named indexes kept in step with every change."""

    def __init__(self, indexers: Mapping[str, IndexFunc[T]] | None = None) -> None:
        self._items: dict[str, T] = {}
        self._indexers: dict[str, IndexFunc[T]] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def get(self, key: str) -> T | None:
        """Return the record stored under ``key``, or ``None``."""
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def keys(self) -> list[str]:
        """Return every key (a copy)."""
        return list(self._items)

    def values(self) -> list[T]:
        """Return every record (a copy)."""
        return list(self._items.values())

    def upsert(self, obj: T) -> T | None:
        """Store ``obj`` under its key; return the record it replaced, if any."""
        key = obj.key
        old = self._items.get(key)
        self._items[key] = obj
        self._reindex(key, old, obj)
        return old

    def delete(self, key: str) -> T | None:
        """Remove ``key``; return the removed record, or ``None`` if it was absent."""
        old = self._items.pop(key, None)
        if old is not None:
            self._reindex(key, old, None)
        return old

    def remove(self, obj: T) -> T | None:
        """Remove ``obj``'s key (a DELETED event); return the removed record, if any."""
        return self.delete(obj.key)

    def replace(self, objs: Iterable[T]) -> list[DeletedFinalStateUnknown[T]]:
        """Make the store hold exactly ``objs``; return tombstones for the keys that vanished."""
        fresh = {obj.key: obj for obj in objs}
        gone = [DeletedFinalStateUnknown(k, v) for k, v in self._items.items() if k not in fresh]
        for tomb in gone:
            self.delete(tomb.key)
        for obj in fresh.values():
            self.upsert(obj)
        return gone

    def by_index(self, index: str, value: str) -> list[T]:
        """Return the records whose ``index`` function yields ``value``."""
        return [self._items[k] for k in self._indices[index].get(value, ())]

    def index_keys(self, index: str, value: str) -> list[str]:
        """Return the keys whose ``index`` function yields ``value``."""
        return list(self._indices[index].get(value, ()))

    def index_values(self, index: str) -> list[str]:
        """Return the values that have at least one record under ``index``."""
        return list(self._indices[index])

    def _reindex(self, key: str, old: T | None, new: T | None) -> None:
        for name, func in self._indexers.items():
            before = tuple(func(old)) if old is not None else ()
            after = tuple(func(new)) if new is not None else ()
            if before == after:
                continue
            index = self._indices[name]
            for value in before:
                members = index.get(value)
                if members is not None:
                    members.discard(key)
                    if not members:
                        del index[value]
            for value in after:
                index.setdefault(value, set()).add(key)
