"""Scale-up planning: ``plan_scale_up(snapshot, *, policy, now) -> ScaleUpPlan`` (§6).

1. Pending pods are grouped into equivalence classes; a class whose constraints we do not
   simulate is reported ``UnsupportedConstraint`` and never planned.
2. Pods that fit on registered or upcoming nodes are placed there and reported as such.
3. Each group is checked per class (group state, then template predicates).
4. In rounds: every open group gets a first-fit-decreasing estimate for the pods it may
   take, capped by its headroom (``maxNodes``, the per-scale-up cap, cluster limits); the
   expander chain picks one, whose packing is refined (``binpacking.refine``); its pods are
   settled and the others try again. At most one round per group.
5. Every pod gets a decision; for every group not used for it, a reason.

Pure and deterministic: the same snapshot, policy and ``now`` give the same plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from autoscaler.core.binpacking import Estimate, estimate, refine
from autoscaler.core.eligibility import Eligibility, group_reason
from autoscaler.core.equivalence import PodClass, equivalence_classes
from autoscaler.core.expanders import Candidate, choose
from autoscaler.core.limits import ClusterUsage, Headroom, cluster_usage, headroom
from autoscaler.core.peers import (
    InterPod,
    any_anti_affinity,
    inter_pod,
    mark_unsimulated_neighbours,
)
from autoscaler.core.policy import Expander, ScaleUpPolicy
from autoscaler.core.predicates import Mismatch
from autoscaler.core.reasons import Reason
from autoscaler.core.scale_up_assembly import Segment, assemble
from autoscaler.core.scale_up_plan import ScaleUpPlan
from autoscaler.core.schedulable import absorb
from autoscaler.core.sim_nodes import extra_dims
from autoscaler.core.snapshot import ClusterSnapshot, GroupView

__all__ = ["plan_scale_up"]

_CHOSE_OTHER: Mismatch = (Reason.EXPANDER_CHOSE_OTHER, "")


def _candidate(view: GroupView, est: Estimate, classes: Sequence[PodClass]) -> Candidate:
    capacity = view.option.template.limit_capacity
    cpu = sum(classes[c].request.cpu_m * k for c, k in est.placed)
    memory = sum(classes[c].request.memory * k for c, k in est.placed)
    return Candidate(
        group=view.name,
        priority=view.option.priority,
        node_count=est.node_count,
        pod_count=est.pod_count,
        requested_cpu_m=cpu,
        requested_memory=memory,
        node_cpu_m=capacity.cpu_m,
        node_memory=capacity.memory,
        monthly_price=view.option.price,
    )


class _Search:
    """The mutable state of the rounds; lives only inside ``plan_scale_up``."""

    def __init__(
        self,
        snapshot: ClusterSnapshot,
        classes: Sequence[PodClass],
        remaining: Sequence[int],
        *,
        inter: InterPod | None,
        dims: tuple[str, ...],
        now: dt.datetime,
    ) -> None:
        self.views = snapshot.groups
        self.classes = classes
        self.remaining = list(remaining)
        self.inter = inter
        self.dims = dims
        self.reasons: list[dict[int, Mismatch]] = [{} for _ in classes]
        self.segments: list[list[Segment]] = [[] for _ in classes]
        self.chosen: list[tuple[int, Estimate]] = []
        self.eligible: list[list[int]] = [[] for _ in self.views]
        self._cache: dict[object, Estimate] = {}
        checks = Eligibility(self.views, inter.by_group if inter else None)
        blocked = [group_reason(view, now) for view in self.views]
        self.open = [g for g, why in enumerate(blocked) if why is None]
        for cls in classes:
            if cls.unsupported is not None or not self.remaining[cls.index]:
                continue
            reasons = self.reasons[cls.index]
            for g, found in enumerate(checks.verdicts(cls)):
                why = blocked[g] or found
                if why is None:
                    self.eligible[g].append(cls.index)
                else:
                    reasons[g] = why

    def _estimate(self, g: int, cap: int, demands: list[tuple[PodClass, int]]) -> Estimate:
        view = self.views[g]
        ds = self.inter.by_group[view.name] if self.inter else None
        key = (view.free, ds, cap, tuple((c.index, n) for c, n in demands))
        found = self._cache.get(key)
        if found is None:
            found = estimate(view, demands, cap=cap, dims=self.dims, ds_peers=ds)
            self._cache[key] = found
        return found

    def _helpful(
        self, policy: ScaleUpPolicy, usage: ClusterUsage, budget: int
    ) -> list[tuple[int, list[tuple[PodClass, int]], Headroom]]:
        """Open groups with pods to take and room to grow; the others get their reason.

        When the chain starts with ``priority``, only the top priority is estimated: the
        others could not win this round (they are told the expander chose another).
        """
        helpful = []
        for g in self.open:
            demands = [(self.classes[c], self.remaining[c]) for c in self.eligible[g]]
            demands = [(c, n) for c, n in demands if n]
            if not demands:
                continue
            room = headroom(self.views[g], usage=usage, limits=policy.limits, budget=budget)
            if room.nodes == 0:
                for cls, _ in demands:
                    self.reasons[cls.index][g] = (room.reason, "")
                continue
            helpful.append((g, demands, room))
        if helpful and policy.expanders and policy.expanders[0] is Expander.PRIORITY:
            top = max(self.views[g].option.priority for g, _, _ in helpful)
            for g, demands, _ in helpful:
                if self.views[g].option.priority < top:
                    for cls, _ in demands:
                        self.reasons[cls.index][g] = _CHOSE_OTHER
            helpful = [h for h in helpful if self.views[h[0]].option.priority == top]
        return helpful

    def _settle(
        self, g: int, est: Estimate, demands: list[tuple[PodClass, int]], room: Headroom
    ) -> None:
        """Record, for each class ``g`` was offered, whether ``est`` took all its pods."""
        placed = dict(est.placed)
        capped: Mismatch = (room.reason, "")
        for cls, n in demands:
            full = placed.get(cls.index, 0) == n
            self.reasons[cls.index][g] = _CHOSE_OTHER if full else capped

    def run(self, policy: ScaleUpPolicy, snapshot: ClusterSnapshot) -> None:
        """Choose groups round by round until no open group can help a pending pod."""
        usage, budget = cluster_usage(snapshot), policy.max_nodes_per_scale_up
        while True:
            offers = {}
            candidates = []
            for g, demands, room in self._helpful(policy, usage, budget):
                view = self.views[g]
                est = self._estimate(g, room.nodes, demands)
                self._settle(g, est, demands, room)
                offers[view.name] = (g, est, demands, room)
                candidates.append(_candidate(view, est, self.classes))
            if not candidates:
                return
            g, est, demands, room = offers[choose(candidates, policy.expanders).group]
            ds = self.inter.by_group[self.views[g].name] if self.inter else None
            est = refine(self.views[g], demands, est, cap=room.nodes, dims=self.dims, ds_peers=ds)
            self._settle(g, est, demands, room)
            for c, k in est.placed:
                others = {h: r for h, r in self.reasons[c].items() if h != g}
                self.segments[c].append(Segment(len(self.chosen), k, others))
                self.remaining[c] -= k
            self.chosen.append((g, est))
            usage = usage.plus(self.views[g], est.node_count)
            budget -= est.node_count
            self.open.remove(g)


def plan_scale_up(
    snapshot: ClusterSnapshot, *, policy: ScaleUpPolicy, now: dt.datetime
) -> ScaleUpPlan:
    """Return which groups to grow, by how much, and a decision for every pending pod."""
    classes = equivalence_classes(
        snapshot.pending,
        host_ports=snapshot.host_ports,
        volume_topology_claims=snapshot.volume_topology_claims,
        by_labels=any_anti_affinity(snapshot),
    )
    classes = mark_unsimulated_neighbours(snapshot, classes)
    inter = inter_pod(snapshot, classes)
    dims = extra_dims(c.request for c in classes)
    absorbed = absorb(snapshot, classes, dims=dims, peers_by_node=inter.by_node if inter else None)
    search = _Search(snapshot, classes, absorbed.remaining, inter=inter, dims=dims, now=now)
    search.run(policy, snapshot)
    return assemble(
        snapshot,
        classes,
        absorbed=absorbed,
        chosen=search.chosen,
        segments=search.segments,
        reasons=search.reasons,
    )
