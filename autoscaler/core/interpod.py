"""Inter-pod predicates: required anti-affinity per hostname and host ports.

Only the constraints the planner can decide from one node's pods are simulated. Anything
whose answer depends on other nodes or on objects the snapshot lacks is named by
``unsupported_constraint``; the planner reports such a pod instead of guessing:

- required pod affinity (any topology key),
- required pod anti-affinity on a key other than ``kubernetes.io/hostname``, or with a
  non-empty ``namespaceSelector`` (namespace labels are not in the snapshot),
- topology spread constraints with ``whenUnsatisfiable: DoNotSchedule``,
- a persistent volume claim whose volume has node topology.

A running pod's term with a non-empty ``namespaceSelector`` is taken to select every
namespace: that may keep a pod off a node it could use, never put it on one it cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from autoscaler.core.predicates import HOSTNAME_LABEL, label_selector_matches
from autoscaler.core.records import HostPort, Pairs, PodAffinityTerm, PodRecord, object_key

__all__ = [
    "HostPort",
    "Peer",
    "hostname_anti_affinity",
    "peer_of",
    "peers_conflict",
    "ports_conflict",
    "term_selects",
    "unsupported_constraint",
]

_ANY_IP = ("", "0.0.0.0", "::")


def ports_conflict(a: Iterable[HostPort], b: Iterable[HostPort]) -> bool:
    """Whether two sets of host ports cannot share a node (kube-scheduler ``NodePorts``)."""
    taken = tuple(b)
    return any(
        p.port == q.port
        and p.protocol == q.protocol
        and (p.host_ip == q.host_ip or p.host_ip in _ANY_IP or q.host_ip in _ANY_IP)
        for p in a
        for q in taken
    )


def hostname_anti_affinity(pod: PodRecord) -> tuple[PodAffinityTerm, ...]:
    """Return the pod's required anti-affinity terms on ``kubernetes.io/hostname``."""
    if pod.affinity is None:
        return ()
    return tuple(t for t in pod.affinity.pod_anti_affinity if t.topology_key == HOSTNAME_LABEL)


def term_selects(
    term: PodAffinityTerm, owner_namespace: str, namespace: str, labels: Mapping[str, str]
) -> bool:
    """Whether ``term`` of a pod in ``owner_namespace`` selects a pod (namespace, labels)."""
    every_namespace = term.namespace_selector is not None  # non-empty: conservatively all
    in_scope = (
        every_namespace
        or namespace in term.namespaces
        or (not term.namespaces and namespace == owner_namespace)
    )
    return in_scope and label_selector_matches(term.label_selector, labels)


@dataclass(frozen=True, slots=True)
class Peer:
    """What inter-pod checks read of a pod: namespace, labels, terms, host ports."""

    namespace: str
    labels: Pairs
    terms: tuple[PodAffinityTerm, ...]
    ports: tuple[HostPort, ...]

    @property
    def label_map(self) -> dict[str, str]:
        """The labels as a mapping."""
        return dict(self.labels)


def peer_of(pod: PodRecord, ports: tuple[HostPort, ...] = ()) -> Peer:
    """Return the ``Peer`` of a pod with its host ports."""
    return Peer(pod.namespace, pod.labels, hostname_anti_affinity(pod), ports)


def _excludes(a: Peer, b: Peer) -> bool:
    labels = b.label_map
    return any(term_selects(t, a.namespace, b.namespace, labels) for t in a.terms)


def peers_conflict(a: Peer, b: Peer) -> bool:
    """Whether two pods cannot share a node (either anti-affinity, or a host port)."""
    return _excludes(a, b) or _excludes(b, a) or ports_conflict(a.ports, b.ports)


def unsupported_constraint(
    pod: PodRecord, volume_topology_claims: frozenset[str] = frozenset()
) -> str | None:
    """Return a description of the first constraint we do not simulate, or ``None``."""
    affinity = pod.affinity
    if affinity is not None:
        if affinity.pod_affinity:
            return f"required pod affinity on {affinity.pod_affinity[0].topology_key}"
        for term in affinity.pod_anti_affinity:
            if term.topology_key != HOSTNAME_LABEL:
                return f"required pod anti-affinity on {term.topology_key}"
            selector = term.namespace_selector
            if selector is not None and (selector.match_labels or selector.match_expressions):
                return "required pod anti-affinity with a namespaceSelector"
        for spread in affinity.topology_spread:
            if spread.when_unsatisfiable == "DoNotSchedule":
                return f"topology spread on {spread.topology_key} (DoNotSchedule)"
    for claim in pod.pvc_claims:
        if object_key(pod.namespace, claim) in volume_topology_claims:
            return f"volume with node topology (claim {claim})"
    return None
