"""The usage collector: samples of node usage from ``metrics.k8s.io``, if it is served.

Every ``interval`` seconds (start to start) one tick lists
``GET /apis/metrics.k8s.io/v1beta1/nodes`` under ``asyncio.timeout(tick_timeout)``
(review HIGH-2), parses each ``NodeMetrics`` item into a ``UsageSample`` and, in one
synchronous step, records the samples and retains only the nodes the Node cache still holds
(HIGH-1, GAP-1). Outcomes:

* ``ok``: samples recorded;
* ``not_served`` (404: no metrics-server or APIService): usage is not measured; what the
  tracker held is dropped, one info line is logged, and discovery is retried every
  ``rediscover_interval`` seconds until the API answers again (logged once more);
* ``timeout`` (the tick's deadline, or the client's) and ``error`` (any other API error
  or an unreadable body): logged, and the next tick runs on schedule.

Cancelling ``run()`` is prompt even while a request hangs: the request is awaited directly,
so the cancellation reaches it at once. The informer must have synced before ``run()``
starts, or the first passes retain nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import orjson
from kubernetes_asyncio.client import ApiClient, CustomObjectsApi

from autoscaler.clock import Clock, LoopClock
from autoscaler.controllers.usage_tracker import UsageSample, UsageTracker
from autoscaler.core.quantity import QuantityError, int_value, milli_value
from autoscaler.kube import errors
from autoscaler.kube.listwatch import KubeListWatch, ListPage
from autoscaler.observability.usage_metrics import TickOutcome, UsageMetrics

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_REDISCOVER_INTERVAL",
    "DEFAULT_TICK_TIMEOUT",
    "CollectorStatistics",
    "NodeMetricsLister",
    "UsageCollector",
    "node_metrics_source",
    "parse_node_metrics",
]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0
DEFAULT_TICK_TIMEOUT = 10.0
DEFAULT_REDISCOVER_INTERVAL = 300.0
METRICS_GROUP, METRICS_VERSION, METRICS_PLURAL = "metrics.k8s.io", "v1beta1", "nodes"


class NodeMetricsLister(Protocol):
    """Lists one collection unpaged; ``KubeListWatch`` is the production one."""

    async def list_page(
        self, *, resource_version: str, limit: int | None, continue_token: str | None
    ) -> ListPage:
        """Fetch the list; raise ``errors.KubeError`` subclasses."""


def node_metrics_source(api: ApiClient, *, request_timeout: float = 15.0) -> KubeListWatch:
    """The lister of ``metrics.k8s.io/v1beta1`` NodeMetrics over ``api`` (raw JSON)."""
    method = functools.partial(
        CustomObjectsApi(api).list_cluster_custom_object,
        METRICS_GROUP,
        METRICS_VERSION,
        METRICS_PLURAL,
    )
    return KubeListWatch(method, request_timeout=request_timeout)


def _cpu_millis(text: str) -> int:
    return milli_value(text)  # metrics-server reports CPU in nanocores ("137132918n")


def _timestamp(raw: object, fallback: dt.datetime) -> dt.datetime:
    if not isinstance(raw, str):
        return fallback
    try:
        at = dt.datetime.fromisoformat(raw)
    except ValueError:
        return fallback
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def parse_node_metrics(
    items: Iterable[Any], *, now: dt.datetime
) -> tuple[dict[str, UsageSample], int]:
    """Return a sample per named node and how many items were malformed and skipped.

    An item without a ``timestamp`` is taken as measured ``now``.
    """
    samples: dict[str, UsageSample] = {}
    skipped = 0
    for item in items:
        try:
            name = item["metadata"]["name"]
            usage = item["usage"]
            sample = UsageSample(
                at=_timestamp(item.get("timestamp"), now),
                cpu_millis=_cpu_millis(usage["cpu"]),
                memory_bytes=int_value(usage["memory"]),
            )
        except (KeyError, TypeError, AttributeError, QuantityError):
            skipped += 1
            continue
        if isinstance(name, str) and name:
            samples[name] = sample
        else:
            skipped += 1
    return samples, skipped


@dataclass(frozen=True, slots=True)
class CollectorStatistics:
    """Ticks so far, the last outcome, and whether the metrics API is served (None: unknown)."""

    ticks: int
    last_outcome: TickOutcome | None
    served: bool | None


class UsageCollector:
    """Polls ``metrics.k8s.io`` into a ``UsageTracker``; ``run()`` until cancelled."""

    def __init__(
        self,
        source: NodeMetricsLister,
        *,
        tracker: UsageTracker,
        node_names: Callable[[], Collection[str]],
        metrics: UsageMetrics,
        clock: Clock | None = None,
        interval: float = DEFAULT_INTERVAL,
        tick_timeout: float = DEFAULT_TICK_TIMEOUT,
        rediscover_interval: float = DEFAULT_REDISCOVER_INTERVAL,
    ) -> None:
        if min(interval, tick_timeout, rediscover_interval) <= 0:
            raise ValueError("interval, tick_timeout and rediscover_interval must be positive")
        self._source = source
        self._tracker = tracker
        self._node_names = node_names
        self._metrics = metrics
        self._clock = clock or LoopClock()
        self._interval = interval
        self._tick_timeout = tick_timeout
        self._rediscover = rediscover_interval
        self._ticks = 0
        self._last: TickOutcome | None = None
        self._served: bool | None = None
        metrics.track(lambda: len(tracker))

    def statistics(self) -> CollectorStatistics:
        """Return the tick count, the last outcome and whether the API is served."""
        return CollectorStatistics(self._ticks, self._last, self._served)

    async def run(self) -> NoReturn:
        """Tick now and then every interval (every rediscovery interval while not served)."""
        while True:
            started = self._clock.monotonic()
            outcome = await self.tick()
            period = self._rediscover if outcome is TickOutcome.NOT_SERVED else self._interval
            await asyncio.sleep(max(0.0, started + period - self._clock.monotonic()))

    async def tick(self) -> TickOutcome:
        """List node metrics once, under the tick deadline, and update the tracker."""
        started = self._clock.monotonic()
        try:
            async with asyncio.timeout(self._tick_timeout):
                page = await self._source.list_page(
                    resource_version="", limit=None, continue_token=None
                )
        except errors.NotFound:
            outcome = TickOutcome.NOT_SERVED
        except (TimeoutError, errors.Timeout) as err:
            outcome = self._failed(TickOutcome.TIMEOUT, err)
        except (errors.KubeError, orjson.JSONDecodeError) as err:
            outcome = self._failed(TickOutcome.ERROR, err)
        else:
            outcome = TickOutcome.OK
            self._apply(page.items)
        self._note_served(outcome)
        if outcome is TickOutcome.NOT_SERVED:
            self._tracker.clear()
        elif outcome is not TickOutcome.OK:
            self._tracker.retain(set(self._node_names()))
        self._ticks += 1
        self._last = outcome
        self._metrics.ticked(outcome, seconds=self._clock.monotonic() - started)
        return outcome

    def _apply(self, items: list[Any]) -> None:
        """Record a pass and retain the cached nodes, in one step (nothing awaits here)."""
        samples, skipped = parse_node_metrics(items, now=self._clock.now())
        if skipped:
            log.debug("malformed node metrics skipped", extra={"skipped": skipped})
        self._tracker.record_all(samples)
        self._tracker.retain(set(self._node_names()))

    def _failed(self, outcome: TickOutcome, err: Exception) -> TickOutcome:
        """Log a failed tick; the next one runs on schedule."""
        timed_out = outcome is TickOutcome.TIMEOUT
        log.warning(
            "usage collection timed out" if timed_out else "usage collection failed",
            extra={"outcome": outcome.value, "timeout_s": self._tick_timeout, "error": repr(err)},
        )
        return outcome

    def _note_served(self, outcome: TickOutcome) -> None:
        """Log once when the metrics API stops or starts being served."""
        if outcome is TickOutcome.NOT_SERVED:
            if self._served is not False:
                log.info(
                    "metrics.k8s.io is not served; usage collection disabled",
                    extra={"retry_s": self._rediscover},
                )
            self._served = False
        elif outcome is TickOutcome.OK:
            if self._served is False:
                log.info("metrics.k8s.io is served again; usage collection enabled")
            self._served = True
