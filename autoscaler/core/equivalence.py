"""Equivalence classes of pending pods: one scheduling check serves the whole class.

Pods are equivalent when they have the same owner (controller kind and name, namespace),
the same effective requests and the same scheduling constraints (tolerations,
``nodeSelector``, affinity, host ports), as in CA's pod equivalence groups. A pod without
a controller is a class of its own. Labels join the key only when some pod in the cluster
has anti-affinity, since only then can two pods of one owner be told apart by a node.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from autoscaler.core.interpod import (
    HostPort,
    Peer,
    peer_of,
    peers_conflict,
    unsupported_constraint,
)
from autoscaler.core.records import PodRecord, Resources
from autoscaler.core.resources_math import as_pod_request

__all__ = ["PodClass", "equivalence_classes"]


@dataclass(frozen=True, slots=True)
class PodClass:
    """Pods that the simulation cannot tell apart, in key order."""

    index: int
    """Position in the class list: the order of each class's first pod key."""
    pods: tuple[PodRecord, ...]
    request: Resources
    """One pod's request, with at least one pod slot."""
    peer: Peer
    """Namespace, labels, hostname anti-affinity terms and host ports of the class."""
    unsupported: str | None
    """A constraint we do not simulate, or ``None``."""
    self_exclusive: bool
    """Two pods of the class cannot share a node (anti-affinity or host ports)."""

    @property
    def representative(self) -> PodRecord:
        """The first pod of the class."""
        return self.pods[0]

    @property
    def size(self) -> int:
        """The number of pods."""
        return len(self.pods)


def _key(
    pod: PodRecord, ports: tuple[HostPort, ...], unsupported: str | None, by_labels: bool
) -> Hashable:
    owner = (pod.owner_kind, pod.owner_name) if pod.owner_name else ("", pod.key)
    return (
        pod.namespace,
        owner,
        pod.requests,
        pod.tolerations,
        pod.node_selector,
        pod.affinity,
        ports,
        unsupported,
        pod.labels if by_labels else None,
    )


def equivalence_classes(
    pods: Iterable[PodRecord],
    *,
    host_ports: Mapping[str, tuple[HostPort, ...]],
    volume_topology_claims: frozenset[str] = frozenset(),
    by_labels: bool = False,
) -> tuple[PodClass, ...]:
    """Return the classes of ``pods`` (given in key order), ordered by first pod."""
    members: dict[Hashable, list[PodRecord]] = {}
    extras: dict[Hashable, tuple[tuple[HostPort, ...], str | None]] = {}
    for pod in pods:
        ports = tuple(sorted(host_ports.get(pod.key, ())))
        unsupported = unsupported_constraint(pod, volume_topology_claims)
        key = _key(pod, ports, unsupported, by_labels)
        group = members.get(key)
        if group is None:
            members[key] = [pod]
            extras[key] = (ports, unsupported)
        else:
            group.append(pod)
    classes = []
    for index, (key, group) in enumerate(members.items()):
        ports, unsupported = extras[key]
        first = group[0]
        peer = peer_of(first, ports)
        classes.append(
            PodClass(
                index=index,
                pods=tuple(group),
                request=as_pod_request(first.requests),
                peer=peer,
                unsupported=unsupported,
                self_exclusive=bool(peer.terms or peer.ports) and peers_conflict(peer, peer),
            )
        )
    return tuple(classes)
