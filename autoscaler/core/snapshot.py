"""A frozen picture of the cluster for one planning pass (architecture §6).

``build_snapshot`` takes the cached records and the group options and returns a
``ClusterSnapshot``: registered nodes, bound pods by node, the pending pods, every
upcoming (requested, not registered) node as a *virtual node* built from its group's
template, and each group's template with its exact DaemonSet overhead: the requests of the
DaemonSet pods whose tolerations, ``nodeSelector`` and required node affinity admit the
template. A virtual node carries those DaemonSet pods, so it offers what a real new node
will, and the same code places pods on registered and upcoming nodes.

Template labels get the group label, a placeholder hostname and, when absent, the
well-known ``kubernetes.io/os=linux`` and ``kubernetes.io/arch=amd64`` of VPSie workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from autoscaler.core.group_options import GroupOption
from autoscaler.core.interpod import HostPort
from autoscaler.core.predicates import HOSTNAME_LABEL, NAME_FIELD, node_mismatch
from autoscaler.core.records import (
    NODE_GROUP_LABEL,
    Affinity,
    NodeRecord,
    NodeSelectorTerm,
    Pairs,
    PodRecord,
    Resources,
    Taint,
)
from autoscaler.core.resources_math import sub, total

__all__ = [
    "ClusterSnapshot",
    "GroupView",
    "build_snapshot",
    "daemonset_template",
    "template_labels",
]

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
DEFAULT_LABELS = (("kubernetes.io/arch", "amd64"), ("kubernetes.io/os", "linux"))


def template_labels(option: GroupOption, hostname: str) -> Pairs:
    """Return the labels a new node of ``option`` will carry, sorted by key."""
    labels = dict(DEFAULT_LABELS)
    labels.update(option.template.labels)
    labels[NODE_GROUP_LABEL] = option.name
    labels[HOSTNAME_LABEL] = hostname
    return tuple(sorted(labels.items()))


def daemonset_template(pod: PodRecord) -> PodRecord:
    """Return a DaemonSet pod as its DaemonSet's template: without the node pinning.

    The DaemonSet controller pins each pod with a ``matchFields`` ``metadata.name`` term
    that *replaces* the DaemonSet's own required node affinity. Dropping the pin leaves no
    node affinity, so a DaemonSet seen only through its pods is assumed to land wherever its
    ``nodeSelector`` and tolerations admit: the overhead may be over-estimated, never
    under-estimated. Pass DaemonSet templates to ``build_snapshot`` to be exact.
    """
    affinity = pod.affinity
    if affinity is None or not affinity.node_terms:
        return pod
    terms = tuple(
        NodeSelectorTerm(
            t.match_expressions, tuple(f for f in t.match_fields if f.key != NAME_FIELD)
        )
        for t in affinity.node_terms
    )
    kept = tuple(t for t in terms if t.match_expressions or t.match_fields)
    stripped = replace(affinity, node_terms=kept if len(kept) == len(terms) else ())
    return replace(pod, affinity=None if stripped == Affinity() else stripped)


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group option with its template as the simulation sees it."""

    option: GroupOption
    labels: Pairs
    taints: tuple[Taint, ...]
    daemonsets: tuple[PodRecord, ...]
    """The DaemonSet pods that will run on each new node."""
    overhead: Resources
    free: Resources
    """Template allocatable minus the DaemonSet overhead: what pending pods can use."""
    registered: int
    """Registered nodes carrying the group label."""

    @property
    def name(self) -> str:
        """The group name."""
        return self.option.name

    @property
    def size(self) -> int:
        """Nodes counted against ``max_size``: registered (or reported) plus upcoming."""
        return max(self.option.current, self.registered) + self.option.upcoming

    @property
    def template_hostname(self) -> str:
        """The placeholder hostname of a not-yet-named new node."""
        return f"{self.name}-template"


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """Everything one scale-up planning pass reads; immutable."""

    nodes: tuple[NodeRecord, ...]
    """Registered nodes, sorted by name."""
    upcoming: tuple[NodeRecord, ...]
    """Virtual nodes for requested, not yet registered nodes, by group then index."""
    pods_by_node: Mapping[str, tuple[PodRecord, ...]]
    """Pods on each node (virtual ones: their DaemonSet pods); terminal pods left out."""
    pending: tuple[PodRecord, ...]
    """Unschedulable pods that may trigger a scale-up, sorted by key."""
    groups: tuple[GroupView, ...]
    """Sorted by name."""
    host_ports: Mapping[str, tuple[HostPort, ...]]
    """Host ports by pod key (``PodRecord`` does not carry them)."""
    volume_topology_claims: frozenset[str]
    """``namespace/claim`` of claims whose volume has node topology (not simulated)."""

    def group(self, name: str) -> GroupView:
        """Return the group called ``name``."""
        for view in self.groups:
            if view.name == name:
                return view
        raise KeyError(name)


def _lands_on(pod: PodRecord, labels: Pairs, taints: tuple[Taint, ...], name: str) -> bool:
    return node_mismatch(pod, labels=dict(labels), taints=taints, node_name=name) is None


def _daemonsets(pods: Iterable[PodRecord]) -> tuple[PodRecord, ...]:
    """One pod per DaemonSet (the first by key), as its template."""
    chosen: dict[tuple[str, str | None], PodRecord] = {}
    for pod in sorted((p for p in pods if p.is_daemonset), key=lambda p: p.key):
        chosen.setdefault((pod.namespace, pod.owner_name), pod)
    return tuple(daemonset_template(p) for p in chosen.values())


def _is_pending(pod: PodRecord) -> bool:
    return (
        pod.node_name is None
        and pod.unschedulable
        and pod.deletion_timestamp is None
        and pod.phase not in TERMINAL_PHASES
        and not pod.is_daemonset
        and not pod.is_mirror
    )


def _view(option: GroupOption, daemonsets: tuple[PodRecord, ...], registered: int) -> GroupView:
    hostname = f"{option.name}-template"
    labels = template_labels(option, hostname)
    taints = option.template.taints
    landing = tuple(d for d in daemonsets if _lands_on(d, labels, taints, hostname))
    overhead = total(d.requests for d in landing)
    free = sub(option.template.allocatable, overhead)
    return GroupView(option, labels, taints, landing, overhead, free, registered)


def _virtual_node(view: GroupView, index: int) -> NodeRecord:
    name = f"{view.name}-upcoming-{index}"
    template = view.option.template
    return NodeRecord(
        name=name,
        uid="",
        resource_version="",
        labels=template_labels(view.option, name),
        taints=view.taints,
        allocatable=template.allocatable,
        capacity=template.limit_capacity,
        unschedulable=False,
        ready=False,
        created=None,
        provider_id=None,
        annotations=(),
    )


def build_snapshot(
    *,
    nodes: Iterable[NodeRecord],
    pods: Iterable[PodRecord],
    groups: Iterable[GroupOption],
    daemonsets: Iterable[PodRecord] | None = None,
    host_ports: Mapping[str, tuple[HostPort, ...]] | None = None,
    volume_topology_claims: frozenset[str] = frozenset(),
) -> ClusterSnapshot:
    """Return the snapshot of these records.

    ``daemonsets`` are pod templates, one per DaemonSet; when ``None`` they are taken from
    the DaemonSet pods among ``pods``, one per DaemonSet.
    """
    all_pods = tuple(pods)
    real = tuple(sorted(nodes, key=lambda n: n.name))
    templates = _daemonsets(all_pods) if daemonsets is None else tuple(daemonsets)
    by_node: dict[str, list[PodRecord]] = {n.name: [] for n in real}
    for pod in all_pods:
        if pod.node_name in by_node and pod.phase not in TERMINAL_PHASES:
            by_node[pod.node_name].append(pod)
    registered: dict[str, int] = {}
    for node in real:
        if node.group is not None:
            registered[node.group] = registered.get(node.group, 0) + 1
    options = sorted(groups, key=lambda g: g.name)
    if len({g.name for g in options}) != len(options):
        raise ValueError("group names must be unique")
    views = tuple(_view(g, templates, registered.get(g.name, 0)) for g in options)
    upcoming = tuple(_virtual_node(v, i) for v in views for i in range(v.option.upcoming))
    frozen = {name: tuple(sorted(ps, key=lambda p: p.key)) for name, ps in by_node.items()}
    for node in upcoming:
        frozen[node.name] = next(v.daemonsets for v in views if node.group == v.name)
    return ClusterSnapshot(
        nodes=real,
        upcoming=upcoming,
        pods_by_node=MappingProxyType(frozen),
        pending=tuple(sorted((p for p in all_pods if _is_pending(p)), key=lambda p: p.key)),
        groups=views,
        host_ports=MappingProxyType(dict(host_ports or {})),
        volume_topology_claims=volume_topology_claims,
    )
