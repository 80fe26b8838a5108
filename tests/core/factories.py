"""Builders of core records that read like sentences: ``pod(cpu_m=500, memory="1Gi")``.

Every builder has defaults for what a test does not care about; pods are pending and
unschedulable unless given a ``node_name``; nodes and templates offer 4 CPUs, 16Gi and 110
pods. Names are explicit or numbered in creation order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from autoscaler.core.drainability import VolumeState
from autoscaler.core.group_options import GroupOption, TemplateNode
from autoscaler.core.interpod import HostPort
from autoscaler.core.node_eligibility import GroupState
from autoscaler.core.policy import ScaleUpPolicy
from autoscaler.core.predicates import HOSTNAME_LABEL
from autoscaler.core.quantity import int_value
from autoscaler.core.records import (
    MIRROR_ANNOTATION,
    NODE_GROUP_LABEL,
    Affinity,
    LabelSelector,
    NodeRecord,
    NodeSelectorTerm,
    PdbRecord,
    PodAffinityTerm,
    PodRecord,
    Requirement,
    Resources,
    Taint,
    Toleration,
    TopologySpread,
)
from autoscaler.core.scale_down import plan_scale_down
from autoscaler.core.scale_down_plan import ScaleDownPlan, ScaleDownPolicy
from autoscaler.core.scale_up import plan_scale_up
from autoscaler.core.scale_up_plan import ScaleUpPlan
from autoscaler.core.snapshot import ClusterSnapshot, build_snapshot

NOW = dt.datetime(2026, 8, 1, 12, 0, tzinfo=dt.UTC)
_numbers = itertools.count()


def _bytes(amount: str | int) -> int:
    return amount if isinstance(amount, int) else int_value(amount)


def resources(
    cpu_m: int = 0,
    memory: str | int = 0,
    *,
    pods: int = 0,
    ephemeral: str | int = 0,
    extended: Mapping[str, int] | None = None,
) -> Resources:
    """``Resources`` from readable amounts."""
    return Resources(
        cpu_m=cpu_m,
        memory=_bytes(memory),
        ephemeral_storage=_bytes(ephemeral),
        pods=pods,
        extended=tuple(sorted((extended or {}).items())),
    )


def toleration(
    key: str = "", value: str = "", *, effect: str = "", operator: str = "Equal"
) -> Toleration:
    """A toleration (``Equal`` unless told)."""
    return Toleration(key=key, operator=operator, value=value, effect=effect)


def exists(key: str = "", *, effect: str = "") -> Toleration:
    """An ``operator: Exists`` toleration; without a key it tolerates every taint."""
    return Toleration(key=key, operator="Exists", value="", effect=effect)


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> Taint:
    """A node taint."""
    return Taint(key=key, value=value, effect=effect)


def req(key: str, operator: str, *values: str) -> Requirement:
    """A selector requirement: ``req("zone", "In", "a", "b")``."""
    return Requirement(key=key, operator=operator, values=values)


def term(*requirements: Requirement, fields: Iterable[Requirement] = ()) -> NodeSelectorTerm:
    """A node selector term of ANDed requirements."""
    return NodeSelectorTerm(match_expressions=requirements, match_fields=tuple(fields))


def selector(**labels: str) -> LabelSelector:
    """A label selector matching these labels."""
    return LabelSelector(match_labels=tuple(sorted(labels.items())))


def anti(labels: Mapping[str, str], topology: str = HOSTNAME_LABEL, **kw: Any) -> PodAffinityTerm:
    """A required (anti-)affinity term selecting pods with ``labels``."""
    sel = LabelSelector(match_labels=tuple(sorted(labels.items())))
    return PodAffinityTerm(topology_key=topology, label_selector=sel, **kw)


def pod(
    name: str | None = None,
    *,
    cpu_m: int = 100,
    memory: str | int = "128Mi",
    pods: int = 1,
    ephemeral: str | int = 0,
    extended: Mapping[str, int] | None = None,
    namespace: str = "default",
    owner: tuple[str, str] | None = ("ReplicaSet", "web"),
    labels: Mapping[str, str] | None = None,
    tolerations: Iterable[Toleration] = (),
    node_selector: Mapping[str, str] | None = None,
    node_terms: Iterable[NodeSelectorTerm] = (),
    anti_affinity: Iterable[PodAffinityTerm] = (),
    pod_affinity: Iterable[PodAffinityTerm] = (),
    spread: Iterable[TopologySpread] = (),
    node_name: str | None = None,
    phase: str = "Pending",
    pvc_claims: Iterable[str] = (),
    priority: int = 0,
) -> PodRecord:
    """A pod; pending and unschedulable unless it has a ``node_name``."""
    affinity = Affinity(
        node_terms=tuple(node_terms),
        pod_affinity=tuple(pod_affinity),
        pod_anti_affinity=tuple(anti_affinity),
        topology_spread=tuple(spread),
    )
    return PodRecord(
        namespace=namespace,
        name=name or f"pod-{next(_numbers)}",
        uid="",
        resource_version="1",
        node_name=node_name,
        phase="Running" if node_name and phase == "Pending" else phase,
        requests=resources(cpu_m, memory, pods=pods, ephemeral=ephemeral, extended=extended),
        owner_kind=owner[0] if owner else None,
        owner_name=owner[1] if owner else None,
        priority=priority,
        tolerations=tuple(tolerations),
        node_selector=tuple(sorted((node_selector or {}).items())),
        affinity=None if affinity == Affinity() else affinity,
        labels=tuple(sorted((labels or {}).items())),
        annotations=(),
        pvc_claims=tuple(pvc_claims),
        local_volumes=(),
        unschedulable=node_name is None,
        deletion_timestamp=None,
        termination_grace_seconds=30,
    )


def daemonset_pod(
    name: str, *, cpu_m: int = 100, memory: str | int = "100Mi", **kw: Any
) -> PodRecord:
    """A DaemonSet's pod (or template), owned by DaemonSet ``name``."""
    return pod(
        f"{name}-x",
        cpu_m=cpu_m,
        memory=memory,
        owner=("DaemonSet", name),
        namespace="kube-system",
        **kw,
    )


def node(
    name: str,
    *,
    cpu_m: int = 4000,
    memory: str | int = "16Gi",
    pods: int = 110,
    extended: Mapping[str, int] | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    group: str | None = None,
    unschedulable: bool = False,
    deleting: bool = False,
    ready: bool = True,
    annotations: Mapping[str, str] | None = None,
    created: dt.datetime | None = NOW - dt.timedelta(hours=1),
) -> NodeRecord:
    """A registered node (Ready unless told); ``group`` sets the node-group label."""
    all_labels = {HOSTNAME_LABEL: name, **(labels or {})}
    if group is not None:
        all_labels[NODE_GROUP_LABEL] = group
    allocatable = resources(cpu_m, memory, pods=pods, extended=extended)
    return NodeRecord(
        name=name,
        uid=f"uid-{name}",
        resource_version="1",
        labels=tuple(sorted(all_labels.items())),
        taints=tuple(taints),
        allocatable=allocatable,
        capacity=allocatable,
        unschedulable=unschedulable,
        ready=ready,
        created=created,
        provider_id=None,
        annotations=tuple(sorted((annotations or {}).items())),
        deletion_timestamp=NOW if deleting else None,
    )


def group(
    name: str,
    *,
    cpu_m: int = 4000,
    memory: str | int = "16Gi",
    pods: int = 110,
    extended: Mapping[str, int] | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    max_size: int = 10,
    min_size: int = 0,
    current: int = 0,
    upcoming: int = 0,
    priority: int = 0,
    price: Decimal | str | None = None,
    enabled: bool = True,
    backoff_until: dt.datetime | None = None,
) -> GroupOption:
    """A group option whose template node offers the given allocatable."""
    return GroupOption(
        name=name,
        template=TemplateNode(
            allocatable=resources(cpu_m, memory, pods=pods, extended=extended),
            labels=tuple(sorted((labels or {}).items())),
            taints=tuple(taints),
        ),
        max_size=max_size,
        min_size=min_size,
        current=current,
        upcoming=upcoming,
        priority=priority,
        monthly_price=Decimal(price) if isinstance(price, str) else price,
        scale_up_enabled=enabled,
        backoff_until=backoff_until,
    )


def snapshot(
    *,
    nodes: Iterable[NodeRecord] = (),
    pods: Iterable[PodRecord] = (),
    groups: Iterable[GroupOption] = (),
    daemonsets: Iterable[PodRecord] | None = None,
    host_ports: Mapping[str, Iterable[int]] | None = None,
    volume_topology_claims: Iterable[str] = (),
) -> ClusterSnapshot:
    """A snapshot; ``host_ports`` maps pod keys to TCP host ports."""
    ports = {k: tuple(HostPort(p) for p in v) for k, v in (host_ports or {}).items()}
    return build_snapshot(
        nodes=nodes,
        pods=pods,
        groups=groups,
        daemonsets=daemonsets,
        host_ports=ports,
        volume_topology_claims=frozenset(volume_topology_claims),
    )


def plan(
    snap: ClusterSnapshot, policy: ScaleUpPolicy | None = None, now: dt.datetime = NOW
) -> ScaleUpPlan:
    """Plan a scale-up of ``snap`` at ``now`` (default policy unless given)."""
    return plan_scale_up(snap, policy=policy or ScaleUpPolicy(), now=now)


def replicas(n: int, prefix: str = "web", **kw: Any) -> list[PodRecord]:
    """``n`` pending pods of one owner, named ``<prefix>-<i>``."""
    owner = kw.pop("owner", ("ReplicaSet", prefix))
    return [pod(f"{prefix}-{i:04d}", owner=owner, **kw) for i in range(n)]


def mirror_pod(name: str, *, node_name: str = "node-a", **kw: Any) -> PodRecord:
    """The API mirror of a static pod on ``node_name`` (``kubernetes.io/config.mirror``)."""
    made = pod(name, owner=("Node", node_name), node_name=node_name, **kw)
    return dataclasses.replace(made, annotations=((MIRROR_ANNOTATION, "checksum"),))


def group_state(
    name: str = "web", *, min_nodes: int = 1, current_nodes: int = 3, **kw: Any
) -> GroupState:
    """A node group's scale-down state: 3 nodes over a minimum of 1 unless told."""
    return GroupState(name=name, min_nodes=min_nodes, current_nodes=current_nodes, **kw)


EVERY_POD = LabelSelector()
"""An empty selector: in policy/v1 a PDB with it selects every pod of its namespace."""


def pdb(
    name: str = "pdb",
    selects: LabelSelector | None = EVERY_POD,
    *,
    namespace: str = "default",
    allowed: int = 1,
) -> PdbRecord:
    """A PDB whose status allows ``allowed`` disruptions; ``selects=None`` is a null selector."""
    return PdbRecord(
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        resource_version="1",
        selector=selects,
        min_available=None,
        max_unavailable=1,
        disruptions_allowed=allowed,
        current_healthy=3,
        desired_healthy=3 - allowed,
        expected_pods=3,
        generation=1,
        observed_generation=1,
    )


def placed_pod(
    name: str | None = None,
    *,
    node_name: str = "node-a",
    annotations: Mapping[str, str] | None = None,
    local_volumes: Iterable[str] = (),
    deleting_since: dt.datetime | None = None,
    grace_seconds: int = 30,
    host_ports: Iterable[int] = (),
    **kw: Any,
) -> PodRecord:
    """A running pod on ``node_name``, with the annotations, volumes and TCP host ports
    scale-down reads."""
    made = pod(name, node_name=node_name, **kw)
    return dataclasses.replace(
        made,
        annotations=tuple(sorted((annotations or {}).items())),
        local_volumes=tuple(local_volumes),
        deletion_timestamp=deleting_since,
        termination_grace_seconds=grace_seconds,
        host_ports=tuple(sorted(HostPort(p) for p in host_ports)),
    )


LONG_UNNEEDED = NOW - dt.timedelta(hours=1)
"""An ``unneeded_since`` old enough for the default unneeded time (10 minutes)."""


def plan_down(
    *,
    nodes: Iterable[NodeRecord],
    pods: Iterable[PodRecord] = (),
    groups: Mapping[str, GroupState] | None = None,
    pdbs: Iterable[PdbRecord] = (),
    volumes: Mapping[str, VolumeState] | None = None,
    unneeded_since: Mapping[str, dt.datetime] | None = None,
    in_progress: Iterable[str] = (),
    drains_in_progress: int = 0,
    backed_off: Mapping[str, dt.datetime] | None = None,
    policy: ScaleDownPolicy | None = None,
    now: dt.datetime = NOW,
) -> ScaleDownPlan:
    """Plan a scale-down at ``now``. Unless told: every node has been unneeded for an hour,
    and each group named by a node label has those nodes and a minimum of 0."""
    nodes = tuple(nodes)
    if groups is None:
        sizes: dict[str, int] = {}
        for n in nodes:
            if n.group is not None:
                sizes[n.group] = sizes.get(n.group, 0) + 1
        groups = {g: group_state(g, min_nodes=0, current_nodes=k) for g, k in sizes.items()}
    return plan_scale_down(
        nodes=nodes,
        pods=pods,
        groups=groups,
        pdbs=pdbs,
        volumes=volumes or {},
        unneeded_since=(
            {n.name: LONG_UNNEEDED for n in nodes} if unneeded_since is None else unneeded_since
        ),
        in_progress=frozenset(in_progress),
        drains_in_progress=drains_in_progress,
        backed_off=backed_off,
        now=now,
        policy=policy or ScaleDownPolicy(),
    )
