"""Benchmark: scale-up planning throughput and packing quality, on one core.

A deterministic generator builds a cluster of 20 node groups (5 plan sizes x 4 variants:
plain, labelled ``tier=batch``, labelled ``disk=ssd``, tainted ``dedicated=ml``), three
DaemonSets (two tolerate everything with ``operator: Exists``, one selects the ``ml``
nodes), 40 registered nodes that are nearly full, 10 upcoming nodes, and 10,000 pending
pods, 70% unconstrained and 10% each selecting one variant. Two cases:

- ``classes_50``: 50 Deployments of 200 replicas (50 equivalence classes);
- ``all_distinct``: every pod its own owner with its own random requests.

The timed part is ``build_snapshot`` + ``plan_scale_up``. ``pods_per_s`` divides the
pending pods by the CPU time of the planning thread (one core; best of ``--repeat``),
so other load on a shared machine does not skew it. Quality: the new nodes of each chosen
group against the lower bound ``max over cpu, memory, pods of ceil(sum of requests /
node free)`` of the pods placed there (free = allocatable minus DaemonSet overhead).

    .venv/bin/python bench/scale_up_planning.py [--pods N] [--seed S] [--repeat R]

Writes bench/results/scale_up_planning.json and prints the same JSON object as its last line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from autoscaler.core.group_options import GroupOption, TemplateNode
from autoscaler.core.policy import ScaleUpPolicy
from autoscaler.core.records import (
    NODE_GROUP_LABEL,
    NodeRecord,
    PodRecord,
    Resources,
    Taint,
    Toleration,
)
from autoscaler.core.scale_up import plan_scale_up
from autoscaler.core.scale_up_plan import ScaleUpPlan
from autoscaler.core.snapshot import ClusterSnapshot, build_snapshot

GOAL_CLASSES_PODS_PER_S = 20_000
GOAL_DISTINCT_PODS_PER_S = 2_000
GOAL_NODES_OVER_LOWER_BOUND = 1.1
RESULTS = Path(__file__).resolve().parent / "results" / "scale_up_planning.json"
GI = 1024**3
MI = 1024**2
NOW = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
SHAPES = ((4, 16, "20"), (8, 32, "40"), (16, 64, "80"), (16, 32, "65"), (32, 128, "160"))
VARIANTS = ("plain", "batch", "ssd", "ml")


def pod(
    name: str,
    *,
    cpu_m: int,
    memory: int,
    owner: tuple[str, str],
    namespace: str = "default",
    node_name: str | None = None,
    node_selector: dict[str, str] | None = None,
    tolerations: tuple[Toleration, ...] = (),
) -> PodRecord:
    return PodRecord(
        namespace=namespace,
        name=name,
        uid="",
        resource_version="1",
        node_name=node_name,
        phase="Running" if node_name else "Pending",
        requests=Resources(cpu_m=cpu_m, memory=memory, pods=1),
        owner_kind=owner[0],
        owner_name=owner[1],
        priority=0,
        tolerations=tolerations,
        node_selector=tuple(sorted((node_selector or {}).items())),
        affinity=None,
        labels=(("app", owner[1]),),
        annotations=(),
        pvc_claims=(),
        local_volumes=(),
        unschedulable=node_name is None,
        deletion_timestamp=None,
        termination_grace_seconds=30,
    )


def daemonset_pod(name: str, **kw: Any) -> PodRecord:
    return pod(f"{name}-x", owner=("DaemonSet", name), namespace="kube-system", **kw)


def exists(key: str = "") -> Toleration:
    return Toleration(key=key, operator="Exists", value="", effect="")


def toleration(key: str, value: str) -> Toleration:
    return Toleration(key=key, operator="Equal", value=value, effect="NoSchedule")


def taint(key: str, value: str) -> Taint:
    return Taint(key=key, value=value, effect="NoSchedule")


def node(name: str, *, cpu_m: int, memory: int, group: str) -> NodeRecord:
    allocatable = Resources(cpu_m=cpu_m, memory=memory, pods=110)
    labels = {"kubernetes.io/hostname": name, NODE_GROUP_LABEL: group}
    return NodeRecord(
        name=name,
        uid=name,
        resource_version="1",
        labels=tuple(sorted(labels.items())),
        taints=(),
        allocatable=allocatable,
        capacity=allocatable,
        unschedulable=False,
        ready=True,
        created=None,
        provider_id=None,
        annotations=(),
    )


def groups() -> list[GroupOption]:
    """Return the 20 group options."""
    out = []
    for cores, gib, price in SHAPES:
        for variant in VARIANTS:
            labels: dict[str, str] = {}
            taints: tuple[Taint, ...] = ()
            if variant == "batch":
                labels["tier"] = "batch"
            elif variant == "ssd":
                labels["disk"] = "ssd"
            elif variant == "ml":
                labels["dedicated"] = "ml"
                taints = (taint("dedicated", "ml"),)
            allocatable = Resources(cpu_m=cores * 1000 - 100, memory=gib * GI - 356 * MI, pods=110)
            capacity = Resources(cpu_m=cores * 1000, memory=gib * GI, pods=110)
            out.append(
                GroupOption(
                    name=f"{variant}-{cores}c{gib}g",
                    template=TemplateNode(
                        allocatable=allocatable,
                        capacity=capacity,
                        labels=tuple(sorted(labels.items())),
                        taints=taints,
                    ),
                    max_size=1000,
                    upcoming=2 if variant == "plain" and cores == 8 else 0,
                    current=8 if variant == "plain" and cores == 8 else 0,
                    monthly_price=Decimal(price) + VARIANTS.index(variant),
                )
            )
    return out


def daemonsets() -> list[PodRecord]:
    """kube-proxy and node-exporter everywhere; an ml agent on ml nodes."""
    return [
        daemonset_pod("kube-proxy", cpu_m=100, memory=128 * MI, tolerations=(exists(),)),
        daemonset_pod("node-exporter", cpu_m=50, memory=64 * MI, tolerations=(exists(),)),
        daemonset_pod(
            "ml-agent",
            cpu_m=200,
            memory=256 * MI,
            tolerations=(exists("dedicated"),),
            node_selector={"dedicated": "ml"},
        ),
    ]


def registered(rng: random.Random) -> tuple[list[NodeRecord], list[PodRecord]]:
    """40 nearly full 8-core nodes (group plain-8c32g) and their pods."""
    nodes, pods = [], []
    for i in range(40):
        n = node(f"plain-8c32g-{i:03d}", cpu_m=7900, memory=32 * GI - 356 * MI, group="plain-8c32g")
        nodes.append(n)
        for j in range(rng.randint(6, 7)):
            pods.append(
                pod(
                    f"run-{i}-{j}",
                    cpu_m=1000,
                    memory=4 * GI,
                    owner=("ReplicaSet", f"run-{i}"),
                    node_name=n.name,
                )
            )
    return nodes, pods


def constraints(rng: random.Random) -> dict[str, Any]:
    """Scheduling constraints of one workload: 70% none, 10% per variant."""
    roll = rng.random()
    if roll < 0.7:
        return {}
    if roll < 0.8:
        return {"node_selector": {"tier": "batch"}}
    if roll < 0.9:
        return {"node_selector": {"disk": "ssd"}}
    return {"node_selector": {"dedicated": "ml"}, "tolerations": (toleration("dedicated", "ml"),)}


def requests(rng: random.Random) -> dict[str, Any]:
    """Random requests: 50m-2 CPUs, 64Mi-4Gi."""
    return {"cpu_m": rng.randint(50, 2000), "memory": rng.randint(64, 4096) * MI}


def pending(rng: random.Random, count: int, classes: int | None) -> list[PodRecord]:
    """``count`` pending pods in ``classes`` Deployments, or all distinct if ``None``."""
    if classes is None:
        return [
            pod(f"p-{i:05d}", owner=("ReplicaSet", f"rs-{i}"), **requests(rng), **constraints(rng))
            for i in range(count)
        ]
    shapes = [(requests(rng), constraints(rng)) for _ in range(classes)]
    out = []
    for i in range(count):
        k = i % classes
        res, con = shapes[k]
        out.append(pod(f"p-{i:05d}", owner=("ReplicaSet", f"deploy-{k}"), **res, **con))
    return out


def snapshot(pods: list[PodRecord], nodes: list[NodeRecord]) -> ClusterSnapshot:
    return build_snapshot(nodes=nodes, pods=pods, groups=groups(), daemonsets=daemonsets())


def quality(snap: ClusterSnapshot, result: ScaleUpPlan, pods: list[PodRecord]) -> dict[str, Any]:
    by_key = {p.key: p for p in pods}
    nodes = bound = 0
    per_group = []
    for up in result.scale_ups:
        free = snap.group(up.group).free
        placed = [by_key[k].requests for k in up.pods]
        lower = max(
            math.ceil(sum(r.cpu_m for r in placed) / free.cpu_m),
            math.ceil(sum(r.memory for r in placed) / free.memory),
            math.ceil(sum(max(r.pods, 1) for r in placed) / free.pods),
        )
        nodes, bound = nodes + up.nodes, bound + lower
        per_group.append(
            {"group": up.group, "nodes": up.nodes, "lower_bound": lower, "pods": len(placed)}
        )
    return {
        "new_nodes": nodes,
        "lower_bound": bound,
        "nodes_over_lower_bound": round(nodes / bound, 4) if bound else 1.0,
        "scale_ups": per_group,
    }


def run_case(name: str, classes: int | None, count: int, seed: int, repeat: int) -> dict[str, Any]:
    rng = random.Random(seed)
    nodes, bound = registered(rng)
    pods = pending(rng, count, classes) + bound
    policy = ScaleUpPolicy()
    times = []
    result = snap = None
    for _ in range(repeat):
        start = time.process_time()
        snap = snapshot(pods, nodes)
        result = plan_scale_up(snap, policy=policy, now=NOW)
        times.append(time.process_time() - start)
    assert result is not None
    assert snap is not None
    best = min(times)
    counts: dict[str, int] = {}
    for decision in result.pods:
        counts[decision.disposition.value] = counts.get(decision.disposition.value, 0) + 1
    goal = GOAL_CLASSES_PODS_PER_S if classes is not None else GOAL_DISTINCT_PODS_PER_S
    quality_ = quality(snap, result, pods)
    return {
        "case": name,
        "pending_pods": count,
        "equivalence_classes": classes if classes is not None else count,
        "groups": len(snap.groups),
        "cpu_seconds": round(best, 4),
        "cpu_seconds_all": [round(t, 4) for t in times],
        "pods_per_s": int(count / best),
        "goal_pods_per_s": goal,
        "dispositions": counts,
        **quality_,
        "meets_goal": count / best >= goal
        and quality_["nodes_over_lower_bound"] <= GOAL_NODES_OVER_LOWER_BOUND,
    }


def run(count: int, seed: int, repeat: int) -> dict[str, Any]:
    cases = [
        run_case("classes_50", 50, count, seed, repeat),
        run_case("all_distinct", None, count, seed, repeat),
    ]
    return {
        "benchmark": "scale_up_planning",
        "seed": seed,
        "cases": cases,
        "goal": {
            "classes_50_pods_per_s": GOAL_CLASSES_PODS_PER_S,
            "all_distinct_pods_per_s": GOAL_DISTINCT_PODS_PER_S,
            "nodes_over_lower_bound": GOAL_NODES_OVER_LOWER_BOUND,
        },
        "meets_goal": all(c["meets_goal"] for c in cases),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = run(args.pods, args.seed, args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), file=sys.stdout)


if __name__ == "__main__":
    main()
