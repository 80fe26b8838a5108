"""The demo's second part: shrink the workload and follow the scale-down until it settles.

``scale_down(stack, printer, up=..., ...)`` picks the pods that stay, shrinks the workload
(``demo.shrink``), then polls (pods, nodes, Events, NodeGroups and the daemon's metrics)
and prints what changes until ``demo.settle`` finds nothing left moving, or ``timeout``
passes. It returns the outcome for the summary and, if it did not settle, what was still
moving.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Hashable
from decimal import Decimal

from demo import scenario
from demo.metrics import Metrics, scrape
from demo.observe import Pod, Reading, read
from demo.progress import Printer
from demo.progress_down import down_changes, down_status
from demo.settle import QUIET_PASSES, fingerprint, unsettled
from demo.shrink import apply_shrink, survivors
from demo.stack import Stack
from demo.summary_down import DownOutcome, describe_shrink
from tests.testenv import ApiError

POLL = 0.5
K5 = "K5"
GONE = "deleted"
DEAD = frozenset({GONE, "failed"})


def scale_down(
    stack: Stack,
    printer: Printer,
    *,
    up: Reading,
    cost_before: Decimal | None,
    applied: float,
    timeout: float,
) -> tuple[DownOutcome, list[str]]:
    """Shrink the workload and follow the scale-down; see the module docstring."""
    shrink, want = scenario.SHRINK, scenario.pods_after_shrink()
    keep = survivors(up, shrink)
    shrunk_wall, shrunk = dt.datetime.now(dt.UTC), time.monotonic()
    apply_shrink(stack.api, stack.place.workload_namespace, keep, shrink)
    _tell(printer, up, keep, elapsed=shrunk - applied)
    printer.switch(want=want, changes=down_changes, status=down_status)
    before = {n.name for n in up.nodes}
    reading, metrics = up, None
    first_removed: float | None = None
    last_seen: Hashable = None
    changed_at = 0  # scale-down passes run when the last change was seen
    waits = ["nothing read yet"]
    while True:
        stack.check_alive()
        now = time.monotonic()
        try:
            reading = read(stack.api, stack.place, now - applied, scale_down=True)
            metrics = scrape(stack.daemon.metrics_url) if stack.daemon else None
        except (ApiError, OSError):  # a slow answer on a busy machine: try again
            pass
        else:
            if metrics is not None:
                kept = sorted((g, why, n) for (g, why), n in metrics.unremovable.items())
                reading = dataclasses.replace(reading, kept=tuple(kept))
            printer.update(reading)
            if first_removed is None and before - {n.name for n in reading.nodes}:
                first_removed = now - shrunk
            passes = metrics.down_passes if metrics else 0
            if fingerprint(reading) != last_seen:
                last_seen, changed_at = fingerprint(reading), passes
            waits = unsettled(reading, want=want, quiet_passes=passes - changed_at)
            if not waits:
                break
        if now - shrunk > timeout:
            break
        time.sleep(POLL)
    printer.finish()
    settled = None if waits else time.monotonic() - shrunk
    if settled is not None:
        printer.say(
            f"settled: the daemon keeps every node left for a reason that no short timer will"
            f" change, and {QUIET_PASSES} scale-down passes ran without a change",
            time.monotonic() - applied,
        )
    outcome = _outcome(
        stack,
        reading=reading,
        metrics=metrics,
        shrunk_wall=shrunk_wall,
        first_removed=first_removed,
        settled=settled,
        cost_before=cost_before,
    )
    return outcome, waits


def _tell(printer: Printer, up: Reading, keep: tuple[Pod, ...], *, elapsed: float) -> None:
    shrink = scenario.SHRINK
    nodes = sorted({p.node for p in keep})
    left = len([p for p in up.pods if p.app == shrink.scale]) - len(keep)
    printer.say(
        f"workload shrunk at t+{elapsed:.1f}s ({describe_shrink()};"
        f" {scenario.pods_after_shrink()} pods remain):"
    )
    printer.say(
        f"  {shrink.scale}: the {len(keep)} pods that stay are on {shrink.spread} nodes"
        f" {', '.join(nodes)}; the demo raises their pod-deletion-cost, so the ReplicaSet"
        f" deletes the other {left} and those nodes are left underutilized rather than empty"
    )
    for name in shrink.delete:
        gone = sum(1 for p in up.pods if p.app == name)
        printer.say(f"  {name}: Deployment deleted with its {gone} pods")
    for w in scenario.WORKLOADS:
        if w.name != shrink.scale and w.name not in shrink.delete:
            printer.say(f"  {w.name}: {w.replicas} pods, unchanged")


def _outcome(
    stack: Stack,
    *,
    reading: Reading,
    metrics: Metrics | None,
    shrunk_wall: dt.datetime,
    first_removed: float | None,
    settled: float | None,
    cost_before: Decimal | None,
) -> DownOutcome:
    deleted = left = deletes = calls = 0
    if stack.sim is not None:
        log = stack.sim.calls()["calls"]
        calls = len(log)
        deletes = sum(
            1
            for c in log
            if c.get("route_id") == K5
            and c.get("status") == 200
            and dt.datetime.fromisoformat(c["at"]) >= shrunk_wall
        )
        workers = [m for m in stack.sim.state()["vms"] if m["kind"] == "worker"]
        deleted = sum(
            1
            for m in workers
            if m["state"] == GONE and dt.datetime.fromisoformat(m["gone_at"]) >= shrunk_wall
        )
        left = sum(1 for m in workers if m["state"] not in DEAD)
    return DownOutcome(
        final=reading,
        first_removed_s=first_removed,
        settled_s=settled,
        cost_before=cost_before,
        workers_deleted=deleted,
        workers_left=left,
        delete_calls=deletes,
        vpsie_calls=calls,
        metrics=metrics,
    )
