"""Work-queue metrics (Q9): controller-runtime's names, updated where client-go updates them."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from autoscaler.kube.workqueue import WorkQueue
from autoscaler.observability.workqueue_metrics import (
    WORKQUEUE_BUCKETS,
    NoopQueueMetrics,
    WorkqueueMetricsProvider,
)

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]


class MeteredQueue:
    """A queue wired to a fresh registry, with a shorthand to read its samples."""

    def __init__(self, name: str = "nodes") -> None:
        self.registry = CollectorRegistry()
        self.provider = WorkqueueMetricsProvider(self.registry)
        self.name = name
        self.queue = WorkQueue(name=name, metrics=self.provider.for_queue(name))

    def sample(self, metric: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(
            metric, {"name": self.name, "controller": self.name, **labels}
        )


async def test_depth_counts_adds_after_dedup_and_gets() -> None:
    m = MeteredQueue()
    m.queue.add("a")
    m.queue.add("b")
    m.queue.add("a")
    assert m.sample("workqueue_depth") == 2
    await m.queue.get()
    assert m.sample("workqueue_depth") == 1


async def test_adds_are_counted_after_the_shutdown_and_dedup_checks() -> None:
    m = MeteredQueue()
    m.queue.add("a")
    m.queue.add("a")
    m.queue.add("b")
    m.queue.shut_down()
    m.queue.add("c")
    assert m.sample("workqueue_adds_total") == 2


async def test_retries_count_every_add_after() -> None:
    m = MeteredQueue()
    m.queue.add_after("a", 0)
    m.queue.add_after("a", 5)
    m.queue.add_rate_limited("b")
    assert m.sample("workqueue_retries_total") == 3
    m.queue.shut_down()
    m.queue.add_after("a", 5)
    assert m.sample("workqueue_retries_total") == 3


async def test_queue_duration_is_the_time_since_the_first_add() -> None:
    m = MeteredQueue()
    m.queue.add("a")
    await asyncio.sleep(2)
    m.queue.add("a")  # deduplicated: the first add's time counts
    await asyncio.sleep(1)
    await m.queue.get()
    assert m.sample("workqueue_queue_duration_seconds_count") == 1
    assert m.sample("workqueue_queue_duration_seconds_sum") == pytest.approx(3)
    assert m.sample("workqueue_queue_duration_seconds_bucket", le="1.0") == 0
    assert m.sample("workqueue_queue_duration_seconds_bucket", le="10.0") == 1


async def test_work_duration_is_the_time_from_get_to_done() -> None:
    m = MeteredQueue()
    m.queue.add("a")
    key = await m.queue.get()
    await asyncio.sleep(0.25)
    m.queue.done(key)
    assert m.sample("workqueue_work_duration_seconds_count") == 1
    assert m.sample("workqueue_work_duration_seconds_sum") == pytest.approx(0.25)


async def test_unfinished_work_and_longest_processor_are_computed_at_scrape() -> None:
    m = MeteredQueue()
    m.queue.add("a")
    m.queue.add("b")
    await m.queue.get()
    await asyncio.sleep(1)
    await m.queue.get()
    await asyncio.sleep(2)
    assert m.sample("workqueue_unfinished_work_seconds") == pytest.approx(3 + 2)
    assert m.sample("workqueue_longest_running_processor_seconds") == pytest.approx(3)
    await asyncio.sleep(1)  # no queue call in between: only the scrape moves them
    assert m.sample("workqueue_unfinished_work_seconds") == pytest.approx(4 + 3)
    assert m.sample("workqueue_longest_running_processor_seconds") == pytest.approx(4)
    m.queue.done("a")
    m.queue.done("b")
    assert m.sample("workqueue_unfinished_work_seconds") == 0
    assert m.sample("workqueue_longest_running_processor_seconds") == 0


async def test_histograms_use_controller_runtime_buckets() -> None:
    m = MeteredQueue()
    m.queue.add("a")
    await m.queue.get()
    text = generate_latest(m.registry).decode()
    assert WORKQUEUE_BUCKETS[0] == 1e-08
    assert WORKQUEUE_BUCKETS[-1] == pytest.approx(1000)
    assert len(WORKQUEUE_BUCKETS) == 12
    for le in ("1e-08", "9.999999999999999e-06", "1000.0", "+Inf"):
        assert f'workqueue_queue_duration_seconds_bucket{{controller="nodes",le="{le}"' in text


async def test_queues_sharing_a_registry_are_labelled_apart() -> None:
    registry = CollectorRegistry()
    provider = WorkqueueMetricsProvider(registry)
    nodes = WorkQueue(name="nodes", metrics=provider.for_queue("nodes"))
    pods = WorkQueue(name="pods", metrics=provider.for_queue("pods"))
    nodes.add("a")
    pods.add("x")
    pods.add("y")
    await pods.get()

    def depth(name: str) -> float | None:
        labels = {"name": name, "controller": name}
        return registry.get_sample_value("workqueue_depth", labels)

    assert (depth("nodes"), depth("pods")) == (1, 1)
    labels = {"name": "pods", "controller": "pods"}
    assert registry.get_sample_value("workqueue_longest_running_processor_seconds", labels) == 0
    assert provider.for_queue("pods") is provider.for_queue("pods")


def test_every_metric_has_controller_runtimes_name() -> None:
    registry = CollectorRegistry()
    WorkqueueMetricsProvider(registry).for_queue("nodes")
    names = {metric.name for metric in registry.collect()}
    assert names == {
        "workqueue_depth",
        "workqueue_adds",  # exposed as workqueue_adds_total
        "workqueue_queue_duration_seconds",
        "workqueue_work_duration_seconds",
        "workqueue_unfinished_work_seconds",
        "workqueue_longest_running_processor_seconds",
        "workqueue_retries",  # exposed as workqueue_retries_total
    }


async def test_the_default_registry_is_left_alone() -> None:
    from prometheus_client import REGISTRY

    before = set(REGISTRY._names_to_collectors)
    m = MeteredQueue()
    m.queue.add("a")
    assert set(REGISTRY._names_to_collectors) == before
    assert "workqueue_depth" not in before


async def test_noop_metrics_record_nothing_and_keep_the_queue_working() -> None:
    noop = NoopQueueMetrics()
    queue = WorkQueue(metrics=noop)
    queue.add("a")
    queue.add_after("b", 0)
    assert await queue.get() == "a"
    queue.done("a")
    assert len(queue) == 1
    assert vars(noop) == {}
