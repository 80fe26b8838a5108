"""Scale-up, seen from outside: pending pods become nodes of the right NodeGroup, at once.

The daemon runs as a process against the VPSie simulator (``harness.py``). Every node count
expected here is computed in the test from the pods' requests and what one new node of the
group offers: the size of its VPSie group in the world's catalogue, minus the reservation of
vpsie-api.md §6 (100m CPU, 356Mi memory; 110 pods), packed first-fit-decreasing (FFD). A
plan may be one node above that (Cluster Autoscaler's estimator tolerance) but never below
the lower bound: the pods' total requests over one node's allocatable.

The world is the default VKE cluster with both groups ("small", "large") empty, so every
worker is one of ours. The pods select a label of the NodeGroups' templates besides the
test's isolation label, so they fit only Nodes our NodeGroups make.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction

from autoscaler.core.quantity import int_value, milli_value
from autoscaler.simulator.catalogue import default_clusters, default_offers
from tests.e2e import invariants as inv
from tests.e2e.harness import E2E, Probe
from tests.e2e.invariants import JSON

MI = 2**20
RESERVED_CPU_M = 100
RESERVED_MEMORY = 356 * MI
PODS_PER_NODE = 110

POOL = {"scaleup.example.com/pool": "workers"}  # on every NodeGroup's template; pods select it
DEDICATED = [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
DECISION = "autoscaler.vpsie.com/decision"
SCALED_UP = "vpsie_autoscaler_scale_up_decisions_total"
BATCH = {("scaling", "batch_idle_s"): "1", ("scaling", "batch_max_s"): "10"}
TIMEOUT_EVENTS = ("ProvisioningTimedOut", "JoiningTimedOut")
SCALE_UP_WAIT = 240.0  # pending -> VPSieNodes -> workers -> Ready Nodes -> Running pods


@dataclasses.dataclass(frozen=True)
class Size:
    """One new node of a VPSie group: capacity, allocatable and monthly price."""

    group: str
    cpu_m: int
    memory: int
    price: Decimal

    @property
    def alloc_cpu_m(self) -> int:
        """Allocatable CPU (millicores)."""
        return self.cpu_m - RESERVED_CPU_M

    @property
    def alloc_memory(self) -> int:
        """Allocatable memory (bytes)."""
        return self.memory - RESERVED_MEMORY


@dataclasses.dataclass(frozen=True)
class Workload:
    """A Deployment of identical pods."""

    name: str
    replicas: int
    cpu_m: int
    memory_mi: int

    @property
    def memory(self) -> int:
        """One pod's memory request in bytes."""
        return self.memory_mi * MI

    def create(self, e2e: E2E) -> None:
        """Create the Deployment; its pods select ``POOL`` (and the test's Nodes)."""
        e2e.create_deployment(
            self.name,
            replicas=self.replicas,
            cpu=f"{self.cpu_m}m",
            memory=f"{self.memory_mi}Mi",
            node_selector=POOL,
        )


def template_labels(e2e: E2E) -> dict[str, str]:
    """``POOL`` and the test's isolation label: the pods select both, and the planner knows a
    group's nodes by its template only (the bridge puts the isolation label on the Nodes)."""
    return {**POOL, **e2e.ns.node_labels}


def size_of(group: str) -> Size:
    """What a new worker of the default world's VKE group ``group`` offers (K3 size, K6 price)."""
    offers = {o.id: o for o in default_offers()}
    for cluster in default_clusters():
        for spec in cluster.groups:
            if spec.group_name == group:
                offer = offers[spec.offer_id]
                return Size(group, offer.cpu * 1000, offer.ram * MI, Decimal(str(offer.price)))
    raise AssertionError(f"no VKE group {group!r} in the default world")


def world(
    *, max_workers: Mapping[str, int] | None = None, refusals_answer_400: bool = False
) -> JSON:
    """The default world with both VKE groups empty; VPSie's own per-group worker limits.

    With ``refusals_answer_400`` a refused call (a quota error) answers HTTP 400 rather than
    200 with ``"error": true``, so the invariant check does not take it for an accepted create.
    """
    limits = dict(max_workers or {})
    clusters = []
    for cluster in default_clusters():
        groups = []
        for spec in cluster.groups:
            update: dict[str, object] = {"initial_nodes": 0}
            if spec.group_name in limits:
                update["max_workers"] = limits[spec.group_name]
            groups.append(spec.model_copy(update=update))
        clusters.append(cluster.model_copy(update={"groups": groups}).model_dump(mode="json"))
    overrides: JSON = {"clusters": clusters}
    if refusals_answer_400:
        overrides["knobs"] = {"business_error_status": 400}
    return overrides


# --- the expected plan, computed here --------------------------------------------------------
def ffd_nodes(pods: Workload, size: Size) -> int:
    """Nodes that first-fit-decreasing packs the pods into (largest share of a node first)."""
    free: list[list[int]] = []  # per node: cpu, memory, pod slots left
    for _ in range(pods.replicas):  # identical pods: "decreasing" is any order
        for node in free:
            if node[0] >= pods.cpu_m and node[1] >= pods.memory and node[2] >= 1:
                node[0] -= pods.cpu_m
                node[1] -= pods.memory
                node[2] -= 1
                break
        else:
            node = [
                size.alloc_cpu_m - pods.cpu_m,
                size.alloc_memory - pods.memory,
                PODS_PER_NODE - 1,
            ]
            assert min(node) >= 0, f"a pod of {pods.name} fits no node of {size.group}"
            free.append(node)
    return len(free)


def lower_bound(pods: Workload, size: Size) -> int:
    """No plan can use fewer nodes: total requests over one node's allocatable."""
    return max(
        math.ceil(pods.replicas * pods.cpu_m / size.alloc_cpu_m),
        math.ceil(pods.replicas * pods.memory / size.alloc_memory),
        math.ceil(pods.replicas / PODS_PER_NODE),
    )


def pods_per_node(pods: Workload, size: Size) -> int:
    """How many of the pods one empty node holds."""
    return min(size.alloc_cpu_m // pods.cpu_m, size.alloc_memory // pods.memory, PODS_PER_NODE)


def waste(pods: Workload, size: Size) -> Fraction:
    """Idle CPU fraction + idle memory fraction of the new nodes' capacity (least-waste)."""
    n = ffd_nodes(pods, size)
    cpu = Fraction(n * size.cpu_m - pods.replicas * pods.cpu_m, n * size.cpu_m)
    return cpu + Fraction(n * size.memory - pods.replicas * pods.memory, n * size.memory)


def price_per_pod(pods: Workload, size: Size) -> Fraction:
    """Monthly price of the new nodes per pod helped (the price expander)."""
    return Fraction(size.price) * ffd_nodes(pods, size) / pods.replicas


def expect_count(nodes: int, pods: Workload, size: Size, what: str) -> None:
    """Within one node above the FFD estimate, never below the lower bound."""
    need, least = ffd_nodes(pods, size), lower_bound(pods, size)
    print(
        f"{what}: {nodes} nodes for {pods.replicas} pods of {pods.name};"
        f" FFD {need}, lower bound {least}"
    )
    assert least <= nodes <= need + 1, (
        f"{what}: {nodes} nodes for {pods.replicas} pods; FFD says {need}, lower bound {least}"
    )


# --- reading the world ---------------------------------------------------------------------
def conditions(e2e: E2E, group: str) -> dict[str, str]:
    """The NodeGroup's status conditions, type -> status."""
    obj = e2e.api.get(e2e.nodegroup_path(group))
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def counted(e2e: E2E, group: str) -> list[JSON]:
    """The group's VPSieNodes that count toward its size (not Failed, not being deleted)."""
    return [vn for vn in e2e.vpsienodes(group) if inv.counted(vn)]


def decision_of(vn: JSON) -> str:
    """The id of the scale-up decision that made a VPSieNode (``(none)`` if unannotated)."""
    return str((vn["metadata"].get("annotations") or {}).get(DECISION, "(none)"))


def while_watching(probe: Probe, watch: Callable[[], None]) -> Probe:
    """``probe``, calling ``watch`` first on every poll (to catch a short-lived state)."""

    def both() -> list[str]:
        watch()
        return probe()

    return both


def expect_allocatable(e2e: E2E, group: str, size: Size) -> None:
    """The group's Nodes offer what the expected counts assumed."""
    nodes = [
        n for n in e2e.nodes() if (n["metadata"].get("labels") or {}).get(inv.GROUP_LABEL) == group
    ]
    assert nodes, f"no Node of {group}"
    for node in nodes:
        alloc = node["status"]["allocatable"]
        got = (milli_value(alloc["cpu"]), int_value(alloc["memory"]), int_value(alloc["pods"]))
        want = (size.alloc_cpu_m, size.alloc_memory, PODS_PER_NODE)
        assert got == want, f"Node {node['metadata']['name']} allocatable {alloc}, want {want}"


# --- the tests ---------------------------------------------------------------------------------
def test_deployment_that_fits_nowhere_gets_ffd_nodes_in_the_allowed_group(e2e: E2E) -> None:
    web = Workload("web", replicas=20, cpu_m=500, memory_mi=1200)
    general, dedicated = size_of("large"), size_of("small")
    # Were the pods to tolerate the taint, the small group would win on least waste: only
    # the taint keeps them off it.
    assert waste(web, dedicated) < waste(web, general)

    e2e.start_simulator_in(world())
    e2e.start_daemon(BATCH)
    labels = template_labels(e2e)
    e2e.apply_nodegroup("general", min_nodes=0, max_nodes=10, labels=labels, group_name="large")
    e2e.apply_nodegroup(
        "dedicated", min_nodes=0, max_nodes=10, labels=labels, taints=DEDICATED, group_name="small"
    )
    web.create(e2e)
    e2e.wait_until(e2e.pods_unschedulable(web.name, web.replicas), what="20 pods Unschedulable")

    e2e.wait_until(
        e2e.pods_running(web.name, web.replicas, group="general"),
        what="20 pods Running on nodes of the general group",
        timeout=SCALE_UP_WAIT,
    )

    made = counted(e2e, "general")
    expect_count(len(made), web, general, "general")
    e2e.wait_until(
        e2e.group_ready("general", len(made), template={"labels": labels}),
        what="the general group's nodes Ready and labelled",
    )
    expect_allocatable(e2e, "general", general)
    assert len(e2e.vpsienodes()) == len(made), "a VPSieNode outside the group, or a Failed one"
    assert e2e.vpsienodes("dedicated") == []
    assert e2e.k4_calls("dedicated") == []
    triggered = e2e.events("TriggeredScaleUp")
    assert triggered, "no pod has a TriggeredScaleUp Event"
    assert all(
        e["involvedObject"]["kind"] == "Pod"
        and "general" in e["message"]
        and "dedicated" not in e["message"]
        for e in triggered
    ), [e["message"] for e in triggered]
    e2e.expect_invariants(creates=len(made))


def test_a_second_burst_while_the_first_is_provisioning_gets_a_decision_of_its_own(
    e2e: E2E,
) -> None:
    first = Workload("burst-a", replicas=12, cpu_m=500, memory_mi=1200)
    second = Workload("burst-b", replicas=12, cpu_m=500, memory_mi=1200)
    size = size_of("large")
    # The first burst fills its nodes exactly, so the second one cannot ride on them: its
    # decision must add exactly its own need, and a second look at the first burst's pods
    # (still pending while their nodes come up) would show as extra nodes.
    assert first.replicas % pods_per_node(first, size) == 0

    e2e.start_simulator_in(world())
    e2e.start_daemon(BATCH)
    labels = template_labels(e2e)
    assert not {"scaling.batch_idle_s", "scaling.batch_max_s"} & set(e2e.dropped_settings)
    e2e.apply_nodegroup("web", min_nodes=0, max_nodes=10, labels=labels, group_name="large")

    first.create(e2e)
    # The second burst comes once the first one's decision asked for its nodes and its
    # batch window closed (1 s idle; counted as a decision), while those nodes are still on
    # their way and the first burst's pods pending.
    need = first.replicas // pods_per_node(first, size)

    def first_decided() -> list[str]:
        made = [vn for vn in e2e.vpsienodes("web") if inv.counted(vn)]
        missing = e2e.pods_unschedulable(first.name, first.replicas)()
        if len(made) < need:
            missing.append(f"{len(made)} VPSieNodes, want {need}")
        if not e2e.daemon_metric(SCALED_UP, outcome="scaled_up"):
            missing.append("the first batch window is still open")
        return missing

    e2e.wait_until(first_decided, what="the first burst's decision", timeout=SCALE_UP_WAIT)
    before = {vn["metadata"]["name"]: decision_of(vn) for vn in e2e.vpsienodes("web")}
    second.create(e2e)

    for burst in (first, second):
        e2e.wait_until(
            e2e.pods_running(burst.name, burst.replicas, group="web"),
            what=f"the pods of {burst.name} Running on nodes of web",
            timeout=SCALE_UP_WAIT,
        )

    made = e2e.vpsienodes("web")
    assert all(inv.counted(vn) for vn in made), "a Failed or deleted VPSieNode"
    assert all(decision_of(vn) != "(none)" for vn in made), "a VPSieNode without its decision"
    # The first burst's pods, still pending when the second came, were not planned again:
    # the nodes asked for since are exactly the second burst's need, by decisions of its own.
    later = [vn for vn in made if vn["metadata"]["name"] not in before]
    expect_count(len(before), first, size, "first burst")
    expect_count(len(later), second, size, "second burst")
    assert not {decision_of(vn) for vn in later} & set(before.values()), before
    assert len(e2e.k4_calls("web")) == len(made), "add-worker calls and VPSieNodes differ"
    e2e.expect_invariants(creates=len(made))


def test_cheaper_group_at_quota_falls_back_to_next_group_at_once(e2e: E2E) -> None:
    batch = Workload("batch", replicas=6, cpu_m=1000, memory_mi=1024)
    cheap, dear = size_of("large"), size_of("small")
    # The large group is the first choice for these pods: less waste, lower price per pod.
    assert waste(batch, cheap) < waste(batch, dear)
    assert price_per_pod(batch, cheap) < price_per_pod(batch, dear)

    # VPSie allows no worker in the large group: every add-worker call there is refused.
    e2e.start_simulator_in(world(max_workers={"large": 0}, refusals_answer_400=True))
    e2e.start_daemon(BATCH)
    labels = template_labels(e2e)
    e2e.apply_nodegroup("cheap", min_nodes=0, max_nodes=5, labels=labels, group_name="large")
    e2e.apply_nodegroup("fallback", min_nodes=0, max_nodes=10, labels=labels, group_name="small")
    batch.create(e2e)

    backoff_seen: list[str] = []

    def watch_backoff() -> None:
        if not backoff_seen and conditions(e2e, "cheap").get("Backoff") == "True":
            backoff_seen.append(time.strftime("%H:%M:%S"))

    e2e.wait_until(
        while_watching(
            e2e.pods_running(batch.name, batch.replicas, group="fallback"), watch_backoff
        ),
        what="the pods Running on nodes of the fallback group",
        timeout=SCALE_UP_WAIT,
    )

    refused, accepted = e2e.k4_calls("cheap"), e2e.k4_calls("fallback")
    assert refused, "the cheap group was never tried"
    assert all(c["status"] == 400 for c in refused), [(c["seq"], c["status"]) for c in refused]
    assert accepted, "the fallback group was never asked for a worker"
    assert refused[0]["seq"] < accepted[0]["seq"], "the fallback was tried first"
    print(
        f"fallback delay: {accepted[0]['t'] - refused[0]['t']:.2f} s from the first refused"
        f" create in cheap to the first create in fallback"
    )

    tried = e2e.vpsienodes("cheap")
    assert tried, "the cheap group has no VPSieNode"
    for vn in tried:
        status = inv.status(vn)
        assert status.get("phase") == inv.FAILED, (vn["metadata"]["name"], status.get("phase"))
        assert str(status.get("lastError")).startswith("QuotaExceeded"), status.get("lastError")
    assert backoff_seen, "the cheap group's Backoff condition was never True"
    cheap_status = e2e.api.get(e2e.nodegroup_path("cheap")).get("status") or {}
    assert "QuotaExceeded" in str(cheap_status.get("lastError")), cheap_status
    timed_out = [e for r in TIMEOUT_EVENTS for e in e2e.events(r)]
    assert timed_out == [], [e["message"] for e in timed_out]
    assert [w for w in e2e.sim_workers("cheap") if w["state"] not in inv.DEAD] == []

    made = counted(e2e, "fallback")
    expect_count(len(made), batch, dear, "fallback")
    first_try = {decision_of(vn) for vn in tried}
    assert not first_try & {decision_of(vn) for vn in made}, "the fallback was not planned anew"
    assert len(accepted) == len(made), "add-worker calls and VPSieNodes differ"
    e2e.expect_invariants(creates=len(made))
