"""Recording fakes for the drain tests: a Node API, an Eviction API and an Event sink.

Time is the event loop's (virtual under looptime): an evicted pod leaves the fake pod store
``terminates_after`` seconds after its eviction, without any task.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
from collections import deque
from typing import Any

from autoscaler.core.records import PodRecord
from autoscaler.kube import errors
from autoscaler.kube.events import EventType, ObjectRef
from autoscaler.kube.eviction import EvictionResult, EvictionStatus
from tests.controllers.fake_kube import apply_merge

JSON = dict[str, Any]
EVICTED = EvictionResult(EvictionStatus.EVICTED)
GONE = EvictionResult(EvictionStatus.GONE, "pods not found")
BLOCKED = EvictionResult(EvictionStatus.BLOCKED, "would violate the pod's disruption budget")


def now() -> float:
    return asyncio.get_running_loop().time()


class FakeNodes:
    """One Node in memory with resourceVersion preconditions; patches can be made to hang."""

    def __init__(self, name: str, *, unschedulable: bool = False, taints: list[JSON] | None = None):
        spec: JSON = {"taints": list(taints or [])}
        if unschedulable:
            spec["unschedulable"] = True
        meta = {"name": name, "uid": "node-uid", "resourceVersion": "1"}
        self.node: JSON = {"metadata": meta, "spec": spec}
        self.patches: list[JSON] = []
        self.hang = False
        self.delay = 0.0
        self._rv = itertools.count(2)

    async def get_node(self, name: str) -> JSON | None:
        if self.hang:
            await asyncio.Event().wait()
        return copy.deepcopy(self.node)

    async def patch_node(self, name: str, patch: JSON) -> JSON:
        if self.delay:
            await asyncio.sleep(self.delay)
        rv = patch.get("metadata", {}).get("resourceVersion")
        if rv is not None and rv != self.node["metadata"]["resourceVersion"]:
            raise errors.Conflict("stale", status=409)
        self.patches.append(patch)
        self.node = apply_merge(self.node, patch)
        self.node["metadata"]["resourceVersion"] = str(next(self._rv))
        return self.node

    @property
    def taint_keys(self) -> list[str]:
        return [t["key"] for t in self.node["spec"].get("taints") or []]

    @property
    def unschedulable(self) -> bool:
        return bool(self.node["spec"].get("unschedulable"))

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.node["metadata"].get("annotations") or {})


@dataclasses.dataclass
class FakeEviction:
    """Answers evictions from a per-pod script (the last answer repeats); records the calls."""

    pods: dict[str, PodRecord]
    terminates_after: dict[str, float] = dataclasses.field(default_factory=dict)
    scripts: dict[str, deque[EvictionResult | errors.KubeError]] = dataclasses.field(
        default_factory=dict
    )
    calls: list[tuple[str, int | None, float]] = dataclasses.field(default_factory=list)
    gone_at: dict[str, float] = dataclasses.field(default_factory=dict)
    called: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def script(self, key: str, *answers: EvictionResult | errors.KubeError) -> None:
        self.scripts[key] = deque(answers)

    async def __call__(self, pod: PodRecord, *, grace_seconds: int | None) -> EvictionResult:
        self.calls.append((pod.key, grace_seconds, now()))
        self.called.set()
        queue = self.scripts.get(pod.key) or deque([EVICTED])
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, errors.KubeError):
            raise answer
        if answer.status is EvictionStatus.EVICTED:
            after = self.terminates_after.get(pod.key, 0.0)
            if after != float("inf"):
                self.gone_at.setdefault(pod.key, now() + after)
        return answer

    def lookup(self, key: str) -> PodRecord | None:
        """The pod store: a pod is there until its termination time has come."""
        gone = self.gone_at.get(key)
        return None if gone is not None and now() >= gone else self.pods.get(key)

    def times(self, key: str) -> list[float]:
        return [t for k, _, t in self.calls if k == key]


@dataclasses.dataclass
class RecordedEvent:
    ref: ObjectRef
    type: EventType
    reason: str
    message: str


@dataclasses.dataclass
class FakeEvents:
    """Records Events."""

    events: list[RecordedEvent] = dataclasses.field(default_factory=list)

    async def record(self, ref: ObjectRef, *, type: EventType, reason: str, message: str) -> None:
        self.events.append(RecordedEvent(ref, type, reason, message))

    @property
    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]
