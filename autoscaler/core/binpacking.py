"""How many new nodes of one group the pending pods need: first-fit decreasing.

As CA's ``BinpackingNodeEstimator``: pod classes are sorted by ``cpu/alloc + mem/alloc``
of the group's template (largest first; compared exactly, as integers), and each pod goes
onto the first new node with room, a new template copy being opened only when none has.
A class is placed in bulk: as many of its pods as fit on the found node at once. The
estimate stops opening nodes at ``cap`` (group headroom, limits, per-scale-up cap); the
pods left over are reported by the caller with the reason of that cap.

``template_mismatch`` is the static check of one class against an empty template node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autoscaler.core.equivalence import PodClass
from autoscaler.core.interpod import Peer, peers_conflict, ports_conflict
from autoscaler.core.mixing import interleave
from autoscaler.core.predicates import Mismatch, node_mismatch
from autoscaler.core.reasons import Reason
from autoscaler.core.resources_math import shortfall
from autoscaler.core.sim_nodes import Demand, NodePool
from autoscaler.core.snapshot import GroupView

__all__ = [
    "Estimate",
    "constraint_mismatch",
    "estimate",
    "ffd_order",
    "overcommitted",
    "refine",
    "resource_mismatch",
    "template_mismatch",
]


def constraint_mismatch(
    cls: PodClass, view: GroupView, ds_peers: Sequence[Peer]
) -> Mismatch | None:
    """Return why no new node of ``view`` admits ``cls`` whatever its size, or ``None``.

    The checks run in kube-scheduler's order: taints, node affinity, host ports, then
    anti-affinity with the template's DaemonSet pods.
    """
    found = node_mismatch(
        cls.representative,
        labels=dict(view.labels),
        taints=view.taints,
        node_name=view.template_hostname,
    )
    if found is not None:
        return found
    if any(ports_conflict(cls.peer.ports, ds.ports) for ds in ds_peers):
        return Reason.HOST_PORT_CONFLICT, ""
    if any(peers_conflict(cls.peer, ds) for ds in ds_peers):
        return Reason.POD_ANTI_AFFINITY, ""
    return None


def overcommitted(view: GroupView) -> Mismatch | None:
    """Return ``InsufficientResources`` if the DaemonSets alone overfill a new node.

    Such a node takes no pod at all, even one that requests none of the CPU or memory
    its DaemonSets already overrun.
    """
    over = [name for name, v in (("cpu", view.free.cpu_m), ("memory", view.free.memory)) if v < 0]
    if not over:
        return None
    return Reason.INSUFFICIENT_RESOURCES, f"{', '.join(over)} (DaemonSet overhead)"


def resource_mismatch(cls: PodClass, view: GroupView) -> Mismatch | None:
    """Return ``InsufficientResources`` if one pod exceeds an empty node of ``view``."""
    missing = shortfall(cls.request, view.free)
    if missing:
        return Reason.INSUFFICIENT_RESOURCES, ", ".join(missing)
    return overcommitted(view)


def template_mismatch(cls: PodClass, view: GroupView, ds_peers: Sequence[Peer]) -> Mismatch | None:
    """Return why no new node of ``view`` can take a pod of ``cls``, or ``None``."""
    return constraint_mismatch(cls, view, ds_peers) or resource_mismatch(cls, view)


@dataclass(frozen=True, slots=True)
class Estimate:
    """New nodes of one group and which pods they take."""

    node_count: int
    placed: tuple[tuple[int, int], ...]
    """(class index, pods placed), by class index; classes with none left out."""
    nodes: tuple[tuple[tuple[int, int], ...], ...]
    """Per new node: (class index, pods) in placement order."""
    capped: bool
    """Some pods were left because no further node could be opened."""

    @property
    def pod_count(self) -> int:
        """Pods placed."""
        return sum(n for _, n in self.placed)


def ffd_order(
    demands: Sequence[tuple[PodClass, int]], view: GroupView
) -> list[tuple[PodClass, int]]:
    """Sort classes by ``cpu/alloc + mem/alloc`` of the template, largest first.

    The sum is compared as ``cpu * alloc_mem + mem * alloc_cpu``, exactly; ties keep the
    class order.
    """
    alloc_cpu, alloc_mem = max(view.free.cpu_m, 1), max(view.free.memory, 1)
    return sorted(
        demands,
        key=lambda d: (
            -(d[0].request.cpu_m * alloc_mem + d[0].request.memory * alloc_cpu),
            d[0].index,
        ),
    )


def _first_fit(
    view: GroupView,
    runs: Sequence[tuple[PodClass, int]],
    *,
    cap: int,
    dims: tuple[str, ...],
    ds_peers: Sequence[Peer] | None,
) -> Estimate:
    """First-fit of ``runs`` (class, pods) in their order onto new nodes of ``view``."""
    interpod = ds_peers is not None
    pool = NodePool(interpod=interpod)
    placed: dict[int, int] = {}
    starts: dict[int, int] = {}  # per class: nodes before it cannot take the class any more
    demands: dict[int, Demand] = {}
    capped = False
    for cls, count in runs:
        d = demands.get(cls.index)
        if d is None:
            peer = cls.peer if interpod else None
            d = demands[cls.index] = Demand.of(cls.request, dims, peer, cls.self_exclusive)
        left, start = count, starts.get(cls.index, 0)
        while left:
            leaf = pool.first_fit(d, start)
            if leaf < 0:
                if len(pool) >= cap:
                    capped = True
                    break
                leaf = pool.open("", view.free, dims, ds_peers or ())
            k = min(left, pool.copies(leaf, d))
            if k <= 0:  # only a fresh node that cannot take the pod; never after the check
                raise AssertionError(f"class {cls.index} does not fit an empty {view.name} node")
            pool.place(leaf, d, k, cls.index)
            placed[cls.index] = placed.get(cls.index, 0) + k
            left -= k
            start = leaf
        starts[cls.index] = start
    return Estimate(
        node_count=len(pool),
        placed=tuple(sorted(placed.items())),
        nodes=tuple(tuple(p) for p in pool.placements),
        capped=capped,
    )


def estimate(
    view: GroupView,
    demands: Sequence[tuple[PodClass, int]],
    *,
    cap: int,
    dims: tuple[str, ...],
    ds_peers: Sequence[Peer] | None,
) -> Estimate:
    """First-fit decreasing of ``demands`` ((class, pods) that pass ``template_mismatch``).

    ``dims`` are the extra resource dimensions in play; ``ds_peers`` the DaemonSet peers of
    a new node, or ``None`` when no inter-pod check is needed.
    """
    ordered = ffd_order(demands, view)
    return _first_fit(view, ordered, cap=cap, dims=dims, ds_peers=ds_peers)


def refine(
    view: GroupView,
    demands: Sequence[tuple[PodClass, int]],
    first: Estimate,
    *,
    cap: int,
    dims: tuple[str, ...],
    ds_peers: Sequence[Peer] | None,
) -> Estimate:
    """Return ``first`` or first-fit over a CPU/memory-mixing order, whichever places
    more pods, then on fewer nodes (``mixing``); run once, for the chosen group."""
    runs = interleave(ffd_order(demands, view), view.free)
    mixed = _first_fit(view, runs, cap=cap, dims=dims, ds_peers=ds_peers)
    if (mixed.pod_count, -mixed.node_count) > (first.pod_count, -first.node_count):
        return mixed
    return first
