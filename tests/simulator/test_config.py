"""Configuration files and defaults, the simulated clock, and serving over TCP."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from pathlib import Path

import aiohttp
import pydantic
import pytest

from autoscaler.simulator import SimClock, SimulatorConfig, load_config, serve
from autoscaler.simulator.clock import ClockNotManual
from autoscaler.simulator.knobs import Delay, Knobs, merge_knobs
from autoscaler.simulator.serving import add_simulator_arguments, configure, simulator_options
from tests.simulator import RecordingHook, manual_config, running_simulator, vm_body

WORLD_YAML = """
seed: 11
clock: {mode: manual}
offers:
  - {id: 1, name: tiny, cpu: 1, ram: 1024, disk: 20, price: 5}
  - {id: 2, name: big, cpu: 8, ram: 16384, disk: 200, price: 80}
clusters:
  - id: 1
    identifier: c-1
    cluster_name: lab
    dc: d1000000-0000-4000-8000-000000000001
    project_id: 880
    groups:
      - {id: 5, identifier: g-5, group_name: web, offer_id: 1, initial_nodes: 2}
      - {id: 6, identifier: g-6, group_name: db, offer_id: 2}
knobs:
  account_password: s3cret
  provision: {list_delay: 5, boot_delay: {seconds: 5, jitter: 2}}
faults:
  - {route: K4, calls: [3], error_5xx_rate: 1}
"""


def test_the_default_world_is_small_and_valid() -> None:
    config = SimulatorConfig()
    assert len(config.datacenters) == 2
    assert [c.name for c in config.categories] == ["Shared CPU"]
    assert len(config.plans) == 4
    assert len(config.offers) == 4
    (cluster,) = config.clusters
    assert len({g.offer_id for g in cluster.groups}) == len(cluster.groups) == 2
    assert config.clock.mode == "real"
    assert config.sim_run(3) == "seed-3"


def test_load_config_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(WORLD_YAML)
    config = load_config(path)
    assert (config.seed, config.clock.mode) == (11, "manual")
    assert config.clusters[0].groups[0].initial_nodes == 2
    assert config.knobs.account_password == "s3cret"
    assert config.knobs.provision.list_delay == Delay(seconds=5)
    assert config.knobs.provision.boot_delay == Delay(seconds=5, jitter=2)
    assert config.faults[0].calls == [3]


def test_load_config_reads_json_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps({"seed": 4, "knobs": {"shape": {"hostname_case": "upper"}}}))
    assert load_config(path).knobs.shape.hostname_case == "upper"
    assert load_config(None) == SimulatorConfig()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            {"offer_id": 101},
            "two groups have the same size",
            id="duplicate-size",
        ),
        pytest.param({"offer_id": 999}, "unknown offer 999", id="unknown-offer"),
    ],
)
def test_inconsistent_worlds_are_refused(change: dict[str, int], problem: str) -> None:
    data = SimulatorConfig().model_dump()
    data["clusters"][0]["groups"][1].update(change)
    with pytest.raises(pydantic.ValidationError, match=problem):
        SimulatorConfig.model_validate(data)


def test_a_fault_rule_with_an_invalid_knob_override_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"faults\[0\]\.knobs"):
        SimulatorConfig.model_validate({"faults": [{"knobs": {"join": {"never_join_rate": 3}}}]})


def test_knob_overrides_merge_deeply() -> None:
    merged = merge_knobs(
        Knobs(), [{"provision": {"list_delay": 1}}, {"shape": {"mirror_workers": False}}]
    )
    assert merged.provision.list_delay.seconds == 1
    assert merged.provision.boot_delay.seconds == 20
    assert merged.shape.mirror_workers is False
    assert merge_knobs(Knobs(), [{}]) == Knobs()


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = SimClock("manual")
    assert clock.now() == 0
    clock.advance(90.5)
    assert clock.stamp(clock.now()) == "2026-01-01T00:01:30.500Z"
    clock.restart()
    assert clock.now() == 0
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)


def test_scaled_clock_runs_factor_times_faster() -> None:
    ticks = iter([100.0, 103.0])
    start = dt.datetime(2030, 5, 1, tzinfo=dt.UTC)
    clock = SimClock("scaled", factor=20, start=start, monotonic=lambda: next(ticks))
    assert clock.now() == 60.0
    assert clock.stamp(60.0) == "2030-05-01T00:01:00Z"
    with pytest.raises(ClockNotManual):
        clock.advance(1)


def test_real_clock_follows_the_monotonic_clock() -> None:
    ticks = iter([5.0, 7.5])
    clock = SimClock("real", monotonic=lambda: next(ticks))
    assert clock.now() == 2.5
    assert clock.start.tzinfo is dt.UTC


@pytest.mark.looptime
async def test_network_sleeps_are_never_scaled() -> None:
    clock = SimClock("scaled", factor=10)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await clock.sleep(50)
    assert loop.time() - start == pytest.approx(50)


def test_command_line_overrides() -> None:
    parser = argparse.ArgumentParser()
    add_simulator_arguments(parser)
    args = parser.parse_args(
        ["--port", "0", "--seed", "9", "--clock", "scaled", "--clock-factor", "20"]
    )
    options = simulator_options(args)
    assert options == {
        "host": "127.0.0.1",
        "port": 0,
        "config": None,
        "seed": 9,
        "clock": "scaled",
        "clock_factor": 20.0,
    }
    config = configure(SimulatorConfig(), seed=9, clock="scaled", clock_factor=20)
    assert (config.seed, config.clock.mode, config.clock.factor) == (9, "scaled", 20)


async def test_serve_listens_until_cancelled() -> None:
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    config = SimulatorConfig.model_validate({"clock": {"mode": "manual"}})
    async with asyncio.TaskGroup() as tg:
        server = tg.create_task(serve(config, host="127.0.0.1", port=0, bound=bound))
        port = await bound
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/__sim/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{port}/apps/v2/projects") as resp:
                assert resp.status == 401
        server.cancel()


@pytest.mark.looptime
async def test_a_real_clock_moves_workers_without_any_calls() -> None:
    loop = asyncio.get_running_loop()
    hook = RecordingHook()
    clock = SimClock("real", monotonic=loop.time)
    config = manual_config(clock={"mode": "real", "tick_interval": 1})
    async with running_simulator(config, clock=clock, hook=hook) as sim:
        await sim.post("/api/v2/vm", json=vm_body("va-bg"))
        await asyncio.sleep(80)
        assert hook.stages("va-bg") == ["registered", "ready"]
