"""Helpers of the controller unit tests: a context over fakes, and NodeGroup bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prometheus_client import CollectorRegistry

from autoscaler.clock import FakeClock
from autoscaler.controllers.context import Context
from autoscaler.core.resources import API_VERSION
from autoscaler.kube.events import EventRecorder
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.settings import LifecycleSettings
from tests.controllers.fake_kube import FakeKube
from tests.controllers.fake_provider import FakeProvider

JSON = dict[str, Any]
NS = "ns"
CLUSTER = "c1000000-0000-4000-8000-000000000007"
WALL = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class EventLog:
    """An ``EventSink`` keeping Events in a list."""

    def __init__(self) -> None:
        self.events: list[JSON] = []

    async def create_event(self, namespace: str, body: JSON) -> JSON:
        self.events.append(body)
        return body

    async def patch_event(self, namespace: str, name: str, patch: JSON) -> JSON:
        for event in self.events:
            if event["metadata"]["name"] == name:
                event.update(patch)
                return event
        raise AssertionError(f"no event {name}")

    def reasons(self) -> list[str]:
        return [e["reason"] for e in self.events]


def nodegroup(name: str = "web", *, min_nodes: int = 0, max_nodes: int = 5, **spec: Any) -> JSON:
    """A vke NodeGroup body in namespace ``NS``."""
    body: JSON = {
        "minNodes": min_nodes,
        "maxNodes": max_nodes,
        "provider": {"clusterIdentifier": CLUSTER, "nodeGroupId": 12},
        "template": {
            "labels": {"team": "web"},
            "taints": [{"key": "dedicated", "effect": "NoSchedule"}],
        },
    } | spec
    return {
        "apiVersion": API_VERSION,
        "kind": "NodeGroup",
        "metadata": {"name": name, "namespace": NS},
        "spec": body,
    }


def make_context(
    kube: FakeKube, provider: FakeProvider, *, clock: FakeClock | None = None, **settings: Any
) -> tuple[Context, EventLog]:
    """A ``Context`` over fakes (fast timeouts unless overridden)."""
    log = EventLog()
    clock = clock or FakeClock(wall=WALL)
    values = {
        "poll_interval_s": 1.0,
        "provisioning_timeout_s": 60.0,
        "joining_timeout_s": 60.0,
    } | settings
    ctx = Context(
        objects=kube,
        provider=provider,
        events=EventRecorder(log, clock=clock),
        metrics=LifecycleMetrics(CollectorRegistry()),
        clock=clock,
        settings=LifecycleSettings(**values),
        caches=kube.caches,
        namespace=NS,
        cluster=CLUSTER,
        unknown_outcome_window_s=30.0,
    )
    return ctx, log
