"""The scale-down part of the closing summary: removals, evictions, what stays and why, and
the monthly cost before and after. Pure formatting.

``DownOutcome`` holds what the demo recorded once the cluster settled after the shrink;
``render_down(outcome)`` turns it into lines that follow ``demo.summary.render``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from demo import scenario
from demo.metrics import Metrics
from demo.observe import Reading
from demo.summary import money, monthly_total, nodes_table


@dataclass(frozen=True)
class DownOutcome:
    """Everything the scale-down summary shows; ``None`` where a value could not be read."""

    final: Reading
    first_removed_s: float | None  # from the shrink
    settled_s: float | None  # from the shrink
    cost_before: Decimal | None = None  # the scale-up summary's total
    workers_deleted: int = 0  # the simulator's workers gone since the shrink
    workers_left: int = 0
    delete_calls: int = 0  # K5 answered 200 (repeated until the worker is gone)
    vpsie_calls: int = 0
    metrics: Metrics | None = None

    @property
    def cost_after(self) -> dict[str, str]:
        """Each group's ``status.monthlyCost`` in the last reading."""
        return {g.name: g.monthly_cost for g in self.final.groups if g.monthly_cost is not None}


def describe_shrink(shrink: scenario.Shrink = scenario.SHRINK) -> str:
    """``web 12 -> 3 pods, Deployment batch deleted``."""
    scaled = scenario.workload(shrink.scale)
    gone = ", ".join(f"Deployment {name} deleted" for name in shrink.delete)
    return f"{scaled.name} {scaled.replicas} -> {shrink.keep} pods" + (f", {gone}" if gone else "")


def render_down(o: DownOutcome) -> list[str]:
    """The scale-down summary, one string per line."""
    lines = [f"  scale-down          after the shrink ({describe_shrink()})"]
    lines += _removals(o.metrics)
    rows = [
        ("workload shrunk -> first node removed", _seconds(o.first_removed_s)),
        ("workload shrunk -> cluster settled", _seconds(o.settled_s)),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines.append("    latency")
    lines += [f"      {label:<{width}}{value}" for label, value in rows]
    lines.append(
        f"    VPSie workers     {o.workers_deleted} deleted, {o.workers_left} left (simulator);"
        f" {o.delete_calls} delete calls (repeated until the worker is gone),"
        f" {o.vpsie_calls} calls in all"
    )
    lines.append("  nodes kept and why (NodeGroup status.keptSummary)")
    named = max((len(g.name) for g in o.final.groups), default=0) + 2
    lines += [f"    {g.name:<{named}}{g.kept_summary or '(none yet)'}" for g in o.final.groups]
    lines.append("  nodes and monthly cost after the scale-down")
    lines += nodes_table(o.final, o.cost_after)
    after = monthly_total(o.final, o.cost_after)
    lines.append("  monthly cost        " + _change(o.cost_before, after))
    return lines


def _removals(m: Metrics | None) -> list[str]:
    if m is None:
        return ["    daemon metrics    (could not be read)"]
    per_group: dict[str, list[str]] = {}
    for (group, reason), n in sorted(m.scaled_down.items()):
        per_group.setdefault(group, []).append(f"{n} {reason}")
    removed = "; ".join(f"{g}: {', '.join(parts)}" for g, parts in per_group.items())
    total = sum(m.scaled_down.values())
    lines = [
        f"    nodes removed     {total}{f' ({removed})' if removed else ''}"
        " (metric scaled_down_nodes_total)"
    ]
    evicted = ", ".join(f"{n} {result}" for result, n in sorted(m.evicted.items())) or "none"
    lines.append(f"    pods evicted      {evicted} (metric evicted_pods_total)")
    d = m.drains
    if d is not None and d.mean is not None:
        bound = "" if d.max_bound == float("inf") else f", all <= {d.max_bound:g} s"
        lines.append(
            f"    drains            {d.count}, mean {d.mean:.2f} s{bound}"
            " (metric drain_duration_seconds, empty nodes included)"
        )
    failed = ", ".join(f"{g} {r} {n}" for (g, r), n in sorted(m.failed_down.items())) or "none"
    lines.append(f"    failed removals   {failed} (metric failed_scale_downs_total)")
    return lines


def _change(before: Decimal | None, after: Decimal) -> str:
    if before is None:
        return f"{money(after)} after the scale-down"
    text = f"{money(before)} after the scale-up -> {money(after)} after the scale-down"
    if before > 0 and after <= before:
        saved = before - after
        text += f" ({money(saved)} or {saved / before:.0%} less)"
    return text


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"
