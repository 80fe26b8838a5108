"""NodeGroup and VPSieNode lifecycle, seen from outside: the daemon as a process, VPSie simulated.

Every test ends with the invariant check of architecture.md §2 (``expect_invariants``).
Lowering ``maxNodes`` below the group's size is accepted by the CRD (only ``minNodes >
maxNodes`` is refused); the documented answer (``controllers/sizing.py``) is that members
above the maximum that run no pods are removed, newest first, and nodes with workload pods
are left to the scale-down path, which drains them. The last tests check the checker.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e import invariants as inv
from tests.e2e.harness import E2E
from tests.e2e.invariants import History, SimGroup, Snapshot
from tests.testenv import ApiError
from tests.testenv.objects import is_pod_running, pod_manifest

LABELS = {"workload": "web", "example.com/tier": "frontend"}
TAINTS = [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}]
TEMPLATE = {"labels": LABELS, "taints": TAINTS}
LIFECYCLE = ["Pending", "Provisioning", "Joining", "Ready"]
WORKER_FINALIZER = "autoscaler.vpsie.com/worker"


def start(e2e: E2E, **delays: float) -> None:
    e2e.start_simulator(**delays)
    e2e.start_daemon()


def apply(e2e: E2E, name: str, *, min_nodes: int, max_nodes: int) -> None:
    e2e.apply_nodegroup(
        name,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        labels=LABELS,
        taints=TAINTS,
    )


def test_an_empty_group_creates_nothing_and_holds_the_invariants(e2e: E2E) -> None:
    start(e2e)
    e2e.apply_nodegroup("idle", min_nodes=0, max_nodes=3)

    # The bridge works: the default world's one "small" worker became a Ready Node of ours.
    e2e.wait_until(
        lambda: (
            []
            if any(n["metadata"]["name"].startswith("demo-small-") for n in e2e.nodes())
            else ["no Node for the small group's initial worker"]
        ),
        what="the simulator's bridge to create the initial worker's Node",
    )
    e2e.expect_invariants(creates=0)
    assert e2e.vpsienodes("idle") == []


def group_status(e2e: E2E, name: str, **want: object) -> Callable[[], list[str]]:
    """Probe: the NodeGroup's status is up to date and has the ``want``ed fields."""

    def probe() -> list[str]:
        group = e2e.api.get(e2e.nodegroup_path(name))
        status = group.get("status") or {}
        fields = {"observedGeneration": group["metadata"]["generation"], **want}
        return [
            f"status.{k} is {status.get(k)!r}, want {v!r}"
            for k, v in fields.items()
            if status.get(k) != v
        ]

    return probe


def conditions(e2e: E2E, name: str) -> dict[str, str]:
    group = e2e.api.get(e2e.nodegroup_path(name))
    return {c["type"]: c["status"] for c in (group.get("status") or {}).get("conditions") or []}


def in_lifecycle_order(phases: list[str]) -> bool:
    """Seen phases only move forward through Pending, Provisioning, Joining, Ready."""
    order = [LIFECYCLE.index(p) for p in phases if p in LIFECYCLE]
    return len(order) == len(phases) and order == sorted(order) and phases[-1] == "Ready"


def test_raising_min_nodes_adds_ready_labelled_tainted_nodes(e2e: E2E) -> None:
    start(e2e)
    apply(e2e, "web", min_nodes=2, max_nodes=5)

    e2e.wait_until(e2e.group_ready("web", 2, template=TEMPLATE), what="2 Ready nodes")
    e2e.expect_invariants(creates=2)

    e2e.patch_nodegroup("web", {"minNodes": 4})
    e2e.wait_until(e2e.group_ready("web", 4, template=TEMPLATE), what="4 Ready nodes")
    e2e.wait_until(
        group_status(e2e, "web", readyNodes=4, currentNodes=4, targetNodes=4, upcomingNodes=0),
        what="the NodeGroup's status",
    )
    e2e.expect_invariants(creates=4)

    group = e2e.api.get(e2e.nodegroup_path("web"))
    assert conditions(e2e, "web").items() >= {"Ready": "True", "Scaling": "False"}.items()
    for vn in e2e.vpsienodes("web"):
        assert WORKER_FINALIZER in vn["metadata"]["finalizers"]
        (owner,) = vn["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["uid"]) == ("NodeGroup", group["metadata"]["uid"])
    phases = list(e2e.history().phases.values())
    assert len(phases) == 4
    assert all(in_lifecycle_order(p) for p in phases), phases


def test_lowering_max_nodes_removes_idle_nodes_and_leaves_busy_ones_to_scale_down(
    e2e: E2E,
) -> None:
    start(e2e)
    apply(e2e, "web", min_nodes=3, max_nodes=4)
    e2e.wait_until(e2e.group_ready("web", 3, template=TEMPLATE), what="3 Ready nodes")
    *busy, idle = e2e.vpsienodes("web")
    for vn in busy:
        run_pod_on(e2e, inv.status(vn)["nodeName"])

    # Accepted by the CRD (minNodes <= maxNodes) although the group has 3 nodes.
    e2e.patch_nodegroup("web", {"minNodes": 1, "maxNodes": 1})

    busy_names = sorted(vn["metadata"]["name"] for vn in busy)
    e2e.wait_until(
        lambda: (
            []
            if [v["metadata"]["name"] for v in e2e.vpsienodes("web")] == busy_names
            else [f"VPSieNodes {[v['metadata']['name'] for v in e2e.vpsienodes('web')]}"]
        ),
        what=f"only the busy nodes {busy_names} left",
    )
    e2e.wait_until(e2e.group_ready("web", 2, template=TEMPLATE), what="the busy nodes Ready")
    e2e.wait_until(group_status(e2e, "web", targetNodes=2), what="the status to say 2")
    assert conditions(e2e, "web")["AtMaxCapacity"] == "True"
    removed = {w["identifier"]: w["state"] for w in e2e.sim_workers("web")}
    assert removed[inv.identifier(idle)] in ("deleting", "deleted")
    assert e2e.events("RemovedAboveMaximum"), "no Event explains the removal"
    # Above maxNodes by the user's change, never by ours: the recorder checks no growth.
    e2e.expect_invariants(creates=3, bounds=False)


def run_pod_on(e2e: E2E, node: str) -> None:
    """A workload pod bound to ``node`` (tolerating the template's taint), Running."""
    pod = pod_manifest(f"busy-{node}", namespace=e2e.ns.name)
    pod["spec"]["nodeName"] = node
    pod["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    e2e.api.post(f"/api/v1/namespaces/{e2e.ns.name}/pods", pod)
    e2e.api.wait_for(
        f"/api/v1/namespaces/{e2e.ns.name}/pods/{pod['metadata']['name']}",
        is_pod_running,
        timeout=60,
        what=f"pod on {node} Running",
    )


def test_a_worker_added_behind_our_back_is_reported_and_never_deleted(e2e: E2E) -> None:
    start(e2e)
    apply(e2e, "web", min_nodes=1, max_nodes=3)
    e2e.wait_until(e2e.group_ready("web", 1, template=TEMPLATE), what="1 Ready node")

    foreign = e2e.add_foreign_worker("web")

    e2e.wait_until(
        lambda: (
            []
            if any(foreign in e["message"] for e in e2e.events("OrphanWorkerFound"))
            else ["no OrphanWorkerFound Event naming it"]
        ),
        what="the garbage collector to report the foreign worker",
    )
    assert len(e2e.vpsienodes("web")) == 1  # neither adopted (vke) nor counted as ours
    e2e.delete_nodegroup("web")
    e2e.wait_until(e2e.group_gone("web"), what="our NodeGroup and all it made to be gone")
    e2e.expect_invariants(creates=1)  # and the foreign worker is live, never deleted
    (state,) = [w["state"] for w in e2e.sim_workers("web") if w["identifier"] == foreign]
    assert state == "ready"


def test_min_nodes_above_max_nodes_is_rejected(e2e: E2E) -> None:
    start(e2e)
    apply(e2e, "web", min_nodes=0, max_nodes=2)

    with pytest.raises(ApiError) as rejected:
        e2e.patch_nodegroup("web", {"minNodes": 3})

    assert rejected.value.status == 422
    assert "minNodes must not be greater than maxNodes" in str(rejected.value)
    e2e.expect_invariants(creates=0)


def test_deleting_a_nodegroup_deletes_every_worker_node_and_finalizer(e2e: E2E) -> None:
    start(e2e)
    apply(e2e, "web", min_nodes=2, max_nodes=3)
    e2e.wait_until(e2e.group_ready("web", 2, template=TEMPLATE), what="2 Ready nodes")
    identifiers = {inv.identifier(vn) for vn in e2e.vpsienodes("web")}

    e2e.delete_nodegroup("web")

    e2e.wait_until(e2e.group_gone("web"), what="the NodeGroup and all it made to be gone")
    e2e.expect_invariants(creates=2)
    gone = {w["identifier"]: w["state"] for w in e2e.sim_workers("web")}
    assert gone == dict.fromkeys(identifiers, "deleted")


# --- the checker itself ------------------------------------------------------------------------
GROUP = SimGroup("c1", 12)


def worker(ident: str, state: str = "ready", group: int = 12) -> dict[str, object]:
    return {
        "kind": "worker",
        "identifier": ident,
        "hostname": f"demo-large-{ident}",
        "cluster": "c1",
        "group_id": group,
        "state": state,
    }


def vpsienode(name: str, ident: str | None, *, group: str = "web") -> dict[str, object]:
    return {
        "kind": "VPSieNode",
        "metadata": {"name": name, "uid": f"uid-{name}"},
        "spec": {"nodeGroup": group},
        "status": {"phase": "Ready", "vpsieIdentifier": ident},
    }


def nodegroup(name: str = "web", lo: int = 0, hi: int = 5) -> dict[str, object]:
    return {
        "kind": "NodeGroup",
        "metadata": {"name": name},
        "spec": {"minNodes": lo, "maxNodes": hi},
    }


def k4(seq: int) -> dict[str, object]:
    path = "/apps/v2/k8s/cluster/byId/c1/add/slave/group/12"
    return {"seq": seq, "route_id": "K4", "path": path, "status": 200, "fault": None}


def sim(*machines: dict[str, object]) -> dict[str, object]:
    claims = {f"h-{m['identifier']}": {"identifier": m["identifier"]} for m in machines}
    return {"vms": list(machines), "claims": claims}


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        pytest.param(
            Snapshot(sim(worker("a")), [k4(1)], [nodegroup()], [], []),
            ["orphaned", "never owned"],
            id="orphan",
        ),
        pytest.param(
            Snapshot(
                sim(worker("a")),
                [k4(1)],
                [nodegroup()],
                [vpsienode("x", "a"), vpsienode("y", "a")],
                [],
            ),
            ["owned by 2", "on 2 VPSieNodes", "named by 2"],
            id="two-owners",
        ),
        pytest.param(
            Snapshot(
                sim(worker("a"), worker("b", "deleted")),
                [k4(1), k4(2)],
                [nodegroup()],
                [vpsienode("x", "a")],
                [],
            ),
            ["b was created by K4 but never owned"],
            id="double-provisioning",
        ),
        pytest.param(
            Snapshot(
                sim(worker("a")),
                [k4(1)],
                [nodegroup(hi=0)],
                [vpsienode("x", "a")],
                [{"metadata": {"name": "demo-large-gone", "labels": {inv.MANAGED_LABEL: "true"}}}],
            ),
            ["outside [0, 0]", "above 0", "has no VPSie worker", "missing VPSieNode"],
            id="bounds-and-stray-node",
        ),
        pytest.param(
            Snapshot(
                sim(worker("a", "deleted")),
                [k4(1)],
                [],
                [
                    vpsienode("x", "a")
                    | {
                        "metadata": {
                            "name": "x",
                            "uid": "u",
                            "deletionTimestamp": "t",
                            "finalizers": ["f"],
                        }
                    }
                ],
                [{"metadata": {"name": "demo-large-a"}}],
            ),
            ["keeps finalizers", "outlives its NodeGroup", "outlives its worker"],
            id="half-done",
        ),
        pytest.param(
            Snapshot(
                sim(worker("a", "deleting")), [k4(1)], [nodegroup()], [vpsienode("x", "a")], []
            ),
            ["names worker a, which is deleting"],
            id="dangling",
        ),
    ],
)
def test_invariant_checker_reports_what_is_broken(snapshot: Snapshot, expected: list[str]) -> None:
    history = History()
    history.observe(snapshot.vpsienodes)

    found = inv.violations(snapshot, history, groups={"web": GROUP}, creates=1)

    text = "\n".join(found)
    assert all(e in text for e in expected), text


def test_invariant_checker_accepts_a_converged_world() -> None:
    snapshot = Snapshot(
        sim(worker("a"), worker("b", "deleted")),
        [
            k4(1),
            k4(2),
            {
                "seq": 3,
                "route_id": "K5",
                "path": "/x",
                "status": 200,
                "fault": None,
                "body": {"identifier": "b"},
            },
        ],
        [nodegroup(lo=1, hi=1)],
        [vpsienode("x", "a")],
        [
            {
                "metadata": {
                    "name": "demo-large-a",
                    "labels": {
                        inv.MANAGED_LABEL: "true",
                        inv.GROUP_LABEL: "web",
                        inv.VPSIENODE_LABEL: "x",
                    },
                }
            }
        ],
    )
    history = History()
    history.observe([vpsienode("old", "b")])
    history.observe(snapshot.vpsienodes)

    assert inv.violations(snapshot, history, groups={"web": GROUP}, creates=2) == []
