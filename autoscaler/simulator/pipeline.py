"""How one VPSie call is answered.

route -> body -> log entry -> auth -> fault rules (latency first) -> settle the world ->
handler (sync, atomic) -> settle again -> reply. Hangs: ``never`` and ``drop`` answer
before the handler runs (nothing changes), ``slow`` waits and then handles the call, and
``commit_then_hang`` handles it and then holds the connection without answering.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from autoscaler.simulator.auth import token_from
from autoscaler.simulator.envelope import (
    Reject,
    Reply,
    error,
    error200,
    not_found,
    retry_after_value,
    server_error,
    too_many_requests,
    unauthorized,
)
from autoscaler.simulator.faults import Fault
from autoscaler.simulator.knobs import merge_knobs
from autoscaler.simulator.parsing import read_body
from autoscaler.simulator.routing import BodyKind, Call, Route
from autoscaler.simulator.simulation import Simulation

SIM_KEY = web.AppKey("simulation", Simulation)
_POLL = 1.0  # how often a held connection checks that its client is still there


def respond(reply: Reply) -> web.Response:
    """The aiohttp response of a ``Reply``."""
    return web.Response(
        status=reply.status,
        body=reply.body,
        content_type=reply.content_type,
        headers=dict(reply.headers),
    )


def _prefix_enabled(route: Route, sim: Simulation) -> bool:
    setting = sim.knobs.shape.vm_prefixes
    return route.vm_prefix is None or setting in ("both", route.vm_prefix)


async def handle(request: web.Request) -> web.StreamResponse:
    """Answer any request outside ``/__sim/`` as the VPSie API would."""
    sim = request.app[SIM_KEY]
    route, params, known = sim.router.resolve(request.method, request.path)
    early: Reply | None = None
    try:
        body, kind = await read_body(request)
    except Reject as rejected:
        body, kind, early = {}, "none", rejected.reply
    now = sim.clock.now()
    entry = sim.calls.start(
        t=now,
        at=sim.clock.stamp(now),
        method=request.method,
        path=request.path,
        route=route.template if route else "<unmatched>",
        route_id=route.id if route else None,
        query=dict(request.query),
        body=body,
    )
    try:
        if route is None or not _prefix_enabled(route, sim):
            reply = error(405, "Method not allowed") if known and not route else not_found("Route")
            sim.calls.finish(entry, reply.status)
            return respond(reply)
        return await _answer(
            request, sim, route=route, params=params, body=body, kind=kind, early=early, entry=entry
        )
    finally:
        sim.calls.finish(entry, 0, fault="aborted")  # only if nothing else finished it


async def _answer(
    request: web.Request,
    sim: Simulation,
    *,
    route: Route,
    params: dict[str, str],
    body: dict[str, object],
    kind: BodyKind,
    early: Reply | None,
    entry: dict[str, object],
) -> web.StreamResponse:
    token = token_from(request.headers)
    authed = route.public or sim.tokens.valid(token, sim.clock.now())
    decision = sim.faults.decide(route, token=token, now=sim.clock.now())
    if decision.latency > 0:
        await sim.clock.sleep(decision.latency)
    fault = decision.fault if authed else None
    if fault is not None and fault.kind == "hang" and fault.hang_mode in ("never", "drop"):
        sim.calls.finish(entry, 0, fault=fault.label())
        return await _hang(request, sim, fault.hang_mode)
    faulted = _fault_reply(fault, sim) if fault is not None else None
    early = unauthorized() if not authed else (faulted or early)
    if early is not None:
        sim.calls.finish(entry, early.status, fault=fault.label() if faulted and fault else None)
        return respond(early)
    if fault is not None and fault.kind == "hang" and fault.hang_mode == "slow":
        await sim.clock.sleep(fault.hang_seconds)
    await sim.settle()
    call = Call(
        world=sim.world,
        config=sim.config,
        knobs=merge_knobs(sim.knobs, decision.overrides),
        tokens=sim.tokens,
        rng=sim.rngs.stream(route.id),
        now=sim.clock.now(),
        stamp=sim.clock.stamp,
        params=params,
        query=request.query,
        body=body,
        body_kind=kind,
        forced_quota=fault is not None and fault.kind == "quota",
    )
    try:
        reply = route.handler(call)
    except Reject as rejected:
        reply = rejected.reply
    await sim.settle()
    if fault is not None and fault.kind == "hang" and fault.hang_mode == "commit_then_hang":
        entry["committed_status"] = reply.status
        sim.calls.finish(entry, 0, fault=fault.label())
        return await _hang(request, sim, "never")
    sim.calls.finish(
        entry, reply.status, fault=fault.label() if fault else None, refused=_refused(reply)
    )
    return respond(reply)


def _refused(reply: Reply) -> bool:
    """A 200 answer whose envelope says ``"error": true``: the API did nothing."""
    if reply.status != 200:
        return False
    payload = reply.payload()
    return isinstance(payload, dict) and bool(payload.get("error"))


def _fault_reply(fault: Fault, sim: Simulation) -> Reply | None:
    if fault.kind == "unauthorized":
        return unauthorized()
    if fault.kind == "rate_limited":
        wall = sim.clock.wall()
        return too_many_requests(retry_after_value(fault.retry_style, fault.retry_after, wall))
    if fault.kind == "error_5xx":
        return server_error(fault.code, html=fault.html)
    if fault.kind == "error200":
        return error200(fault.message)
    return None  # quota and slow hangs are handled around the handler


async def _hang(request: web.Request, sim: Simulation, mode: str) -> web.StreamResponse:
    """Drop the connection at once, or hold it until the client leaves or the app stops."""
    if mode != "drop":
        while not sim.stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_POLL):
                    await sim.stopping.wait()
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)
