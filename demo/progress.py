"""Live progress: what changed between two readings, as lines, and a one-line status.

Pure. ``changes(before, after)`` says what happened (a scale-up decision, VPSieNodes
requested, Nodes joined or Ready, a Deployment fully Running); ``status(reading)`` counts
pods and nodes. ``Printer`` writes both: on a terminal the status line is redrawn in place
under the change lines; otherwise it is printed only when it changes, one line each.
``Printer.switch`` hands it other functions of the same shape (the scale-down's).
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TextIO

from demo.observe import FAILED, NOT_TRIGGERED, READY, TRIGGERED, Reading

CLEAR = "\r\x1b[K"
Changes = Callable[[Reading, Reading], list[str]]
Status = Callable[[Reading, int], str]


def stamp(elapsed: float) -> str:
    """``[t+ 12.3s]``: seconds since the workload was applied."""
    return f"[t+{elapsed:5.1f}s]"


def status(r: Reading, want: int) -> str:
    """Pods (unscheduled, starting, running) and nodes (requested, joined, Ready)."""
    phases = Counter(v.phase for v in r.vnodes if v.phase not in (READY, FAILED))
    upcoming = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items()))
    return (
        f"pods {r.running}/{want} running, {r.unscheduled} unschedulable, {r.starting} starting"
        f" | nodes {r.requested} requested{f' ({upcoming})' if upcoming else ''},"
        f" {len(r.nodes)} joined, {r.ready_nodes} Ready"
    )


def changes(before: Reading, after: Reading) -> list[str]:
    """What happened between two readings, oldest kind first (decisions, nodes, pods)."""
    apps = {p.name: p.app for p in after.pods}
    lines = []
    for reason, text in ((TRIGGERED, "scale-up"), (NOT_TRIGGERED, "no scale-up")):
        seen = {e.message for e in before.events if e.reason == reason}
        by_message: defaultdict[str, set[str]] = defaultdict(set)
        for e in after.events:
            if e.reason == reason and e.message not in seen:
                by_message[e.message].add(apps.get(e.pod, e.pod))
        lines += [
            f"{text} for {', '.join(sorted(pods))} pods: {_short(message)}"
            for message, pods in by_message.items()
        ]
    old = {v.name for v in before.vnodes}
    new: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for v in after.vnodes:
        if v.name not in old:
            new[(v.group, v.decision)].append(v.name)
    for (group, decision), names in sorted(new.items()):
        why = f" (decision {decision})" if decision else ""
        lines.append(f"VPSieNodes requested in {group}: +{len(names)}{why}")
    failed_before = {v.name for v in before.vnodes if v.phase == FAILED}
    lines += [
        f"VPSieNode {v.name} failed"
        for v in after.vnodes
        if v.phase == FAILED and v.name not in failed_before
    ]
    joined = {n.name for n in before.nodes}
    ready = {n.name for n in before.nodes if n.ready}
    new_nodes = [n for n in after.nodes if n.name not in joined]
    new_ready = [n for n in after.nodes if n.ready and n.name not in ready]
    for what, nodes in (("joined", new_nodes), ("Ready", new_ready)):
        if nodes:
            per_group = Counter(after.group_of(n) or "(no group yet)" for n in nodes)
            counts = ", ".join(f"{g} +{k}" for g, k in sorted(per_group.items()))
            lines.append(f"Nodes {what}: {counts}")
    lines += _deployments_running(before, after)
    return lines


def _deployments_running(before: Reading, after: Reading) -> list[str]:
    def complete(r: Reading) -> set[str]:
        total = Counter(p.app for p in r.pods)
        running = Counter(p.app for p in r.pods if p.running)
        return {app for app, n in total.items() if running[app] == n}

    total = Counter(p.app for p in after.pods)
    nodes = {a: {p.node for p in after.pods if p.app == a} for a in total}
    return [
        f"{app}: all {total[app]} pods Running on {len(nodes[app])} node(s)"
        for app in sorted(complete(after) - complete(before))
    ]


def _short(message: str) -> str:
    """An Event message without the pod's own words ("pod triggered scale-up: ")."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.startswith("pod ") else message


class Printer:
    """Writes change lines and the status line; see the module docstring."""

    def __init__(self, out: TextIO, *, want: int, tty: bool | None = None) -> None:
        self.out = out
        self.want = want
        self.tty = out.isatty() if tty is None else tty
        self.last: Reading | None = None
        self.last_status = ""
        self._drawn = False
        self._changes: Changes = changes
        self._status: Status = status

    def switch(self, *, want: int, changes: Changes, status: Status) -> None:
        """Describe the readings from now on with ``changes`` and ``status``, for ``want``
        pods; the next reading is compared with the last one."""
        self.finish()
        self.want = want
        self._changes = changes
        self._status = status
        self.last_status = ""

    def say(self, line: str, elapsed: float | None = None) -> None:
        """One line of its own (above the status line on a terminal)."""
        prefix = f"{stamp(elapsed)} " if elapsed is not None else ""
        self._write(f"{CLEAR if self._drawn else ''}{prefix}{line}\n")
        self._drawn = False

    def update(self, r: Reading) -> None:
        """Print what changed since the last reading, then the status."""
        before = self.last or Reading(elapsed=0.0)
        for line in self._changes(before, r):
            self.say(line, r.elapsed)
        self.last = r
        line = self._status(r, self.want)
        if self.tty:  # one screen row, or a wrapped remainder would stay behind
            width = shutil.get_terminal_size().columns - 1
            self._write(f"{CLEAR}{f'{stamp(r.elapsed)} {line}'[:width]}")
            self._drawn = True
        elif line != self.last_status:
            self.say(line, r.elapsed)
        self.last_status = line

    def finish(self) -> None:
        """End a redrawn status line so that what follows starts on a line of its own."""
        if self._drawn:
            self._write("\n")
            self._drawn = False

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
