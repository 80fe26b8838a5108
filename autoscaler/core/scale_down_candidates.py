"""The first steps of a scale-down pass: every managed node checked, the candidates found.

For every managed node (one with the ``autoscaler.vpsie.com/nodegroup`` label) that is not
already being drained or deleted by us (``in_progress``), in name order:

1. its requests utilization (``requests_utilization``) and, from it, the updated
   ``unneeded_since`` map;
2. the node checks (``node_verdict``), with each group's size taken as the smaller of what
   its ``GroupState`` says and its registered nodes not being deleted nor in progress, so a
   node in progress never counts toward ``minNodes``;
3. the pod rules over the node's pods (``node_drainability``): a pod that blocks, or that
   must be waited for, keeps the node with ``BlockedByPod``, naming the pod and its reason;
4. a node a drain failed on recently (``backed_off``: node → end of its back-off) is kept
   with ``DrainBackoff`` until then;
5. a pod to move with a constraint the simulation does not model (``unsupported_constraint``,
   or another pod's anti-affinity on a topology other than the hostname that selects it)
   keeps the node with ``NoPlaceToMovePods``, naming the constraint.

The nodes left are the candidates. Nodes without the label are not ours: they are neither
candidates nor reported, but pods may move to them. Pods are indexed by node once
(review PERF-1); finished pods are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from autoscaler.core.drainability import (
    Outcome,
    PodDisposition,
    VolumeFacts,
    node_drainability,
)
from autoscaler.core.interpod import term_selects, unsupported_constraint
from autoscaler.core.node_eligibility import (
    GroupState,
    KeptReason,
    ScaleDownNodePolicy,
    node_verdict,
)
from autoscaler.core.predicates import HOSTNAME_LABEL
from autoscaler.core.records import NodeRecord, PodAffinityTerm, PodRecord
from autoscaler.core.scale_down_order import Candidate, datacenter_of
from autoscaler.core.scale_down_pdbs import PdbIndex
from autoscaler.core.scale_down_plan import Kept
from autoscaler.core.utilization import TERMINAL_PHASES, requests_utilization, unneeded_since

__all__ = ["Survey", "index_pods", "survey_nodes"]


@dataclass(frozen=True, slots=True)
class Survey:
    """What the node checks and the pod rules decided, and the counts the planner needs."""

    candidates: tuple[Candidate, ...]
    kept: tuple[Kept, ...]
    unneeded_since: Mapping[str, dt.datetime]
    groups: Mapping[str, GroupState]
    """Each group with ``current_nodes`` as counted for ``minNodes`` (see step 2)."""
    datacenter_sizes: Mapping[str, int]
    """Managed nodes per datacenter (``datacenter_of``), those in progress left out."""


def index_pods(pods: Iterable[PodRecord]) -> dict[str, tuple[PodRecord, ...]]:
    """Unfinished pods bound to a node, by node name, each node's sorted by key."""
    index: dict[str, list[PodRecord]] = {}
    for pod in pods:
        if pod.node_name is not None and pod.phase not in TERMINAL_PHASES:
            index.setdefault(pod.node_name, []).append(pod)
    return {name: tuple(sorted(found, key=lambda p: p.key)) for name, found in index.items()}


def _counted(nodes: Sequence[NodeRecord]) -> tuple[dict[str, int], dict[str, int]]:
    """Nodes per group and per datacenter, of managed nodes not being deleted."""
    per_group: dict[str, int] = {}
    per_dc: dict[str, int] = {}
    for node in nodes:
        if node.group is not None and node.deletion_timestamp is None:
            per_group[node.group] = per_group.get(node.group, 0) + 1
            dc = datacenter_of(node)
            per_dc[dc] = per_dc.get(dc, 0) + 1
    return per_group, per_dc


def _neighbour_terms(
    pods_by_node: Mapping[str, Sequence[PodRecord]],
) -> list[tuple[PodRecord, PodAffinityTerm]]:
    """Anti-affinity terms of running pods on a topology other than the hostname."""
    return [
        (pod, term)
        for pods in pods_by_node.values()
        for pod in pods
        if pod.affinity is not None
        for term in pod.affinity.pod_anti_affinity
        if term.topology_key != HOSTNAME_LABEL
    ]


def _unmodelled(
    pod: PodRecord, neighbours: Sequence[tuple[PodRecord, PodAffinityTerm]]
) -> str | None:
    found = unsupported_constraint(pod)
    if found is not None or not neighbours:
        return found
    labels = dict(pod.labels)
    for other, term in neighbours:
        if other.key != pod.key and term_selects(term, other.namespace, pod.namespace, labels):
            return f"required pod anti-affinity of {other.key} on {term.topology_key}"
    return None


def _pod_kept(*, node: NodeRecord, group: str, pod: PodRecord, decided: PodDisposition) -> Kept:
    until = " until it completes" if decided.outcome is Outcome.WAIT else ""
    return Kept(
        node=node.name,
        group=group,
        reason=KeptReason.BLOCKED_BY_POD,
        message=f"pod {pod.key} keeps the node{until} ({decided.reason}): {decided.message}",
        blocking_pod=pod.key,
        pod_reason=decided.reason,
    )


def survey_nodes(
    *,
    nodes: Sequence[NodeRecord],
    pods_by_node: Mapping[str, tuple[PodRecord, ...]],
    groups: Mapping[str, GroupState],
    pdbs: PdbIndex,
    volumes: VolumeFacts,
    unneeded: Mapping[str, dt.datetime],
    in_progress: frozenset[str],
    now: dt.datetime,
    policy: ScaleDownNodePolicy,
    backed_off: Mapping[str, dt.datetime] | None = None,
) -> Survey:
    """Check every managed node of ``nodes`` (sorted by name) at ``now``; see the module."""
    managed = [n for n in nodes if n.group is not None and n.name not in in_progress]
    per_group, per_dc = _counted(managed)
    states = {
        name: replace(state, current_nodes=min(state.current_nodes, per_group.get(name, 0)))
        for name, state in groups.items()
    }
    usage = {n.name: requests_utilization(n, pods_by_node.get(n.name, ())) for n in managed}
    thresholds = {
        n.name: states[n.group].utilization_threshold
        for n in managed
        if n.group is not None and n.group in states
    }
    values = {name: u.value for name, u in usage.items() if name in thresholds}
    since = unneeded_since(unneeded, values, thresholds, now)
    neighbours = _neighbour_terms(pods_by_node)
    candidates: list[Candidate] = []
    kept: list[Kept] = []
    for node in managed:
        group = node.group or ""
        verdict = node_verdict(
            node,
            group=states.get(group),
            now=now,
            unneeded_since=since.get(node.name),
            utilization=usage[node.name].value,
            policy=policy,
        )
        if verdict.reason is not None:
            kept.append(Kept(node.name, group, verdict.reason, verdict.message))
            continue
        until = (backed_off or {}).get(node.name)
        if until is not None and now < until:
            message = (
                f"a drain of this node failed recently; it is not tried again before"
                f" {until.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
            )
            kept.append(Kept(node.name, group, KeptReason.DRAIN_BACKOFF, message))
            continue
        on_node = pods_by_node.get(node.name, ())
        drain = node_drainability(on_node, pdbs=pdbs.relevant(on_node), volumes=volumes, now=now)
        if drain.blocking_pod is not None and drain.blocking is not None:
            kept.append(
                _pod_kept(node=node, group=group, pod=drain.blocking_pod, decided=drain.blocking)
            )
            continue
        unmodelled = ((p, _unmodelled(p, neighbours)) for p in drain.movable)
        first = next(((p, why) for p, why in unmodelled if why is not None), None)
        if first is not None:
            pod, why = first
            message = (
                f"pod {pod.key} has {why}, which the rescheduling simulation does not model,"
                " so no place for it can be shown"
            )
            kept.append(Kept(node.name, group, KeptReason.NO_PLACE_TO_MOVE_PODS, message, pod.key))
            continue
        candidates.append(
            Candidate(
                node=node,
                group=group,
                utilization=usage[node.name].value,
                movable=drain.movable,
                unneeded_since=since.get(node.name, now),
                datacenter=datacenter_of(node),
            )
        )
    return Survey(
        candidates=tuple(candidates),
        kept=tuple(kept),
        unneeded_since=MappingProxyType(since),
        groups=MappingProxyType(states),
        datacenter_sizes=MappingProxyType(per_dc),
    )
