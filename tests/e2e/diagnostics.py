"""What an e2e failure report shows, and what a test leaves in its directory.

``summary`` draws the world (NodeGroups, VPSieNodes, the simulator's machines, Nodes,
Events, and the phase history the recorder kept); ``call_log_tail`` lists the simulator's
last calls; ``keep_artefacts`` writes both, with the simulator's state and whole call log,
into the test's ``tmp_path`` before the processes stop.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from tests.e2e import invariants as inv
from tests.testenv.objects import is_node_ready

if TYPE_CHECKING:
    from tests.e2e.harness import E2E


def summary(e2e: E2E) -> str:
    """A readable picture of the world; each part is best effort."""
    rec = e2e.recorder
    lines = [
        f"namespace {e2e.ns.name}; groups {e2e.groups}; foreign workers {sorted(e2e.foreign)}",
        f"settings the daemon does not know (not passed): {e2e.dropped_settings}",
        f"recorder: {rec.polls} polls, {rec.errors} errors {rec.last_error}",
    ]
    parts: list[Callable[[], Iterable[str]]] = [
        lambda: _nodegroups(e2e),
        lambda: _vpsienodes(e2e),
        lambda: _machines(e2e),
        lambda: _nodes(e2e),
        lambda: _events(e2e),
        lambda: _history(e2e),
    ]
    for part in parts:
        with contextlib.suppress(Exception):
            lines += list(part())
    return "\n".join(lines)


def _nodegroups(e2e: E2E) -> Iterable[str]:
    for g in e2e.nodegroups():
        m = g["metadata"]
        yield (
            f"NodeGroup {m['name']} spec={g['spec']} status={g.get('status')}"
            f" deleting={inv.deleting(g)} finalizers={m.get('finalizers')}"
        )


def _vpsienodes(e2e: E2E) -> Iterable[str]:
    for vn in e2e.vpsienodes():
        s, m = inv.status(vn), vn["metadata"]
        yield (
            f"VPSieNode {m['name']} phase={s.get('phase')} id={s.get('vpsieIdentifier')}"
            f" node={s.get('nodeName')} deleting={inv.deleting(vn)}"
            f" finalizers={m.get('finalizers')} lastError={s.get('lastError')}"
        )


def _machines(e2e: E2E) -> Iterable[str]:
    assert e2e.sim is not None
    for w in e2e.sim.state()["vms"]:
        where = f"group={w['group_id']}"
        yield f"sim {w['kind']} {w['hostname']} {w['identifier']} {where} {w['state']}"


def _nodes(e2e: E2E) -> Iterable[str]:
    for n in e2e.nodes():
        ready = "Ready" if is_node_ready(n) else "NotReady"
        yield f"Node {n['metadata']['name']} {ready} labels={n['metadata'].get('labels')}"


def _events(e2e: E2E) -> Iterable[str]:
    for e in e2e.events():
        what = f"{e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')}"
        yield f"Event {e.get('type')} {e.get('reason')} {what}: {e.get('message')}"


def _history(e2e: E2E) -> Iterable[str]:
    history = e2e.history()
    for uid, phases in history.phases.items():
        owned = sorted(history.owned.get(uid, ()))
        yield f"history {history.names.get(uid)}: {' -> '.join(phases)} ids={owned}"


def call_log_tail(e2e: E2E, count: int = 40) -> str:
    """The simulator's last calls, one line each."""
    if e2e.sim is None or not e2e.sim.alive():
        return "(simulator not running)"
    try:
        calls = e2e.sim.calls()["calls"][-count:]
    except Exception as err:
        return f"(cannot read the call log: {err})"
    return "\n".join(
        f"{c['seq']} {c['at']} {c['method']} {c['path']} -> {c['status']} {c['fault'] or ''}"
        for c in calls
    )


def keep_artefacts(e2e: E2E) -> None:
    """Write the summary, the simulator's state and its call log into the test's directory."""
    if e2e.sim is None or not e2e.sim.alive():
        return
    with contextlib.suppress(Exception):
        (e2e.dir / "summary.txt").write_text(summary(e2e))
        (e2e.dir / "sim-state.json").write_text(json.dumps(e2e.sim.state(), indent=1))
        (e2e.dir / "sim-calls.json").write_text(json.dumps(e2e.sim.calls(), indent=1))
