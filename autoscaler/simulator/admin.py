"""The admin and inspection API under ``/__sim/`` (§8).

When ``auth.admin_token`` is set, every admin route but ``healthz`` needs it, as
``Authorization: Bearer <token>`` or ``X-Sim-Admin: <token>``.

| route | purpose |
|---|---|
| ``GET /__sim/healthz`` | liveness |
| ``GET /__sim/state`` | every machine (deleted ones too), pending queue, clusters, claims |
| ``GET /__sim/calls?since=N&reset=1`` | counters and the redacted call log |
| ``DELETE /__sim/calls`` | forget the call log |
| ``GET/PUT/DELETE /__sim/faults`` | ``{"rules": [...], "knobs": {...}}``: read, replace, clear |
| ``POST /__sim/clock/advance`` | ``{"seconds": n}`` (manual clock), runs due transitions |
| ``POST /__sim/reset`` | ``{"seed": n}`` (optional): back to the configured state |
| ``POST /__sim/vms/{identifier}/kill`` | lose a VM or worker out of band |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from autoscaler.simulator.auth import token_from
from autoscaler.simulator.clock import ClockNotManual
from autoscaler.simulator.envelope import Reject, Reply, bad_request, error, json_reply, not_found
from autoscaler.simulator.parsing import query_int, read_body
from autoscaler.simulator.pipeline import SIM_KEY, respond
from autoscaler.simulator.rules import FaultRule
from autoscaler.simulator.simulation import Simulation
from autoscaler.simulator.state_view import state

_RULES = TypeAdapter(list[FaultRule])
AdminHandler = Callable[[Simulation, web.Request], Awaitable[Reply]]


def _guarded(handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def guarded(request: web.Request) -> web.Response:
        sim = request.app[SIM_KEY]
        expected = sim.config.auth.admin_token
        given = request.headers.get("X-Sim-Admin") or token_from(request.headers)
        if expected is not None and given != expected:
            return respond(error(401, "Admin token required"))
        try:
            return respond(await handler(sim, request))
        except Reject as rejected:
            return respond(rejected.reply)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    body, _ = await read_body(request)
    return body


async def healthz(request: web.Request) -> web.Response:
    """Liveness: always ``{"ok": true}``."""
    return web.json_response({"ok": True})


async def get_state(sim: Simulation, request: web.Request) -> Reply:
    """The whole world, as the simulator sees it."""
    await sim.settle()
    return json_reply(state(sim))


async def get_calls(sim: Simulation, request: web.Request) -> Reply:
    """Counters and log entries after ``since``; ``reset`` forgets them after answering."""
    since = query_int(request.query.get("since")) or 0
    payload = {"counters": sim.calls.counter_rows(), "calls": sim.calls.since(since)}
    if request.query.get("reset") in ("1", "true"):
        sim.calls.reset()
    return json_reply(payload)


async def delete_calls(sim: Simulation, request: web.Request) -> Reply:
    """Forget the call log and counters."""
    sim.calls.reset()
    return json_reply({"ok": True})


def _faults(sim: Simulation) -> dict[str, Any]:
    rules = [r.model_dump(by_alias=True, exclude_defaults=True) for r in sim.faults.rules]
    return {"rules": rules, "knobs": sim.knobs.model_dump()}


async def get_faults(sim: Simulation, request: web.Request) -> Reply:
    """The current rules and knobs."""
    return json_reply(_faults(sim))


async def put_faults(sim: Simulation, request: web.Request) -> Reply:
    """Replace the rules; the knobs become the configured ones with ``knobs`` merged on."""
    body = await _body(request)
    try:
        rules = _RULES.validate_python(body.get("rules", []))
        knobs = body.get("knobs") or {}
        if not isinstance(knobs, dict):
            raise ValueError("knobs must be an object")
        sim.set_faults(rules, knobs)
    except (ValidationError, ValueError) as err:
        return bad_request(str(err))
    return json_reply(_faults(sim))


async def delete_faults(sim: Simulation, request: web.Request) -> Reply:
    """No rules; configured knobs."""
    sim.clear_faults()
    return json_reply(_faults(sim))


async def advance_clock(sim: Simulation, request: web.Request) -> Reply:
    """Move the manual clock and run every transition that falls due."""
    seconds = (await _body(request)).get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return bad_request("seconds must be a non-negative number")
    try:
        now = sim.clock.advance(float(seconds))
    except ClockNotManual as err:
        return error(409, str(err))
    await sim.settle()
    return json_reply({"now": now, "wall": sim.clock.stamp(now)})


async def reset(sim: Simulation, request: web.Request) -> Reply:
    """Back to the configured state, with another seed if given."""
    seed = (await _body(request)).get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        return bad_request("seed must be an integer")
    await sim.reset(seed)
    return json_reply({"seed": sim.seed, "now": sim.clock.now()})


async def kill_vm(sim: Simulation, request: web.Request) -> Reply:
    """Lose a machine out of band: it stops now and is gone after ``delete_delay``."""
    await sim.settle()
    events = sim.kill(request.match_info["identifier"])
    if events is None:
        return not_found("VM")
    sim.hooks.enqueue(events)
    await sim.hooks.flush()
    return json_reply({"ok": True})


def add_admin_routes(app: web.Application) -> None:
    """Register the ``/__sim/`` routes on ``app``."""
    app.router.add_get("/__sim/healthz", healthz)
    app.router.add_get("/__sim/state", _guarded(get_state))
    app.router.add_get("/__sim/calls", _guarded(get_calls))
    app.router.add_delete("/__sim/calls", _guarded(delete_calls))
    app.router.add_get("/__sim/faults", _guarded(get_faults))
    app.router.add_put("/__sim/faults", _guarded(put_faults))
    app.router.add_delete("/__sim/faults", _guarded(delete_faults))
    app.router.add_post("/__sim/clock/advance", _guarded(advance_clock))
    app.router.add_post("/__sim/reset", _guarded(reset))
    app.router.add_post("/__sim/vms/{identifier}/kill", _guarded(kill_vm))
