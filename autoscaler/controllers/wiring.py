"""Wiring of the lifecycle controllers: queues, handlers, reconcilers and the collector.

``Controllers`` is built in the leader scope once every informer has synced; ``run()``
runs both queue timers, both worker pools and the garbage collector in one TaskGroup and
returns (or raises) only when that scope ends. Informer handlers only enqueue keys:

* NodeGroup → its own key, and every VPSieNode of it (template changes);
* VPSieNode → its own key, and its NodeGroup (counts, status);
* Node → the VPSieNodes named like it, and its group (current/ready counts);
* Pod → the scale-up batcher when it becomes pending (``PendingPods``); a VPSieNode that
  fails or a NodeGroup change → a scale-up decision soon (``ScaleUpController``).

The scale-down path runs on its own period (``ScaleDownController``) with its drain pool,
and the usage collector samples ``metrics.k8s.io`` when it is served.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from kubernetes_asyncio.client import ApiClient, CustomObjectsApi

from autoscaler.clock import Clock
from autoscaler.controllers.catalogue import Catalogue
from autoscaler.controllers.context import NODEGROUPS, VPSIENODES, Caches, Context, Objects
from autoscaler.controllers.drain_pods import EvictPod
from autoscaler.controllers.expectations import Expectations
from autoscaler.controllers.garbage import GarbageCollector
from autoscaler.controllers.keys import VPSIENODE_LABEL
from autoscaler.controllers.nodegroup import NodeGroupReconciler
from autoscaler.controllers.records import (
    NodeGroupRecord,
    VPSieNodeRecord,
    project_nodegroup,
    project_vpsienode,
    vpsienodes_by_group,
    vpsienodes_by_hostname,
)
from autoscaler.controllers.scale_down_controller import ScaleDownController
from autoscaler.controllers.scale_down_inputs import ScaleDownCaches
from autoscaler.controllers.scale_down_settings import drain_settings_of
from autoscaler.controllers.scale_up_controller import ScaleUpController
from autoscaler.controllers.usage_collector import UsageCollector
from autoscaler.controllers.vpsienode import VPSieNodeReconciler
from autoscaler.core.records import NodeRecord, PodRecord, lookup, object_key
from autoscaler.core.resources import GROUP, VERSION
from autoscaler.kube.enqueue import EnqueueKeys, Handler
from autoscaler.kube.events import EventRecorder
from autoscaler.kube.informer import Informer
from autoscaler.kube.listwatch import KubeListWatch
from autoscaler.kube.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
)
from autoscaler.kube.reconciler import run_workers
from autoscaler.kube.workqueue import WorkQueue
from autoscaler.observability.controller_metrics import ControllerMetricsProvider
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.observability.workqueue_metrics import WorkqueueMetricsProvider
from autoscaler.settings import QueueSettings, ScalingSettings, Settings
from autoscaler.vpsie.provider import Provider


@dataclasses.dataclass(frozen=True, slots=True)
class LifecycleInformers:
    """The informers the lifecycle controllers read (all synced before ``Controllers``)."""

    nodegroups: Informer[NodeGroupRecord]
    vpsienodes: Informer[VPSieNodeRecord]
    nodes: Informer[NodeRecord]
    pods: Informer[PodRecord]
    scale_down: ScaleDownCaches


@dataclasses.dataclass(frozen=True, slots=True)
class ControllerMetricSources:
    """The metric providers (one per registry, owned by the composition root)."""

    queues: WorkqueueMetricsProvider
    controllers: ControllerMetricsProvider
    scale_up: ScaleUpMetrics
    scale_down: ScaleDownMetrics


def _queue(
    name: str, settings: QueueSettings, *, clock: Clock, metrics: ControllerMetricSources
) -> WorkQueue:
    limiter = MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(settings.base_delay_s, settings.max_delay_s),
        BucketRateLimiter(settings.bucket_qps, settings.bucket_burst, clock=clock),
    )
    return WorkQueue(
        name=name, rate_limiter=limiter, clock=clock, metrics=metrics.queues.for_queue(name)
    )


class Controllers:
    """The NodeGroup and VPSieNode reconcilers and the garbage collector of one leader term."""

    def __init__(
        self,
        ctx: Context,
        *,
        informers: LifecycleInformers,
        queue_settings: QueueSettings,
        scaling: ScalingSettings,
        metrics: ControllerMetricSources,
        evict: EvictPod,
        drain_workers: int,
        usage: UsageCollector | None = None,
    ) -> None:
        self.ctx = ctx
        self.usage = usage
        self._settings = queue_settings
        self._metrics = metrics
        self.vpsienode_queue = _queue("vpsienode", queue_settings, clock=ctx.clock, metrics=metrics)
        self.nodegroup_queue = _queue("nodegroup", queue_settings, clock=ctx.clock, metrics=metrics)
        self.vpsienodes = VPSieNodeReconciler(ctx)
        catalogue = Catalogue(ctx.provider, clock=ctx.clock)
        expected = Expectations(clock=ctx.clock)
        self.nodegroups = NodeGroupReconciler(ctx, expected=expected, catalogue=catalogue)
        self.scale_up = ScaleUpController(
            ctx,
            settings=scaling,
            catalogue=catalogue,
            expected=expected,
            metrics=metrics.scale_up,
        )
        ctx.on_create_call = self.scale_up.latency.create_called
        self.scale_down = ScaleDownController(
            ctx,
            caches=informers.scale_down,
            settings=scaling,
            drain=drain_settings_of(scaling),
            queue=_queue("drain", queue_settings, clock=ctx.clock, metrics=metrics),
            evict=evict,
            workers=drain_workers,
            metrics=metrics.scale_down,
            worker_metrics=metrics.controllers.for_controller("drain"),
            requeue=self.vpsienode_queue.add,
        )
        ctx.drain_before_delete = self.scale_down.drain_before_delete
        self.collector = GarbageCollector(ctx, enqueue=self.vpsienode_queue.add)
        ng, vn = self.nodegroup_queue, self.vpsienode_queue
        informers.nodegroups.add_handler(EnqueueKeys(ng))
        informers.nodegroups.add_handler(EnqueueKeys(vn, self._members_of))
        informers.vpsienodes.add_handler(EnqueueKeys(vn))
        informers.vpsienodes.add_handler(EnqueueKeys(ng, self._group_of))
        informers.nodes.add_handler(EnqueueKeys(vn, self._owners_of))
        informers.nodes.add_handler(EnqueueKeys(ng, self._node_group))
        informers.pods.add_handler(self.scale_up.pending)
        informers.vpsienodes.add_handler(Handler(on_update=self.scale_up.on_vpsienode_update))
        informers.nodegroups.add_handler(
            Handler(
                on_add=self.scale_up.on_nodegroup_change,
                on_update=lambda _old, new: self.scale_up.on_nodegroup_change(new),
                on_delete=self.scale_up.on_nodegroup_change,
            )
        )
        ctx.metrics.watch_phases(
            lambda: [(r.group or "", str(r.phase)) for r in ctx.caches.vpsienodes]
        )

    def _members_of(self, group: NodeGroupRecord) -> Iterable[str]:
        return [m.key for m in self.ctx.members(group.meta.namespace, group.meta.name)]

    @staticmethod
    def _group_of(rec: VPSieNodeRecord) -> Iterable[str]:
        return (object_key(rec.meta.namespace, rec.group),) if rec.group else ()

    def _owners_of(self, node: NodeRecord) -> Iterable[str]:
        keys = set(self.ctx.caches.vpsienodes.index_keys("by_hostname", node.name))
        label = lookup(node.labels, VPSIENODE_LABEL)
        if label:
            keys.add(object_key(self.ctx.namespace, label))
        return sorted(keys)

    def _node_group(self, node: NodeRecord) -> Iterable[str]:
        return (object_key(self.ctx.namespace, node.group),) if node.group else ()

    async def run(self) -> None:
        """Run until cancelled (the leader scope ends) or something fails (raises)."""
        workers = self._settings.workers
        cm = self._metrics.controllers
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.vpsienode_queue.run(), name="vpsienode-queue")
                tg.create_task(self.nodegroup_queue.run(), name="nodegroup-queue")
                tg.create_task(
                    run_workers(
                        self.vpsienode_queue,
                        self.vpsienodes.reconcile,
                        workers=workers,
                        name="vpsienode",
                        metrics=cm.for_controller("vpsienode"),
                    ),
                    name="vpsienode-workers",
                )
                tg.create_task(
                    run_workers(
                        self.nodegroup_queue,
                        self.nodegroups.reconcile,
                        workers=workers,
                        name="nodegroup",
                        metrics=cm.for_controller("nodegroup"),
                    ),
                    name="nodegroup-workers",
                )
                tg.create_task(self.collector.run(), name="garbage-collector")
                tg.create_task(self.scale_up.run(), name="scale-up")
                tg.create_task(self.scale_down.run(), name="scale-down")
                if self.usage is not None:
                    tg.create_task(self.usage.run(), name="usage-collector")
        finally:
            self.vpsienode_queue.shut_down()
            self.nodegroup_queue.shut_down()


def lifecycle_informers(
    api: ApiClient,
    *,
    namespace: str,
    request_timeout: float,
    clock: Clock,
    options: Mapping[str, Any],
) -> dict[str, Informer[Any]]:
    """The NodeGroup and VPSieNode informers of ``namespace`` (every replica keeps them);
    ``options`` are the list/watch options of every informer (``app.informer_options``)."""
    custom = CustomObjectsApi(api)

    def source(plural: str) -> KubeListWatch:
        method = functools.partial(
            custom.list_namespaced_custom_object, GROUP, VERSION, namespace, plural
        )
        return KubeListWatch(method, request_timeout=request_timeout)

    common: dict[str, Any] = {"clock": clock, **options}
    return {
        "nodegroups": Informer(
            source(NODEGROUPS), transform=project_nodegroup, name="nodegroups", **common
        ),
        "vpsienodes": Informer(
            source(VPSIENODES),
            transform=project_vpsienode,
            name="vpsienodes",
            indexers={"by_group": vpsienodes_by_group, "by_hostname": vpsienodes_by_hostname},
            **common,
        ),
    }


def build_controllers(
    *,
    objects: Objects,
    provider: Provider,
    events: EventRecorder,
    informers: LifecycleInformers,
    settings: Settings,
    metrics: ControllerMetricSources,
    lifecycle_metrics: LifecycleMetrics,
    clock: Clock,
    evict: EvictPod,
    usage: UsageCollector | None = None,
) -> Controllers:
    """The lifecycle controllers over synced ``informers``."""
    ctx = Context(
        objects=objects,
        provider=provider,
        events=events,
        metrics=lifecycle_metrics,
        clock=clock,
        settings=settings.lifecycle,
        caches=Caches(
            nodegroups=informers.nodegroups.store,
            vpsienodes=informers.vpsienodes.store,
            nodes=informers.nodes.store,
            pods=informers.pods.store,
        ),
        namespace=settings.kube.namespace,
        cluster=settings.vpsie.cluster_identifier,
        unknown_outcome_window_s=settings.vpsie.unknown_outcome_window_s,
    )
    return Controllers(
        ctx,
        informers=informers,
        queue_settings=settings.queue,
        scaling=settings.scaling,
        metrics=metrics,
        evict=evict,
        drain_workers=settings.queue.drain_workers,
        usage=usage,
    )
