"""The invariants of architecture.md §2 as a pure check over one snapshot of the world.

``violations(snapshot, history, groups=...)`` returns one line per broken invariant (an
empty list when all hold); the harness polls it until it is empty or a deadline passes,
because the garbage collector and the finalizers act "within a bounded time". What a poll
cannot see later (a worker owned for a while, a group that grew above its maximum) comes
from the ``History`` the recorder keeps while the test runs.

| invariant (§2) | what is checked |
|---|---|
| 1 no orphan | every live worker of our VPSie groups is named by exactly one VPSieNode; |
|   | no VPSieNode counted in its group names a worker that is gone or going |
| 1 nothing foreign deleted | no K5 names a worker we did not create; initial machines and |
|   | ``foreign`` workers (added to our groups behind our back) stay live and unowned |
| 2 no double provisioning | each K4-created worker was owned by a VPSieNode; no identifier |
|   | on two VPSieNodes, no VPSieNode with two; accepted creates = the expected count |
| 3 bounds | a group never grew above maxNodes; at rest min <= VPSieNodes <= max |
| 5 nothing half-done | no finalizer left on an object being deleted; no VPSieNode without |
|   | its NodeGroup; no Node without a live worker; managed Nodes have their VPSieNode |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
K4_ROUTE = "K4"
K5_ROUTE = "K5"
DEAD = frozenset({"deleted", "failed"})
LABEL_PREFIX = "autoscaler.vpsie.com/"
MANAGED_LABEL = LABEL_PREFIX + "managed"
GROUP_LABEL = LABEL_PREFIX + "nodegroup"
VPSIENODE_LABEL = LABEL_PREFIX + "vpsienode"
FAILED = "Failed"


@dataclass(frozen=True)
class SimGroup:
    """The VPSie node group a NodeGroup scales: cluster identifier and numeric group id."""

    cluster: str
    group_id: int


@dataclass(frozen=True)
class Snapshot:
    """One reading of everything the invariants talk about."""

    sim: JSON  # GET /__sim/state
    calls: list[JSON]  # GET /__sim/calls -> calls (the whole log)
    nodegroups: list[JSON]
    vpsienodes: list[JSON]
    nodes: list[JSON]  # the Nodes of this test (isolation label)


@dataclass
class History:
    """What the recorder saw over the whole test (see ``recorder.py``)."""

    owners: dict[str, set[str]] = field(default_factory=dict)  # identifier -> VPSieNode uids
    owned: dict[str, set[str]] = field(default_factory=dict)  # uid -> identifiers
    names: dict[str, str] = field(default_factory=dict)  # uid -> name
    phases: dict[str, list[str]] = field(default_factory=dict)  # uid -> phases in order seen
    bound_violations: list[str] = field(default_factory=list)

    def observe(self, vpsienodes: Iterable[JSON]) -> None:
        """Remember each VPSieNode's name, phase and identifier."""
        for vn in vpsienodes:
            uid = str(vn["metadata"]["uid"])
            self.names[uid] = vn["metadata"]["name"]
            phase = status(vn).get("phase")
            seen = self.phases.setdefault(uid, [])
            if phase and (not seen or seen[-1] != phase):
                seen.append(str(phase))
            ident = identifier(vn)
            if ident:
                self.owners.setdefault(ident, set()).add(uid)
                self.owned.setdefault(uid, set()).add(ident)


def status(obj: JSON) -> JSON:
    """``obj.status`` or an empty mapping."""
    return obj.get("status") or {}


def identifier(vn: JSON) -> str | None:
    """The VPSie identifier a VPSieNode names, once known."""
    value = status(vn).get("vpsieIdentifier")
    return str(value) if value else None


def deleting(obj: JSON) -> bool:
    """True once ``metadata.deletionTimestamp`` is set."""
    return bool(obj["metadata"].get("deletionTimestamp"))


def counted(vn: JSON) -> bool:
    """Counts toward its group's size: not being deleted and not Failed."""
    return not deleting(vn) and status(vn).get("phase") != FAILED


def members(vpsienodes: Iterable[JSON], group: str) -> list[JSON]:
    """The VPSieNodes of NodeGroup ``group``."""
    return [vn for vn in vpsienodes if vn.get("spec", {}).get("nodeGroup") == group]


def workers(sim: JSON, groups: Iterable[SimGroup]) -> list[JSON]:
    """Every VKE worker (deleted ones too) of the given VPSie groups."""
    wanted = {(g.cluster, g.group_id) for g in groups}
    return [
        m for m in sim["vms"] if m["kind"] == "worker" and (m["cluster"], m["group_id"]) in wanted
    ]


def created_by_k4(sim: JSON, groups: Iterable[SimGroup]) -> set[str]:
    """Identifiers of the workers of these groups that a K4 call created (they have a claim)."""
    claimed = {c["identifier"] for c in sim.get("claims", {}).values()}
    return {m["identifier"] for m in workers(sim, groups) if m["identifier"] in claimed}


def violations(
    snap: Snapshot,
    history: History,
    *,
    groups: Mapping[str, SimGroup],
    creates: int | None = None,
    bounds: bool = True,
    foreign: frozenset[str] = frozenset(),
) -> list[str]:
    """Every broken invariant, one line each; ``groups`` maps our NodeGroups to VPSie groups.

    ``creates`` is the number of K4 creates the scenario needs (checked when given);
    ``bounds`` checks ``minNodes <= members <= maxNodes`` for each NodeGroup at rest;
    ``foreign`` names workers someone else added to our groups (never ours to own or delete).
    """
    sim_groups = set(groups.values())
    return [
        *_orphans(snap, sim_groups, foreign),
        *_dangling(snap),
        *_duplicates(snap, history),
        *_creates(snap, history, sim_groups, creates, foreign),
        *_foreign(snap, history, sim_groups, foreign),
        *_nodes(snap),
        *_half_done(snap),
        *history.bound_violations,
        *(_bounds(snap, groups) if bounds else []),
    ]


def _orphans(snap: Snapshot, groups: set[SimGroup], foreign: frozenset[str]) -> list[str]:
    out = []
    for worker in workers(snap.sim, groups):
        if worker["state"] in DEAD or worker["identifier"] in foreign:
            continue
        owners = [
            vn["metadata"]["name"]
            for vn in snap.vpsienodes
            if identifier(vn) == worker["identifier"]
        ]
        if len(owners) != 1:
            what = "orphaned: no VPSieNode" if not owners else f"owned by {len(owners)} VPSieNodes"
            out.append(
                f"worker {worker['hostname']} ({worker['identifier']}, {worker['state']})"
                f" {what} {sorted(owners)}"
            )
    return out


def _dangling(snap: Snapshot) -> list[str]:
    """A VPSieNode that counts toward its group must not name a worker that is gone."""
    machines = {m["identifier"]: m for m in snap.sim["vms"]}
    return [
        f"VPSieNode {vn['metadata']['name']} ({status(vn).get('phase')}) names worker {ident},"
        f" which is {machines[ident]['state']}"
        for vn in snap.vpsienodes
        if counted(vn)
        and (ident := identifier(vn)) in machines
        and machines[ident]["state"] in (*DEAD, "deleting")
    ]


def _duplicates(snap: Snapshot, history: History) -> list[str]:
    out = []
    current: dict[str, list[str]] = {}
    for vn in snap.vpsienodes:
        if (ident := identifier(vn)) is not None:
            current.setdefault(ident, []).append(vn["metadata"]["name"])
    out += [
        f"identifier {ident} on {len(names)} VPSieNodes {sorted(names)}"
        for ident, names in current.items()
        if len(names) > 1
    ]
    out += [
        f"identifier {ident} was named by {len(uids)} VPSieNodes over time"
        f" {sorted(history.names.get(u, u) for u in uids)}"
        for ident, uids in history.owners.items()
        if len(uids) > 1
    ]
    out += [
        f"VPSieNode {history.names.get(uid, uid)} named {len(idents)} workers {sorted(idents)}"
        for uid, idents in history.owned.items()
        if len(idents) > 1
    ]
    return out


def _ever_owned(snap: Snapshot, history: History) -> set[str]:
    return set(history.owners) | {i for vn in snap.vpsienodes if (i := identifier(vn))}


def _creates(
    snap: Snapshot,
    history: History,
    groups: set[SimGroup],
    creates: int | None,
    foreign: frozenset[str],
) -> list[str]:
    created = created_by_k4(snap.sim, groups) - foreign
    ever_owned = _ever_owned(snap, history)
    known = {m["identifier"] for m in snap.sim["vms"]}
    out = [
        f"worker {ident} was created by K4 but never owned by a VPSieNode"
        for ident in sorted(created - ever_owned)
    ]
    out += [
        f"a VPSieNode named {ident}, which VPSie never had" for ident in sorted(ever_owned - known)
    ]
    if creates is not None and len(created) != creates:
        out.append(f"VPSie accepted {len(created)} K4 creates in our groups, expected {creates}")
    paths = {f"/group/{g.group_id}" for g in groups}
    k4 = [
        c for c in snap.calls if c.get("route_id") == K4_ROUTE and c["path"].endswith(tuple(paths))
    ]
    complete_log = not snap.calls or snap.calls[0]["seq"] == 1
    answered = [c for c in k4 if c["status"] == 200 and not c["fault"] and not c.get("refused")]
    committed = [c for c in k4 if c["fault"] == "hang:commit_then_hang"]
    if complete_log and len(answered) + len(committed) != len(created) + len(foreign):
        out.append(
            f"the call log has {len(answered)} accepted and {len(committed)} lost K4 calls,"
            f" but {len(created)} workers were created"
        )
    return out


def _foreign(
    snap: Snapshot, history: History, groups: set[SimGroup], foreign: frozenset[str]
) -> list[str]:
    """Invariant 1's last sentence: nothing we did not create is ever deleted."""
    ours = created_by_k4(snap.sim, groups) - foreign
    claimed = {c["identifier"] for c in snap.sim.get("claims", {}).values()} - foreign
    out = [
        f"{m['kind']} {m['hostname']} was not created by us but is {m['state']}"
        for m in snap.sim["vms"]
        if m["identifier"] not in claimed and m["state"] == "deleted"
    ]
    out += [
        f"foreign worker {ident} was taken over by a VPSieNode"
        for ident in sorted(_ever_owned(snap, history) & foreign)
    ]
    for call in snap.calls:
        if call.get("route_id") != K5_ROUTE:
            continue
        target = (call.get("body") or {}).get("identifier")
        if target not in ours:
            out.append(f"K5 (call {call['seq']}) targeted {target}, a worker we did not create")
    return out


def _nodes(snap: Snapshot) -> list[str]:
    machines = {str(m["hostname"]).lower(): m for m in snap.sim["vms"]}
    by_name = {vn["metadata"]["name"]: vn for vn in snap.vpsienodes}
    out = []
    for node in snap.nodes:
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        machine = machines.get(name)
        if machine is not None and machine["state"] in DEAD:
            out.append(f"Node {name} outlives its worker ({machine['state']})")
        if labels.get(MANAGED_LABEL) != "true":
            continue
        if machine is None:
            out.append(f"managed Node {name} has no VPSie worker")
        owner = by_name.get(labels.get(VPSIENODE_LABEL, ""))
        if owner is None:
            out.append(
                f"managed Node {name} names a missing VPSieNode {labels.get(VPSIENODE_LABEL)}"
            )
        elif owner.get("spec", {}).get("nodeGroup") != labels.get(GROUP_LABEL):
            out.append(f"managed Node {name} is labelled with another group than its VPSieNode")
    return out


def _half_done(snap: Snapshot) -> list[str]:
    out = [
        f"{obj['kind']} {obj['metadata']['name']} is being deleted but keeps finalizers"
        f" {obj['metadata']['finalizers']}"
        for obj in (*snap.nodegroups, *snap.vpsienodes)
        if deleting(obj) and obj["metadata"].get("finalizers")
    ]
    groups = {g["metadata"]["name"] for g in snap.nodegroups}
    out += [
        f"VPSieNode {vn['metadata']['name']} outlives its NodeGroup {vn['spec'].get('nodeGroup')}"
        for vn in snap.vpsienodes
        if vn.get("spec", {}).get("nodeGroup") not in groups
    ]
    return out


def _bounds(snap: Snapshot, groups: Mapping[str, SimGroup]) -> list[str]:
    out = []
    for group in snap.nodegroups:
        if deleting(group):
            continue
        name, spec = group["metadata"]["name"], group["spec"]
        lo, hi = spec.get("minNodes", 0), spec["maxNodes"]
        size = len([vn for vn in members(snap.vpsienodes, name) if counted(vn)])
        if not lo <= size <= hi:
            out.append(f"NodeGroup {name} has {size} VPSieNodes, outside [{lo}, {hi}]")
        if name in groups:
            live = [w for w in workers(snap.sim, [groups[name]]) if w["state"] not in DEAD]
            if len(live) > hi:
                out.append(f"VPSie group of {name} has {len(live)} live workers, above {hi}")
    return out
