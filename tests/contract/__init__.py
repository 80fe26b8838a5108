"""The component tier: the real VPSie client against the real simulator, in-process.

Each test serves the simulator app (``create_app``, manual clock, seed 7) on 127.0.0.1
through aiohttp's ``TestServer`` and points the client of ``build_client`` and the provider
of ``build_provider`` at it. Nothing is scripted: whatever the two sides disagree on shows.

Time: the simulated world moves only through ``POST /__sim/clock/advance`` (``advance``);
the client's own waits (timeouts, back-off, ``Retry-After``, polling) run on looptime's
virtual loop clock. The client reads wall time from the simulator (``SimWallClock``), as
NTP would make two real hosts agree, so HTTP-date ``Retry-After`` values and token
``expires`` stamps mean the same instant on both sides.

What the simulator saw is read through its admin API: ``calls`` (the call log),
``counted`` (the counters per method, route template and status) and ``state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from autoscaler.simulator import SimClock, SimulatorConfig, WorkerRecord
from autoscaler.vpsie import (
    HttpClient,
    VkeProvider,
    VmGroupSpec,
    VmProvider,
    VPSieApi,
    VPSieClientConfig,
    build_client,
    build_provider,
)
from tests.simulator import (
    CATEGORY,
    CLUSTER,
    DC,
    LARGE,
    OS,
    PLAN,
    PROJECT,
    SMALL,
    TOKEN,
    RecordingHook,
    Sim,
    manual_config,
    running_simulator,
)

__all__ = [
    "CATEGORY",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CLUSTER",
    "DC",
    "K4",
    "K5",
    "K8",
    "LARGE",
    "OS",
    "PASSWORD",
    "PLAN",
    "PREFIXES",
    "PREFIX_KNOB",
    "PROJECT",
    "SMALL",
    "TOKEN",
    "USER_DATA",
    "Connected",
    "Contract",
    "SimWallClock",
    "open_contract",
    "vm_group",
]

PASSWORD = "sim-password"  # the simulator's default account password
CLIENT_ID, CLIENT_SECRET = "sim-client", "sim"  # its default C1 credentials
USER_DATA = "#cloud-config\nruncmd:\n  - kubeadm join 10.8.0.1:6443 --token abcdef.0123456789\n"
K4 = "/apps/v2/k8s/cluster/byId/{cid}/add/slave/group/{gid}"
K5 = "/apps/v2/k8s/cluster/byId/{cid}/delete/slave"
K8 = "/apps/v2/k8s/cluster/byId/{cid}/reduce/slave"
PREFIXES = ("/api/v2/vm", "/apps/v2/vm")
PREFIX_KNOB = {"/api/v2/vm": "api", "/apps/v2/vm": "apps"}


def vm_group(name: str = "web", **overrides: Any) -> VmGroupSpec:
    """A VM group of the default plan, bootstrapped with ``USER_DATA``."""
    values: dict[str, Any] = {
        "name": name,
        "plan_identifier": PLAN,
        "user_data": SecretStr(USER_DATA),
        "tags": ("contract",),
    }
    return VmGroupSpec(**(values | overrides))


class SimWallClock:
    """The client's ``Clock``: the loop's (virtual) monotonic time, the simulator's wall time."""

    def __init__(self, sim_clock: SimClock) -> None:
        self._sim = sim_clock

    def monotonic(self) -> float:
        """The running loop's time."""
        return asyncio.get_running_loop().time()

    def now(self) -> dt.datetime:
        """The simulator's wall time (2026-01-01 plus the manual clock)."""
        return self._sim.wall()


@dataclass(frozen=True)
class Connected:
    """A client connected to the simulator, with the API and the provider of its mode."""

    config: VPSieClientConfig
    http: HttpClient
    api: VPSieApi
    provider: VkeProvider | VmProvider

    @property
    def vke(self) -> VkeProvider:
        assert isinstance(self.provider, VkeProvider)
        return self.provider

    @property
    def vm(self) -> VmProvider:
        assert isinstance(self.provider, VmProvider)
        return self.provider


class Contract:
    """One in-process simulator and the means to point real clients at it."""

    def __init__(self, sim: Sim, hook: RecordingHook) -> None:
        self.sim = sim
        self.hook = hook
        self.clock = SimWallClock(sim.simulation.clock)

    @property
    def url(self) -> str:
        """The API URL, with a legacy ``/apps/v2`` path the client must drop (§2)."""
        return str(self.sim.client.make_url("/apps/v2"))

    def config(self, mode: str = "vke", **overrides: Any) -> VPSieClientConfig:
        """A client configuration for the default simulated account."""
        values: dict[str, Any] = {
            "mode": mode,
            "api_url": self.url,
            "allow_http": True,
            "token": SecretStr(TOKEN),
            "poll_share_s": 0.0,  # the simulated clock moves, the client's does not
        }
        if mode == "vke":
            values["cluster_identifier"] = CLUSTER
        else:
            values |= {
                "account_password": SecretStr(PASSWORD),
                "dc_identifier": DC,
                "os_identifier": OS,
                "project_id": PROJECT,
                "hostname_prefix": "va",
            }
        if "client_id" in overrides:
            del values["token"]
        return VPSieClientConfig(**(values | overrides))

    def exchange_config(self, mode: str = "vke", **overrides: Any) -> VPSieClientConfig:
        """A configuration in client-credentials (C1) mode."""
        credentials = {"client_id": SecretStr(CLIENT_ID), "client_secret": SecretStr(CLIENT_SECRET)}
        return self.config(mode, **(credentials | overrides))

    @contextlib.asynccontextmanager
    async def connect(self, config: VPSieClientConfig | None = None) -> AsyncIterator[Connected]:
        """A client (and provider) for ``config``; closed at the end of the block."""
        config = config or self.config()
        http = build_client(config, clock=self.clock, rand=lambda: 0.5)
        async with http:
            provider = build_provider(config, http=http, clock=self.clock, rand=random.Random(7))
            yield Connected(config, http, VPSieApi(http, vm_prefix=config.vm_prefix), provider)

    async def advance(self, seconds: float) -> None:
        """Move the simulated world (not the client's clock) forward."""
        await self.sim.advance(seconds)

    async def state(self) -> Any:
        """``GET /__sim/state``."""
        return await self.sim.state()

    async def set_faults(self, *rules: dict[str, Any], knobs: dict[str, Any] | None = None) -> None:
        """``PUT /__sim/faults``: replace the rules, knobs merged onto the configured ones."""
        await self.sim.set_faults(*rules, knobs=knobs)

    async def calls(self, route_id: str | None = None) -> list[dict[str, Any]]:
        """The simulator's call log (bodies redacted), optionally of one route (``"K4"``)."""
        log = (await self.sim.get("/__sim/calls", auth=False)).json["calls"]
        return [c for c in log if route_id is None or c["route_id"] == route_id]

    async def statuses(self, route_id: str) -> list[int]:
        """The statuses the simulator answered on ``route_id``, in order (0: hung or dropped)."""
        return [c["status"] for c in await self.calls(route_id)]

    async def counted(self, method: str, template: str) -> int:
        """The simulator's counter of ``method template`` calls, summed over statuses."""
        rows = (await self.sim.get("/__sim/calls", auth=False)).json["counters"]
        return sum(r["count"] for r in rows if (r["method"], r["route"]) == (method, template))

    async def machines(self, **match: Any) -> list[dict[str, Any]]:
        """The machines of ``/__sim/state`` (deleted ones too) whose fields equal ``match``."""
        vms = (await self.state())["vms"]
        return [m for m in vms if all(m.get(k) == v for k, v in match.items())]

    def hooked(self, hostname: str) -> list[tuple[str, WorkerRecord]]:
        """The Node hook calls the simulator made for ``hostname``: ``(stage, record)``."""
        return [(stage, w) for stage, w in self.hook.events if w.hostname == hostname]

    async def workers_of(self, group_id: int) -> list[dict[str, Any]]:
        """The VKE workers of a group, as the simulator knows them (every state)."""
        return await self.machines(kind="worker", group_id=group_id)


@contextlib.asynccontextmanager
async def open_contract(config: SimulatorConfig | None = None) -> AsyncIterator[Contract]:
    """Serve a simulator (default: manual clock, seed 7) for the block."""
    hook = RecordingHook()
    async with running_simulator(config or manual_config(), hook=hook) as sim:
        yield Contract(sim, hook)
