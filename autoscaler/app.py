"""Composition root: builds the object graph and owns the process TaskGroups.

Start-up order (architecture §3): informers → all synced (ready) → leader election →
leader scope (controllers). Shutdown: the stop signal marks the process not ready and
unwinds the process TaskGroup, which cancels the leader scope, releases the Lease (the
elector does that, shielded and bounded), stops informers and servers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from typing import Any

import uvloop
from kubernetes_asyncio import client as k8s
from pydantic import ValidationError

from autoscaler.clock import Clock, LoopClock
from autoscaler.controllers.scale_down_inputs import ScaleDownCaches
from autoscaler.controllers.usage_collector import UsageCollector, node_metrics_source
from autoscaler.controllers.usage_tracker import UsageTracker
from autoscaler.controllers.wiring import (
    ControllerMetricSources,
    LifecycleInformers,
    build_controllers,
    lifecycle_informers,
)
from autoscaler.core.resources import GROUP, VERSION
from autoscaler.kube.client import KubeConfigError, api_client, load_configuration
from autoscaler.kube.events import EventRecorder
from autoscaler.kube.eviction import evict
from autoscaler.kube.informer import Informer, wait_for_all_synced
from autoscaler.kube.leader import (
    LeaderElectionConfig,
    LeaderElectionStatistics,
    LeaderElector,
    LeadershipLost,
)
from autoscaler.kube.lease_client import KubeLeaseClient
from autoscaler.kube.listwatch import KubeListWatch
from autoscaler.kube.objects import KubeObjects
from autoscaler.kube.projection import (
    project_node,
    project_pdb,
    project_pod,
    project_pv,
    project_pvc,
)
from autoscaler.kube.store import nodes_by_group, pods_by_node
from autoscaler.lifecycle import GracefulStop, StopSignal
from autoscaler.observability.controller_metrics import ControllerMetricsProvider
from autoscaler.observability.health import Health
from autoscaler.observability.leader_metrics import LeaderElectionMetrics
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.observability.logs import configure_logging
from autoscaler.observability.registry import new_registry
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.observability.usage_metrics import UsageMetrics
from autoscaler.observability.vpsie_metrics import VPSieMetrics
from autoscaler.observability.workqueue_metrics import WorkqueueMetricsProvider
from autoscaler.server import BoundPorts, serve
from autoscaler.settings import Settings, WatchSettings
from autoscaler.vpsie.breaker import BreakerState, BreakerStatistics
from autoscaler.vpsie.config import VPSieClientConfig
from autoscaler.vpsie.factory import build_client, build_provider
from autoscaler.vpsie.provider import Provider

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def informer_options(watch: WatchSettings) -> dict[str, Any]:
    """The informers' list/watch options from the ``watch`` settings."""
    return {
        "page_size": watch.page_size,
        "min_watch_timeout": watch.min_timeout_s,
        "max_watch_timeout": watch.max_timeout_s,
        "inactivity_timeout": watch.inactivity_timeout_s,
        "resync_period": watch.resync_s or None,
    }


def build_informers(
    api: k8s.ApiClient, settings: Settings, *, clock: Clock
) -> dict[str, Informer[Any]]:
    """The informers every replica keeps warm, keyed by a short name."""
    core = k8s.CoreV1Api(api)
    policy = k8s.PolicyV1Api(api)
    source = functools.partial(KubeListWatch, request_timeout=settings.kube.request_timeout_s)
    common: dict[str, Any] = {"clock": clock, **informer_options(settings.watch)}
    informers: dict[str, Informer[Any]] = {
        "nodes": Informer(
            source(core.list_node),
            transform=project_node,
            name="nodes",
            indexers={"nodes_by_group": nodes_by_group},
            **common,
        ),
        "pods": Informer(
            source(core.list_pod_for_all_namespaces),
            transform=project_pod,
            name="pods",
            indexers={"pods_by_node": pods_by_node},
            **common,
        ),
        "pdbs": Informer(
            source(policy.list_pod_disruption_budget_for_all_namespaces),
            transform=project_pdb,
            name="pdbs",
            **common,
        ),
        # Volume facts for scale-down (review MED-2). StorageClasses are not cached: the PV
        # itself says whether its data is local, hostPath or pinned by node affinity.
        "pvcs": Informer(
            source(core.list_persistent_volume_claim_for_all_namespaces),
            transform=project_pvc,
            name="pvcs",
            **common,
        ),
        "pvs": Informer(
            source(core.list_persistent_volume),
            transform=project_pv,
            name="pvs",
            **common,
        ),
    }
    informers |= lifecycle_informers(
        api,
        namespace=settings.kube.namespace,
        request_timeout=settings.kube.request_timeout_s,
        clock=clock,
        options=informer_options(settings.watch),
    )
    return informers


class Daemon:
    """The running autoscaler: informers, servers, leader election and the leader scope."""

    def __init__(
        self, settings: Settings, *, api: k8s.ApiClient, provider: Provider, clock: Clock
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.provider = provider
        self.registry = new_registry()
        self.health = Health()
        self.lifecycle_metrics = LifecycleMetrics(self.registry)
        self.metric_sources = ControllerMetricSources(
            queues=WorkqueueMetricsProvider(self.registry),
            controllers=ControllerMetricsProvider(self.registry),
            scale_up=ScaleUpMetrics(self.registry),
            scale_down=ScaleDownMetrics(self.registry),
        )
        self.usage_metrics = UsageMetrics(self.registry)
        self.api = api
        self.objects = KubeObjects(
            api, group=GROUP, version=VERSION, request_timeout=settings.kube.request_timeout_s
        )
        self.informers = build_informers(api, settings, clock=clock)
        for name, informer in self.informers.items():
            self.health.add_readiness_check(f"informer {name}", informer.has_synced)
        kube = settings.kube
        self._leader_metrics = LeaderElectionMetrics(self.registry)
        self._leader_metrics.set_master_status(
            f"{kube.namespace}/{kube.lease_name}", is_leader=False
        )
        self.elector = LeaderElector(
            KubeLeaseClient(api, request_timeout=kube.request_timeout_s),
            LeaderElectionConfig(
                lease_name=kube.lease_name,
                namespace=kube.namespace,
                lease_duration=kube.lease_duration_s,
                renew_deadline=kube.renew_deadline_s,
                retry_period=kube.retry_period_s,
                request_timeout=min(kube.request_timeout_s, kube.renew_deadline_s),
            ),
            clock=clock,
            on_change=self._on_leadership_change,
        )

    def _on_leadership_change(self, stats: LeaderElectionStatistics) -> None:
        self._leader_metrics.set_master_status(stats.lease, is_leader=stats.is_leader)
        log.info(
            "leadership observed",
            extra={"lease": stats.lease, "leader": stats.is_leader, "holder": stats.holder},
        )

    async def run(
        self, stop: StopSignal, *, bound: asyncio.Future[BoundPorts] | None = None
    ) -> None:
        """Run until ``stop`` is signalled (returns) or something fails (raises)."""
        server = self.settings.server
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._stop_when_signalled(stop), name="signal-watcher")
                tg.create_task(
                    serve(
                        host=server.host,
                        metrics_port=server.metrics_port,
                        probes_port=server.probes_port,
                        registry=self.registry,
                        health=self.health,
                        bound=bound,
                    ),
                    name="http-server",
                )
                for name, informer in self.informers.items():
                    tg.create_task(informer.run(), name=f"informer-{name}")
                tg.create_task(self._lead_when_synced(), name="leader-election")
        except* GracefulStop:
            log.info("stopped gracefully")

    async def _stop_when_signalled(self, stop: StopSignal) -> None:
        await stop.stop.wait()
        self.health.mark_stopping()
        raise GracefulStop

    async def _lead_when_synced(self) -> None:
        await wait_for_all_synced(self.informers.values())
        log.info("informers synced", extra={"informers": sorted(self.informers)})
        if not self.settings.kube.leader_election:
            await self._leader_scope()
            return
        await self.elector.run(self._leader_scope)

    async def _leader_scope(self) -> None:
        """Everything only the leader does: the lifecycle controllers (more join later)."""
        identity = self.elector.statistics().identity
        log.info("leading", extra={"identity": identity})
        inf = self.informers
        controllers = build_controllers(
            objects=self.objects,
            provider=self.provider,
            events=EventRecorder(self.objects, clock=self.clock, instance=identity),
            informers=LifecycleInformers(
                nodegroups=inf["nodegroups"],
                vpsienodes=inf["vpsienodes"],
                nodes=inf["nodes"],
                pods=inf["pods"],
                scale_down=ScaleDownCaches(
                    pdbs=inf["pdbs"].store, pvcs=inf["pvcs"].store, pvs=inf["pvs"].store
                ),
            ),
            settings=self.settings,
            metrics=self.metric_sources,
            lifecycle_metrics=self.lifecycle_metrics,
            clock=self.clock,
            evict=functools.partial(evict, self.api, timeout=self.settings.kube.request_timeout_s),
            usage=UsageCollector(
                node_metrics_source(self.api, request_timeout=self.settings.kube.request_timeout_s),
                tracker=UsageTracker(),
                node_names=inf["nodes"].store.keys,
                metrics=self.usage_metrics,
                clock=self.clock,
            ),
        )
        try:
            await controllers.run()
        finally:
            log.info("leader scope stopped")


async def amain(settings: Settings, *, bound: asyncio.Future[BoundPorts] | None = None) -> int:
    """Run the daemon on the current loop; return the process exit code."""
    stop = StopSignal(shutdown_timeout_s=settings.server.shutdown_timeout_s)
    stop.install()
    try:
        kube = settings.kube
        vpsie = VPSieClientConfig.from_settings(settings.vpsie)
        clock = LoopClock()
        cfg = await load_configuration(
            kubeconfig=kube.kubeconfig, context=kube.context, timeout_s=kube.request_timeout_s
        )
        async with api_client(cfg) as api, build_client(vpsie, clock=clock) as http:
            provider = build_provider(vpsie, http=http, clock=clock)
            daemon = Daemon(settings, api=api, provider=provider, clock=clock)
            vpsie_metrics = VPSieMetrics(daemon.registry)
            http.observer = vpsie_metrics.observe
            vpsie_metrics.track_breaker(
                lambda: _breaker_reading(http.breaker.statistics()),
                [state.value for state in BreakerState],
            )
            await daemon.run(stop, bound=bound)
    except KubeConfigError as err:
        log.error("cannot configure the Kubernetes client", extra={"error": str(err)})
        return EXIT_FAILED
    except ExceptionGroup as group:
        lost, rest = group.split(LeadershipLost)
        if rest is not None or lost is None:
            raise
        log.error("lost leadership: exiting so that the pod restarts as a follower")
        return EXIT_FAILED
    finally:
        stop.uninstall()
    return EXIT_OK


def _breaker_reading(seen: BreakerStatistics) -> tuple[str, int]:
    return seen.state.value, seen.opened_total


def vpsie_config_problem(settings: Settings) -> str | None:
    """One line saying why the VPSie settings cannot work, or ``None``."""
    try:
        VPSieClientConfig.from_settings(settings.vpsie)
    except ValidationError as err:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
        return f"invalid setting vpsie: {problems}"
    return None


def run_daemon(settings: Settings) -> int:
    """Check the VPSie settings, configure logging and run the daemon on uvloop."""
    problem = vpsie_config_problem(settings)
    if problem is not None:
        print(f"vpsie-autoscaler: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(level=settings.logging.level_number, fmt=settings.logging.format)
    return uvloop.run(amain(settings))
