"""The Event recorder: one Event per new (object, reason, message), repeats counted."""

from __future__ import annotations

from autoscaler.clock import FakeClock
from autoscaler.kube import errors
from autoscaler.kube.events import EventRecorder, EventType, ObjectRef
from tests.controllers import WALL, EventLog

REF = ObjectRef("autoscaler.vpsie.com/v1alpha1", "VPSieNode", "web-1", "ns", "uid-1")


async def test_repeats_within_the_window_are_counted_on_one_event() -> None:
    log, clock = EventLog(), FakeClock(wall=WALL)
    recorder = EventRecorder(log, clock=clock, instance="pod-1", window=60)
    for _ in range(3):
        await recorder.record(REF, type=EventType.NORMAL, reason="WorkerCreated", message="m")
    (event,) = log.events
    assert event["count"] == 3
    assert event["involvedObject"] == {
        "apiVersion": "autoscaler.vpsie.com/v1alpha1",
        "kind": "VPSieNode",
        "name": "web-1",
        "namespace": "ns",
        "uid": "uid-1",
    }
    assert (event["reportingComponent"], event["source"]["component"]) == ("vpsie-autoscaler",) * 2
    clock.step(61)
    await recorder.record(REF, type=EventType.NORMAL, reason="WorkerCreated", message="m")
    assert len(log.events) == 2


async def test_a_failed_write_never_fails_the_caller() -> None:
    class Broken(EventLog):
        async def create_event(self, namespace: str, body: dict[str, object]) -> dict[str, object]:
            raise errors.Forbidden("no", status=403)

    recorder = EventRecorder(Broken(), clock=FakeClock(wall=WALL))
    await recorder.record(REF, type=EventType.WARNING, reason="X", message="y")
    assert recorder.written == 0
