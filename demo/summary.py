"""The closing summary of the scale-up: decisions, latencies, nodes and monthly cost. Pure.

``Outcome`` holds what the demo recorded when every pod ran (the last reading, the
NodeGroups' status, the simulator's create calls, the daemon's metrics); ``render(outcome)``
turns it into lines. ``demo.summary_down`` adds the scale-down's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from demo import scenario
from demo.metrics import Histogram, Metrics
from demo.observe import FAILED, NOT_TRIGGERED, TRIGGERED, Reading

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Outcome:
    """Everything the summary shows; ``None`` where a value could not be read."""

    want: int
    final: Reading
    all_running_s: float | None
    first_create_s: float | None = None
    creates: int = 0
    vpsie_calls: int = 0
    monthly_cost: dict[str, str] = field(default_factory=dict)  # NodeGroup status.monthlyCost
    metrics: Metrics | None = None


def render(o: Outcome) -> list[str]:
    """The summary, one string per line."""
    lines = ["Summary"]
    lines += _decisions(o)
    lines += _latencies(o)
    lines += _nodes(o)
    return lines


def _decisions(o: Outcome) -> list[str]:
    per_decision: dict[str, Counter[str]] = {}
    for v in o.final.vnodes:
        per_decision.setdefault(v.decision or "(none)", Counter())[v.group] += 1
    lines = [f"  scale-up decisions  {len(per_decision)} (VPSieNode annotation decision)"]
    for decision, groups in per_decision.items():
        grown = ", ".join(f"{g} +{n}" for g, n in sorted(groups.items()))
        lines.append(f"    {decision}: {grown}")
    triggered = {e.pod for e in o.final.events if e.reason == TRIGGERED}
    not_triggered = {e.pod for e in o.final.events if e.reason == NOT_TRIGGERED}
    lines.append(
        f"  pod Events          {len(triggered)} pods TriggeredScaleUp,"
        f" {len(not_triggered)} pods NotTriggerScaleUp"
    )
    m = o.metrics
    if m is None:
        lines.append("  daemon metrics      (could not be read)")
        return lines
    outcomes = ", ".join(f"{k}={v}" for k, v in sorted(m.decisions.items())) or "none recorded"
    lines.append(f"  daemon decisions    {outcomes} (metric scale_up_decisions_total)")
    return lines


def _latencies(o: Outcome) -> list[str]:
    rows = [
        ("workload applied -> first VPSie create call", _seconds(o.first_create_s)),
        (f"workload applied -> all {o.want} pods Running", _seconds(o.all_running_s)),
    ]
    if o.metrics is not None:
        latency = _histogram(o.metrics.latency, "pods", "s")
        rows.append(("pod unschedulable -> its node's create call", latency))
        rows.append(
            ("planning pass (snapshot and plan)", _histogram(o.metrics.planning, "passes", "ms"))
        )
    width = max(len(label) for label, _ in rows) + 2
    lines = ["  latency"]
    lines += [f"    {label:<{width}}{value}" for label, value in rows]
    lines.append(f"  VPSie calls         {o.creates} creates (add worker), {o.vpsie_calls} in all")
    return lines


def _nodes(o: Outcome) -> list[str]:
    return ["  nodes and monthly cost", *nodes_table(o.final, o.monthly_cost)]


def nodes_table(r: Reading, monthly_cost: dict[str, str]) -> list[str]:
    """Per group: plan, price, nodes, Ready, monthly cost (``monthly_cost`` by group, else
    nodes x price) and where the pods run; then the totals."""
    rows = [("group", "plan", "per node", "nodes", "Ready", "monthly", "pods running there")]
    placed = _placement(r)
    counted = Counter(v.group for v in r.vnodes if v.phase != FAILED)
    ready = Counter(r.group_of(n) for n in r.nodes if n.ready)
    total_nodes = total_ready = 0
    total_cost = Decimal(0)
    estimated = False
    for g in scenario.GROUPS:
        cost_text = monthly_cost.get(g.name)
        if cost_text is None:
            cost, estimated = g.plan.monthly * counted[g.name], True
        else:
            cost = Decimal(cost_text)
        total_nodes += counted[g.name]
        total_ready += ready[g.name]
        total_cost += cost
        rows.append(
            (
                g.name,
                g.plan.name,
                money(g.plan.monthly),
                str(counted[g.name]),
                str(ready[g.name]),
                money(cost) + ("*" if cost_text is None else ""),
                placed.get(g.name, "-"),
            )
        )
    rows.append(("total", "", "", str(total_nodes), str(total_ready), money(total_cost), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if i in (0, 1, 6) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("    " + "  ".join(cells).rstrip())
    source = "NodeGroup status.monthlyCost"
    if estimated:
        source += "; * = nodes x plan price (no status yet)"
    lines.append(f"    (monthly: {source})")
    return lines


def monthly_total(r: Reading, monthly_cost: dict[str, str]) -> Decimal:
    """The groups' monthly cost as ``nodes_table`` totals it."""
    counted = Counter(v.group for v in r.vnodes if v.phase != FAILED)
    return sum(
        (
            Decimal(monthly_cost[g.name])
            if g.name in monthly_cost
            else g.plan.monthly * counted[g.name]
            for g in scenario.GROUPS
        ),
        Decimal(0),
    )


def _placement(r: Reading) -> dict[str, str]:
    """Per NodeGroup, how many running pods of each Deployment its nodes hold."""
    group_of = {n.name: r.group_of(n) for n in r.nodes}
    counts: dict[str, Counter[str]] = {}
    for p in r.pods:
        if p.running:
            counts.setdefault(group_of.get(p.node, "?"), Counter())[p.app] += 1
    return {g: ", ".join(f"{app} {n}" for app, n in sorted(c.items())) for g, c in counts.items()}


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def money(value: Decimal) -> str:
    """``$123.00``."""
    return f"${value.quantize(CENTS)}"


def _histogram(h: Histogram | None, noun: str, unit: str) -> str:
    if h is None or h.mean is None:
        return "no observations"
    scale = 1000.0 if unit == "ms" else 1.0
    bound = "" if h.max_bound == float("inf") else f", all <= {h.max_bound * scale:g} {unit}"
    return f"{h.count} {noun}, mean {h.mean * scale:.2f} {unit}{bound} (daemon metric)"
