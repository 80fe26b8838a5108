"""Informer: a reflector feeding a store, plus event handlers (client-go ``shared_informer``).

Handlers are told after the store and its indexes are updated, one after another in
registration order, in event order (I6). They should only compute keys and enqueue them.
``on_delete`` receives either the final object or a ``DeletedFinalStateUnknown`` tombstone
for a key that vanished between two lists (I2). An update may carry a different UID under
the same key (delete and re-create, I8). ``has_synced()`` turns true once the first list is
stored and delivered (I5); ``run()`` is started by the caller inside its ``TaskGroup``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping
from typing import Any, Generic, NoReturn, Protocol, TypeVar

from autoscaler.clock import Clock, LoopClock
from autoscaler.kube.listwatch import ListWatchSource
from autoscaler.kube.reflector import Reflector, Transform
from autoscaler.kube.store import DeletedFinalStateUnknown, IndexFunc, Keyed, Store

__all__ = ["MIN_RESYNC_PERIOD", "EventHandler", "Informer", "wait_for_all_synced"]

T = TypeVar("T", bound=Keyed)
T_contra = TypeVar("T_contra", bound=Keyed, contravariant=True)
MIN_RESYNC_PERIOD = 1.0


class EventHandler(Protocol[T_contra]):
    """Receives notifications; each method must be quick and must not block."""

    def on_add(self, obj: T_contra) -> None:
        """An object appeared (also for every object of the first list)."""

    def on_update(self, old: T_contra, new: T_contra) -> None:
        """An object changed, or a relist or resync saw it again; compare UIDs if it matters."""

    def on_delete(self, obj: T_contra | DeletedFinalStateUnknown[Any]) -> None:
        """An object is gone: its final state, or a tombstone with the last known state."""


class _Delivery(Generic[T]):
    """The reflector's sink: update the store, then notify the handlers."""

    def __init__(self, store: Store[T]) -> None:
        self.store = store
        self.handlers: list[EventHandler[T]] = []
        self.synced = asyncio.Event()

    def replace(self, objs: list[T]) -> None:
        olds = [self.store.get(obj.key) for obj in objs]
        tombstones = self.store.replace(objs)
        for old, new in zip(olds, objs, strict=True):
            for handler in self.handlers:
                if old is None:
                    handler.on_add(new)
                else:
                    handler.on_update(old, new)
        for tombstone in tombstones:
            for handler in self.handlers:
                handler.on_delete(tombstone)
        self.synced.set()

    def upsert(self, obj: T) -> None:
        old = self.store.upsert(obj)
        for handler in self.handlers:
            if old is None:
                handler.on_add(obj)
            else:
                handler.on_update(old, obj)

    def remove(self, obj: T) -> None:
        if self.store.delete(obj.key) is None:
            return  # never seen (client-go's DeltaFIFO drops such deletes)
        for handler in self.handlers:
            handler.on_delete(obj)


class Informer(Generic[T]):
    """Keeps ``store`` in step with one API collection and tells handlers what changed."""

    def __init__(
        self,
        source: ListWatchSource,
        *,
        transform: Transform[T],
        name: str = "informer",
        indexers: Mapping[str, IndexFunc[T]] | None = None,
        clock: Clock | None = None,
        rand: random.Random | None = None,
        resync_period: float | None = None,
        page_size: int | None = None,
        min_watch_timeout: int = 300,
        max_watch_timeout: int | None = None,
        inactivity_timeout: float = 70.0,
    ) -> None:
        if resync_period is not None and resync_period < MIN_RESYNC_PERIOD:
            raise ValueError(f"resync period must be at least {MIN_RESYNC_PERIOD} s")
        self.name = name
        self._delivery: _Delivery[T] = _Delivery(Store(indexers))
        self._resync_period = resync_period
        self.reflector: Reflector[T] = Reflector(
            source,
            transform=transform,
            sink=self._delivery,
            name=name,
            clock=clock or LoopClock(),
            rand=rand,
            page_size=page_size,
            min_watch_timeout=min_watch_timeout,
            max_watch_timeout=max_watch_timeout,
            inactivity_timeout=inactivity_timeout,
        )

    @property
    def store(self) -> Store[T]:
        """The cache; read it, never write it."""
        return self._delivery.store

    @property
    def synced(self) -> asyncio.Event:
        """Set once the first list is stored and delivered."""
        return self._delivery.synced

    def add_handler(self, handler: EventHandler[T]) -> None:
        """Register ``handler``; once synced, it first gets ``on_add`` for every cached object."""
        if self.has_synced():
            for obj in self.store.values():
                handler.on_add(obj)
        self._delivery.handlers.append(handler)

    def has_synced(self) -> bool:
        """Whether the first list has been stored and delivered."""
        return self._delivery.synced.is_set()

    async def wait_synced(self) -> None:
        """Wait until ``has_synced()``."""
        await self._delivery.synced.wait()

    async def run(self) -> NoReturn:
        """Run the reflector (and the resync timer, if enabled) until cancelled."""
        if self._resync_period is None:
            await self.reflector.run()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._resync(self._resync_period))
            await self.reflector.run()

    def resync(self) -> None:
        """Deliver ``on_update(obj, obj)`` for every cached object, without an API call (I7)."""
        for obj in self.store.values():
            for handler in self._delivery.handlers:
                handler.on_update(obj, obj)

    async def _resync(self, period: float) -> NoReturn:
        await self.wait_synced()
        while True:
            await asyncio.sleep(period)
            self.resync()


async def wait_for_all_synced(informers: Iterable[Informer[Any]]) -> None:
    """Wait until every informer has synced (start workers only after this, I5)."""
    for informer in informers:
        await informer.wait_synced()
