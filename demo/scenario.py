"""What the demo applies: the simulated VPSie account, three NodeGroups and the workload.

Pure data. The NodeGroups name VPSie node groups of one simulated VKE cluster; each VPSie
group is sized by a Kubernetes offer (plan) with its own monthly price. ``large`` is there
for the ``api`` pods, which fit on no ``general`` node; ``batch`` is tainted, so only the
``batch`` pods, which tolerate the taint and select its label, may land there.

Once every pod runs, the workload shrinks (``SHRINK``): ``web`` goes from 12 to 3 pods and
the ``batch`` Deployment is deleted. Every group's scale-down timers (``SCALE_DOWN``) are
far shorter than the 10-minute defaults, so the removals follow within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from autoscaler.core.resources.common import API_VERSION

JSON = dict[str, Any]
CLUSTER = "c1000000-0000-4000-8000-000000000007"
TOKEN = "sim-token"
SYSTEM_NAMESPACE = "vpsie-system"
WORKLOAD_NAMESPACE = "demo"
DC = "d1000000-0000-4000-8000-000000000001"
PROJECT_ID = 880
BATCH_TAINT = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
PAUSE_IMAGE = "registry.invalid/demo/pause:0"  # kwok fakes the containers; never pulled
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
# NodeGroup spec.scaleDown of every group; the timers' defaults are 10m.
UNNEEDED_TIME = "10s"
DELAY_AFTER_ADD = "20s"  # > the scheduler's 10 s back-off: new nodes get their pods first
UTILIZATION_THRESHOLD = 0.5
DEFAULT_TIMER = "10m"
SCALE_DOWN: JSON = {
    "unneededTime": UNNEEDED_TIME,
    "delayAfterAdd": DELAY_AFTER_ADD,
    "utilizationThreshold": UTILIZATION_THRESHOLD,
}


@dataclass(frozen=True)
class Plan:
    """A VPSie Kubernetes offer: the size and monthly price of a group's workers."""

    offer_id: int
    name: str
    cpu: int
    ram_mb: int
    disk_gb: int
    monthly: Decimal


@dataclass(frozen=True)
class Group:
    """One NodeGroup and the VPSie node group behind it."""

    name: str
    vpsie_id: int
    plan: Plan
    max_nodes: int
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Workload:
    """One Deployment of identical pods."""

    name: str
    replicas: int
    cpu: str
    memory: str
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerate_batch: bool = False


@dataclass(frozen=True)
class Place:
    """Where the demo puts things: namespaces, and labels that mark (and select) its Nodes.

    The defaults suit a private control plane; a test on a shared plane passes its own
    namespace and isolation label.
    """

    system_namespace: str = SYSTEM_NAMESPACE
    workload_namespace: str = WORKLOAD_NAMESPACE
    node_labels: tuple[tuple[str, str], ...] = ()

    @property
    def node_selector(self) -> str:
        """``labelSelector`` for the demo's Nodes (empty: every Node)."""
        return ",".join(f"{k}={v}" for k, v in self.node_labels)


SMALL = Plan(101, "k8s-2c-4g", 2, 4096, 80, Decimal(24))
MEDIUM = Plan(102, "k8s-4c-8g", 4, 8192, 160, Decimal(48))
LARGE = Plan(103, "k8s-8c-16g", 8, 16384, 320, Decimal(96))

GROUPS = (
    Group("general", 21, SMALL, max_nodes=10, labels=(("workload", "general"),)),
    Group("large", 22, LARGE, max_nodes=4, labels=(("workload", "large"),)),
    Group(
        "batch",
        23,
        MEDIUM,
        max_nodes=4,
        labels=(("workload", "batch"),),
        taints=(("dedicated", "batch", "NoSchedule"),),
    ),
)

WORKLOADS = (
    Workload("web", 12, "900m", "1Gi"),
    Workload("api", 2, "3", "4Gi"),
    Workload(
        "batch", 4, "1500m", "2Gi", node_selector=(("workload", "batch"),), tolerate_batch=True
    ),
)


@dataclass(frozen=True)
class Shrink:
    """How the workload shrinks once it runs.

    ``scale`` Deployment keeps ``keep`` pods, one on each of that many nodes of group
    ``spread`` where it can (their ``pod-deletion-cost`` is raised, so the ReplicaSet
    deletes the others): those nodes become underutilized rather than empty. ``delete``
    names Deployments deleted outright.
    """

    scale: str
    keep: int
    spread: str
    delete: tuple[str, ...]


SHRINK = Shrink(scale="web", keep=3, spread="general", delete=("batch",))


def group(name: str) -> Group:
    """The demo group called ``name``."""
    for g in GROUPS:
        if g.name == name:
            return g
    raise KeyError(name)


def total_pods() -> int:
    """How many pods the workload asks for."""
    return sum(w.replicas for w in WORKLOADS)


def workload(name: str) -> Workload:
    """The demo Deployment called ``name``."""
    for w in WORKLOADS:
        if w.name == name:
            return w
    raise KeyError(name)


def pods_after_shrink() -> int:
    """How many pods the workload asks for once it has shrunk."""
    return sum(
        SHRINK.keep if w.name == SHRINK.scale else w.replicas
        for w in WORKLOADS
        if w.name not in SHRINK.delete
    )


def sim_world(*, seed: int = 1, stage: float = 3.0, jitter: float = 2.0, tick: float = 0.5) -> JSON:
    """The simulated account: one VKE cluster with one VPSie node group per NodeGroup.

    Each provisioning stage (listed, booted, joined) takes ``stage`` seconds plus up to
    ``jitter``, and Ready follows a second later: a worker is a Ready Node some 10 to 17 s
    after its create call, and the workers of one scale-up do not all arrive at once.
    """
    delay = {"seconds": stage, "jitter": jitter}
    offers = [
        {
            "id": p.offer_id,
            "name": p.name,
            "cpu": p.cpu,
            "ram": p.ram_mb,
            "disk": p.disk_gb,
            "price": float(p.monthly),
        }
        for p in (SMALL, MEDIUM, LARGE)
    ]
    groups = [
        {
            "id": g.vpsie_id,
            "identifier": f"e1000000-0000-4000-8000-{g.vpsie_id:012d}",
            "group_name": g.name,
            "offer_id": g.plan.offer_id,
            "max_workers": g.max_nodes,
        }
        for g in GROUPS
    ]
    return {
        "seed": seed,
        "run_id": "demo",
        "clock": {"mode": "real", "tick_interval": tick},
        "offers": offers,
        "clusters": [
            {
                "id": 7,
                "identifier": CLUSTER,
                "cluster_name": "demo",
                "dc": DC,
                "project_id": PROJECT_ID,
                "master_offer_id": SMALL.offer_id,
                "max_workers": 30,
                "groups": groups,
            }
        ],
        "knobs": {
            "provision": {
                "list_delay": delay,
                "boot_delay": delay,
                "join_delay": delay,
                "ready_delay": {"seconds": 1.0, "jitter": 0.5},
                "delete_delay": delay,
            }
        },
    }


def nodegroup_manifest(g: Group, *, namespace: str = SYSTEM_NAMESPACE) -> JSON:
    """The NodeGroup of ``g``: minNodes 0, so it grows only for pending pods; the demo's
    short scale-down timers (``SCALE_DOWN``)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "NodeGroup",
        "metadata": {"name": g.name, "namespace": namespace},
        "spec": {
            "minNodes": 0,
            "maxNodes": g.max_nodes,
            "provider": {"mode": "vke", "clusterIdentifier": CLUSTER, "nodeGroupName": g.name},
            "template": {
                "labels": dict(g.labels),
                "taints": [{"key": k, "value": v, "effect": e} for k, v, e in g.taints],
            },
            "scaleDown": dict(SCALE_DOWN),
        },
    }


def deployment_manifest(w: Workload, *, namespace: str = WORKLOAD_NAMESPACE) -> JSON:
    """A Deployment of ``w``; its pods' status is faked by kwok once they are bound."""
    pod: JSON = {
        "containers": [
            {
                "name": "main",
                "image": PAUSE_IMAGE,
                "resources": {"requests": {"cpu": w.cpu, "memory": w.memory}},
            }
        ],
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 0,
    }
    if w.node_selector:
        pod["nodeSelector"] = dict(w.node_selector)
    if w.tolerate_batch:
        pod["tolerations"] = [{**BATCH_TAINT, "operator": "Equal"}]
    labels = {"app": w.name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": w.name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": w.replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def describe_group(g: Group) -> str:
    """One line: name, plan, price, bounds and taints."""
    taints = ", ".join(f"taint {k}={v}:{e}" for k, v, e in g.taints)
    extra = f", {taints}" if taints else ""
    return (
        f"{g.name}: {g.plan.name} ({g.plan.cpu} CPU, {g.plan.ram_mb // 1024} GiB) at "
        f"${g.plan.monthly}/month, 0..{g.max_nodes} nodes{extra}"
    )


def describe_workload(w: Workload) -> str:
    """One line: name, replicas, requests and placement."""
    where = " on dedicated=batch nodes only" if w.tolerate_batch else ""
    return f"{w.name}: {w.replicas} pods x ({w.cpu} CPU, {w.memory}){where}"


def describe_timers() -> str:
    """One line: the scale-down timers every group gets, and that they are shortened."""
    return (
        f"scale-down in every group: a node whose CPU and memory requests stay under"
        f" {UTILIZATION_THRESHOLD:.0%} of allocatable for {UNNEEDED_TIME} (unneededTime) is"
        f" removed, but not within {DELAY_AFTER_ADD} of the node joining or its group growing"
        f" (delayAfterAdd); the demo shortens both timers from the {DEFAULT_TIMER} defaults"
    )
