"""Pending pods that fit on registered or upcoming nodes need no new node.

As CA's "filter out schedulable" step (and Karpenter's "existing, then in-flight"):
before any group is estimated, pending pods are placed on the free capacity of
registered nodes and then of upcoming (virtual) nodes, largest pods first, each on the
first node that passes every simulated predicate. Pods placed here are reported as fitting
and never counted twice. Cordoned and deleting nodes offer no capacity; a node that is not
Ready still does (the node lifecycle controller taints broken nodes, and the taint check
keeps pods off them), as a registering node soon will.

Nodes with the same taints and the same values of the label keys that pending pods select
on form a *profile*, checked once per class; a class that names nodes (hostname or
``metadata.name``) is checked node by node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autoscaler.core.equivalence import PodClass
from autoscaler.core.interpod import Peer
from autoscaler.core.predicates import HOSTNAME_LABEL, node_mismatch
from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.core.resources_math import as_pod_request, sub, total
from autoscaler.core.sim_nodes import Demand, NodePool
from autoscaler.core.snapshot import ClusterSnapshot

__all__ = ["Absorbed", "absorb", "names_nodes"]


@dataclass(frozen=True, slots=True)
class Absorbed:
    """Where pending pods fit on existing capacity, and what is left."""

    placements: tuple[tuple[int, str, int], ...]
    """(class index, node name, pods) in placement order."""
    remaining: tuple[int, ...]
    """Pods of each class (by index) still without a place."""


def names_nodes(pod: PodRecord) -> bool:
    """Whether the pod's node constraints mention a node's name or hostname."""
    if any(k == HOSTNAME_LABEL for k, _ in pod.node_selector):
        return True
    terms = pod.affinity.node_terms if pod.affinity is not None else ()
    return any(
        t.match_fields or any(r.key == HOSTNAME_LABEL for r in t.match_expressions) for t in terms
    )


def _selected_keys(classes: Sequence[PodClass]) -> frozenset[str]:
    """Label keys that some class's ``nodeSelector`` or node affinity reads."""
    keys: set[str] = set()
    for cls in classes:
        pod = cls.representative
        keys.update(k for k, _ in pod.node_selector)
        for term in pod.affinity.node_terms if pod.affinity is not None else ():
            keys.update(r.key for r in term.match_expressions)
    return frozenset(keys - {HOSTNAME_LABEL})


def _profile(node: NodeRecord, keys: frozenset[str]) -> tuple[object, ...]:
    return (tuple(kv for kv in node.labels if kv[0] in keys), node.taints)


def _usable(node: NodeRecord) -> bool:
    return not node.unschedulable and node.deletion_timestamp is None


def absorb(
    snapshot: ClusterSnapshot,
    classes: Sequence[PodClass],
    *,
    dims: tuple[str, ...],
    peers_by_node: Mapping[str, Sequence[Peer]] | None,
) -> Absorbed:
    """Place pods of the supported ``classes`` on registered, then upcoming, nodes.

    ``peers_by_node`` holds the peers of the pods on each node, or is ``None`` when no
    inter-pod check is needed.
    """
    interpod = peers_by_node is not None
    keys = _selected_keys(classes)
    pools: dict[tuple[object, ...], tuple[NodePool, list[NodeRecord]]] = {}
    for node in (*snapshot.nodes, *snapshot.upcoming):
        if not _usable(node):
            continue
        pods = snapshot.pods_by_node.get(node.name, ())
        free = sub(node.allocatable, total(as_pod_request(p.requests) for p in pods))
        pool, members = pools.setdefault(_profile(node, keys), (NodePool(interpod=interpod), []))
        pool.open(node.name, free, dims, (peers_by_node or {}).get(node.name, ()))
        members.append(node)
    remaining = [c.size for c in classes]
    placements: list[tuple[int, str, int]] = []
    order = sorted(
        (c for c in classes if c.unsupported is None),
        key=lambda c: (-c.request.cpu_m, -c.request.memory, c.index),
    )
    for cls in order:
        d = Demand.of(cls.request, dims, cls.peer if interpod else None, cls.self_exclusive)
        per_node = names_nodes(cls.representative)
        for pool, members in pools.values():
            if remaining[cls.index] == 0:
                break
            if not per_node and _mismatch(cls, members[0]):
                continue
            start = 0
            while remaining[cls.index]:
                leaf = pool.first_fit(d, start)
                if leaf < 0:
                    break
                start = leaf + 1
                if per_node and _mismatch(cls, members[leaf]):
                    continue
                k = min(remaining[cls.index], pool.copies(leaf, d))
                pool.place(leaf, d, k, cls.index)
                remaining[cls.index] -= k
                placements.append((cls.index, pool.names[leaf], k))
    return Absorbed(tuple(placements), tuple(remaining))


def _mismatch(cls: PodClass, node: NodeRecord) -> bool:
    labels = dict(node.labels)
    found = node_mismatch(
        cls.representative, labels=labels, taints=node.taints, node_name=node.name
    )
    return found is not None
