"""Chaos (review GAP-4): scale-up carries on through VPSie faults, a kube-apiserver restart, a
SIGKILLed daemon and a leader failover, and the invariants of architecture.md §2 hold at the end.

One world: one NodeGroup (``minNodes`` 2) of the simulator's empty VKE group, and phases run
in order. Each phase adds a Deployment whose pods need a new node each (a pod asks for more
than half of a node), waits until a VPSieNode made since the phase began is in flight and
strikes while it is. The poll nearly always sees it Provisioning (else Joining): its intent
is written and its create call made or about to be, so a kill may fall between the two.

| phase | the fault |
|---|---|
| vpsie-faults | armed before the group exists: its first create is answered 503 (VPSie made |
| | nothing; the client cannot know), the second's answer is lost after VPSie made the |
| | worker, a read's connection is dropped, one read gets a 429; and for the rest of the |
| | run reads get 5xx and 429 at random and every call some latency |
| apiserver-restart | kube-apiserver restarted (SIGTERM, then the same flags); a leader that |
| | cannot renew within its deadline must give up and exit 1, and is restarted as the |
| | kubelet would restart its pod (``Crew``); one that kept renewing may lead on |
| daemon-sigkill | the leader is SIGKILLed; a new daemon waits the Lease out and leads |
| leader-failover | a second daemon runs beside the leader; the leader is SIGKILLed and the |
| | follower, already warm, takes over |
| scale-down-sigkill | the last workload goes and its node empties; the leader is SIGKILLed |
| | while that node is being drained or deleted, and a new daemon finishes the removal |

Then every pod must run on a Node of the group, the group must have exactly one Ready node
per pod, the §2 invariants must hold (with one accepted create per node the run ever
needed) and one actor
(§2.6): no two daemons' leader scopes ran at once, by their logs, and every VPSie call
arrived while one ran. Timings are printed, never asserted.

``PHASES`` is a list so that a phase can be appended; a phase that drops a workload from
``Run.workloads`` shrinks ``expected_nodes``, and ``peak`` keeps the creates it needed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.e2e import invariants as inv
from tests.e2e.chaos_helpers import Crew, calls_outside, leaderships, now, overlapping
from tests.e2e.harness import E2E
from tests.e2e.invariants import JSON

GROUP = "chaos"
MIN_NODES, MAX_NODES = 2, 8
POOL = {"chaos.example.com/pool": "workers"}  # on the NodeGroup's template; the pods select it
POD_CPU, POD_MEMORY = "2500m", "1Gi"  # a large worker offers 3900m: one such pod per node
IN_FLIGHT = ("Provisioning", "Joining")
CONVERGE = 240.0  # unknown-outcome windows, provisioning timeouts and backoff add up
CALL_SLACK = dt.timedelta(seconds=1)  # a request sent as a leader scope stops, read later

# Short leases, so that a SIGKILLed leader is waited out in seconds: the renew deadline (4 s)
# is shorter than an API-server restart (the SIGTERM alone takes up to 5 s). A create whose
# answer was lost holds every create of the cluster for the unknown-outcome window: short,
# still well above the few seconds VPSie takes to list a new worker. The provisioning timeout
# stays the e2e tier's 60 s, longer than the outages and hand-overs below add up to, so that
# only a create that made nothing can time out.
SETTINGS = {
    ("kube", "leader_election"): "true",
    ("kube", "lease_duration_s"): "6",
    ("kube", "renew_deadline_s"): "4",
    ("kube", "retry_period_s"): "1",
    ("vpsie", "unknown_outcome_window_s"): "15",
    ("lifecycle", "provisioning_timeout_s"): "60",
}

VPSIE_FAULTS: list[JSON] = [
    # Certain hits first, on the group's first two creates and early reads.
    {"route": "K4", "calls": [1], "error_5xx_rate": 1, "error_5xx_codes": [503]},
    {"route": "K4", "calls": [2], "hang_rate": 1, "hang_mode": "commit_then_hang"},
    {"route": "GET", "calls": [3], "hang_rate": 1, "hang_mode": "drop"},
    {"route": "GET", "calls": [5], "429_rate": 1, "retry_after_seconds": 1},
    # Then noise for the whole run.
    {"route": "GET", "error_5xx_rate": 0.1, "error_5xx_codes": [500, 502, 503, 504]},
    {"route": "GET", "429_rate": 0.05, "retry_after": "seconds", "retry_after_seconds": 1},
    {"route": "*", "latency": 0.05, "latency_jitter": 0.2, "latency_distribution": "exponential"},
]
K4_FAULTS = {("K4", "error_5xx"), ("K4", "hang")}
CERTAIN_FAULTS = {*K4_FAULTS, ("GET", "hang"), ("GET", "rate_limited")}


@dataclass
class Run:
    """The world the phases act on, and what they asked for."""

    e2e: E2E
    crew: Crew
    workloads: dict[str, int] = field(default_factory=dict)  # Deployment -> pods (a node each)
    peak: int = 0  # the most nodes the workloads ever needed: one accepted create each

    @property
    def labels(self) -> dict[str, str]:
        """The NodeGroup's template labels: the pool and the test's isolation label."""
        return {**POOL, **self.e2e.ns.node_labels}

    def expected_nodes(self) -> int:
        """One node per pod, and never fewer than the group's minimum."""
        return max(MIN_NODES, sum(self.workloads.values()))

    def note(self, what: str) -> None:
        """Say what happened (pytest shows it with a failure)."""
        print(f"CHAOS {time.strftime('%H:%M:%S')} {what}")

    def scale_up(self, name: str, pods: int) -> None:
        """Add ``pods`` pods that fit no existing node; wait until a new VPSieNode is in flight."""
        before = {vn["metadata"]["uid"] for vn in self.e2e.vpsienodes(GROUP)}
        self.e2e.create_deployment(
            name, replicas=pods, cpu=POD_CPU, memory=POD_MEMORY, node_selector=POOL
        )
        self.workloads[name] = pods
        self.peak = max(self.peak, self.expected_nodes())

        def in_flight() -> list[str]:
            fresh = [vn for vn in self.e2e.vpsienodes(GROUP) if vn["metadata"]["uid"] not in before]
            phases = [inv.status(vn).get("phase") for vn in fresh]
            return [] if set(phases) & set(IN_FLIGHT) else [f"new VPSieNodes are {phases}"]

        self.crew.wait_until(in_flight, what=f"a VPSieNode for {name} in flight")


def faults_struck(e2e: E2E) -> Counter[tuple[str, str]]:
    """How many calls each kind of fault answered so far, by route (K4) or else by method."""
    assert e2e.sim is not None
    calls = e2e.sim.calls()["calls"]
    return Counter(
        (c["route_id"] if c["route_id"] == "K4" else c["method"], str(c["fault"]).split(":")[0])
        for c in calls
        if c["fault"]
    )


# --- the phases ------------------------------------------------------------------------------
def vpsie_faults(run: Run) -> None:
    e2e = run.e2e
    assert e2e.sim is not None
    e2e.sim.set_faults(VPSIE_FAULTS)
    e2e.apply_nodegroup(GROUP, min_nodes=MIN_NODES, max_nodes=MAX_NODES, labels=run.labels)
    # The group's minimum is requested first, so that the pods below can count on it.
    run.crew.wait_until(
        lambda: [] if len(e2e.vpsienodes(GROUP)) >= MIN_NODES else ["the minimum not requested"],
        what=f"{MIN_NODES} VPSieNodes for the group's minimum",
    )
    run.scale_up("a", MIN_NODES + 1)

    def struck() -> list[str]:
        return [f"no {kind} on {route} yet" for route, kind in K4_FAULTS - set(faults_struck(e2e))]

    run.crew.wait_until(struck, what="the first create answered 503 and the second's answer lost")


def restart_apiserver(run: Run) -> None:
    run.scale_up("b", 1)
    leader = run.crew.leader()
    began = time.monotonic()
    run.e2e.testenv.restart("kube-apiserver")
    back = now()
    run.note(f"kube-apiserver restarted in {time.monotonic() - began:.1f}s")
    run.crew.wait_until(run.crew.leader_since(back), what="a daemon leading after the restart")
    outcome = "kept its lease" if leader.alive() else f"gave it up, replaced: {run.crew.replaced}"
    run.note(f"the leader {leader.name} {outcome}; {run.crew.leader().name} leads")


def sigkill_leader(run: Run) -> None:
    run.scale_up("c", 1)
    leader = run.crew.leader()
    run.crew.sigkill(leader)
    killed = now()
    fresh = run.crew.start()
    run.crew.wait_until(
        run.crew.leader_since(killed, among=lambda: [fresh]),
        what=f"{fresh.name} leading after {leader.name} was SIGKILLed",
    )
    run.note(f"{leader.name} SIGKILLed; {fresh.name} started and leads")


def fail_over(run: Run) -> None:
    follower = run.crew.start()
    run.scale_up("d", 1)
    leader = run.crew.leader()
    assert leader is not follower, "the follower leads before the leader died"
    daemons = len(run.e2e.daemons)
    run.crew.sigkill(leader)
    killed = now()
    run.crew.wait_until(
        run.crew.leader_since(killed, among=lambda: [follower]),
        what=f"{follower.name} taking over from {leader.name}",
    )
    assert len(run.e2e.daemons) == daemons, "a daemon was started while the follower took over"
    took_over = leaderships(follower, ended_at=None)[-1]
    assert took_over.began > killed, f"{took_over} began before the SIGKILL at {killed}"
    run.note(f"{leader.name} SIGKILLed; {follower.name} took over")


def scale_down_sigkill(run: Run) -> None:
    e2e = run.e2e
    converge(run)  # every node holds its pod: the one removal below is the only one
    e2e.patch_nodegroup(GROUP, {"scaleDown": {"unneededTime": "2s", "delayAfterAdd": "0s"}})
    name = list(run.workloads)[-1]  # one pod on a node of its own
    e2e.api.delete(f"/apis/apps/v1/namespaces/{e2e.ns.name}/deployments/{name}")
    del run.workloads[name]

    def leaving() -> list[str]:
        members = e2e.vpsienodes(GROUP)
        phases = [inv.status(vn).get("phase") for vn in members]
        going = "Draining" in phases or any(inv.deleting(vn) for vn in members)
        return [] if going else [f"no node of {GROUP} is being removed: {phases}"]

    run.crew.wait_until(leaving, what=f"the node of {name} being removed")
    leader = run.crew.leader()
    run.crew.sigkill(leader)
    killed = now()
    fresh = run.crew.start()
    run.crew.wait_until(
        run.crew.leader_since(killed, among=lambda: [fresh]),
        what=f"{fresh.name} leading after {leader.name} was SIGKILLed mid-removal",
    )
    run.note(f"{leader.name} SIGKILLed while a node left; {fresh.name} leads")


@dataclass(frozen=True)
class Phase:
    name: str
    strike: Callable[[Run], None]


PHASES = [
    Phase("vpsie-faults", vpsie_faults),
    Phase("apiserver-restart", restart_apiserver),
    Phase("daemon-sigkill", sigkill_leader),
    Phase("leader-failover", fail_over),
    Phase("scale-down-sigkill", scale_down_sigkill),
]


# --- the test ----------------------------------------------------------------------------------
def converge(run: Run) -> None:
    """Every pod Running on a Node of the group; the group at one Ready node per pod."""
    e2e = run.e2e
    for name, pods in run.workloads.items():
        run.crew.wait_until(
            e2e.pods_running(name, pods, group=GROUP),
            what=f"the pods of {name} Running on nodes of {GROUP}",
            timeout=CONVERGE,
        )
    run.crew.wait_until(
        e2e.group_ready(GROUP, run.expected_nodes(), template={"labels": run.labels}),
        what=f"{run.expected_nodes()} Ready nodes in {GROUP}",
        timeout=CONVERGE,
    )


def expect_one_actor(run: Run) -> None:
    """§2.6: the leader scopes never overlapped and VPSie heard only from the one running."""
    e2e, crew = run.e2e, run.crew
    assert e2e.sim is not None
    spans = crew.spans()
    for span in spans:
        run.note(str(span))
    # The first leader, the one after the SIGKILL and the follower that took over, at least.
    assert len(spans) >= 3, [str(s) for s in spans]
    assert not overlapping(spans), overlapping(spans)
    outside = calls_outside(e2e.sim.calls()["calls"], spans, slack=CALL_SLACK)
    assert not outside, outside[:20]
    leader = crew.leader()
    holder = (crew.lease().get("spec") or {}).get("holderIdentity")
    assert holder == crew.leading(leader), f"the Lease names {holder}, but {leader.name} leads"


def test_scaling_survives_vpsie_faults_apiserver_restart_sigkill_and_failover(
    e2e: E2E,
) -> None:
    e2e.start_simulator()
    run = Run(e2e, Crew(e2e, SETTINGS))
    run.crew.start()
    assert not e2e.dropped_settings, e2e.dropped_settings

    for phase in PHASES:
        began = time.monotonic()
        phase.strike(run)
        run.note(f"phase {phase.name} took {time.monotonic() - began:.1f}s")

    began = time.monotonic()
    converge(run)
    run.note(f"converged in {time.monotonic() - began:.1f}s")
    struck = faults_struck(e2e)
    run.note(f"faults struck: {dict(struck)}")
    assert set(struck) >= CERTAIN_FAULTS, struck
    expect_one_actor(run)
    e2e.expect_invariants(creates=run.peak)
