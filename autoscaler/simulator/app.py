"""``create_app``: the simulator as an aiohttp application.

Admin routes live under ``/__sim/``; every other path goes through the VPSie pipeline
(``pipeline.handle``) and the route table. The app's cleanup context settles the world
at start-up (initial workers reach the hook) and, for real and scaled clocks, owns a
ticker task that settles it every ``clock.tick_interval`` seconds, so workers join even
when nobody polls. On shutdown, held (hanging) connections are released.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from autoscaler.simulator import routes_catalogue, routes_k8s, routes_vm
from autoscaler.simulator.admin import add_admin_routes
from autoscaler.simulator.clock import SimClock
from autoscaler.simulator.config import SimulatorConfig
from autoscaler.simulator.hooks import NodeHook, NoopHook
from autoscaler.simulator.pipeline import SIM_KEY, handle
from autoscaler.simulator.routing import Router
from autoscaler.simulator.simulation import Simulation


def build_router() -> Router:
    """Every route of §4."""
    router = Router()
    routes_catalogue.add_routes(router)
    routes_k8s.add_routes(router)
    routes_vm.add_routes(router)
    return router


async def _tick(sim: Simulation, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await sim.settle()


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    sim = app[SIM_KEY]
    await sim.settle()
    ticker = None
    if sim.clock.mode != "manual":
        ticker = asyncio.create_task(_tick(sim, sim.config.clock.tick_interval))
    try:
        yield
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker


async def _release_held(app: web.Application) -> None:
    app[SIM_KEY].stopping.set()


def create_app(
    config: SimulatorConfig, *, clock: SimClock | None = None, node_hook: NodeHook | None = None
) -> web.Application:
    """The simulator app; ``clock`` defaults to ``config.clock``, the hook to a no-op."""
    sim = Simulation(
        config,
        clock=clock or SimClock.from_config(config.clock),
        hook=node_hook or NoopHook(),
        router=build_router(),
    )
    app = web.Application()
    app[SIM_KEY] = sim
    add_admin_routes(app)
    app.router.add_route("*", "/{tail:.*}", handle)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_release_held)
    return app
