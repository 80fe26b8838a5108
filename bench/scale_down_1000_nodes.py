"""Benchmark ``scale_down_1000_nodes`` (PERF-1): scale-down planning over 1000 nodes x 30 pods.

A deterministic generator (``--seed``) builds six node groups over two datacenters (web and
batch in ``ams`` and ``fra``, ``ml-ams`` tainted ``dedicated=ml``, ``ssd-fra`` labelled
``disk=ssd``), 1000 nodes of 8 cores / 32 GiB, and on each node two DaemonSet pods (one with
host port 9100) plus 28 workload pods from 200 Deployments with mixed requests; workloads on
the batch, ssd and ml nodes select them (and tolerate the taint), and one Deployment has
hostname anti-affinity. 70% of the nodes are 55-85% requested, 28% are 8-40% (underutilized
and eligible) and 2% hold only their DaemonSet pods. 60 PDBs cover 60 Deployments; two of
them allow no disruption, the others 10 to 100.

Two cases, both ``plan_scale_down`` alone on the records the informer caches hold:

- ``default_budgets``: ``ScaleDownPolicy()`` (10 empty deletions, 1 drain);
- ``wide_budgets``: budgets of 1000, so every candidate is simulated.

``cpu_seconds`` is the CPU time of the planning thread (one core; best of ``--repeat``), so
other load on a shared machine does not skew it. Memory (tracemalloc, a separate run): the
input records, the plan's own allocations, and the peak while planning.

Two more measurements on the same cluster:

- ``index_pods``: the planner's pod-by-node input (``index_pods``) built from the values of
  an informer ``Store`` holding every pod, and, for comparison, the same mapping read from
  the store's ``pods_by_node`` index (the planner does not use that index today); CPU
  seconds, best of ``--repeat``.
- ``usage_tracker``: tracemalloc bytes held by a ``UsageTracker`` (default ring capacity)
  for every node, fed one sample per node per pass through ``record_all``: once the rings
  are full (``capacity`` passes), at twice that, and at ten times that; then with the
  records ``snapshot()`` caches. Node-name strings are made before the baseline and not
  counted. A CPython deque allocates 64-slot blocks starting mid-block, so a ring takes a
  second block at its 33rd sample: memory steps up once after the rings are full and then
  stays flat, which ``bounded`` checks (no growth from 2x to 10x, samples held constant).

    .venv/bin/python bench/scale_down_1000_nodes.py [--nodes N] [--seed S] [--repeat R]

Writes bench/results/scale_down_1000_nodes.json and prints the same JSON object as its last line.
"""

from __future__ import annotations

import argparse
import array
import datetime as dt
import gc
import json
import os
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from autoscaler.controllers.usage_tracker import DEFAULT_CAPACITY, UsageSample, UsageTracker
from autoscaler.core.node_eligibility import GroupState
from autoscaler.core.predicates import HOSTNAME_LABEL
from autoscaler.core.records import (
    NODE_GROUP_LABEL,
    Affinity,
    HostPort,
    LabelSelector,
    NodeRecord,
    PdbRecord,
    PodAffinityTerm,
    PodRecord,
    Resources,
    Taint,
    Toleration,
)
from autoscaler.core.scale_down import plan_scale_down
from autoscaler.core.scale_down_candidates import index_pods
from autoscaler.core.scale_down_order import DATACENTER_LABEL
from autoscaler.core.scale_down_plan import ScaleDownPlan, ScaleDownPolicy
from autoscaler.core.utilization import TERMINAL_PHASES
from autoscaler.kube.store import Store, pods_by_node

GOAL_CPU_SECONDS = 1.0
RESULTS = Path(__file__).resolve().parent / "results" / "scale_down_1000_nodes.json"
GI = 1024**3
MI = 1024**2
NOW = dt.datetime(2026, 8, 1, 12, tzinfo=dt.UTC)
ALLOCATABLE = Resources(cpu_m=7900, memory=32 * GI - 356 * MI, pods=110)
GROUPS: tuple[tuple[str, str, float, dict[str, str], Taint | None], ...] = (
    # name, datacenter, share of the nodes, labels, taint
    ("web-ams", "ams", 0.30, {}, None),
    ("web-fra", "fra", 0.30, {}, None),
    ("batch-ams", "ams", 0.15, {"tier": "batch"}, None),
    ("batch-fra", "fra", 0.15, {"tier": "batch"}, None),
    ("ml-ams", "ams", 0.05, {"dedicated": "ml"}, Taint("dedicated", "ml", "NoSchedule")),
    ("ssd-fra", "fra", 0.05, {"disk": "ssd"}, None),
)
DEPLOYMENTS = 200
PDBS = 60
WORKLOAD_PODS = 28
EVERYTHING = (Toleration(key="", operator="Exists", value="", effect=""),)
ML = (Toleration(key="dedicated", operator="Equal", value="ml", effect="NoSchedule"),)


def pod(
    name: str,
    *,
    node_name: str,
    cpu_m: int,
    memory: int,
    owner: tuple[str, str],
    namespace: str = "default",
    **kw: Any,
) -> PodRecord:
    return PodRecord(
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        resource_version="1",
        node_name=node_name,
        phase="Running",
        requests=Resources(cpu_m=cpu_m, memory=memory, pods=1),
        owner_kind=owner[0],
        owner_name=owner[1],
        priority=0,
        tolerations=kw.get("tolerations", ()),
        node_selector=tuple(sorted(kw.get("node_selector", {}).items())),
        affinity=kw.get("affinity"),
        labels=(("app", owner[1]),),
        annotations=(),
        pvc_claims=(),
        local_volumes=(),
        unschedulable=False,
        deletion_timestamp=None,
        termination_grace_seconds=30,
        host_ports=kw.get("host_ports", ()),
    )


def node(name: str, group: str, dc: str, labels: dict[str, str], taint: Taint | None) -> NodeRecord:
    all_labels = {HOSTNAME_LABEL: name, NODE_GROUP_LABEL: group, DATACENTER_LABEL: dc, **labels}
    return NodeRecord(
        name=name,
        uid=f"uid-{name}",
        resource_version="1",
        labels=tuple(sorted(all_labels.items())),
        taints=(taint,) if taint else (),
        allocatable=ALLOCATABLE,
        capacity=ALLOCATABLE,
        unschedulable=False,
        ready=True,
        created=NOW - dt.timedelta(days=2),
        provider_id=f"vpsie://{name}",
        annotations=(),
    )


def anti_affinity(app: str) -> Affinity:
    selector = LabelSelector(match_labels=(("app", app),))
    return Affinity(pod_anti_affinity=(PodAffinityTerm(HOSTNAME_LABEL, selector),))


def workload(rng: random.Random, n: NodeRecord, index: int, target: float) -> list[PodRecord]:
    """``WORKLOAD_PODS`` pods requesting about ``target`` of the node, suited to its group."""
    labels = dict(n.labels)
    out = []
    for i in range(WORKLOAD_PODS):
        deploy = rng.randrange(DEPLOYMENTS)
        share = target / WORKLOAD_PODS * rng.uniform(0.5, 1.5)
        kw: dict[str, Any] = {}
        if "dedicated" in labels:
            kw = {"tolerations": ML, "node_selector": {"dedicated": "ml"}}
        elif "tier" in labels and rng.random() < 0.5:
            kw = {"node_selector": {"tier": "batch"}}
        elif "disk" in labels and rng.random() < 0.5:
            kw = {"node_selector": {"disk": "ssd"}}
        if deploy == 0 and i == 0:
            kw["affinity"] = anti_affinity("deploy-0")
        out.append(
            pod(
                f"w-{index:04d}-{i:02d}",
                node_name=n.name,
                cpu_m=max(10, int(ALLOCATABLE.cpu_m * share)),
                memory=max(16 * MI, int(ALLOCATABLE.memory * share * rng.uniform(0.6, 1.2))),
                owner=("ReplicaSet", f"deploy-{deploy}"),
                **kw,
            )
        )
    return out


def cluster(count: int, seed: int) -> dict[str, Any]:
    """The planner's inputs: nodes, pods, groups, PDBs, the previous unneeded map."""
    rng = random.Random(seed)
    nodes: list[NodeRecord] = []
    sizes: dict[str, int] = {}
    for name, dc, share, labels, taint in GROUPS:
        sizes[name] = round(count * share)
        nodes += [node(f"{name}-{i:04d}", name, dc, labels, taint) for i in range(sizes[name])]
    pods: list[PodRecord] = []
    for index, n in enumerate(nodes):
        pods.append(
            pod(f"proxy-{index:04d}", node_name=n.name, cpu_m=100, memory=128 * MI,
                owner=("DaemonSet", "kube-proxy"), namespace="kube-system",
                tolerations=EVERYTHING)
        )  # fmt: skip
        pods.append(
            pod(f"exporter-{index:04d}", node_name=n.name, cpu_m=50, memory=64 * MI,
                owner=("DaemonSet", "node-exporter"), namespace="kube-system",
                tolerations=EVERYTHING, host_ports=(HostPort(9100),))
        )  # fmt: skip
        roll = rng.random()
        if roll < 0.02:
            continue
        target = rng.uniform(0.08, 0.40) if roll < 0.30 else rng.uniform(0.55, 0.85)
        pods += workload(rng, n, index, target)
    pdbs = [
        PdbRecord(
            namespace="default",
            name=f"deploy-{d}",
            uid=f"uid-pdb-{d}",
            resource_version="1",
            selector=LabelSelector(match_labels=(("app", f"deploy-{d}"),)),
            min_available=None,
            max_unavailable=5,
            disruptions_allowed=0 if i < 2 else rng.choice([10, 25, 50, 100]),
            current_healthy=150,
            desired_healthy=145,
            expected_pods=150,
            generation=1,
            observed_generation=1,
        )
        for i, d in enumerate(range(1, 3 * PDBS, 3))
    ]
    groups = {g: GroupState(name=g, min_nodes=2, current_nodes=k) for g, k in sizes.items()}
    since = {n.name: NOW - dt.timedelta(minutes=20) for n in nodes}
    return {"nodes": nodes, "pods": pods, "groups": groups, "pdbs": pdbs, "unneeded": since}


def plan(inputs: dict[str, Any], policy: ScaleDownPolicy) -> ScaleDownPlan:
    return plan_scale_down(
        nodes=inputs["nodes"],
        pods=inputs["pods"],
        groups=inputs["groups"],
        pdbs=inputs["pdbs"],
        volumes={},
        unneeded_since=inputs["unneeded"],
        in_progress=frozenset(),
        drains_in_progress=0,
        now=NOW,
        policy=policy,
    )


def summary(result: ScaleDownPlan) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    for k in result.kept:
        reasons[k.reason.value] = reasons.get(k.reason.value, 0) + 1
    removed_by_group: dict[str, int] = {}
    for r in result.removals:
        removed_by_group[r.group] = removed_by_group.get(r.group, 0) + 1
    return {
        "empty": len(result.empty),
        "drain": len(result.drain),
        "pods_moved": sum(len(r.pods) for r in result.drain),
        "removed_by_group": dict(sorted(removed_by_group.items())),
        "kept_by_reason": dict(sorted(reasons.items())),
    }


def run_case(name: str, inputs: dict[str, Any], policy: ScaleDownPolicy, repeat: int) -> Any:
    times = []
    result = None
    for _ in range(repeat):
        start = time.process_time()
        result = plan(inputs, policy)
        times.append(time.process_time() - start)
    assert result is not None
    best = min(times)
    return {
        "case": name,
        "policy": {
            "max_empty_bulk_delete": policy.max_empty_bulk_delete,
            "max_drain_parallelism": policy.max_drain_parallelism,
        },
        "cpu_seconds": round(best, 4),
        "cpu_seconds_all": [round(t, 4) for t in times],
        **summary(result),
        "meets_goal": best <= GOAL_CPU_SECONDS,
    }


def memory(count: int, seed: int, policy: ScaleDownPolicy) -> dict[str, Any]:
    """tracemalloc figures, in MiB: inputs, plan output, peak while planning."""
    tracemalloc.start()
    inputs = cluster(count, seed)
    after_inputs, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    result = plan(inputs, policy)
    after_plan, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.removals is not None

    def mib(n: int) -> float:
        return round(n / MI, 2)

    return {
        "case": "wide_budgets",
        "inputs_mib": mib(after_inputs),
        "plan_output_mib": mib(after_plan - after_inputs),
        "planning_peak_over_inputs_mib": mib(peak - after_inputs),
        "bytes_per_pod_of_inputs": round(after_inputs / len(inputs["pods"])),
    }


def best_cpu_seconds(repeat: int, func: Any) -> tuple[float, Any]:
    """Run ``func()`` ``repeat`` times; return the least CPU time and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.process_time()
        result = func()
        times.append(time.process_time() - start)
    return min(times), result


def pod_index(inputs: dict[str, Any], repeat: int) -> dict[str, Any]:
    """CPU time of the planner's pod-by-node input, from an informer store of every pod."""
    store: Store[PodRecord] = Store(indexers={"pods_by_node": pods_by_node})
    for p in inputs["pods"]:
        store.upsert(p)
    names = [n.name for n in inputs["nodes"]]

    def from_store_index() -> dict[str, tuple[PodRecord, ...]]:
        out = {}
        for name in names:
            found = [
                p for p in store.by_index("pods_by_node", name) if p.phase not in TERMINAL_PHASES
            ]
            if found:
                out[name] = tuple(sorted(found, key=lambda p: p.key))
        return out

    scan, by_node = best_cpu_seconds(repeat, lambda: index_pods(store.values()))
    indexed, by_index = best_cpu_seconds(repeat, from_store_index)
    assert by_node == by_index
    return {
        "pods": len(store),
        "index_pods_cpu_seconds": round(scan, 4),
        "from_store_index_cpu_seconds": round(indexed, 4),
    }


def tracker_memory(names: list[str]) -> dict[str, Any]:
    """tracemalloc bytes held by a ``UsageTracker`` with a full ring for every node.

    Everything the measuring itself keeps (checkpoints, the figures) exists before the
    baseline, so only the tracker and what it holds are counted.
    """
    capacity = DEFAULT_CAPACITY
    checkpoints = (capacity, 2 * capacity, 10 * capacity)
    # per checkpoint: bytes, samples held; then bytes with the snapshot's cached records
    figures = array.array("q", [0] * (2 * len(checkpoints) + 1))
    tracemalloc.start()
    gc.collect()
    figures[-1] = tracemalloc.get_traced_memory()[0]  # the baseline, until the end
    tracker = UsageTracker(capacity=capacity)
    for k in range(1, checkpoints[-1] + 1):
        at = NOW + dt.timedelta(seconds=30 * k)
        tracker.record_all(
            {
                name: UsageSample(
                    at=at + dt.timedelta(milliseconds=i),
                    cpu_millis=1000 + 7 * i + k,
                    memory_bytes=8 * GI + 4096 * i + k,
                )
                for i, name in enumerate(names)
            }
        )
        if k in checkpoints:
            gc.collect()
            at_checkpoint = checkpoints.index(k)
            figures[2 * at_checkpoint] = tracemalloc.get_traced_memory()[0] - figures[-1]
            figures[2 * at_checkpoint + 1] = tracker.statistics().samples
    tracker.snapshot()
    gc.collect()
    figures[-1] = tracemalloc.get_traced_memory()[0] - figures[-1]
    tracemalloc.stop()
    full, double, tenfold = figures[0], figures[2], figures[4]
    held = {figures[1], figures[3], figures[5]}
    count = len(names)
    return {
        "nodes": count,
        "capacity": capacity,
        "samples_fed_per_node": list(checkpoints),
        "samples_held": sorted(held),
        "bytes_when_full": full,
        "bytes_per_node_when_full": round(full / count),
        "bytes_at_2x_samples": double,
        "bytes_at_10x_samples": tenfold,
        "bytes_per_node_steady": round(tenfold / count),
        "bytes_with_snapshot_views": figures[-1],
        "bytes_per_node_with_snapshot_views": round(figures[-1] / count),
        "bounded": tenfold <= double and held == {count * capacity},
    }


def run(count: int, seed: int, repeat: int) -> dict[str, Any]:
    inputs = cluster(count, seed)
    wide = ScaleDownPolicy(max_empty_bulk_delete=1000, max_drain_parallelism=1000)
    cases = [
        run_case("default_budgets", inputs, ScaleDownPolicy(), repeat),
        run_case("wide_budgets", inputs, wide, repeat),
    ]
    return {
        "benchmark": "scale_down_1000_nodes",
        "seed": seed,
        "nodes": len(inputs["nodes"]),
        "pods": len(inputs["pods"]),
        "pdbs": len(inputs["pdbs"]),
        "cases": cases,
        "memory": memory(count, seed, wide),
        "index_pods": pod_index(inputs, repeat),
        "usage_tracker": tracker_memory([n.name for n in inputs["nodes"]]),
        "goal": {"cpu_seconds": GOAL_CPU_SECONDS},
        "meets_goal": all(c["meets_goal"] for c in cases),
        "cores_used": 1,
        "cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = run(args.nodes, args.seed, args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), file=sys.stdout)


if __name__ == "__main__":
    main()
