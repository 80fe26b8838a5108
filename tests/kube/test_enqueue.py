"""Handlers turn informer notifications into deduplicated work-queue keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from autoscaler.kube.enqueue import EnqueueKeys
from autoscaler.kube.store import DeletedFinalStateUnknown
from autoscaler.kube.workqueue import WorkQueue

pytestmark = pytest.mark.looptime


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    node: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def node_of(pod: Pod) -> Iterable[str]:
    return (pod.node,) if pod.node else ()


async def drain(queue: WorkQueue) -> list[str]:
    keys = []
    while len(queue):
        key = await queue.get()
        keys.append(key)
        queue.done(key)
    return keys


async def test_events_become_own_keys_and_collapse() -> None:
    queue = WorkQueue(name="t")
    handler: EnqueueKeys[Pod] = EnqueueKeys(queue)
    a, b = Pod("ns", "a", "n1"), Pod("ns", "b", "n1")
    handler.on_add(a)
    handler.on_update(a, a)
    handler.on_add(b)
    handler.on_delete(DeletedFinalStateUnknown("ns/a", a))
    assert await drain(queue) == ["ns/a", "ns/b"]


async def test_mapped_keys_cover_both_states_of_an_update() -> None:
    queue = WorkQueue(name="t")
    handler: EnqueueKeys[Pod] = EnqueueKeys(queue, node_of)
    handler.on_update(Pod("ns", "a", ""), Pod("ns", "a", "n2"))
    handler.on_update(Pod("ns", "a", "n2"), Pod("ns", "a", "n3"))
    assert await drain(queue) == ["n2", "n3"]


async def test_tombstone_uses_last_known_state() -> None:
    queue = WorkQueue(name="t")
    handler: EnqueueKeys[Pod] = EnqueueKeys(queue, node_of)
    handler.on_delete(DeletedFinalStateUnknown("ns/a", Pod("ns", "a", "n9")))
    handler.on_delete(Pod("ns", "b", "n8"))
    assert await drain(queue) == ["n9", "n8"]
