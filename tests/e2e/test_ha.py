"""HA (issue #8 item 4): two daemons with leader election, exactly one acts, and when the
leader is SIGKILLed half-way through a scale-up or a scale-down the follower, already warm,
takes over within the lease and finishes the job without duplicates or orphans.

Both tests run two daemons on one simulator (``Crew``; short leases as in the chaos test:
6 s lease, 4 s renew deadline, 1 s retry). The first daemon leads before the second starts.
The leader is SIGKILLed (no cleanup, the Lease is not released) while its job is half done:

* **scale-up**: a workload needs 3 new nodes and their VPSieNodes are written; VPSie
  answered the first create (K4), made the second's worker but never answered (a fault of
  the simulator's, so the kill falls at a known point: the leader waits on that answer and
  holds the cluster's create lock), and the third create is not sent. The follower must
  find the workers the leader made and could not name (``WorkerRecovered``) and make
  exactly one more create: 3 K4 calls, 3 VPSieNodes, every pod Running, though ``maxNodes``
  (6) leaves room for duplicates. The third VPSieNode may still be Pending at the kill, or
  already Provisioning (both reconcile workers may begin a create while the lock lets one
  call through): then nothing proves it was never sent, so it holds the group's creates for
  the provisioning timeout (30 s here), fails and is replaced. Either way the counts hold.
* **scale-down**: an underused node is being drained and its evicted pod stays Terminating
  (a finalizer of the test's), so the drain waits on it. Once the pod may go, the follower
  must finish the removal: one worker deleted (K5 may be repeated for it while VPSie lists
  it as deleting), one removal, every pod Running, and the two drains never at once.

One actor (architecture §2.6), checked before the SIGKILL and at the end:

* the daemons' logs: the leader scopes never overlap; the follower logged no leader-scope
  work before it led, and before the SIGKILL its metrics show no VPSie request;
* the simulator's call log: every VPSie call arrived while a leader scope ran;
* Events: each names as its reporting instance the daemon that led when it was written;
* the Lease's history, from a watch so that no version is missed: the holder changed once,
  to the follower, no earlier than the dead leader's last renewal plus the lease duration,
  and ``leaseTransitions`` counted it. (The shared control plane keeps no audit log, so a
  write by the follower is looked for in the Lease and the Events, which carry who wrote.)

The takeover (SIGKILL -> the follower's Lease ``acquireTime``, and -> its ``leading`` log
line) must be within ``TAKEOVER_BOUND``: a follower counts the lease duration from the
moment it *observed* the leader's last renewal, which is its first poll after that renewal
(polls are ``retry * [1, 1 + JITTER_FACTOR]`` apart, at most 2.2 s), and acquires at its
first poll after the lease ran out (another 2.2 s at most); ``API_SLACK`` covers the three
API calls on that path on a loaded machine. The measured times are printed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import http.client
import itertools
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterable, Mapping

from prometheus_client.parser import text_string_to_metric_families

from autoscaler.kube.events import COMPONENT
from autoscaler.kube.leader import JITTER_FACTOR
from tests.e2e import invariants as inv
from tests.e2e.chaos_helpers import (
    LEADING,
    LEASE_NAME,
    Crew,
    Leadership,
    calls_outside,
    leaderships,
    log_records,
    now,
    overlapping,
    parse_time,
)
from tests.e2e.daemons import E2EDaemon
from tests.e2e.harness import E2E, Probe
from tests.e2e.invariants import JSON
from tests.e2e.test_scale_down import (
    DOWN_WAIT,
    FAST,
    HOLD,
    TAINT,
    deployment,
    group_nodes,
    node,
    node_of,
    place_on_other_node,
    shrunk_to,
)
from tests.e2e.test_scale_up import (
    SCALE_UP_WAIT,
    Workload,
    ffd_nodes,
    lower_bound,
    size_of,
    template_labels,
    world,
)
from tests.testenv.kubehttp import MERGE_PATCH, KubeHTTP

GROUP = "web"  # a NodeGroup of the simulator's empty "large" VKE group (4 CPU, 8 GiB)
LEASE_S, RENEW_S, RETRY_S = 6, 4, 1
SETTINGS = {
    ("kube", "leader_election"): "true",
    ("kube", "lease_duration_s"): str(LEASE_S),
    ("kube", "renew_deadline_s"): str(RENEW_S),
    ("kube", "retry_period_s"): str(RETRY_S),
}
# A create whose answer the dead leader never read holds the group's next creates until its
# worker is found, for at most the provisioning timeout: short here (the worker is listed
# within 3 s), so that a create the dead leader marked as begun but never sent (see the
# scale-up test) is given up and replaced in seconds, not in the e2e tier's 60.
SCALE_UP_SETTINGS = {("lifecycle", "provisioning_timeout_s"): "30"}
API_SLACK = 2.0
TAKEOVER_BOUND = LEASE_S + 2 * RETRY_S * (1 + JITTER_FACTOR) + API_SLACK  # 12.4 s
CALL_SLACK = dt.timedelta(seconds=1)  # a request sent as a leader scope stops, read later
LEADER_SCOPE_LOGGERS = ("autoscaler.controllers", "autoscaler.vpsie")
VPSIE_REQUESTS = "vpsie_autoscaler_vpsie_request_duration_seconds_count"
MASTER_STATUS = "leader_election_master_status"
SCALED_DOWN = "vpsie_autoscaler_scaled_down_nodes_total"
LOST_ANSWER = "hang:commit_then_hang"  # the simulator made the worker and never answered


# --- the Lease's history -----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LeaseVersion:
    """One version of the leader-election Lease, as the watch delivered it."""

    holder: str
    acquired: dt.datetime | None
    renewed: dt.datetime | None
    duration: int
    transitions: int
    resource_version: str

    @classmethod
    def of(cls, lease: JSON) -> LeaseVersion:
        spec = lease.get("spec") or {}
        acquired, renewed = spec.get("acquireTime"), spec.get("renewTime")
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            acquired=parse_time(acquired) if acquired else None,
            renewed=parse_time(renewed) if renewed else None,
            duration=int(spec.get("leaseDurationSeconds") or 0),
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=str(lease["metadata"]["resourceVersion"]),
        )


class LeaseWatch:
    """Every version of the Lease: a list, then a watch resumed where each one ends.

    The watch runs on a thread over its own HTTPS connection; leaving the ``with`` block
    shuts that connection down, which ends a read in progress at once.
    """

    def __init__(self, api: KubeHTTP, namespace: str) -> None:
        self._api = api
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._selector = f"metadata.name={LEASE_NAME}"
        self._resource_version = ""
        self._versions: list[LeaseVersion] = []
        self.gaps: list[str] = []  # the watch broke off: a version may be missing
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connection: http.client.HTTPSConnection | None = None
        self._thread = threading.Thread(target=self._run, name="lease-watch", daemon=True)

    def __enter__(self) -> LeaseWatch:
        listing = self._api.get(self._path, fieldSelector=self._selector)
        for item in listing["items"]:
            self._add(item)
        self._resource_version = str(listing["metadata"]["resourceVersion"])
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)

    def versions(self) -> list[LeaseVersion]:
        """The versions seen so far, oldest first."""
        with self._lock:
            return list(self._versions)

    def _add(self, lease: JSON) -> None:
        version = LeaseVersion.of(lease)
        with self._lock:
            self._versions.append(version)

    def _run(self) -> None:
        server = urllib.parse.urlsplit(self._api.server)
        while not self._stop.is_set():
            query = urllib.parse.urlencode(
                {
                    "watch": "1",
                    "fieldSelector": self._selector,
                    "resourceVersion": self._resource_version,
                    "timeoutSeconds": "60",
                }
            )
            connection = http.client.HTTPSConnection(
                server.hostname or "", server.port, timeout=90, context=self._api.ssl
            )
            self._connection = connection
            if self._stop.is_set():  # __exit__ ran before this connection was known
                break
            try:
                connection.request(
                    "GET",
                    f"{self._path}?{query}",
                    headers={"Authorization": f"Bearer {self._api.token}"},
                )
                response = connection.getresponse()
                if response.status != 200:
                    self._broke_off(f"watch answered {response.status}: {response.read()!r}")
                    continue
                for line in response:
                    self._event(json.loads(line))
            except (OSError, http.client.HTTPException, ValueError) as err:
                self._broke_off(f"watch failed: {err!r}")
            finally:
                connection.close()

    def _broke_off(self, why: str) -> None:
        if not self._stop.is_set():
            self.gaps.append(why)
            self._stop.wait(0.5)

    def _event(self, event: JSON) -> None:
        obj = event.get("object") or {}
        if event.get("type") == "ERROR":  # e.g. 410 Gone: the history has a hole
            self._resource_version = ""  # the next watch starts from the current Lease
            self._broke_off(f"watch error: {obj.get('message')}")
            return
        if event.get("type") in ("ADDED", "MODIFIED"):
            self._add(obj)
        self._resource_version = str(
            (obj.get("metadata") or {}).get("resourceVersion") or self._resource_version
        )


def handover_problems(versions: list[LeaseVersion]) -> list[str]:
    """Every version that gave the Lease to a new holder before the old one's had run out
    (its last renewal plus its duration), or that miscounted ``leaseTransitions``."""
    problems = []
    for before, after in itertools.pairwise(versions):
        if after.holder == before.holder:
            if after.transitions != before.transitions:
                problems.append(f"transitions changed without a new holder: {after}")
            continue
        if after.transitions != before.transitions + 1:
            problems.append(f"{before.holder!r} -> {after.holder!r} not counted: {after}")
        if before.holder and after.holder:
            assert before.renewed is not None, before
            assert after.acquired is not None, after
            expiry = before.renewed + dt.timedelta(seconds=before.duration)
            if after.acquired < expiry:
                problems.append(
                    f"{after.holder} acquired at {after.acquired} while {before.holder}'s"
                    f" lease ran until {expiry}: two holders at once"
                )
    return problems


def test_handover_problems_name_a_lease_taken_before_the_old_one_ran_out() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def version(holder: str, acquired: float, renewed: float, transitions: int) -> LeaseVersion:
        at = [start + dt.timedelta(seconds=s) for s in (acquired, renewed)]
        return LeaseVersion(holder, at[0], at[1], LEASE_S, transitions, "")

    held = [version("a", 0, 0, 0), version("a", 0, 3, 0)]
    assert handover_problems([*held, version("b", 9, 9, 1)]) == []
    (early,) = handover_problems([*held, version("b", 8.5, 8.5, 1)])
    assert "two holders at once" in early
    (uncounted,) = handover_problems([*held, version("b", 9, 9, 0)])
    assert "not counted" in uncounted
    (miscounted,) = handover_problems([*held, version("a", 0, 4, 1)])
    assert "without a new holder" in miscounted


# --- two daemons -------------------------------------------------------------------------------
def metric(daemon: E2EDaemon, name: str, **labels: str) -> float | None:
    """The sum of ``daemon``'s samples ``name`` with ``labels`` (``None``: none exported)."""
    status, text = daemon.get(daemon.metrics_port, "/metrics")
    assert status == 200, f"GET /metrics of {daemon.name} answered {status}: {text[:300]}"
    values = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]
    return sum(values) if values else None


def leader_scope_records(daemon: E2EDaemon) -> list[JSON]:
    """The daemon's log records of leader-scope work: its start, controllers, VPSie calls."""
    return [
        r
        for r in log_records(daemon)
        if r.get("msg") == LEADING or str(r.get("logger", "")).startswith(LEADER_SCOPE_LOGGERS)
    ]


def holders(versions: Iterable[LeaseVersion]) -> list[str]:
    """The Lease's holders in order (a renewal by the same holder is not a new entry)."""
    out: list[str] = []
    for version in versions:
        if not out or out[-1] != version.holder:
            out.append(version.holder)
    return out


@dataclasses.dataclass
class Pair:
    """The leader and its warm follower; when the leader was SIGKILLed; the Lease's history."""

    e2e: E2E
    crew: Crew
    lease: LeaseWatch
    leader: E2EDaemon
    follower: E2EDaemon
    killed: dt.datetime | None = None

    @classmethod
    def start(
        cls, e2e: E2E, lease: LeaseWatch, settings: Mapping[tuple[str, str], str] = SETTINGS
    ) -> Pair:
        """Two daemons with ``settings``; the first leads before the second starts."""
        crew = Crew(e2e, settings)
        leader = crew.start()
        assert not e2e.dropped_settings, e2e.dropped_settings
        crew.wait_until(
            lambda: [] if crew.leading(leader) else [f"{leader.name} not leading"],
            what=f"{leader.name} leading",
        )
        return cls(e2e, crew, lease, leader, crew.start())

    def note(self, what: str) -> None:
        """Say what happened (pytest shows it with a failure, ``-s`` always)."""
        print(f"HA {now().strftime('%H:%M:%S.%f')[:-3]} {what}")

    @property
    def leader_id(self) -> str:
        spans = leaderships(self.leader, ended_at=self.killed)
        assert spans, f"{self.leader.name} never led"
        return spans[0].identity

    @property
    def follower_id(self) -> str:
        spans = leaderships(self.follower, ended_at=None)
        assert spans, f"{self.follower.name} never led"
        return spans[-1].identity

    def expect_only_the_leader_acts(self) -> None:
        """Before the SIGKILL: the follower waits quietly; the leader does everything."""
        assert self.crew.leading(self.follower) is None, f"{self.follower.name} leads too"
        assert metric(self.leader, MASTER_STATUS) == 1
        assert metric(self.follower, MASTER_STATUS) == 0
        assert (metric(self.leader, VPSIE_REQUESTS) or 0) > 0, "the leader never called VPSie"
        assert metric(self.follower, VPSIE_REQUESTS) is None, "the follower called VPSie"
        acting = leader_scope_records(self.follower)
        assert not acting, f"the follower acted: {acting[:5]}"
        assert holders(self.lease.versions()) == [self.leader_id], self.lease.versions()
        reporters = {e.get("reportingInstance") for e in self.events()}
        assert reporters == {self.leader_id}, f"Events written by {reporters}"

    def sigkill_leader(self) -> None:
        """SIGKILL the leader: no cleanup, the Lease not released."""
        self.crew.sigkill(self.leader)
        self.killed = self.crew.ended_at[self.leader.name]
        self.note(f"{self.leader.name} SIGKILLed")

    def wait_takeover(self) -> None:
        """Wait until the follower leads; check (and print) how long after the SIGKILL."""
        killed = self.killed
        assert killed is not None
        self.crew.wait_until(
            self.crew.leader_since(killed, among=lambda: [self.follower]),
            what=f"{self.follower.name} taking over from {self.leader.name}",
        )
        span = leaderships(self.follower, ended_at=None)[-1]
        spec = self.crew.lease()["spec"]
        assert spec["holderIdentity"] == span.identity, (spec, str(span))
        by_lease = (parse_time(spec["acquireTime"]) - killed).total_seconds()
        by_log = (span.began - killed).total_seconds()
        self.note(
            f"takeover: the Lease acquired {by_lease:.2f}s and 'leading' logged {by_log:.2f}s"
            f" after the SIGKILL (bound {TAKEOVER_BOUND:.1f}s)"
        )
        assert 0 < by_lease <= TAKEOVER_BOUND, f"the Lease was taken {by_lease:.2f}s after"
        assert 0 < by_log <= TAKEOVER_BOUND, f"{self.follower.name} led {by_log:.2f}s after"

    def expect_one_actor(self) -> None:
        """Logs, the VPSie call log, Events and the Lease's history: one actor at a time."""
        e2e, killed = self.e2e, self.killed
        assert e2e.sim is not None
        assert killed is not None
        spans = self.crew.spans()
        for span in spans:
            self.note(str(span))
        got = [(s.daemon, s.how) for s in spans]
        assert got == [(self.leader.name, "killed"), (self.follower.name, "leading")], got
        assert not overlapping(spans), overlapping(spans)
        outside = calls_outside(e2e.sim.calls()["calls"], spans, slack=CALL_SLACK)
        assert not outside, outside[:20]
        took_over = spans[1].began
        early = [r for r in leader_scope_records(self.follower) if parse_time(r["ts"]) < took_over]
        assert not early, f"{self.follower.name} acted before it led: {early[:5]}"
        self.expect_events_by_the_actor(spans)

        versions = self.lease.versions()
        assert not self.lease.gaps, self.lease.gaps
        assert holders(versions) == [s.identity for s in spans], [str(v) for v in versions]
        assert not handover_problems(versions), handover_problems(versions)
        last = [v for v in versions if v.holder == spans[0].identity][-1]
        assert last.renewed is not None, last
        assert last.renewed <= killed, f"renewed after the SIGKILL at {killed}: {last}"

    def expect_events_by_the_actor(self, spans: list[Leadership]) -> None:
        """Every Event of the daemons names, as its reporting instance, the daemon that led
        when it was written (Event times are whole seconds: one second of slack before)."""
        second = dt.timedelta(seconds=1)
        span_of = {s.identity: s for s in spans}
        for event in self.events():
            who = str(event.get("reportingInstance"))
            what = f"{event['reason']} on {event['involvedObject'].get('name')} by {who}"
            span = span_of.get(who)
            assert span is not None, f"{what}: no daemon led as {who}"
            first, last = (parse_time(event[k]) for k in ("firstTimestamp", "lastTimestamp"))
            assert span.began - second <= first, f"{what} at {first}, before {span}"
            assert span.ended is None or last <= span.ended, f"{what} at {last}, after {span}"

    def events(self) -> list[JSON]:
        """The daemons' Events: in the test's namespace and on the test's Nodes."""
        e2e = self.e2e
        ours = {n["metadata"]["name"] for n in e2e.nodes()}
        ours |= {str(w["hostname"]).lower() for g in e2e.groups for w in e2e.sim_workers(g)}
        on_nodes = [
            e
            for e in e2e.api.get("/api/v1/namespaces/default/events")["items"]
            if e["involvedObject"].get("kind") == "Node" and e["involvedObject"]["name"] in ours
        ]
        return [e for e in e2e.events() + on_nodes if e.get("reportingComponent") == COMPONENT]


# --- scale-up ----------------------------------------------------------------------------------
def half_done_scale_up(e2e: E2E, need: int) -> Probe:
    """Probe: the ``need`` VPSieNodes are written and the second create hangs at VPSie (the
    worker made, no answer sent): the leader holds the cluster's create lock meanwhile."""

    def probe() -> list[str]:
        vns = e2e.vpsienodes(GROUP)
        k4 = e2e.k4_calls(GROUP)
        # More is final: fail now rather than wait for what cannot come.
        assert len(vns) <= need, f"{len(vns)} VPSieNodes for {need} nodes"
        assert len(k4) <= 2, f"a create passed the hanging one: {k4}"
        missing = [] if len(vns) == need else [f"{len(vns)} VPSieNodes, want {need}"]
        hung = [c for c in k4 if c["fault"] == LOST_ANSWER]
        return missing + ([] if hung else [f"the second create is not hanging: {k4}"])

    return probe


def test_the_follower_finishes_a_half_done_scale_up_without_duplicates(e2e: E2E) -> None:
    web = Workload("web", replicas=6, cpu_m=1500, memory_mi=1024)  # two pods per node
    size = size_of("large")
    need = ffd_nodes(web, size)
    assert need == lower_bound(web, size) == 3, "one node more or less would be a mistake"
    sim = e2e.start_simulator_in(world())
    sim.set_faults([{"route": "K4", "calls": [2], "hang_rate": 1, "hang_mode": "commit_then_hang"}])
    with LeaseWatch(e2e.api, e2e.ns.name) as lease:
        pair = Pair.start(e2e, lease, {**SETTINGS, **SCALE_UP_SETTINGS})
        # maxNodes leaves room for duplicates: only the daemons can prevent them.
        labels = template_labels(e2e)
        e2e.apply_nodegroup(GROUP, min_nodes=0, max_nodes=2 * need, labels=labels)
        web.create(e2e)
        pair.crew.wait_until(
            half_done_scale_up(e2e, need), what=f"{need} VPSieNodes and the second create hanging"
        )
        pair.expect_only_the_leader_acts()
        pair.sigkill_leader()
        at_kill = {vn["metadata"]["name"]: vn for vn in e2e.vpsienodes(GROUP)}
        phases = {name: inv.status(vn).get("phase") for name, vn in at_kill.items()}
        made = e2e.created()
        unnamed = made - {inv.identifier(vn) for vn in at_kill.values()}
        pair.note(f"at the SIGKILL: VPSieNodes {phases}; workers {made}, unnamed {unnamed}")
        assert len(made) == 2, f"VPSie made {made}: want the first two creates' workers"
        assert unnamed, "every worker is named: the second create's answer was not lost"
        assert "Provisioning" in phases.values(), phases

        pair.wait_takeover()
        pair.crew.wait_until(
            e2e.pods_running(web.name, web.replicas, group=GROUP),
            what=f"the pods of {web.name} Running on nodes of {GROUP}",
            timeout=SCALE_UP_WAIT,
        )
        pair.crew.wait_until(
            e2e.group_ready(GROUP, need, template={"labels": labels}), what=f"{need} Ready nodes"
        )
        assert pair.killed is not None
        running = (now() - pair.killed).total_seconds()
        pair.note(f"{web.name} Running {running:.1f}s after the SIGKILL")
        pair.expect_one_actor()

    # Three creates in all: two by the leader (the second's answer lost), one by the follower.
    k4 = e2e.k4_calls(GROUP)
    got = [(c["status"], c["fault"]) for c in k4]
    assert got == [(200, None), (0, LOST_ANSWER), (200, None)], got
    by_follower = [parse_time(c["at"]) >= pair.crew.spans()[1].began for c in k4]
    assert by_follower == [False, False, True], [c["at"] for c in k4]
    final = [vn for vn in e2e.vpsienodes(GROUP) if inv.counted(vn)]
    owners = {inv.identifier(vn): vn["metadata"]["name"] for vn in final}
    replaced = sorted(set(at_kill) - set(owners.values()))
    pair.note(f"owners {owners}; replaced (Failed: never sent) {replaced}")
    # The follower found the worker of each create the leader made and could not name.
    recovered = [
        e["message"]
        for e in pair.events()
        if e["reason"] == "WorkerRecovered" and e.get("reportingInstance") == pair.follower_id
    ]
    for worker in unnamed:
        assert worker in owners, f"worker {worker} has no VPSieNode: {owners}"
        assert any(worker in text for text in recovered), (worker, recovered)
    e2e.expect_invariants(creates=need)


# --- scale-down --------------------------------------------------------------------------------
def draining(e2e: E2E, name: str) -> Probe:
    """Probe: node ``name`` carries our taint and the held pod is evicted (Terminating)."""

    def probe() -> list[str]:
        taints = [t["key"] for t in node(e2e, name)["spec"].get("taints") or []]
        held = [p for p in e2e.pods("held") if p["metadata"].get("deletionTimestamp")]
        return [] if TAINT in taints and held else [f"taints {taints}, held pods {len(held)}"]

    return probe


def release_held_pods(e2e: E2E) -> None:
    """Remove the test's finalizer: the evicted pod may go now."""
    for pod in e2e.pods("held"):
        if pod["metadata"].get("finalizers"):
            path = f"/api/v1/namespaces/{e2e.ns.name}/pods/{pod['metadata']['name']}"
            e2e.api.patch(path, {"metadata": {"finalizers": None}}, content_type=MERGE_PATCH)


def test_the_follower_finishes_a_half_done_drain_and_removes_the_node_once(e2e: E2E) -> None:
    e2e.start_simulator_in(world())
    with LeaseWatch(e2e.api, e2e.ns.name) as lease:
        pair = Pair.start(e2e, lease)
        e2e.apply_nodegroup(GROUP, min_nodes=2, max_nodes=4, labels=template_labels(e2e))
        e2e.patch_nodegroup(GROUP, {"scaleDown": FAST})
        pair.crew.wait_until(e2e.group_ready(GROUP, 2), what=f"2 Ready nodes in {GROUP}")
        deployment(e2e, "anchor", cpu="2400m")  # 62 %: its node stays
        anchor = node_of(e2e, "anchor")
        place_on_other_node(
            e2e, anchor, lambda: deployment(e2e, "held", cpu="500m", finalizers=[HOLD])
        )
        drained = node_of(e2e, "held")  # 13 %: underused, its pod fits beside the anchor
        (member,) = [vn for vn in e2e.vpsienodes(GROUP) if inv.status(vn)["nodeName"] == drained]
        worker = inv.identifier(member)
        e2e.patch_nodegroup(GROUP, {"minNodes": 0})
        pair.crew.wait_until(draining(e2e, drained), what=f"{drained} draining", timeout=DOWN_WAIT)
        pair.expect_only_the_leader_acts()
        pair.sigkill_leader()
        phases = {
            inv.status(vn).get("nodeName"): inv.status(vn)["phase"] for vn in e2e.vpsienodes(GROUP)
        }
        (evicted,) = [
            p["metadata"]["name"]
            for p in e2e.pods("held")
            if p["metadata"].get("deletionTimestamp")
        ]
        pair.note(f"at the SIGKILL: {phases}; {evicted} Terminating")
        assert phases[drained] == "Draining", phases

        pair.wait_takeover()
        release_held_pods(e2e)
        pair.crew.wait_until(shrunk_to(e2e, 1), what=f"{GROUP} down to one node", timeout=DOWN_WAIT)
        for app in ("anchor", "held"):
            pair.crew.wait_until(e2e.pods_running(app, 1, group=GROUP), what=f"{app} Running")
        pair.expect_one_actor()

    assert group_nodes(e2e) == [anchor]
    # No pod lost: the evicted one went through its eviction, its replacement runs.
    assert [p["spec"]["nodeName"] for p in e2e.pods()] == [anchor, anchor], e2e.pods()
    assert evicted not in {p["metadata"]["name"] for p in e2e.pods("held")}
    # The leader began the drain; the follower, once it led, began its own and removed it.
    on_node = [e for e in pair.events() if e["involvedObject"]["name"] == drained]
    for event in on_node:
        pair.note(f"{event['reason']} by {event['reportingInstance']}: {event['message']}")
    began = {
        str(e["reportingInstance"])
        for e in on_node
        if e["reason"] == "ScaleDown" and e["message"].startswith("removing the node")
    }
    assert began == {pair.leader_id, pair.follower_id}, began
    removals = [
        d.name
        for d in (pair.leader, pair.follower)
        for r in log_records(d)
        if r.get("msg") == "node removed by scale-down"
    ]
    assert removals == [pair.follower.name], removals
    k5 = [c for c in e2e.snapshot().calls if c.get("route_id") == inv.K5_ROUTE]
    targets = {(c.get("body") or {}).get("identifier") for c in k5}
    pair.note(f"K5 calls {[(c['seq'], c['status']) for c in k5]} for {targets}")
    assert targets == {worker}, f"deleted {targets}, want only {worker}"
    assert metric(pair.follower, SCALED_DOWN, nodegroup=GROUP) == 1
    removed = [e for e in e2e.events("ScaledDownGroup") if drained in e["message"]]
    assert [e["count"] for e in removed] == [1], [e["message"] for e in removed]
    e2e.expect_invariants(creates=2)
