"""The simulator's Node bridge on the real control plane: workers become kwok Nodes (§8).

The simulator runs in-process on a manual clock. An advance returns only after the bridge
has delivered every hook call it caused, so a Node's creation, NotReady patch or deletion
is asserted right after the advance; only kwok's and KCM's reactions are waited for.
"""

from __future__ import annotations

import asyncio
import base64
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from autoscaler.simulator import SimulatorConfig
from autoscaler.simulator.bridge import KubernetesNodeHook, open_bridge
from autoscaler.simulator.bridge_nodes import GROUP_LABEL, KWOK_ANNOTATION, NodeOptions
from tests.simulator import K2, LARGE, Sim, k4, running_simulator, vm_body
from tests.testenv import ControlPlane, TestNamespace
from tests.testenv.kubehttp import JSON, condition
from tests.testenv.objects import UNREACHABLE_TAINT, is_node_ready

JOINED = 60  # list 20 + boot 20 + join 20 (simulator defaults): the worker registers
READY = 75  # + ready 15
DELETE_DELAY = 10
WAIT = 60.0  # deadline for kwok or KCM to react, generous for a loaded 2-core machine
CLOUD_INIT = """#cloud-config
write_files:
  - path: /etc/default/kubelet
    content: |
      KUBELET_EXTRA_ARGS="--node-labels=autoscaler.vpsie.com/nodegroup=web,foo=bar \\
        --register-with-taints=dedicated=web:NoSchedule"
"""
_UNITS = {"m": Decimal("0.001"), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30)}


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity as a number (the apiserver rewrites ``8192Mi`` as ``8Gi``)."""
    match = re.fullmatch(r"(\d+)(m|Ki|Mi|Gi)?", text)
    assert match, text
    return Decimal(match.group(1)) * _UNITS.get(match.group(2) or "", Decimal(1))


def quantities(resources: dict[str, str]) -> dict[str, Decimal]:
    return {name: quantity(value) for name, value in resources.items()}


def sim_config(ns: TestNamespace, **overrides: Any) -> SimulatorConfig:
    """The default world on a manual clock, with a seed and run id of this test's own."""
    base = {"seed": int(ns.test_hash, 16) % 10**6, "run_id": ns.name, "clock": {"mode": "manual"}}
    return SimulatorConfig.model_validate(base | overrides)


@pytest.fixture
async def bridge(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> AsyncIterator[KubernetesNodeHook]:
    options = NodeOptions(extra_labels=kube_ns.node_labels)
    async with open_bridge(testenv.admin_kubeconfig, options=options) as hook:
        yield hook


@pytest.fixture
async def sim(kube_ns: TestNamespace, bridge: KubernetesNodeHook) -> AsyncIterator[Sim]:
    async with running_simulator(sim_config(kube_ns), hook=bridge) as s:
        yield s


async def read_node(testenv: ControlPlane, name: str) -> JSON | None:
    """The Node, or None if there is none."""
    path = f"/api/v1/nodes/{name}"
    if not await asyncio.to_thread(testenv.admin.exists, path):
        return None
    return await asyncio.to_thread(testenv.admin.get, path)


async def wait_node(
    testenv: ControlPlane, name: str, predicate: Callable[[JSON], bool], *, what: str
) -> JSON:
    """Poll the Node until ``predicate`` holds (no watch needed for one object)."""
    return await asyncio.to_thread(
        testenv.admin.wait_for,
        f"/api/v1/nodes/{name}",
        predicate,
        timeout=WAIT,
        what=f"Node {name} {what}",
        check=testenv.check_alive,
    )


def not_ready(node: JSON) -> bool:
    return condition(node, "Ready") != "True"


def unreachable(node: JSON) -> bool:
    taints = node.get("spec", {}).get("taints") or []
    return any(t.get("key") == UNREACHABLE_TAINT for t in taints)


async def add_worker(sim: Sim, group: int = LARGE) -> dict[str, Any]:
    """K4, then wait (simulated) until it is listed; return its K2 ``nodes[]`` entry."""
    before = {n["identifier"] for n in await sim.nodes()}
    assert (await sim.post(k4(group))).data is True
    await sim.advance(20)
    (new,) = [n for n in await sim.nodes() if n["identifier"] not in before]
    return new  # type: ignore[no-any-return]


async def delete_worker(sim: Sim, identifier: str) -> None:
    """K5."""
    answer = await sim.delete(f"{K2}/delete/slave", json={"identifier": identifier})
    assert answer.data is True


def expect_no_hook_errors(sim: Sim) -> None:
    hooks = sim.simulation.hooks
    assert hooks.errors == 0, f"{hooks.errors} of {hooks.delivered} hook calls failed"


async def test_vke_worker_becomes_a_ready_node_sized_like_its_offer(
    testenv: ControlPlane, kube_ns: TestNamespace, sim: Sim
) -> None:
    worker = await add_worker(sim)
    name = worker["hostname"].lower()
    await sim.advance(JOINED - 20 - 1)
    assert await read_node(testenv, name) is None
    await sim.advance(1)

    node = await wait_node(testenv, name, is_node_ready, what="Ready")

    listed = next(n for n in await sim.nodes() if n["identifier"] == worker["identifier"])
    # KCM adds the beta.kubernetes.io/{os,arch} twins; every label of ours must be there.
    assert (
        node["metadata"]["labels"].items()
        >= {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "k8s-4c-8g",
            "topology.kubernetes.io/region": "New-York",
            "sim-run": kube_ns.name,
            **kube_ns.node_labels,
        }.items()
    )
    assert GROUP_LABEL not in node["metadata"]["labels"]
    assert node["spec"]["providerID"] == f"vpsie://{worker['identifier']}"
    assert quantities(node["status"]["capacity"]) == quantities(
        {"cpu": "4", "memory": "8192Mi", "ephemeral-storage": "160Gi", "pods": "110"}
    )
    assert quantities(node["status"]["allocatable"]) == quantities(
        {"cpu": "3900m", "memory": "7836Mi", "ephemeral-storage": "144Gi", "pods": "110"}
    )
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses == {
        "InternalIP": listed["private_ip"],
        "ExternalIP": listed["default_ip"],
        "Hostname": name,
    }
    expect_no_hook_errors(sim)


async def test_deleted_vke_worker_loses_its_node_after_the_delete_delay(
    testenv: ControlPlane, sim: Sim
) -> None:
    worker = await add_worker(sim)
    name = worker["hostname"].lower()
    await sim.advance(READY - 20)
    await wait_node(testenv, name, is_node_ready, what="Ready")

    await delete_worker(sim, worker["identifier"])
    await sim.advance(DELETE_DELAY - 1)
    assert await read_node(testenv, name) is not None
    await sim.advance(1)

    assert await read_node(testenv, name) is None
    expect_no_hook_errors(sim)


async def test_vm_user_data_labels_and_taints_reach_the_node(
    testenv: ControlPlane, kube_ns: TestNamespace, sim: Sim
) -> None:
    hostname = f"va-web-{kube_ns.test_hash[:8]}"
    user_data = base64.b64encode(CLOUD_INIT.encode()).decode()
    assert (await sim.post("/api/v2/vm", json=vm_body(hostname, userData=user_data))).data is True
    await sim.advance(JOINED)

    node = await wait_node(testenv, hostname, is_node_ready, what="Ready")

    labels = node["metadata"]["labels"]
    assert (labels[GROUP_LABEL], labels["foo"]) == ("web", "bar")
    assert labels["node.kubernetes.io/instance-type"] == "shared-2c-4g"
    assert {"key": "dedicated", "value": "web", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert not node["spec"].get("providerID")
    assert quantities(node["status"]["capacity"]) == quantities(
        {"cpu": "2", "memory": "4096Mi", "ephemeral-storage": "80Gi", "pods": "110"}
    )
    expect_no_hook_errors(sim)


async def test_deleted_vm_loses_its_node_only_with_the_right_password(
    testenv: ControlPlane, kube_ns: TestNamespace, sim: Sim
) -> None:
    hostname = f"va-web-{kube_ns.test_hash[:8]}"
    assert (await sim.post("/api/v2/vm", json=vm_body(hostname))).data is True
    await sim.advance(READY)
    (vm,) = [v for v in (await sim.vms()).values() if v["hostname"] == hostname]
    body = {"vmIdentifier": vm["identifier"], "deleteStatistic": {"reason": "scale down"}}

    wrong = await sim.delete("/api/v2/vm", json=body | {"password": "nope"})
    assert wrong.json["message"] == "You entered the wrong password"
    await sim.advance(DELETE_DELAY)
    assert await read_node(testenv, hostname) is not None

    assert (await sim.delete("/api/v2/vm", json=body | {"password": "sim-password"})).data is True
    await sim.advance(DELETE_DELAY)
    assert await read_node(testenv, hostname) is None
    expect_no_hook_errors(sim)


@pytest.mark.parametrize("mode", ["no_node", "not_ready"])
async def test_worker_that_never_joins(testenv: ControlPlane, sim: Sim, mode: str) -> None:
    await sim.set_faults(knobs={"join": {"never_join_rate": 1.0, "never_join_mode": mode}})
    stray = await add_worker(sim)
    await sim.call("DELETE", "/__sim/faults", auth=False)
    control = await add_worker(sim)
    await sim.advance(READY)

    # Once kwok has made the healthy worker's Node Ready, it had every chance with the other.
    await wait_node(testenv, control["hostname"].lower(), is_node_ready, what="Ready")
    node = await read_node(testenv, stray["hostname"].lower())
    if mode == "no_node":
        assert node is None
    else:
        assert node is not None
        assert KWOK_ANNOTATION not in (node["metadata"].get("annotations") or {})
        assert condition(node, "Ready") == "False"
        assert node["status"]["capacity"]["cpu"] == "4"
    expect_no_hook_errors(sim)


async def test_killed_worker_goes_not_ready_then_its_node_is_removed(
    testenv: ControlPlane, sim: Sim
) -> None:
    worker = await add_worker(sim)
    name = worker["hostname"].lower()
    await sim.advance(READY - 20)
    await wait_node(testenv, name, is_node_ready, what="Ready")

    killed = await sim.post(f"/__sim/vms/{worker['identifier']}/kill", auth=False)
    assert killed.status == 200, killed.raw
    node = await read_node(testenv, name)
    assert node is not None
    assert condition(node, "Ready") == "Unknown"
    assert KWOK_ANNOTATION not in (node["metadata"].get("annotations") or {})
    # KCM's node lifecycle reacts as to a silent kubelet, and kwok does not revive the Node.
    node = await wait_node(testenv, name, unreachable, what="tainted unreachable")
    assert not_ready(node)

    await sim.advance(DELETE_DELAY)
    assert await read_node(testenv, name) is None
    expect_no_hook_errors(sim)


async def test_leave_node_behind_keeps_the_node_of_a_deleted_worker(
    testenv: ControlPlane, kube_ns: TestNamespace, bridge: KubernetesNodeHook
) -> None:
    config = sim_config(kube_ns, knobs={"bridge": {"leave_node_behind": True}})
    async with running_simulator(config, hook=bridge) as sim:
        worker = await add_worker(sim)
        name = worker["hostname"].lower()
        await sim.advance(READY - 20)
        await wait_node(testenv, name, is_node_ready, what="Ready")

        await delete_worker(sim, worker["identifier"])
        await sim.advance(DELETE_DELAY)

        assert worker["identifier"] not in {n["identifier"] for n in await sim.nodes()}
        assert await read_node(testenv, name) is not None
        expect_no_hook_errors(sim)


async def test_a_leftover_node_of_the_same_name_is_replaced(
    testenv: ControlPlane, kube_ns: TestNamespace, sim: Sim
) -> None:
    worker = await add_worker(sim)
    name = worker["hostname"].lower()
    stale = {"key": "stale", "value": "yes", "effect": "NoSchedule"}
    await asyncio.to_thread(
        kube_ns.make_node, name, cpu="1", memory="1Gi", taints=[stale], managed=False
    )

    await sim.advance(JOINED - 20)

    node = await wait_node(testenv, name, is_node_ready, what="Ready")
    assert node["metadata"]["labels"]["sim-run"] == kube_ns.name
    assert node["spec"]["providerID"] == f"vpsie://{worker['identifier']}"
    assert stale not in (node["spec"].get("taints") or [])
    assert quantity(node["status"]["capacity"]["cpu"]) == 4
    expect_no_hook_errors(sim)


async def test_a_node_deleted_by_someone_else_is_not_an_error(
    testenv: ControlPlane, sim: Sim
) -> None:
    worker = await add_worker(sim)
    name = worker["hostname"].lower()
    await sim.advance(READY - 20)
    assert await read_node(testenv, name) is not None
    await asyncio.to_thread(testenv.admin.delete, f"/api/v1/nodes/{name}")

    delivered = sim.simulation.hooks.delivered
    await delete_worker(sim, worker["identifier"])
    await sim.advance(DELETE_DELAY)

    assert sim.simulation.hooks.delivered == delivered + 1  # on_deleted, which found no Node
    expect_no_hook_errors(sim)


def _simulator_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "autoscaler", "simulator", "--host", "127.0.0.1", *args]


def test_simulator_command_with_kubeconfig_registers_the_initial_worker(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    labels = [arg for k, v in kube_ns.node_labels.items() for arg in ("--node-label", f"{k}={v}")]
    seed = str(int(kube_ns.test_hash, 16) % 10**6)
    kubeconfig = str(testenv.admin_kubeconfig)
    proc = subprocess.Popen(  # port 0: no race for a free port with other processes
        _simulator_command(
            "--port", "0", "--clock", "manual", "--seed", seed, "--kubeconfig", kubeconfig, *labels
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + WAIT
        nodes: list[JSON] = []
        while not nodes:  # the default world has one worker in group "small" from t=0
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"the simulator exited with {proc.returncode}: {stderr}")
            assert time.monotonic() < deadline, "no Node appeared for the initial worker"
            time.sleep(0.2)
            found = testenv.admin.get("/api/v1/nodes", labelSelector=kube_ns.node_selector)
            nodes = found["items"]
        (node,) = nodes
        assert node["metadata"]["name"].startswith("demo-small-")
        assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "k8s-2c-4g"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_simulator_command_with_an_unreadable_kubeconfig_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.kubeconfig"
    done = subprocess.run(
        _simulator_command("--port", "0", "--kubeconfig", str(missing)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "missing.kubeconfig" in done.stderr
