"""HTTP endpoints: ``/metrics`` on one port, ``/healthz`` and ``/readyz`` on another.

Served with aiohttp's ``AppRunner`` + ``TCPSite`` (no ``run_app``) so the server is one
task in the process ``TaskGroup``: ``serve`` runs until cancelled, then cleans up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from autoscaler.observability.health import Health, HealthReport

REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
HEALTH_KEY = web.AppKey("health", Health)


@dataclass(frozen=True, slots=True)
class BoundPorts:
    """The ports the servers listen on (useful when configured as 0)."""

    metrics: int
    probes: int


def _probe_response(report: HealthReport) -> web.Response:
    body = "ok\n" if report.ok else "".join(f"{line}\n" for line in report.failures)
    return web.Response(text=body, status=200 if report.ok else 503)


async def _metrics(request: web.Request) -> web.Response:
    payload = generate_latest(request.app[REGISTRY_KEY])
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    return _probe_response(request.app[HEALTH_KEY].liveness())


async def _readyz(request: web.Request) -> web.Response:
    return _probe_response(request.app[HEALTH_KEY].readiness())


def metrics_app(registry: CollectorRegistry) -> web.Application:
    """The ``/metrics`` application."""
    app = web.Application()
    app[REGISTRY_KEY] = registry
    app.router.add_get("/metrics", _metrics)
    return app


def probes_app(health: Health) -> web.Application:
    """The ``/healthz`` + ``/readyz`` application."""
    app = web.Application()
    app[HEALTH_KEY] = health
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    return app


async def serve(
    *,
    host: str,
    metrics_port: int,
    probes_port: int,
    registry: CollectorRegistry,
    health: Health,
    bound: asyncio.Future[BoundPorts] | None = None,
) -> None:
    """Serve both applications until cancelled; report the bound ports through ``bound``."""
    runners = [
        web.AppRunner(metrics_app(registry), shutdown_timeout=1.0),
        web.AppRunner(probes_app(health), shutdown_timeout=1.0),
    ]
    try:
        ports = []
        for runner, port in zip(runners, (metrics_port, probes_port), strict=True):
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            ports.append(runner.addresses[0][1])
        if bound is not None:
            bound.set_result(BoundPorts(metrics=ports[0], probes=ports[1]))
        await asyncio.Event().wait()  # serve until cancelled
    finally:
        for runner in runners:
            async with asyncio.timeout(2):
                await runner.cleanup()
