"""Benchmark: apply 100,000 recorded-shape pod watch events to an informer, on one core.

A deterministic generator builds full pods as the API server sends them (managedFields,
labels, annotations, ownerReferences, 1-3 containers with resources, probes and env,
tolerations, volumes, affinity on some, status with conditions and container statuses)
and serialises the watch stream to JSON lines in memory first. The timed part is the
production path for each line, ``Reflector.process_line``: orjson decode, projection,
store update and the ``pods_by_node`` index. Memory is the growth of RSS (/proc/self/statm)
over the run, divided by the pods left in the cache. No tracemalloc: it would distort both.
``events_per_s`` divides by the CPU time of the applying thread (one core), so other load
on a shared machine does not skew it; ``events_per_s_wall`` is the wall-clock rate.

    .venv/bin/python bench/informer_apply.py [--events N] [--seed S]

Writes bench/results/informer_apply.json and prints the same JSON object as its last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from autoscaler.core.records import PodRecord
from autoscaler.kube.informer import Informer
from autoscaler.kube.projection import TEMPLATES, project_pod
from autoscaler.kube.sharing import SHARED
from autoscaler.kube.store import pods_by_node

GOAL_EVENTS_PER_S = 20_000
GOAL_BYTES_PER_POD = 1536
RESULTS = Path(__file__).resolve().parent / "results" / "informer_apply.json"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
HOSTNAME = "kubernetes.io/hostname"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def _probe(path: str, port: int, **extra: int) -> dict[str, Any]:
    http = {"path": path, "port": port, "scheme": "HTTP"}
    return {"httpGet": http, "timeoutSeconds": 1, "periodSeconds": 10, **extra}


class App:
    """A Deployment (or DaemonSet): the parts its pods share."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.daemonset = index % 25 == 0
        self.name = f"{rng.choice(['api', 'web', 'worker', 'cache', 'auth', 'cart'])}-{index}"
        self.namespace = f"team-{index % 40}"
        self.hash = f"{rng.getrandbits(40):010x}"[:10]
        self.owner_uid = str(uuid.UUID(int=rng.getrandbits(128)))
        self.labels = {
            "app": self.name,
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/instance": f"{self.name}-prod",
            "app.kubernetes.io/version": f"1.{index % 7}.{index % 13}",
            "team": self.namespace,
        }
        if not self.daemonset:
            self.labels["pod-template-hash"] = self.hash
        self.containers = [self._container(rng, i) for i in range(rng.choice([1, 1, 2, 3]))]
        self.tolerations = [
            {"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
        ]
        if index % 9 == 0:
            self.tolerations.append(
                {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}
            )
        self.volumes: list[dict[str, Any]] = [
            {"name": "config", "configMap": {"name": f"{self.name}-config", "defaultMode": 420}}
        ]
        if index % 5 == 0:
            self.volumes.append({"name": "scratch", "emptyDir": {}})
        if index % 10 == 3:
            self.volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": "data"}})
        self.affinity = self._affinity() if index % 5 == 1 else None
        self.managed_fields = self._managed_fields()

    def _container(self, rng: random.Random, i: int) -> dict[str, Any]:
        cpu = rng.choice(["50m", "100m", "250m", "500m", "1", "2"])
        memory = rng.choice(["64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi"])
        name = self.name if i == 0 else f"sidecar-{i}"
        return {
            "name": name,
            "image": f"registry.example.com/{self.name}/{name}:v1.{i}",
            "ports": [{"name": "http", "containerPort": 8080 + i, "protocol": "TCP"}],
            "env": [{"name": f"ENV_VAR_{k}", "value": f"value-{k}-{self.name}"} for k in range(6)],
            "resources": {
                "requests": {"cpu": cpu, "memory": memory},
                "limits": {"memory": memory},
            },
            "volumeMounts": [
                {"name": "config", "mountPath": "/etc/config", "readOnly": True},
                {"name": "kube-api-access", "readOnly": True, "mountPath": SERVICE_ACCOUNT},
            ],
            "livenessProbe": _probe("/healthz", 8080 + i, initialDelaySeconds=10),
            "readinessProbe": _probe("/ready", 8080 + i),
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        }

    def _affinity(self) -> dict[str, Any]:
        arch = {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
        spread = {"labelSelector": {"matchLabels": {"app": self.name}}, "topologyKey": HOSTNAME}
        return {
            "nodeAffinity": {
                REQUIRED: {"nodeSelectorTerms": [{"matchExpressions": [arch]}]},
            },
            "podAntiAffinity": {
                PREFERRED: [{"weight": 100, "podAffinityTerm": spread}],
            },
        }

    def _managed_fields(self) -> list[dict[str, Any]]:
        spec_fields: dict[str, Any] = {
            f'k:{{"name":"{c["name"]}"}}': {
                ".": {},
                "f:env": {
                    f'k:{{"name":"{e["name"]}"}}': {".": {}, "f:value": {}} for e in c["env"]
                },
                "f:image": {},
                "f:resources": {"f:limits": {"f:memory": {}}, "f:requests": {"f:cpu": {}}},
                "f:livenessProbe": {"f:httpGet": {"f:path": {}, "f:port": {}}},
            }
            for c in self.containers
        }
        return [
            {
                "manager": "kube-controller-manager",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2026-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {f"f:{k}": {} for k in self.labels}},
                    "f:spec": {"f:containers": spec_fields, "f:tolerations": {}},
                },
            },
            {
                "manager": "kubelet",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2026-01-01T00:00:05Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}}},
                "subresource": "status",
            },
        ]


def make_pod(
    rng: random.Random, app: App, *, name: str, uid: str, rv: int, node: str | None
) -> dict[str, Any]:
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    owner_kind = "DaemonSet" if app.daemonset else "ReplicaSet"
    owner_name = app.name if app.daemonset else f"{app.name}-{app.hash}"
    annotations = {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
        "cni.projectcalico.org/podIP": f"{ip}/32",
        "cni.projectcalico.org/containerID": f"{rng.getrandbits(256):064x}",
    }
    if rv % 7 == 0:
        annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] = "true"
    spec: dict[str, Any] = {
        "volumes": [
            *app.volumes,
            {
                "name": f"kube-api-access-{uid[:5]}",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt"}},
                    ],
                },
            },
        ],
        "containers": app.containers,
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": app.tolerations,
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    if app.affinity is not None:
        spec["affinity"] = app.affinity
    if node is not None:
        spec["nodeName"] = node
    scheduled = node is not None
    condition = "True" if scheduled else "False"
    conditions: list[dict[str, Any]] = [
        {"type": t, "status": condition, "lastTransitionTime": "2026-01-01T00:00:03Z"}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
    ]
    conditions.append({"type": "PodScheduled", "status": condition, "lastProbeTime": None})
    if not scheduled:
        conditions[-1] |= {"reason": "Unschedulable", "message": "0/2000 nodes are available."}
    status: dict[str, Any] = {
        "phase": "Running" if scheduled else "Pending",
        "conditions": conditions,
        "qosClass": "Burstable",
    }
    if scheduled:
        status |= {
            "hostIP": "192.168.0.10",
            "hostIPs": [{"ip": "192.168.0.10"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": "2026-01-01T00:00:02Z",
            "containerStatuses": [
                {
                    "name": c["name"],
                    "state": {"running": {"startedAt": "2026-01-01T00:00:04Z"}},
                    "lastState": {},
                    "ready": True,
                    "restartCount": 0,
                    "image": c["image"],
                    "imageID": f"{c['image']}@sha256:{rng.getrandbits(256):064x}",
                    "containerID": f"containerd://{rng.getrandbits(256):064x}",
                    "started": True,
                }
                for c in app.containers
            ],
        }
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "generateName": name[: name.rfind("-") + 1],
            "namespace": app.namespace,
            "uid": uid,
            "resourceVersion": str(rv),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": app.labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": owner_kind,
                    "name": owner_name,
                    "uid": app.owner_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": app.managed_fields,
        },
        "spec": spec,
        "status": status,
    }


def generate(events: int, seed: int) -> tuple[list[bytes], dict[str, int]]:
    """Return the watch stream as JSON lines, and how many events of each type it holds."""
    rng = random.Random(seed)
    apps = [App(rng, i) for i in range(400)]
    nodes = [f"node-{i:04d}" for i in range(2000)]
    live: list[tuple[App, str, str]] = []  # (app, name, uid)
    counts = {"ADDED": 0, "MODIFIED": 0, "DELETED": 0}
    lines: list[bytes] = []
    for rv in range(1000, 1000 + events):
        roll = rng.random()
        kind = "ADDED" if roll < 0.60 or not live else "MODIFIED" if roll < 0.95 else "DELETED"
        if kind == "ADDED":
            app = rng.choice(apps)
            name = f"{app.name}-{app.hash}-{rng.getrandbits(25):05x}"
            entry = (app, name, str(uuid.UUID(int=rng.getrandbits(128))))
            live.append(entry)
        else:
            entry = live[rng.randrange(len(live))]
            if kind == "DELETED":
                live.remove(entry)
        app, name, uid = entry
        node = rng.choice(nodes) if kind != "ADDED" or rng.random() < 0.7 else None
        obj = make_pod(rng, app, name=name, uid=uid, rv=rv, node=node)
        lines.append(orjson.dumps({"type": kind, "object": obj}))
        counts[kind] += 1
    return lines, counts


class _NoSource:
    async def list_page(self, **_: Any) -> Any:
        raise AssertionError("the benchmark makes no API calls")

    async def open_watch(self, **_: Any) -> Any:
        raise AssertionError("the benchmark makes no API calls")


def run(events: int, seed: int) -> dict[str, Any]:
    with_affinity = hasattr(os, "sched_setaffinity")
    if with_affinity:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    lines, counts = generate(events, seed)
    generated_s = time.perf_counter() - started
    informer: Informer[PodRecord] = Informer(
        _NoSource(), transform=project_pod, name="pods", indexers={"pods_by_node": pods_by_node}
    )
    apply = informer.reflector.process_line
    store = informer.store
    gc.collect()
    rss0 = rss_bytes()
    checkpoints = []
    t0, cpu0 = time.perf_counter(), time.thread_time()
    for i, line in enumerate(lines, 1):
        apply(line)
        if i % 10_000 == 0:
            checkpoints.append(
                {
                    "events": i,
                    "cached_pods": len(store),
                    "rss_growth_mib": round((rss_bytes() - rss0) / 2**20, 1),
                }
            )
    elapsed, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    gc.collect()
    growth = rss_bytes() - rss0
    cached = len(store)
    per_pod = growth / cached
    return {
        "benchmark": "informer_apply",
        "events": events,
        "event_types": counts,
        "mean_event_bytes": round(sum(map(len, lines)) / len(lines)),
        "cached_pods": cached,
        "nodes_indexed": len(store.index_values("pods_by_node")),
        "shared_values": len(SHARED),
        "shared_templates": len(TEMPLATES),
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(elapsed, 3),
        "events_per_s": round(events / cpu),
        "events_per_s_wall": round(events / elapsed),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "rss_growth_mib": round(growth / 2**20, 1),
        "rss_growth_per_10k_cached_pods_mib": round(per_pod * 10_000 / 2**20, 2),
        "bytes_per_cached_pod": round(per_pod),
        "goal": {"events_per_s": GOAL_EVENTS_PER_S, "bytes_per_cached_pod": GOAL_BYTES_PER_POD},
        "meets_goal": events / cpu >= GOAL_EVENTS_PER_S and per_pod <= GOAL_BYTES_PER_POD,
        "checkpoints": checkpoints,
        "generate_seconds": round(generated_s, 1),
        "cpu_pinned": with_affinity,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    result = run(args.events, args.seed)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), file=sys.stdout)


if __name__ == "__main__":
    main()
