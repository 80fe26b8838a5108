"""When the scale-down has settled: the condition the demo waits for. Pure.

``unsettled(...)`` lists what is still moving; the cluster has settled when it lists
nothing, that is when

* exactly ``want`` pods exist and all of them run;
* no VPSieNode is ``Draining`` or ``Deleting``;
* the daemon's last pass accounted for every Node of each group (``Reading.kept``, its
  ``unremovable_nodes_count``, adds up to the group's Nodes), and kept each
  for a reason that the next seconds do not change: not one of the demo's short timers
  (``NotUnneededLongEnough``, ``RecentlyScaledUp``), a pass's budget or a node in
  transition (``WAITING``). ``DrainBackoff`` is not among them: after a failed drain the
  node stays for minutes, and the summary shows it with its reason;
* each group's ``status.keptSummary`` counts the same Nodes, none "being removed";
* ``QUIET_PASSES`` scale-down passes have run since anything last changed (``fingerprint``).
"""

from __future__ import annotations

import re
from collections.abc import Hashable

from autoscaler.core.node_eligibility import KeptReason
from demo.observe import DELETING, DRAINING, Reading

QUIET_PASSES = 2
WAITING = frozenset(
    reason.value
    for reason in (
        KeptReason.NOT_UNNEEDED_LONG_ENOUGH,
        KeptReason.RECENTLY_SCALED_UP,
        KeptReason.SCALE_DOWN_BUDGET_EXCEEDED,
        KeptReason.CURRENTLY_BEING_DELETED,
        KeptReason.NODE_NOT_READY,
        KeptReason.UNEXPECTED_ERROR,
    )
)
_KEPT = re.compile(r"(\d+) node\(s\) kept")


def fingerprint(r: Reading) -> Hashable:
    """What changes when a pod or a node comes, goes, moves or changes phase."""
    return (
        tuple((p.name, p.node, p.running) for p in r.pods),
        tuple(n.name for n in r.nodes),
        tuple((v.name, v.phase) for v in r.vnodes),
    )


def kept_count(summary: str | None) -> int | None:
    """The nodes a ``keptSummary`` counts, or None if it is unset or has removals running."""
    found = _KEPT.match(summary or "")
    if found is None or "being removed" in (summary or ""):
        return None
    return int(found[1])


def unsettled(r: Reading, *, want: int, quiet_passes: int) -> list[str]:
    """What keeps the cluster from being settled (see the module); empty when it is.

    ``r.kept`` is the last pass's kept nodes; ``quiet_passes`` how many passes have run
    since the last change.
    """
    waits = []
    if len(r.pods) != want or r.running != want:
        waits.append(f"{r.running} of {want} pods running ({len(r.pods)} exist)")
    busy = sorted(v.name for v in r.vnodes if v.phase in (DRAINING, DELETING))
    if busy:
        waits.append(f"{len(busy)} node(s) being removed ({', '.join(busy)})")
    for g in r.groups:
        nodes = sum(1 for n in r.nodes if r.group_of(n) == g.name)
        kept = {reason: n for group, reason, n in r.kept if group == g.name}
        if sum(kept.values()) != nodes:
            waits.append(
                f"{g.name}: the last pass accounted for {sum(kept.values())} of {nodes} node(s)"
            )
        timers = [f"{n} {reason}" for reason, n in sorted(kept.items()) if reason in WAITING]
        if timers:
            waits.append(f"{g.name}: kept for now: {', '.join(timers)}")
        if kept_count(g.kept_summary) != nodes:
            waits.append(f"{g.name}: status.keptSummary not up to date ({g.kept_summary!r})")
    if quiet_passes < QUIET_PASSES:
        waits.append(f"{quiet_passes} of {QUIET_PASSES} scale-down passes without a change")
    return waits
