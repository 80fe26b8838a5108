"""Helpers of the simulator tests: an in-process simulator, a JSON client, a recording hook.

Each test module makes its own fixture with ``running_simulator``; the catalogue constants
below are those of the default configuration (``autoscaler/simulator/catalogue.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestClient, TestServer

from autoscaler.simulator import SimClock, SimulatorConfig, WorkerRecord, create_app
from autoscaler.simulator.hooks import NodeHook
from autoscaler.simulator.pipeline import SIM_KEY
from autoscaler.simulator.simulation import Simulation

TOKEN = "sim-token"
AUTH = {"Vpsie-Auth": TOKEN}
CLUSTER = "c1000000-0000-4000-8000-000000000007"
SMALL, LARGE = 11, 12  # node groups of offers 101 (2 CPU) and 102 (4 CPU)
DC = "d1000000-0000-4000-8000-000000000001"
PLAN = "a1000000-0000-4000-8000-000000000031"  # 2 CPU, 4096 MB, 80 GB, boxsize_id 31
OS = "05000000-0000-4000-8000-000000002204"
PROJECT = 880
CATEGORY = "ca000000-0000-4000-8000-000000000001"
K2 = f"/apps/v2/k8s/cluster/byId/{CLUSTER}"
K3 = f"/apps/v2/k8s/node/groups/byClusterId/{CLUSTER}"


def k4(group: int = SMALL) -> str:
    """The K4 path for a group of the default cluster."""
    return f"{K2}/add/slave/group/{group}"


def manual_config(**overrides: Any) -> SimulatorConfig:
    """The default world on a manual clock, seed 7, with ``overrides`` on top."""
    return SimulatorConfig.model_validate({"seed": 7, "clock": {"mode": "manual"}} | overrides)


def vm_body(hostname: str = "va-web-k3m9q2", **extra: Any) -> dict[str, Any]:
    """A V4 body as the project's client sends it."""
    body = {
        "resourceIdentifier": PLAN,
        "osIdentifier": OS,
        "dcIdentifier": DC,
        "hostname": hostname,
        "projectId": str(PROJECT),
        "addPublicIpV4": "1",
        "addPrivateIp": "1",
        "addPublicIpV6": "0",
        "backupEnabled": "0",
        "tags": ["vpsie-autoscaler", "ng-web"],
        "userData": "I2Nsb3VkLWNvbmZpZwo=",
    }
    return body | extra


@dataclass(frozen=True)
class Answer:
    """A response: status, headers and raw body."""

    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.raw)

    @property
    def data(self) -> Any:
        body = self.json
        assert body["error"] is False, body
        return body["data"]


class Sim:
    """A client of one in-process simulator."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client

    @property
    def simulation(self) -> Simulation:
        return self.client.app[SIM_KEY]

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        client_timeout: float | None = None,
    ) -> Answer:
        all_headers = (dict(AUTH) if auth else {}) | dict(headers or {})
        kwargs: dict[str, Any] = {"headers": all_headers}
        if json is not None:
            kwargs["data"] = orjson.dumps(json)
            all_headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            kwargs["data"] = data
        if client_timeout is not None:
            kwargs["timeout"] = ClientTimeout(total=client_timeout)
        async with self.client.request(method, path, **kwargs) as resp:
            return Answer(resp.status, dict(resp.headers), await resp.read())

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("DELETE", path, **kwargs)

    async def advance(self, seconds: float) -> None:
        answer = await self.post("/__sim/clock/advance", json={"seconds": seconds}, auth=False)
        assert answer.status == 200, answer.raw

    async def state(self) -> Any:
        return (await self.get("/__sim/state", auth=False)).json

    async def set_faults(self, *rules: dict[str, Any], knobs: dict[str, Any] | None = None) -> None:
        body = {"rules": list(rules), "knobs": knobs or {}}
        answer = await self.call("PUT", "/__sim/faults", json=body, auth=False)
        assert answer.status == 200, answer.raw

    async def groups(self) -> dict[int, Any]:
        return {g["id"]: g for g in (await self.get(K3)).data}

    async def nodes(self) -> list[Any]:
        return (await self.get(K2)).data["nodes"]  # type: ignore[no-any-return]

    async def vms(self) -> dict[str, Any]:
        return {v["hostname"]: v for v in (await self.get("/api/v2/vm")).data}

    async def pending(self) -> dict[str, Any]:
        return {p["data"]["hostname"]: p for p in (await self.get("/apps/v2/vm/pending")).data}


@contextlib.asynccontextmanager
async def running_simulator(
    config: SimulatorConfig | None = None,
    *,
    hook: NodeHook | None = None,
    clock: SimClock | None = None,
) -> AsyncIterator[Sim]:
    """Serve a simulator in-process for the duration of the block."""
    app = create_app(config or manual_config(), clock=clock, node_hook=hook)
    async with TestClient(TestServer(app)) as client:
        yield Sim(client)


class RecordingHook:
    """A ``NodeHook`` that records ``(stage, worker)`` in call order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, WorkerRecord]] = []

    def stages(self, hostname: str) -> list[str]:
        return [stage for stage, w in self.events if w.hostname == hostname]

    async def on_registered(self, worker: WorkerRecord) -> None:
        self.events.append(("registered", worker))

    async def on_ready(self, worker: WorkerRecord) -> None:
        self.events.append(("ready", worker))

    async def on_lost(self, worker: WorkerRecord) -> None:
        self.events.append(("lost", worker))

    async def on_deleted(self, worker: WorkerRecord) -> None:
        self.events.append(("deleted", worker))
