"""The probe and metrics endpoints answer from the health state and the registry."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession

from autoscaler.observability.health import Health
from autoscaler.observability.registry import new_registry
from autoscaler.server import BoundPorts, serve


async def test_probes_follow_health_and_metrics_are_served() -> None:
    health = Health()
    synced = asyncio.Event()
    health.add_readiness_check("informer pods", synced.is_set)
    bound: asyncio.Future[BoundPorts] = asyncio.get_running_loop().create_future()
    async with asyncio.TaskGroup() as tg:
        server = tg.create_task(
            serve(
                host="127.0.0.1",
                metrics_port=0,
                probes_port=0,
                registry=new_registry(process_metrics=False),
                health=health,
                bound=bound,
            )
        )
        ports = await bound
        base = f"http://127.0.0.1:{ports.probes}"
        async with ClientSession() as http:

            async def get(url: str) -> tuple[int, str]:
                async with http.get(url) as resp:
                    return resp.status, await resp.text()

            assert await get(f"{base}/healthz") == (200, "ok\n")
            assert await get(f"{base}/readyz") == (503, "informer pods not ready\n")
            synced.set()
            assert await get(f"{base}/readyz") == (200, "ok\n")
            health.mark_stopping()
            assert await get(f"{base}/readyz") == (503, "shutting down\n")
            health.mark_broken("leader scope crashed")
            assert await get(f"{base}/healthz") == (503, "leader scope crashed\n")
            status, body = await get(f"http://127.0.0.1:{ports.metrics}/metrics")
            assert status == 200
            assert "vpsie_autoscaler_build_info{" in body
        server.cancel()
