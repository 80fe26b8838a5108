"""Scale-down planning: ``plan_scale_down(...) -> ScaleDownPlan`` (architecture §6).

1. Every managed node is checked (``scale_down_candidates``): utilization and
   ``unneeded_since``, the node checks, the pod rules, constraints the simulation does not
   model. The nodes that pass are candidates.
2. Candidates are considered cheapest first, by named weights (``scale_down_order``).
3. For each candidate in turn, the first check that fails keeps it:

   - ``NodeGroupMinSizeReached``: its group would go below ``minNodes``, counting the
     removals already chosen in this pass;
   - ``ScaleDownBudgetExceeded``: this pass already deletes ``max_empty_bulk_delete`` empty
     nodes (no pod to move), or drains ``max_drain_parallelism`` nodes, those in progress
     included;
   - ``BlockedByPod`` (``NotEnoughPdb``): the PDB budgets left after the pods of the nodes
     already chosen do not cover its pods;
   - ``NoPlaceToMovePods``: its pods do not all fit on the nodes that remain
     (``rescheduling.Remainder``): every node but those chosen so far, those in progress,
     the candidate itself, and those not Ready, cordoned or being deleted.

   A candidate that passes is removed; where its pods went stays, so later candidates see
   them. Removing the last capacity is impossible while pods must move: the last node's
   pods find no place.

Pure and deterministic: no clock (``now`` is an argument), no I/O, the same inputs in any
order give the same plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from autoscaler.core.drainability import BlockReason, VolumeFacts
from autoscaler.core.node_eligibility import GroupState, KeptReason
from autoscaler.core.quantity import format_int, format_milli
from autoscaler.core.records import NodeRecord, PdbRecord, PodRecord
from autoscaler.core.rescheduling import Remainder, Stranded, is_destination
from autoscaler.core.scale_down_candidates import index_pods, survey_nodes
from autoscaler.core.scale_down_order import Candidate, CandidateQueue
from autoscaler.core.scale_down_pdbs import PdbIndex, PdbLedger
from autoscaler.core.scale_down_plan import (
    Kept,
    PodMove,
    Removal,
    ScaleDownPlan,
    ScaleDownPolicy,
)

__all__ = ["plan_scale_down"]

_CHECKED = "resources and pod count, taints, node selector and affinity, hostname"
_CHECKED += " anti-affinity, host ports"


def _stranded_message(stranded: Stranded) -> str:
    if stranded.destinations == 0:
        return "no other node can take pods, so the pods of this node would have nowhere to go"
    pod = stranded.pod
    size = f"cpu {format_milli(pod.requests.cpu_m)}, memory {format_int(pod.requests.memory)}"
    origin = stranded.moved_from
    came = f", moved here from node {origin} earlier in this pass," if origin else ""
    return (
        f"pod {pod.key} ({size}){came} fits on none of the {stranded.destinations}"
        f" remaining nodes ({_CHECKED} checked)"
    )


class _Pass:
    """The mutable state of one pass over the candidates; lives only in ``plan_scale_down``."""

    def __init__(
        self,
        *,
        groups: Mapping[str, GroupState],
        remainder: Remainder,
        pdbs: PdbIndex,
        policy: ScaleDownPolicy,
        drains_in_progress: int,
    ) -> None:
        self.groups = groups
        self.left = {name: g.current_nodes for name, g in groups.items()}
        self.remainder = remainder
        self.ledger = PdbLedger(pdbs)
        self.policy = policy
        self.drains_in_progress = max(drains_in_progress, 0)
        self.empty: list[Candidate] = []
        self.drain: list[Candidate] = []

    def _min_size(self, c: Candidate) -> str | None:
        group = self.groups[c.group]
        left = self.left[c.group]
        if left - 1 >= group.min_nodes:
            return None
        chosen = group.current_nodes - left
        return (
            f"node group {c.group} keeps its minimum of {group.min_nodes} node(s): {left} are"
            f" left after the {chosen} removal(s) already chosen in this pass"
        )

    def _budget(self, c: Candidate) -> str | None:
        policy = self.policy
        if not c.movable:
            if len(self.empty) < policy.max_empty_bulk_delete:
                return None
            return (
                f"this pass already deletes {len(self.empty)} empty node(s), as many as"
                f" max_empty_bulk_delete ({policy.max_empty_bulk_delete}) allows;"
                " tried again next pass"
            )
        draining = self.drains_in_progress + len(self.drain)
        if draining < policy.max_drain_parallelism:
            return None
        return (
            f"{self.drains_in_progress} drain(s) in progress and {len(self.drain)} chosen in"
            f" this pass use all that max_drain_parallelism ({policy.max_drain_parallelism})"
            " allows; its pods were not simulated; tried again next pass"
        )

    def consider(self, c: Candidate) -> Kept | None:
        """Remove ``c`` if it passes every check (module docstring, step 3), else say why."""
        found = self._min_size(c)
        if found is not None:
            return Kept(c.name, c.group, KeptReason.NODE_GROUP_MIN_SIZE_REACHED, found)
        found = self._budget(c)
        if found is not None:
            return Kept(c.name, c.group, KeptReason.SCALE_DOWN_BUDGET_EXCEEDED, found)
        over, wanted = self.ledger.check(c.movable)
        if over is not None:
            pod, pdb = over
            message = (
                f"pod {pod.key} keeps the node ({BlockReason.NOT_ENOUGH_PDB}): PDB {pdb.key}"
                f" allows {pdb.disruptions_allowed} disruption(s), spent on pods of nodes"
                " chosen earlier in this pass"
            )
            return Kept(
                c.name,
                c.group,
                KeptReason.BLOCKED_BY_POD,
                message,
                pod.key,
                BlockReason.NOT_ENOUGH_PDB,
            )
        stranded = self.remainder.remove(c.name, c.movable)
        if stranded is not None:
            why = _stranded_message(stranded)
            return Kept(c.name, c.group, KeptReason.NO_PLACE_TO_MOVE_PODS, why, stranded.pod.key)
        self.ledger.spend(wanted)
        self.left[c.group] -= 1
        (self.drain if c.movable else self.empty).append(c)
        return None

    def removal(self, c: Candidate) -> Removal:
        """The chosen candidate ``c`` with the final destination of each of its pods."""
        moves = []
        for pod in c.movable:
            destination = self.remainder.destination_of(pod.key)
            if destination is None:  # remove() placed every pod of a chosen candidate
                raise AssertionError(f"pod {pod.key} of removed node {c.name} has no place")
            moves.append(PodMove(pod, destination))
        return Removal(c.name, c.group, c.utilization, tuple(moves))


def _counts(kept: Iterable[Kept]) -> Mapping[str, Mapping[KeptReason, int]]:
    counts: dict[str, dict[KeptReason, int]] = {}
    for k in kept:
        per_group = counts.setdefault(k.group, {})
        per_group[k.reason] = per_group.get(k.reason, 0) + 1
    return MappingProxyType(
        {g: MappingProxyType(dict(sorted(c.items()))) for g, c in sorted(counts.items())}
    )


def plan_scale_down(
    *,
    nodes: Iterable[NodeRecord],
    pods: Iterable[PodRecord],
    groups: Mapping[str, GroupState],
    pdbs: Iterable[PdbRecord],
    volumes: VolumeFacts,
    unneeded_since: Mapping[str, dt.datetime],
    in_progress: frozenset[str],
    drains_in_progress: int = 0,
    backed_off: Mapping[str, dt.datetime] | None = None,
    now: dt.datetime,
    policy: ScaleDownPolicy,
) -> ScaleDownPlan:
    """Return which nodes to delete or drain at ``now``, and why every other one stays.

    ``groups`` by name; ``unneeded_since`` the map of the previous pass's plan;
    ``in_progress`` the nodes already being drained or deleted (neither candidates nor
    capacity); ``drains_in_progress`` how many drains run now (they use the drain budget);
    ``backed_off`` the nodes a drain failed on recently, each with the end of its back-off
    (kept with ``DrainBackoff`` until then, and still capacity for other nodes' pods).
    """
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    ordered = tuple(sorted(nodes, key=lambda n: n.name))
    by_node = index_pods(pods)
    pdb_index = PdbIndex(pdbs)
    survey = survey_nodes(
        nodes=ordered,
        pods_by_node=by_node,
        groups=groups,
        pdbs=pdb_index,
        volumes=volumes,
        unneeded=unneeded_since,
        in_progress=in_progress,
        now=now,
        policy=policy.node,
        backed_off=backed_off,
    )
    remainder = Remainder(
        nodes=(n for n in ordered if is_destination(n) and n.name not in in_progress),
        pods_by_node=by_node,
        candidates=frozenset(c.name for c in survey.candidates),
        moving=[p for c in survey.candidates for p in c.movable],
    )
    queue = CandidateQueue(
        survey.candidates,
        weights=policy.weights,
        group_sizes={name: g.current_nodes for name, g in survey.groups.items()},
        datacenter_sizes=survey.datacenter_sizes,
        now=now,
    )
    run = _Pass(
        groups=survey.groups,
        remainder=remainder,
        pdbs=pdb_index,
        policy=policy,
        drains_in_progress=drains_in_progress,
    )
    kept = list(survey.kept)
    for candidate in queue.in_order():
        found = run.consider(candidate)
        if found is None:
            queue.removed(candidate)
        else:
            kept.append(found)
    kept.sort(key=lambda k: k.node)
    return ScaleDownPlan(
        empty=tuple(run.removal(c) for c in run.empty),
        drain=tuple(run.removal(c) for c in run.drain),
        kept=tuple(kept),
        unneeded_since=survey.unneeded_since,
        kept_counts=_counts(kept),
    )
