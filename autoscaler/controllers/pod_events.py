"""Pod Events of the scale-up path: ``TriggeredScaleUp`` and ``NotTriggerScaleUp``.

Written off the decision path by an ``EventWriter``; the same Event for the same pod is not
repeated within five minutes (Cluster Autoscaler's suppression of repeated Events).
"""

from __future__ import annotations

from autoscaler.controllers.context import Context
from autoscaler.controllers.event_writer import EventWriter
from autoscaler.controllers.keys import Reason
from autoscaler.core.records import PodRecord
from autoscaler.kube.events import ObjectRef

__all__ = ["EVENT_REPEAT_S", "PodEventWriter"]

EVENT_REPEAT_S = 300.0  # Cluster Autoscaler suppresses repeated Events for 5 minutes


class PodEventWriter(EventWriter):
    """Pod Events of the scale-up path, deduplicated per pod for ``EVENT_REPEAT_S``."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx, repeat_s=EVENT_REPEAT_S, name="scale-up")

    def add_pod(self, pod: PodRecord, reason: str, message: str) -> None:
        """Queue an Event about ``pod``, unless it repeats the last one within the window."""
        ref = ObjectRef("v1", "Pod", pod.name, pod.namespace, pod.uid)
        warning = reason == Reason.NOT_TRIGGER_SCALE_UP
        self.add(ref, key=pod.uid, reason=reason, message=message, warning=warning)
