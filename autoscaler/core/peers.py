"""The inter-pod side of one planning pass: whether it is needed, and the peers per node.

Inter-pod checks cost a lookup per pod already on a node, so they run only when some pod
in the snapshot has hostname anti-affinity or host ports. Running pods whose anti-affinity
uses a topology we do not simulate (a zone, say) make the pending pods they select
``UnsupportedConstraint``: placing those pods anywhere could be wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from autoscaler.core.equivalence import PodClass
from autoscaler.core.interpod import Peer, hostname_anti_affinity, peer_of, term_selects
from autoscaler.core.predicates import HOSTNAME_LABEL
from autoscaler.core.records import PodRecord
from autoscaler.core.snapshot import ClusterSnapshot

__all__ = ["InterPod", "any_anti_affinity", "inter_pod", "mark_unsimulated_neighbours"]


def _bound(snapshot: ClusterSnapshot) -> Iterable[PodRecord]:
    for pods in snapshot.pods_by_node.values():
        yield from pods
    for view in snapshot.groups:
        yield from view.daemonsets


def any_anti_affinity(snapshot: ClusterSnapshot) -> bool:
    """Whether any pod (pending, bound or DaemonSet) has required anti-affinity."""
    pods = (*snapshot.pending, *_bound(snapshot))
    return any(p.affinity is not None and p.affinity.pod_anti_affinity for p in pods)


@dataclass(frozen=True, slots=True)
class InterPod:
    """Peers of the pods on every node and on each group's new nodes."""

    by_node: dict[str, tuple[Peer, ...]]
    by_group: dict[str, tuple[Peer, ...]]


def inter_pod(snapshot: ClusterSnapshot, classes: Sequence[PodClass]) -> InterPod | None:
    """Return the peers of this pass, or ``None`` when no inter-pod check can matter."""
    ports = snapshot.host_ports
    bound_matters = any(hostname_anti_affinity(p) or p.key in ports for p in _bound(snapshot))
    if not bound_matters and not any(c.peer.terms or c.peer.ports for c in classes):
        return None
    shared: dict[Peer, Peer] = {}

    def peers(pods: Iterable[PodRecord]) -> tuple[Peer, ...]:
        found = (peer_of(p, ports.get(p.key, ())) for p in pods)
        return tuple({id(q): q for q in (shared.setdefault(p, p) for p in found)}.values())

    by_node = {name: peers(pods) for name, pods in snapshot.pods_by_node.items()}
    by_group = {v.name: peers(v.daemonsets) for v in snapshot.groups}
    return InterPod(by_node, by_group)


def mark_unsimulated_neighbours(
    snapshot: ClusterSnapshot, classes: Sequence[PodClass]
) -> tuple[PodClass, ...]:
    """Return ``classes``, marking those that a running pod's unsimulated anti-affinity
    (a topology key other than hostname) selects as unsupported."""
    terms = [
        (pod, term)
        for pod in _bound(snapshot)
        if pod.affinity is not None
        for term in pod.affinity.pod_anti_affinity
        if term.topology_key != HOSTNAME_LABEL
    ]
    if not terms:
        return tuple(classes)
    marked = []
    for cls in classes:
        labels = cls.peer.label_map
        hit = next(
            (
                (pod, term)
                for pod, term in terms
                if term_selects(term, pod.namespace, cls.peer.namespace, labels)
            ),
            None,
        )
        if cls.unsupported is None and hit is not None:
            pod, term = hit
            note = f"required pod anti-affinity of {pod.key} on {term.topology_key}"
            marked.append(replace(cls, unsupported=note))
        else:
            marked.append(cls)
    return tuple(marked)
