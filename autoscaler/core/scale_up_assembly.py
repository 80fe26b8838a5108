"""Turning the planner's per-class bookkeeping into per-pod decisions.

Pods of one class are interchangeable, so they are handed out in key order: first to the
registered and upcoming nodes that absorbed them, then to the new nodes of each chosen
group in the order the groups were chosen; the rest did not trigger a scale-up. Reason
records are shared between pods with the same reasons, so a plan for 10k pods stays small.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from autoscaler.core.binpacking import Estimate
from autoscaler.core.equivalence import PodClass
from autoscaler.core.predicates import Mismatch
from autoscaler.core.reasons import Disposition, Reason
from autoscaler.core.scale_up_plan import GroupReason, GroupScaleUp, PodDecision, ScaleUpPlan
from autoscaler.core.schedulable import Absorbed
from autoscaler.core.snapshot import ClusterSnapshot

__all__ = ["Segment", "assemble", "new_node_name"]

_CHOSE_OTHER: Mismatch = (Reason.EXPANDER_CHOSE_OTHER, "")


@dataclass(frozen=True, slots=True)
class Segment:
    """Pods of one class settled on the group chosen in one round."""

    round: int
    """Index into the chosen (group, estimate) list."""
    count: int
    others: dict[int, Mismatch]
    """Reasons of the other groups, as they stood when the group was chosen."""


def new_node_name(group: str, index: int) -> str:
    """The plan's name for the ``index``-th new node of ``group``."""
    return f"{group}-new-{index}"


class _Reasons:
    """Shared ``GroupReason`` records and tuples of them."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = names
        self._one: dict[tuple[int, Mismatch], GroupReason] = {}
        self._tuples: dict[tuple[int | None, tuple[Mismatch, ...]], tuple[GroupReason, ...]] = {}

    def of(self, reasons: dict[int, Mismatch], skip: int | None) -> tuple[GroupReason, ...]:
        """Return the records for ``reasons`` (group index -> reason), leaving out ``skip``."""
        whys = tuple(reasons.get(h, _CHOSE_OTHER) for h in range(len(self.names)))
        found = self._tuples.get((skip, whys))
        if found is None:
            out = []
            for h, why in enumerate(whys):
                if h != skip:
                    record = self._one.get((h, why))
                    if record is None:
                        record = self._one[h, why] = GroupReason(self.names[h], *why)
                    out.append(record)
            found = self._tuples[skip, whys] = tuple(out)
        return found


def _slots(est: Estimate) -> dict[int, list[tuple[int, int]]]:
    """Per class, the (new node index, pods) it has in the estimate."""
    slots: dict[int, list[tuple[int, int]]] = {}
    for j, node in enumerate(est.nodes):
        for c, count in node:
            slots.setdefault(c, []).append((j, count))
    return slots


def assemble(
    snapshot: ClusterSnapshot,
    classes: Sequence[PodClass],
    *,
    absorbed: Absorbed,
    chosen: Sequence[tuple[int, Estimate]],
    segments: Sequence[Sequence[Segment]],
    reasons: Sequence[dict[int, Mismatch]],
) -> ScaleUpPlan:
    """Return the plan: scale-ups in the order chosen, a decision per pod by key."""
    views = snapshot.groups
    shared = _Reasons([v.name for v in views])
    upcoming = {n.name: n.group for n in snapshot.upcoming}
    fitted: dict[int, list[tuple[str, int]]] = {}
    for c, node, count in absorbed.placements:
        fitted.setdefault(c, []).append((node, count))
    slots = [_slots(est) for _, est in chosen]
    keys: list[list[list[str]]] = [[[] for _ in est.nodes] for _, est in chosen]
    decisions: list[PodDecision] = []
    for cls in classes:
        pods: Iterator[str] = (p.key for p in cls.pods)
        if cls.unsupported is not None:
            why = dict.fromkeys(range(len(views)), (Reason.UNSUPPORTED_CONSTRAINT, cls.unsupported))
            not_taken = shared.of(why, None)
            decisions.extend(
                PodDecision(
                    k, Disposition.NO_SCALE_UP, not_taken=not_taken, unsupported=cls.unsupported
                )
                for k in pods
            )
            continue
        for node, count in fitted.get(cls.index, ()):
            group = upcoming.get(node)
            kind = Disposition.FITS_EXISTING if group is None else Disposition.FITS_UPCOMING
            decisions.extend(PodDecision(next(pods), kind, node, group) for _ in range(count))
        for seg in segments[cls.index]:
            g, _ = chosen[seg.round]
            group = views[g].name
            not_taken = shared.of(seg.others, g)
            for j, count in slots[seg.round][cls.index]:
                node = new_node_name(group, j)
                for _ in range(count):
                    key = next(pods)
                    keys[seg.round][j].append(key)
                    decisions.append(PodDecision(key, Disposition.SCALE_UP, node, group, not_taken))
        final = shared.of(reasons[cls.index], None)
        decisions.extend(PodDecision(k, Disposition.NO_SCALE_UP, not_taken=final) for k in pods)
    decisions.sort(key=lambda d: d.pod)
    scale_ups = tuple(
        GroupScaleUp(
            group=views[g].name,
            nodes=est.node_count,
            size_before=views[g].size,
            new_nodes=tuple(tuple(node) for node in keys[r]),
        )
        for r, (g, est) in enumerate(chosen)
    )
    return ScaleUpPlan(scale_ups=scale_ups, pods=tuple(decisions))
