"""An order of pending pods that mixes CPU-heavy and memory-heavy ones.

First-fit decreasing puts the copies of a class side by side, so a node full of CPU-heavy
pods keeps its memory idle while memory-heavy pods open nodes of their own: with two such
classes FFD can need 1.7x the nodes of a mix. ``interleave`` splits the classes into
CPU-heavy and memory-heavy ones (relative to the node's free CPU and memory), keeps each
list largest first, and always takes the next pod from the list that evens out the CPU
and memory used so far; first-fit over that order packs close to the lower bound. The
order is built from runs of one class, so equal pods in a row are placed at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from autoscaler.core.equivalence import PodClass
from autoscaler.core.records import Resources

__all__ = ["interleave"]


def _split(
    ordered: Sequence[tuple[PodClass, int]], scale_cpu: int, scale_mem: int
) -> tuple[list[PodClass], list[int], list[PodClass], list[int]]:
    cpu_classes: list[PodClass] = []
    cpu_counts: list[int] = []
    mem_classes: list[PodClass] = []
    mem_counts: list[int] = []
    for cls, count in ordered:
        if cls.request.cpu_m * scale_cpu >= cls.request.memory * scale_mem:
            cpu_classes.append(cls)
            cpu_counts.append(count)
        else:
            mem_classes.append(cls)
            mem_counts.append(count)
    return cpu_classes, cpu_counts, mem_classes, mem_counts


def interleave(
    ordered: Sequence[tuple[PodClass, int]], free: Resources
) -> list[tuple[PodClass, int]]:
    """Return runs ``(class, pods)`` of ``ordered`` (largest first) mixing the two kinds.

    CPU and memory are compared as fractions of ``free``, exactly: ``cpu * free_mem``
    against ``memory * free_cpu``. Pods are taken one kind at a time until the used CPU
    and memory cross over, as a pod-by-pod alternation would, but counted in bulk.
    """
    scale_cpu, scale_mem = max(free.memory, 1), max(free.cpu_m, 1)
    classes = _split(ordered, scale_cpu, scale_mem)
    kinds = ((classes[0], classes[1]), (classes[2], classes[3]))
    heads = [0, 0]
    used = [0, 0]  # scaled CPU, scaled memory
    runs: list[tuple[PodClass, int]] = []
    while heads[0] < len(kinds[0][0]) or heads[1] < len(kinds[1][0]):
        if heads[1] == len(kinds[1][0]):
            side = 0
        elif heads[0] == len(kinds[0][0]):
            side = 1
        else:
            side = 1 if used[0] >= used[1] else 0
        members, counts = kinds[side]
        cls, left = members[heads[side]], counts[heads[side]]
        amounts = (cls.request.cpu_m * scale_cpu, cls.request.memory * scale_mem)
        other_left = heads[1 - side] < len(kinds[1 - side][0])
        lead = amounts[side]
        if other_left and lead > 0:
            gap = used[1 - side] - used[side]
            # smallest count that makes this side lead (side 0 must reach, side 1 pass)
            take = max(1, -(-gap // lead) if side == 0 else gap // lead + 1)
            take = min(left, take)
        else:
            take = left
        used[0] += amounts[0] * take
        used[1] += amounts[1] * take
        if runs and runs[-1][0] is cls:
            runs[-1] = (cls, runs[-1][1] + take)
        else:
            runs.append((cls, take))
        counts[heads[side]] = left - take
        if left == take:
            heads[side] += 1
    return runs
