"""Live progress of the scale-down: what changed between two readings, and a status line.

Pure, like ``demo.progress``, whose ``Printer`` writes these lines once the workload has
shrunk. ``down_changes(before, after)`` says which nodes the autoscaler began to remove
(its ``ScaleDown`` Events: "removing the node: empty | underutilized ..."), which pods it
evicted and where their replacements run, which Nodes are gone and why, and any
``ScaleDownFailed``, and why the daemon's last pass keeps the other nodes, when that
changes. Only Events of Nodes seen in one of the two readings count.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from demo.observe import READY, SCALE_DOWN, SCALE_DOWN_FAILED, NodeEvent, Reading

_REMOVING = re.compile(
    r"removing the node: (?:empty|underutilized \((?P<u>[\d.]+)\));"
    r" (?P<n>\d+) pod\(s\) to move(?:: (?P<moves>.*))?"
)


@dataclass(frozen=True)
class Removal:
    """A node the autoscaler began to remove, from its ``ScaleDown`` Event."""

    node: str
    utilization: float | None  # None: empty
    pods: int
    moves: tuple[tuple[str, str], ...] = ()  # (pod name, planned destination)

    @property
    def empty(self) -> bool:
        """Whether no pod had to move."""
        return self.utilization is None

    @property
    def reason(self) -> str:
        """``empty`` or ``underutilized`` (the ``scaled_down_nodes_total`` label)."""
        return "empty" if self.empty else "underutilized"


def removal_of(event: NodeEvent) -> Removal | None:
    """The removal an Event announces, or None for any other Event."""
    found = _REMOVING.fullmatch(event.message) if event.reason == SCALE_DOWN else None
    if found is None:
        return None
    moves = []
    for move in (found["moves"] or "").removesuffix(" ...").split(", "):
        pod, arrow, where = move.partition(" -> ")
        if arrow:
            moves.append((pod.rpartition("/")[2], where))
    u = found["u"]
    return Removal(event.node, None if u is None else float(u), int(found["n"]), tuple(moves))


def removals(r: Reading) -> dict[str, Removal]:
    """Per node, the removal its Events announce (the last one read, if several)."""
    return {rm.node: rm for e in r.node_events if (rm := removal_of(e)) is not None}


def down_status(r: Reading, want: int) -> str:
    """Pods running and pending; nodes by the phase of their VPSieNode."""
    phases = Counter(v.phase for v in r.vnodes if v.phase != READY)
    busy = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items()))
    return (
        f"pods {r.running} running (want {want}), {len(r.pods) - r.running} pending"
        f" | nodes {len(r.nodes)}{f' ({busy})' if busy else ''}, {r.ready_nodes} Ready"
    )


def down_changes(before: Reading, after: Reading) -> list[str]:
    """What happened between two readings: removals begun, pods moved, Nodes gone."""
    group = {n.name: r.group_of(n) for r in (before, after) for n in r.nodes}
    seen = {e.name for e in before.node_events}
    new = sorted(
        (e for e in after.node_events if e.name not in seen and e.node in group),
        key=lambda e: e.node,
    )
    lines: list[str] = []
    empty: defaultdict[str, list[str]] = defaultdict(list)
    for e in new:
        rm = removal_of(e)
        if rm is not None and rm.empty:
            empty[group[e.node]].append(e.node)
        elif rm is not None:
            moves = ", ".join(f"{pod} (planned for {where})" for pod, where in rm.moves)
            lines.append(
                f"scale-down in {group[e.node]}: draining node {e.node} (underutilized,"
                f" {rm.utilization:.2f}): {rm.pods} pod(s) to move{f': {moves}' if moves else ''}"
            )
        elif e.reason == SCALE_DOWN_FAILED:
            lines.append(f"scale-down in {group[e.node]}: node {e.node} stays: {e.message}")
    lines[:0] = [
        f"scale-down in {g}: removing {len(nodes)} empty node(s): {', '.join(nodes)}"
        for g, nodes in sorted(empty.items())
    ]
    return lines + _pods(before, after) + _nodes_gone(before, after, group) + _kept(before, after)


def _kept(before: Reading, after: Reading) -> list[str]:
    if after.kept == before.kept or not after.kept:
        return []
    per_group: defaultdict[str, list[str]] = defaultdict(list)
    for g, reason, n in after.kept:
        per_group[g].append(f"{n} {reason}")
    shown = "; ".join(f"{g} {', '.join(parts)}" for g, parts in sorted(per_group.items()))
    return [f"the last scale-down pass keeps: {shown}"]


def _pods(before: Reading, after: Reading) -> list[str]:
    draining = {n for n, rm in (removals(before) | removals(after)).items() if not rm.empty}
    now = {p.name for p in after.pods}
    gone = [p for p in before.pods if p.name not in now]
    lines = [f"pod {p.name} evicted from node {p.node}" for p in gone if p.node in draining]
    deleted = Counter(p.app for p in gone if p.node not in draining)
    if deleted:
        lines.append("pods deleted: " + ", ".join(f"{a} {n}" for a, n in sorted(deleted.items())))
    was_running = {p.name for p in before.pods if p.running}
    known = {p.name for p in before.pods}
    lines += [
        f"{'pod' if p.name in known else 'new pod'} {p.name} Running on node {p.node}"
        for p in after.pods
        if p.running and p.name not in was_running
    ]
    return lines


def _nodes_gone(before: Reading, after: Reading, group: dict[str, str]) -> list[str]:
    now = {n.name for n in after.nodes}
    why = removals(before) | removals(after)
    lines = []
    for n in before.nodes:
        if n.name in now:
            continue
        rm = why.get(n.name)
        if rm is None:
            what = ""
        elif rm.empty:
            what = " (empty)"
        else:
            what = f" (underutilized, {rm.pods} pod(s) moved)"
        lines.append(f"scale-down in {group[n.name] or '?'}: node {n.name} removed{what}")
    return lines
