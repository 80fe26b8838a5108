"""Which pods may trigger a scale-up, since when, and the decision latency of each.

``PendingPods`` is a pod informer handler: a pod that becomes pending (``PodScheduled``
False with reason ``Unschedulable``, not bound, not being deleted, not a DaemonSet or
mirror pod, priority at or above the expendable cutoff) triggers the batcher, and the
moment it became unschedulable is remembered: the instant the transition was seen when
this process saw it happen, else the condition's ``lastTransitionTime`` (whole seconds;
pods already pending when the process started). A pod that stops being pending is
forgotten.

``DecisionLatency`` keeps, per VPSieNode written by a decision, those instants of the
pods it is for, and observes each pod's latency when the VPSie create call for that node
is made: pod unschedulable → create call, the figure Cluster Autoscaler's SLO speaks of.
Memory only: after a restart nothing is observed for nodes decided before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from autoscaler.clock import Clock
from autoscaler.core.records import PodRecord
from autoscaler.kube.store import DeletedFinalStateUnknown

TERMINAL = frozenset({"Succeeded", "Failed"})
MAX_TRACKED = 10_000


def may_trigger(pod: PodRecord, *, cutoff: int) -> bool:
    """Whether ``pod`` is pending in a way a new node can help."""
    return (
        pod.unschedulable
        and pod.node_name is None
        and pod.deletion_timestamp is None
        and pod.phase not in TERMINAL
        and not pod.is_daemonset
        and not pod.is_mirror
        and pod.priority >= cutoff
    )


class PendingPods:
    """Pod informer handler: trigger on newly pending pods; remember since when."""

    def __init__(self, trigger: Callable[[], None], *, clock: Clock, cutoff: int) -> None:
        self._trigger = trigger
        self._clock = clock
        self._cutoff = cutoff
        self.since: dict[str, dt.datetime] = {}
        """Pod UID → when it became unschedulable."""

    def on_add(self, obj: PodRecord) -> None:
        """A pod appeared (or was listed): pending ones count from their condition."""
        if may_trigger(obj, cutoff=self._cutoff):
            self.since.setdefault(obj.uid, obj.unschedulable_since or self._clock.now())
            self._trigger()

    def on_update(self, old: PodRecord, new: PodRecord) -> None:
        """A pod changed: a new pending one counts from now."""
        if not may_trigger(new, cutoff=self._cutoff):
            self.since.pop(new.uid, None)
            return
        if new.uid in self.since:
            return
        seen_live = old.uid == new.uid and not old.unschedulable
        self.since[new.uid] = (
            self._clock.now() if seen_live else new.unschedulable_since or self._clock.now()
        )
        self._trigger()

    def on_delete(self, obj: PodRecord | DeletedFinalStateUnknown[Any]) -> None:
        """A pod is gone."""
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if isinstance(pod, PodRecord):
            self.since.pop(pod.uid, None)


class DecisionLatency:
    """Per VPSieNode name, the instants its pods became unschedulable, until its create."""

    def __init__(self, observe: Callable[[float], None], *, clock: Clock) -> None:
        self._observe = observe
        self._clock = clock
        self._nodes: dict[str, tuple[dt.datetime, ...]] = {}

    def decided(self, vpsienode: str, since: Iterable[dt.datetime]) -> None:
        """A decision wrote ``vpsienode`` for pods pending since ``since``."""
        self._nodes[vpsienode] = tuple(since)
        while len(self._nodes) > MAX_TRACKED:  # nodes deleted before their create
            del self._nodes[next(iter(self._nodes))]

    def forget(self, vpsienode: str) -> None:
        """The VPSieNode was not written after all."""
        self._nodes.pop(vpsienode, None)

    def create_called(self, vpsienode: str) -> None:
        """The VPSie create call for ``vpsienode`` is being made now."""
        since = self._nodes.pop(vpsienode, ())
        now = self._clock.now()
        for t in since:
            self._observe(max(0.0, (now - t).total_seconds()))

    def __len__(self) -> int:
        return len(self._nodes)
