"""Benchmark: scale-up decision latency on the real control plane (100 nodes, 3k pending pods).

The world: the test control plane (etcd, kube-apiserver, controller manager, scheduler,
kwok), 100 Ready kwok nodes labelled ``pool=static`` with 30 running pods each (bound
directly), the VPSie simulator with its Node bridge and a VKE group of 16-CPU workers, one
NodeGroup over it (``pool=burst``), and the daemon as a process. Then a burst of
``--pods`` pending pods that select ``pool=burst`` (so no existing node can take them)
is created as fast as the API server takes it, and the scheduler marks them Unschedulable.

Measured:

* **decision latency**, per pod, from the moment it became Unschedulable to the VPSie
  create call of the node planned for it: the daemon's own histogram
  ``vpsie_autoscaler_scale_up_decision_latency_seconds`` (p50/p99 interpolated within its
  buckets as Prometheus' ``histogram_quantile`` does), read once every pod is bound;
* the burst: how long creating the pods took, how many were ever marked Unschedulable
  (once new nodes are Ready the scheduler binds the rest directly), and when every pod was
  bound;
* the first and last add-worker (K4) calls the simulator saw, after the first pod create;
* decisions, planning time per decision, and nodes asked for vs the lower bound
  ``ceil(sum of requests / node allocatable)`` over every resource (pods included).

The daemon runs with the VPSie client's rate raised to 50/s (burst 100; ``--vpsie-rate`` and
``--vpsie-burst``; the default 2/s with burst 10 is a guess at VPSie's limits and spreads
the ~60 calls of 28 new workers over half a minute) and 8 reconcile workers; the batch
window is the default (idle 1 s, max 10 s, eager passes every 1 s).

    .venv/bin/python bench/decision_latency.py [--nodes 100] [--pods-per-node 30] [--pods 3000]

Writes bench/results/decision_latency.json and prints the same JSON object as its last line.
Needs the control plane build (``make testenv``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import datetime as dt
import json
import math
import os
import platform
import ssl
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autoscaler.core.resources.common import API_VERSION, GROUP, VERSION  # noqa: E402
from autoscaler.core.resources.schema import RESOURCES, crd_name  # noqa: E402
from tests.daemon import DaemonProcess  # noqa: E402
from tests.e2e.simproc import CLUSTER, TOKEN, SimulatorProcess  # noqa: E402
from tests.testenv.kubehttp import ApiError  # noqa: E402
from tests.testenv.pins import ensure_built, load_pins  # noqa: E402
from tests.testenv.plane import ControlPlane  # noqa: E402

RESULTS = REPO / "bench" / "results" / "decision_latency.json"
CRD_DIR = REPO / "charts" / "vpsie-autoscaler" / "crds"
NS = "bench"
GOAL_P99_S = 2.0
WORKER_CPU, WORKER_RAM_MB = 16, 32768  # the simulator's k8s-16c-32g offer (id 104)
RESERVED_CPU_M, RESERVED_MEM_MI, MAX_PODS = 100, 356, 110
LATENCY = "vpsie_autoscaler_scale_up_decision_latency_seconds"
PLANNING = "vpsie_autoscaler_scale_up_planning_duration_seconds"
DAEMON_SETTINGS = {
    "KUBE__NAMESPACE": NS,
    "KUBE__LEASE_DURATION_S": "6",
    "KUBE__RENEW_DEADLINE_S": "4",
    "KUBE__RETRY_PERIOD_S": "1",
    "VPSIE__MODE": "vke",
    "VPSIE__ALLOW_HTTP": "true",
    "VPSIE__TOKEN": TOKEN,
    "VPSIE__CLUSTER_IDENTIFIER": CLUSTER,
    "VPSIE__RATE_PER_S": "50",
    "VPSIE__BURST": "100",
    "VPSIE__MAX_IN_FLIGHT": "16",
    "QUEUE__WORKERS": "8",
    "LIFECYCLE__POLL_INTERVAL_S": "2",
    "LOGGING__LEVEL": "INFO",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def world() -> dict[str, Any]:
    """The default account plus one VKE group of 16-CPU workers with room to grow."""
    return {
        "seed": 7,
        "run_id": "bench",
        "clock": {"mode": "real", "tick_interval": 0.5},
        "clusters": [
            {
                "id": 7,
                "identifier": CLUSTER,
                "cluster_name": "bench",
                "dc": "d1000000-0000-4000-8000-000000000001",
                "project_id": 880,
                "master_offer_id": 101,
                "max_workers": 1000,
                "groups": [
                    {
                        "id": 21,
                        "identifier": "e1000000-0000-4000-8000-000000000021",
                        "group_name": "burst",
                        "offer_id": 104,
                        "max_workers": 1000,
                    }
                ],
            }
        ],
        "knobs": {
            "provision": {
                "list_delay": {"seconds": 5.0, "jitter": 1.0},
                "boot_delay": {"seconds": 5.0, "jitter": 1.0},
                "join_delay": {"seconds": 5.0, "jitter": 1.0},
                "ready_delay": {"seconds": 2.0, "jitter": 1.0},
            }
        },
    }


def install_crds(plane: ControlPlane) -> None:
    api = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    for cls in RESOURCES:
        plane.admin.post(api, yaml.safe_load((CRD_DIR / f"{crd_name(cls)}.yaml").read_text()))
    plane.admin.wait_for(
        f"/apis/{GROUP}/{VERSION}",
        lambda doc: len(doc.get("resources", [])) >= 2 * len(RESOURCES),
        timeout=60,
        what="CRDs served",
    )


def pod_body(name: str, *, cpu_m: int, memory_mi: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name.rsplit("-", 1)[0]}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "resources": {"requests": {"cpu": f"{cpu_m}m", "memory": f"{memory_mi}Mi"}},
                }
            ],
            "terminationGracePeriodSeconds": 0,
            **spec,
        },
    }


def create_pods(
    plane: ControlPlane, bodies: list[dict[str, Any]], *, connections: int = 32
) -> float:
    """POST the pods over ``connections`` kept-alive connections; return the seconds taken."""

    async def main() -> float:
        ssl_ctx = ssl.create_default_context(cafile=str(plane.ca_path))
        headers = {"Authorization": f"Bearer {plane.tokens['admin']}"}
        url = f"{plane.server}/api/v1/namespaces/{NS}/pods"
        queue = list(reversed(bodies))
        connector = aiohttp.TCPConnector(ssl=ssl_ctx, limit=connections)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def worker() -> None:
                while queue:
                    body = queue.pop()
                    async with session.post(url, json=body) as resp:
                        if resp.status != 201:
                            raise ApiError("POST", url, resp.status, await resp.json())

            started = time.monotonic()
            async with asyncio.TaskGroup() as tg:
                for _ in range(connections):
                    tg.create_task(worker())
            return time.monotonic() - started

    return asyncio.run(main())


def in_parallel(count: int, make: Callable[[int], None], *, threads: int = 24) -> float:
    """Run ``make(i)`` for every i on a thread pool; return the seconds it took."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(make, i) for i in range(count)]:
            future.result()
    return time.monotonic() - started


def scrape(port: int) -> dict[str, float]:
    """Every sample of the daemon's /metrics (name{labels} -> value)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def buckets(samples: dict[str, float], name: str) -> list[tuple[float, float]]:
    found = []
    for key, value in samples.items():
        if key.startswith(f"{name}_bucket{{"):
            le = key.split('le="', 1)[1].split('"', 1)[0]
            found.append((math.inf if le == "+Inf" else float(le), value))
    return sorted(found)


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float:
    """Prometheus' ``histogram_quantile``: linear interpolation within the bucket."""
    total = cumulative[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in cumulative:
        if count >= rank:
            if math.isinf(upper):
                return lower
            inside = count - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = upper, count
    return lower


def wait(what: str, probe: Callable[[], bool], *, timeout: float, poll: float = 0.5) -> float:
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(poll)
    return time.monotonic() - started


def stamp(raw: str) -> float:
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    pins = load_pins()
    plane = ControlPlane(ensure_built(pins), pins=pins)
    sim: SimulatorProcess | None = None
    daemon: DaemonProcess | None = None
    try:
        plane.start()
        api = plane.admin
        log(f"control plane up in {plane.startup_seconds:.1f}s")
        install_crds(plane)
        api.post("/api/v1/namespaces", {"metadata": {"name": NS}})
        wait(
            "default service account",
            lambda: bool(api.get(f"/api/v1/namespaces/{NS}/serviceaccounts")["items"]),
            timeout=60,
        )

        def static_node(i: int) -> None:
            plane.make_node(f"static-{i:03d}", labels={"pool": "static"}, cpu="32", memory="128Gi")

        took = in_parallel(args.nodes, static_node)
        log(f"{args.nodes} static nodes in {took:.1f}s")

        bound = args.nodes * args.pods_per_node
        took = create_pods(
            plane,
            [
                pod_body(
                    f"running-{i}",
                    cpu_m=100,
                    memory_mi=128,
                    nodeName=f"static-{i % args.nodes:03d}",
                )
                for i in range(bound)
            ],
        )
        log(f"{bound} bound pods in {took:.1f}s")

        sim = SimulatorProcess(
            workdir / "simulator",
            world=world(),
            kubeconfig=plane.admin_kubeconfig,
            node_labels={"pool": "burst"},
        ).start()
        group = {
            "apiVersion": API_VERSION,
            "kind": "NodeGroup",
            "metadata": {"name": "burst", "namespace": NS},
            "spec": {
                "minNodes": 0,
                "maxNodes": 500,
                "provider": {"clusterIdentifier": CLUSTER, "nodeGroupName": "burst"},
                "template": {"labels": {"pool": "burst"}},
            },
        }
        api.post(f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/nodegroups", group)
        settings = DAEMON_SETTINGS | {
            "VPSIE__RATE_PER_S": str(args.vpsie_rate),
            "VPSIE__BURST": str(args.vpsie_burst),
        }
        env = {f"VPSIE_AUTOSCALER_{k}": v for k, v in settings.items()}
        env["VPSIE_AUTOSCALER_VPSIE__URL"] = sim.url
        daemon = DaemonProcess(workdir, kubeconfig=plane.admin_kubeconfig, extra_env=env).start()
        daemon.wait_for(daemon.probes_port, "/readyz", 200, timeout=120)
        ng_path = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/nodegroups/burst"
        wait(
            "NodeGroup reconciled",
            lambda: api.get(ng_path).get("status", {}).get("observedGeneration") == 1,
            timeout=120,
        )
        log("daemon leading, NodeGroup reconciled; creating the burst")
        calls_before = len(sim.calls()["calls"])

        burst_started = time.time()

        extra: dict[str, Any] = {"nodeSelector": {"pool": "burst"}}
        if args.no_preemption:  # the scheduler skips its preemption search for these pods
            priority_class = {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": "bench-no-preemption"},
                "value": 0,
                "preemptionPolicy": "Never",
            }
            api.post("/apis/scheduling.k8s.io/v1/priorityclasses", priority_class)
            extra["priorityClassName"] = "bench-no-preemption"
        burst = [
            pod_body(f"burst-{i}", cpu_m=args.cpu_m, memory_mi=args.memory_mi, **extra)
            for i in range(args.pods)
        ]
        create_s = create_pods(plane, burst)
        log(f"{args.pods} pending pods created in {create_s:.1f}s")

        port = daemon.metrics_port
        pods_path = f"/api/v1/namespaces/{NS}/pods"

        def all_bound() -> bool:
            unbound = api.get(pods_path, labelSelector="app=burst", fieldSelector="spec.nodeName=")
            return not unbound["items"]

        try:
            waited = wait("every burst pod bound to a node", all_bound, timeout=args.timeout)
        except TimeoutError:
            seen = scrape(port).get(f"{LATENCY}_count", 0.0)
            members = api.get(f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/vpsienodes")["items"]
            phases = sorted(m.get("status", {}).get("phase", "-") for m in members)
            log(f"observed {seen:.0f} of {args.pods}; VPSieNodes {len(members)}: {phases}")
            log("daemon log tail:\n" + daemon.tail(40))
            raise
        log(f"every burst pod bound {waited:.1f}s after the burst was created")
        samples = scrape(daemon.metrics_port)
        cumulative = buckets(samples, LATENCY)
        calls = sim.calls()["calls"][calls_before:]
        adds = sorted(stamp(c["at"]) for c in calls if c.get("route_id") == "K4")
        vpsienodes = api.get(f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/vpsienodes")["items"]
        decisions = {
            v["metadata"].get("annotations", {}).get("autoscaler.vpsie.com/decision")
            for v in vpsienodes
        }
        alloc_cpu = WORKER_CPU * 1000 - RESERVED_CPU_M
        alloc_mem = WORKER_RAM_MB - RESERVED_MEM_MI
        lower = max(
            math.ceil(args.pods * args.cpu_m / alloc_cpu),
            math.ceil(args.pods * args.memory_mi / alloc_mem),
            math.ceil(args.pods / MAX_PODS),
        )
        planning_n = samples.get(f"{PLANNING}_count", 0.0)
        result = {
            "static_nodes": args.nodes,
            "bound_pods": bound,
            "pending_pods": args.pods,
            "pod_request": f"{args.cpu_m}m/{args.memory_mi}Mi",
            "pod_preemption_policy": "Never" if args.no_preemption else "PreemptLowerPriority",
            "burst_create_s": round(create_s, 2),
            "all_bound_after_burst_created_s": round(waited, 2),
            "pods_observed_unschedulable": int(samples.get(f"{LATENCY}_count", 0.0)),
            "latency_p50_s": round(quantile(0.5, cumulative), 3),
            "latency_p99_s": round(quantile(0.99, cumulative), 3),
            "latency_mean_s": round(
                samples.get(f"{LATENCY}_sum", 0.0) / max(1.0, samples.get(f"{LATENCY}_count", 1.0)),
                3,
            ),
            "first_add_call_after_burst_start_s": (
                round(adds[0] - burst_started, 2) if adds else None
            ),
            "last_add_call_after_burst_start_s": (
                round(adds[-1] - burst_started, 2) if adds else None
            ),
            "add_calls": len(adds),
            "vpsie_calls_by_route": dict(
                sorted(collections.Counter(str(c.get("route_id")) for c in calls).items())
            ),
            "vpsienodes": len(vpsienodes),
            "decisions_with_nodes": len(decisions - {None}),
            "planning_passes": int(planning_n),
            "planning_mean_s": round(samples.get(f"{PLANNING}_sum", 0.0) / max(1.0, planning_n), 4),
            "nodes_lower_bound": lower,
            "nodes_vs_lower_bound": round(len(vpsienodes) / lower, 3),
            "goal_p99_s": GOAL_P99_S,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "daemon_settings": settings | {"VPSIE__TOKEN": "(redacted)"},
        }
        result["meets_goal"] = result["latency_p99_s"] <= GOAL_P99_S
        return result
    finally:
        if daemon is not None:
            daemon.terminate_and_wait(timeout=30)
        if sim is not None:
            sim.stop()
        plane.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--cpu-m", type=int, default=100)
    parser.add_argument("--memory-mi", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--keep", help="keep the daemon and simulator logs in this directory")
    parser.add_argument(
        "--no-preemption",
        action="store_true",
        help="burst pods with preemptionPolicy Never: the scheduler marks them much faster",
    )
    parser.add_argument("--name", default="decision_latency", help="results file name")
    parser.add_argument("--vpsie-rate", type=float, default=50.0, help="VPSie client requests/s")
    parser.add_argument("--vpsie-burst", type=int, default=100, help="VPSie client burst")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            result = run(args, workdir)
        except (TimeoutError, ApiError) as err:
            print(f"decision_latency: {err}", file=sys.stderr)
            return 1
    results = RESULTS.with_name(f"{args.name}.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
