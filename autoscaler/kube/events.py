"""An Event recorder: core/v1 Events with client-go's aggregation of repeats.

``record(ref, type=..., reason=..., message=...)`` writes an Event about ``ref`` (in its
namespace; cluster-scoped objects such as Nodes get ``default``), reported by component
``vpsie-autoscaler``. The same (object, type, reason, message) seen again within
``window`` seconds does not make a new Event: the first one's ``count`` and
``lastTimestamp`` are patched, as client-go's ``EventCorrelator`` does. Events are best
effort: a failed write is logged and never fails the caller's reconcile.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import uuid
from collections import OrderedDict
from typing import Any, Protocol

from autoscaler.clock import Clock
from autoscaler.kube import errors

log = logging.getLogger(__name__)

COMPONENT = "vpsie-autoscaler"
MAX_MESSAGE = 1024
JSON = dict[str, Any]


class EventType(enum.StrEnum):
    """The ``type`` of an Event."""

    NORMAL = "Normal"
    WARNING = "Warning"


@dataclasses.dataclass(frozen=True, slots=True)
class ObjectRef:
    """The ``involvedObject`` of an Event."""

    api_version: str
    kind: str
    name: str
    namespace: str = ""
    uid: str = ""

    def to_json(self) -> JSON:
        """The ``ObjectReference`` as JSON."""
        ref: JSON = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace:
            ref["namespace"] = self.namespace
        if self.uid:
            ref["uid"] = self.uid
        return ref


class EventSink(Protocol):
    """The two calls the recorder makes (``KubeObjects`` has them)."""

    async def create_event(self, namespace: str, body: JSON) -> JSON:
        """Create an Event."""

    async def patch_event(self, namespace: str, name: str, patch: JSON) -> JSON:
        """Merge-patch an Event."""


@dataclasses.dataclass(slots=True)
class _Seen:
    name: str
    namespace: str
    first: float
    count: int


class EventRecorder:
    """Writes Events, aggregating repeats within ``window`` seconds."""

    def __init__(
        self,
        sink: EventSink,
        *,
        clock: Clock,
        instance: str = "",
        window: float = 600.0,
        max_tracked: int = 4096,
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._instance = instance
        self._window = window
        self._max = max_tracked
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self.written = 0

    async def record(self, ref: ObjectRef, *, type: EventType, reason: str, message: str) -> None:
        """Write (or count again) one Event; never raises a Kubernetes error."""
        message = message[:MAX_MESSAGE]
        key = (ref.uid or f"{ref.kind}/{ref.namespace}/{ref.name}", type, reason, message)
        now = self._clock.monotonic()
        seen = self._seen.get(key)
        stamp = self._clock.now().isoformat().replace("+00:00", "Z")
        try:
            if seen is not None and now - seen.first < self._window:
                seen.count += 1
                patch = {"count": seen.count, "lastTimestamp": stamp}
                try:
                    await self._sink.patch_event(seen.namespace, seen.name, patch)
                    self.written += 1
                    return
                except errors.NotFound:
                    pass  # expired or deleted: write a new one
            body = self._body(ref, type=type, reason=reason, message=message, stamp=stamp)
            namespace = body["metadata"]["namespace"]
            await self._sink.create_event(namespace, body)
            self.written += 1
            self._remember(key, _Seen(body["metadata"]["name"], namespace, now, 1))
        except errors.KubeError as err:
            log.warning(
                "cannot write event",
                extra={"reason": reason, "object": ref.name, "error": str(err)},
            )

    def _remember(self, key: tuple[str, ...], seen: _Seen) -> None:
        self._seen[key] = seen
        self._seen.move_to_end(key)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)

    def _body(
        self, ref: ObjectRef, *, type: EventType, reason: str, message: str, stamp: str
    ) -> JSON:
        namespace = ref.namespace or "default"
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{ref.name}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
            "involvedObject": ref.to_json(),
            "type": str(type),
            "reason": reason,
            "message": message,
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
        }
