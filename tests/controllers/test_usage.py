"""The usage tracker and collector (review CRITICAL-3, HIGH-1..3, GAP-1..3), in virtual time.

Collector tests reach a fake ``metrics.k8s.io`` server (``metrics_server.FakeMetricsApi``)
through a real kubernetes_asyncio ``ApiClient``; a ``HANG`` reply is a handler that never
answers, so only the collector's own deadline or a cancellation ends the request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Collection
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from autoscaler.controllers.usage_collector import (
    CollectorStatistics,
    NodeMetricsLister,
    UsageCollector,
    parse_node_metrics,
)
from autoscaler.controllers.usage_tracker import (
    ForgetDeletedNodes,
    NodeUsage,
    TrackerStatistics,
    UsageSample,
    UsageTracker,
)
from autoscaler.core.records import NodeRecord
from autoscaler.kube.listwatch import ListPage
from autoscaler.kube.store import DeletedFinalStateUnknown, Store
from autoscaler.observability.usage_metrics import TickOutcome, UsageMetrics
from tests.controllers.metrics_server import (
    NOT_FOUND,
    UNAVAILABLE,
    Reply,
    node_metrics,
    serving,
)
from tests.core.factories import node

pytestmark = [pytest.mark.looptime(end=7200), pytest.mark.usefixtures("hangs_fail")]

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
COLLECTOR_LOG = "autoscaler.controllers.usage_collector"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).isoformat().replace("+00:00", "Z")


def sample(seconds: float, *, cpu: int = 100, memory: int = 2**30) -> UsageSample:
    return UsageSample(at=at(seconds), cpu_millis=cpu, memory_bytes=memory)


class Harness:
    """A collector over ``source``, with its tracker, a Node cache and a metrics registry."""

    def __init__(
        self, source: NodeMetricsLister, nodes: Collection[str] = ("n1",), **kwargs: Any
    ) -> None:
        self.registry = CollectorRegistry()
        self.tracker = UsageTracker(capacity=kwargs.pop("capacity", 20))
        self.nodes: Store[NodeRecord] = Store()
        for name in nodes:
            self.nodes.upsert(node(name))
        self.collector = UsageCollector(
            source,
            tracker=self.tracker,
            node_names=self.nodes.keys,
            metrics=UsageMetrics(self.registry),
            **kwargs,
        )

    def ticks(self, outcome: TickOutcome) -> float | None:
        return self.registry.get_sample_value(
            "vpsie_autoscaler_usage_collections_total", {"outcome": outcome.value}
        )

    def metric(self, name: str) -> float | None:
        return self.registry.get_sample_value(f"vpsie_autoscaler_{name}")

    def samples(self, name: str) -> tuple[UsageSample, ...]:
        usage = self.tracker.usage(name)
        return usage.samples if usage is not None else ()


# The tracker: immutable records, bounded rings, forgetting.


def test_utilization_records_are_immutable() -> None:
    tracker = UsageTracker(capacity=3)
    tracker.record("n1", sample(0))
    usage = tracker.usage("n1")
    snapshot = tracker.snapshot()
    assert usage is not None
    assert isinstance(usage.samples, tuple)

    with pytest.raises(dataclasses.FrozenInstanceError):
        usage.samples = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        usage.samples[0].cpu_millis = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot["n2"] = usage  # type: ignore[index]
    with pytest.raises(TypeError):
        del snapshot["n1"]  # type: ignore[attr-defined]

    tracker.record("n1", sample(30, cpu=900))
    tracker.record("n2", sample(30))
    tracker.forget("n1")
    assert usage.samples == (sample(0),), "a record handed out never changes"
    assert dict(snapshot) == {"n1": NodeUsage("n1", (sample(0),))}
    assert tracker.usage("n1") is None


def test_usage_samples_are_bounded() -> None:
    tracker = UsageTracker(capacity=20)
    for second in range(1000):
        tracker.record("n1", sample(second, cpu=second))
        assert tracker.statistics().samples <= 20
    usage = tracker.usage("n1")
    assert usage is not None
    assert [s.cpu_millis for s in usage.samples] == list(range(980, 1000)), "the newest stay"
    assert tracker.statistics() == TrackerStatistics(nodes=1, samples=20, capacity=20)


async def test_usage_of_deleted_node_is_forgotten() -> None:
    """A deleted node is forgotten by the informer handler and by every collection pass."""
    replies = [node_metrics(n, at=stamp(0)) for n in ("n1", "n2", "n3")]
    async with serving(replies, replies) as (_, source):
        h = Harness(source, nodes=("n1", "n2", "n3"))
        forget = ForgetDeletedNodes(h.tracker)
        assert await h.collector.tick() is TickOutcome.OK
        assert set(h.tracker.snapshot()) == {"n1", "n2", "n3"}
        assert h.metric("usage_tracked_nodes") == 3

        deleted = h.nodes.delete("n1")
        assert deleted is not None
        forget.on_delete(deleted)  # a DELETED event: gone at once
        assert "n1" not in h.tracker
        forget.on_delete(DeletedFinalStateUnknown("n2", node("n2")))  # vanished between lists
        h.nodes.delete("n2")
        assert set(h.tracker.snapshot()) == {"n3"}

        # metrics.k8s.io still lists n1 and n2 for a while: the pass must not bring them back
        h.nodes.delete("n3")  # and a delete the handler missed is caught by the pass
        assert await h.collector.tick() is TickOutcome.OK
        assert len(h.tracker) == 0
        assert h.metric("usage_tracked_nodes") == 0


def test_a_node_recreated_under_the_same_name_starts_afresh() -> None:
    tracker = UsageTracker()
    tracker.record("n1", sample(0))
    old = node("n1")
    ForgetDeletedNodes(tracker).on_update(old, old)
    assert "n1" in tracker, "a resync or unrelated update keeps the samples"
    ForgetDeletedNodes(tracker).on_update(old, dataclasses.replace(old, uid="other"))
    assert "n1" not in tracker


def test_a_sample_not_newer_than_the_last_is_ignored() -> None:
    tracker = UsageTracker()
    assert tracker.record("n1", sample(30))
    assert not tracker.record("n1", sample(30, cpu=1)), "the same scrape listed twice"
    assert not tracker.record("n1", sample(0)), "a slow pass applied after a faster one"
    assert tracker.usage("n1") == NodeUsage("n1", (sample(30),))


@pytest.mark.parametrize(
    ("cpus", "since", "expected"),
    [
        pytest.param([100, 300, 200], 0, (300, 200), id="all-samples"),
        pytest.param([100, 300, 201], 30, (300, 251), id="window-drops-the-oldest-mean-rounds-up"),
        pytest.param([100, 300, 200], 90, (None, None), id="empty-window-is-unknown-not-idle"),
    ],
)
def test_node_usage_figures_over_a_window(
    cpus: list[int], since: float, expected: tuple[int | None, int | None]
) -> None:
    usage = NodeUsage("n1", tuple(sample(30 * i, cpu=c) for i, c in enumerate(cpus)))
    window = usage.since(at(since))
    assert (window.max_cpu_millis, window.avg_cpu_millis) == expected
    assert (window.max_memory_bytes is None) == (expected[0] is None)
    assert window.latest == (usage.latest if expected[0] is not None else None)


def test_tracker_rejects_an_empty_ring() -> None:
    with pytest.raises(ValueError, match="capacity"):
        UsageTracker(capacity=0)


# Concurrency (GAP-1): ticks and readers interleave on one loop.


class ReorderingLister:
    """A lister whose every call returns a pass of all nodes after a random delay.

    Call ``i`` reports every node as measured at ``i`` seconds, so passes that overlap can
    finish out of order.
    """

    def __init__(self, nodes: Collection[str], rng: random.Random) -> None:
        self._nodes = list(nodes)
        self._rng = rng
        self.calls = 0

    async def list_page(
        self, *, resource_version: str, limit: int | None, continue_token: str | None
    ) -> ListPage:
        call, self.calls = self.calls, self.calls + 1
        await asyncio.sleep(self._rng.uniform(0.0, 3.0))
        items = [node_metrics(n, cpu=f"{call + 1}m", at=stamp(call)) for n in self._nodes]
        return ListPage(items=items, resource_version="", continue_token=None)


async def test_usage_tracker_concurrent_updates() -> None:
    rng = random.Random(11)
    names = [f"n{i}" for i in range(12)]
    h = Harness(ReorderingLister(names, rng), nodes=names, capacity=5)
    forget = ForgetDeletedNodes(h.tracker)
    seen: list[int] = []

    def check(snapshot: dict[str, NodeUsage]) -> None:
        assert set(snapshot) <= set(h.nodes.keys()), "no deleted node is reported"
        latest = {u.latest for u in snapshot.values()}
        assert len(latest) <= 1, "a pass is never seen half-applied"
        for usage in snapshot.values():
            assert len(usage.samples) <= 5
            times = [s.at for s in usage.samples]
            assert times == sorted(set(times)), "samples stay ordered and unique"
        seen.append(len(snapshot))

    async def reader() -> None:
        for _ in range(300):
            check(dict(h.tracker.snapshot()))
            await asyncio.sleep(rng.uniform(0.0, 0.1))

    async def deleter() -> None:
        for name in names[:4]:
            await asyncio.sleep(rng.uniform(0.5, 4.0))
            gone = h.nodes.delete(name)
            assert gone is not None
            forget.on_delete(gone)

    async with asyncio.TaskGroup() as group:
        for _ in range(3):
            group.create_task(reader())
        group.create_task(deleter())
        for _ in range(40):
            group.create_task(h.collector.tick())
            await asyncio.sleep(rng.uniform(0.0, 0.5))

    final = dict(h.tracker.snapshot())
    check(final)
    assert set(final) == set(names[4:])
    newest = {u.latest.at for u in final.values() if u.latest is not None}
    assert newest == {at(39)}, "the newest pass wins, whatever order passes finished in"
    assert h.ticks(TickOutcome.OK) == 40
    assert max(seen) == 12


# The collector (GAP-2): start, tick, timeout, not served, errors, stop.


async def test_collector_tick_records_samples() -> None:
    items = [
        node_metrics("n1", cpu="137132918n", memory="1234Ki", at=stamp(0)),
        node_metrics("n2", cpu="1500u", memory="2Gi", at=stamp(0)),
        node_metrics("stranger", at=stamp(0)),  # not (yet) in the Node cache
    ]
    async with serving(items) as (api, source):
        h = Harness(source, nodes=("n1", "n2"))
        assert await h.collector.tick() is TickOutcome.OK
    assert h.samples("n1") == (UsageSample(at(0), 138, 1234 * 1024),), "rounded up"
    assert h.samples("n2") == (UsageSample(at(0), 2, 2 * 2**30),)
    assert "stranger" not in h.tracker
    assert len(api.requests) == 1
    assert h.ticks(TickOutcome.OK) == 1
    assert h.collector.statistics() == CollectorStatistics(1, TickOutcome.OK, served=True)


async def test_collector_runs_every_interval_and_keeps_each_new_scrape() -> None:
    replies = [[node_metrics("n1", cpu=f"{i}m", at=stamp(i // 2 * 60))] for i in range(1, 5)]
    async with serving(*replies) as (api, source):
        h = Harness(source)
        async with asyncio.TaskGroup() as group:
            task = group.create_task(h.collector.run())
            await api.wait_for(lambda: len(api.requests) == 5)  # the fifth one hangs
            task.cancel()
    assert api.requests == pytest.approx([0, 30, 60, 90, 120])
    # metrics-server scraped every 60 s: each scrape listed twice is kept once
    assert [s.cpu_millis for s in h.samples("n1")] == [1, 2, 4]
    assert h.ticks(TickOutcome.OK) == 4


async def test_collector_tick_times_out_and_shutdown_is_prompt() -> None:
    """HIGH-2: a metrics API that never answers neither blocks the loop nor shutdown."""
    loop = asyncio.get_running_loop()
    async with serving() as (api, source):  # every request hangs
        h = Harness(source, interval=30.0, tick_timeout=10.0)
        start = loop.time()
        async with asyncio.TaskGroup() as group:
            task = group.create_task(h.collector.run())
            await api.wait_for(lambda: api.abandoned == 1)
            assert loop.time() - start == pytest.approx(10.0, abs=0.5)
            assert h.ticks(TickOutcome.TIMEOUT) == 1
            assert h.metric("usage_collection_duration_seconds_sum") == pytest.approx(10.0, 0.05)
            assert h.collector.statistics().last_outcome is TickOutcome.TIMEOUT

            await api.wait_for(lambda: len(api.requests) == 2 and api.hanging == 1)
            assert api.requests[1] - start == pytest.approx(30.0), "the next tick is on time"
            await asyncio.sleep(5.0)  # shutdown arrives mid-tick, the request still hanging
            asked = loop.time()
            task.cancel()
        assert loop.time() - asked < 0.1
        assert task.cancelled()
        await api.wait_for(lambda: api.hanging == 0)
    assert api.abandoned == 2, "the cancelled request was dropped, not left open"
    assert h.ticks(TickOutcome.TIMEOUT) == 1, "a cancelled tick is not a timeout"


async def test_collector_client_deadline_is_counted_as_a_timeout() -> None:
    async with serving(request_timeout=5.0) as (api, source):
        h = Harness(source, tick_timeout=10.0)
        assert await h.collector.tick() is TickOutcome.TIMEOUT
        await api.wait_for(lambda: api.hanging == 0)
    assert h.ticks(TickOutcome.TIMEOUT) == 1


async def test_collector_not_served_disables_collection_and_rediscovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=COLLECTOR_LOG)
    replies: list[Reply] = [
        [node_metrics("n1", at=stamp(0))],
        NOT_FOUND,
        NOT_FOUND,
        [node_metrics("n1", at=stamp(630))],
    ]
    async with serving(*replies) as (api, source):
        h = Harness(source, rediscover_interval=300.0)
        async with asyncio.TaskGroup() as group:
            task = group.create_task(h.collector.run())
            await api.wait_for(lambda: len(api.requests) == 2)
            await asyncio.sleep(1.0)  # the 404 reaches the collector
            assert len(h.tracker) == 0, "no usage is better than stale usage"
            assert h.collector.statistics().served is False
            await api.wait_for(lambda: len(api.requests) == 5)
            task.cancel()
    assert api.requests == pytest.approx([0, 30, 330, 630, 660])
    assert h.ticks(TickOutcome.NOT_SERVED) == 2
    assert h.samples("n1") == (sample(630, cpu=250, memory=2**30),)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert messages == [
        "metrics.k8s.io is not served; usage collection disabled",
        "metrics.k8s.io is served again; usage collection enabled",
    ]


async def test_collector_error_then_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=COLLECTOR_LOG)
    async with serving(
        [node_metrics("n1", at=stamp(0))],
        UNAVAILABLE,
        b"not json",
        [node_metrics("n1", at=stamp(90))],
    ) as (api, source):
        h = Harness(source)
        async with asyncio.TaskGroup() as group:
            task = group.create_task(h.collector.run())
            await api.wait_for(lambda: len(api.requests) == 5)
            task.cancel()
    assert api.requests == pytest.approx([0, 30, 60, 90, 120]), "errors keep the schedule"
    assert h.ticks(TickOutcome.ERROR) == 2
    assert h.ticks(TickOutcome.OK) == 2
    assert [s.at for s in h.samples("n1")] == [at(0), at(90)], "kept through the errors"
    assert [r.getMessage() for r in caplog.records] == ["usage collection failed"] * 2


async def test_collector_skips_malformed_items() -> None:
    items: list[Any] = [
        node_metrics("n1", at=stamp(0)),
        node_metrics("n2", cpu="1 core"),
        {"metadata": {"name": "n3"}},
        {"metadata": {}, "usage": {"cpu": "1", "memory": "1"}},
        "not an object",
    ]
    async with serving(items) as (_, source):
        h = Harness(source, nodes=("n1", "n2", "n3"))
        assert await h.collector.tick() is TickOutcome.OK
    assert set(h.tracker.snapshot()) == {"n1"}


def test_a_metrics_item_without_a_timestamp_is_taken_as_measured_now() -> None:
    item = node_metrics("n1")
    del item["timestamp"]
    samples, skipped = parse_node_metrics([item], now=at(42))
    assert (samples["n1"].at, skipped) == (at(42), 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"interval": 0.0}, id="interval"),
        pytest.param({"tick_timeout": -1.0}, id="tick-timeout"),
        pytest.param({"rediscover_interval": 0.0}, id="rediscover-interval"),
    ],
)
def test_collector_rejects_non_positive_periods(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive"):
        Harness(ReorderingLister((), random.Random(0)), **kwargs)


async def test_collector_outcomes_start_at_zero() -> None:
    h = Harness(ReorderingLister((), random.Random(0)))
    assert {o: h.ticks(o) for o in TickOutcome} == dict.fromkeys(TickOutcome, 0.0)
    assert h.metric("usage_tracked_nodes") == 0
    assert h.collector.statistics() == CollectorStatistics(0, None, served=None)


# Cancellation (GAP-3).


async def test_collector_cancelled_between_ticks_stops_at_once() -> None:
    loop = asyncio.get_running_loop()
    async with serving([node_metrics("n1", at=stamp(0))]) as (api, source):
        h = Harness(source)
        async with asyncio.TaskGroup() as group:
            task = group.create_task(h.collector.run())
            await api.wait_for(lambda: len(api.requests) == 1)
            await asyncio.sleep(12.0)  # idle until the next tick at 30 s
            asked = loop.time()
            task.cancel()
        assert loop.time() - asked < 0.1
    assert len(api.requests) == 1
    assert h.collector.statistics().ticks == 1


async def test_collector_cancelled_during_a_hanging_tick_stops_at_once() -> None:
    loop = asyncio.get_running_loop()
    async with serving() as (api, source):
        h = Harness(source, tick_timeout=10.0)
        async with asyncio.TaskGroup() as group:
            task = group.create_task(h.collector.run())
            await api.wait_for(lambda: api.hanging == 1)
            asked = loop.time()
            task.cancel()
        assert loop.time() - asked < 0.1
        await api.wait_for(lambda: api.abandoned == 1)
    assert h.collector.statistics().ticks == 0, "no outcome for a tick that was cancelled"
    assert {o: h.ticks(o) for o in TickOutcome} == dict.fromkeys(TickOutcome, 0.0)
