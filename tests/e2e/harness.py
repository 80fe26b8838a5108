"""The e2e world: control plane + VPSie simulator (subprocess) + the daemon (subprocess).

``E2E`` starts the simulator with its Node bridge (workers become kwok Nodes labelled for
this test) and the daemon pointed at it, applies NodeGroups, runs Deployments in the
test's namespace, reads the daemon's metrics and the simulator's call log, waits on
conditions with deadlines (polling; no fixed sleeps) and checks the invariants of
architecture.md §2 at the end of every test. Everything it starts is stopped in ``close()``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from autoscaler.core.resources.common import API_VERSION, GROUP, VERSION
from tests.e2e import invariants as inv
from tests.e2e.daemons import E2E_SETTINGS, E2EDaemon, daemon_env
from tests.e2e.diagnostics import keep_artefacts
from tests.e2e.invariants import JSON, History, SimGroup, Snapshot
from tests.e2e.probes import vpsienode_ready_problems
from tests.e2e.recorder import Reading, Recorder
from tests.e2e.simproc import CLUSTER, TOKEN, SimulatorError, SimulatorProcess, world
from tests.testenv import ApiError, ControlPlane, TestNamespace
from tests.testenv.kubehttp import MERGE_PATCH
from tests.testenv.objects import is_pod_running, pod_manifest

WAIT = 120.0  # one condition, on a loaded 2-core machine
SETTLE = 120.0  # invariants: the garbage collector and finalizers act within bounded time
POLL = 0.3
SIM_GROUP = "large"  # the default world's empty VKE group (the "small" one has a worker)

Probe = Callable[[], list[str]]  # what is still missing; done when empty


class E2E:
    """One test's world; see the module docstring."""

    def __init__(self, testenv: ControlPlane, ns: TestNamespace, directory: Path) -> None:
        self.testenv = testenv
        self.ns = ns
        self.dir = directory
        self.api = testenv.admin
        self.seed = int(ns.test_hash, 16) % 10**6
        self.groups: dict[str, SimGroup] = {}
        self.foreign: set[str] = set()  # workers someone else added to our VPSie groups
        self.sim: SimulatorProcess | None = None
        self.daemons: list[E2EDaemon] = []
        self.dropped_settings: list[str] = []
        self.recorder = Recorder(self._reading, self.groups)
        self.invariants_checked = False

    # --- processes ---------------------------------------------------------------------------
    def start_simulator(self, **delays: float) -> SimulatorProcess:
        """Start the simulator (default world, real clock, short ``delays``) and the recorder."""
        return self.start_simulator_in({}, **delays)

    def start_simulator_in(
        self, overrides: Mapping[str, Any], /, **delays: float
    ) -> SimulatorProcess:
        """``start_simulator`` in the default world with ``overrides`` merged into its
        configuration (mappings merge key by key, anything else replaces): other clusters
        and groups, knobs.
        """
        config = world(seed=self.seed, run_id=self.ns.name, **delays)
        self.sim = SimulatorProcess(
            self.dir / "simulator",
            world=_merged(config, overrides),
            kubeconfig=self.testenv.admin_kubeconfig,
            node_labels=self.ns.node_labels,
        ).start()
        self.recorder.start()
        return self.sim

    @property
    def daemon(self) -> E2EDaemon:
        """The most recently started daemon."""
        assert self.daemons, "no daemon started"
        return self.daemons[-1]

    def start_daemon(self, overrides: Mapping[tuple[str, str], str] | None = None) -> E2EDaemon:
        """Start a daemon on the simulator and wait until ready; ``overrides`` are settings."""
        assert self.sim is not None, "start the simulator first"
        wanted = {
            **E2E_SETTINGS,
            ("kube", "namespace"): self.ns.name,
            ("vpsie", "url"): self.sim.url,
            ("vpsie", "token"): TOKEN,
            ("vpsie", "cluster_identifier"): CLUSTER,
            **(overrides or {}),
        }
        env, self.dropped_settings = daemon_env(wanted)
        daemon = E2EDaemon(
            self.dir / f"daemon-{len(self.daemons) + 1}",
            kubeconfig=self.testenv.admin_kubeconfig,
            env=env,
        )
        self.daemons.append(daemon)
        daemon.start().wait_ready()
        return daemon

    def kill_daemon(self) -> None:
        """SIGKILL the running daemon (a crash: no cleanup, the Lease is not released)."""
        self.daemon.sigkill()

    def check_alive(self) -> None:
        """Fail fast if the plane, the simulator or a daemon not killed on purpose has died."""
        self.testenv.check_alive()
        if self.sim is not None:
            self.sim.check_alive()
        if self.daemons and not self.daemon.killed and not self.daemon.alive():
            code = self.daemon.proc.returncode if self.daemon.proc else None
            raise AssertionError(f"{self.daemon.name} exited {code}:\n{self.daemon.tail(60)}")

    def close(self) -> list[str]:
        """Stop the recorder, the daemons and the simulator; free our objects' finalizers.

        The simulator's state and call log and a world summary are kept in the test's
        directory first. Returns what went wrong while stopping (a daemon ignoring SIGTERM).
        """
        self.recorder.stop()
        keep_artefacts(self)
        problems = [p for d in self.daemons if (p := d.stop())]
        if self.sim is not None:
            self.sim.stop()
        for plural in ("vpsienodes", "nodegroups"):  # no controller is left to remove them
            with contextlib.suppress(ApiError, OSError):
                for obj in self.api.get(self._path(plural))["items"]:
                    path = self._path(plural, obj["metadata"]["name"])
                    self.api.patch(path, {"metadata": {"finalizers": None}})
                    self.api.delete(path)
        return problems

    # --- objects -----------------------------------------------------------------------------
    def _path(self, plural: str, name: str = "") -> str:
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.ns.name}/{plural}"
        return f"{base}/{name}" if name else base

    def nodegroup_path(self, name: str) -> str:
        """The API path of NodeGroup ``name``."""
        return self._path("nodegroups", name)

    def apply_nodegroup(
        self,
        name: str,
        *,
        min_nodes: int,
        max_nodes: int,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[Mapping[str, str]] = (),
        group_name: str = SIM_GROUP,
    ) -> JSON:
        """Create a vke NodeGroup scaling the simulator's group ``group_name``."""
        assert self.sim is not None, "start the simulator first"
        self.groups[name] = SimGroup(CLUSTER, self.sim.group_id(CLUSTER, group_name))
        body = {
            "apiVersion": API_VERSION,
            "kind": "NodeGroup",
            "metadata": {"name": name, "namespace": self.ns.name},
            "spec": {
                "minNodes": min_nodes,
                "maxNodes": max_nodes,
                "provider": {
                    "mode": "vke",
                    "clusterIdentifier": CLUSTER,
                    "nodeGroupName": group_name,
                },
                "template": {"labels": dict(labels or {}), "taints": [dict(t) for t in taints]},
            },
        }
        return self.api.post(self._path("nodegroups"), body)

    def patch_nodegroup(self, name: str, spec: Mapping[str, Any]) -> JSON:
        """Merge-patch the NodeGroup's spec."""
        return self.api.patch(
            self.nodegroup_path(name), {"spec": dict(spec)}, content_type=MERGE_PATCH
        )

    def delete_nodegroup(self, name: str) -> None:
        """Delete the NodeGroup; its VPSieNodes go, each through its finalizer."""
        self.api.delete(self.nodegroup_path(name))

    def nodegroups(self) -> list[JSON]:
        """The NodeGroups of the test's namespace."""
        return _items(self.api.get(self._path("nodegroups")), "NodeGroup")

    def vpsienodes(self, group: str | None = None) -> list[JSON]:
        """The VPSieNodes of the test's namespace (of one NodeGroup if given), by name."""
        items = _items(self.api.get(self._path("vpsienodes")), "VPSieNode")
        chosen = items if group is None else inv.members(items, group)
        return sorted(chosen, key=lambda vn: vn["metadata"]["name"])

    def add_foreign_worker(self, group: str) -> str:
        """Add a worker to ``group``'s VPSie group behind the autoscaler's back (K4)."""
        assert self.sim is not None
        sim_group = self.groups[group]
        identifier = self.sim.add_worker(sim_group.cluster, sim_group.group_id)
        self.foreign.add(identifier)
        return identifier

    def events(self, reason: str | None = None, *, node: str | None = None) -> list[JSON]:
        """Events of the test's namespace, or of ``node`` (in ``default``), oldest first."""
        namespace = "default" if node else self.ns.name
        items = self.api.get(f"/api/v1/namespaces/{namespace}/events")["items"]
        chosen = [
            e
            for e in items
            if (reason is None or e.get("reason") == reason)
            and (node is None or e["involvedObject"].get("name") == node)
        ]
        return sorted(chosen, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime")))

    def daemon_metric(self, name: str, **labels: str) -> float | None:
        """The sum of the running daemon's samples ``name`` with ``labels`` (``None``: none).

        ``name`` is the sample's name as exposed (``..._total`` for a counter, ``..._count``
        for a histogram's count).
        """
        status, text = self.daemon.get(self.daemon.metrics_port, "/metrics")
        assert status == 200, f"GET /metrics answered {status}: {text[:300]}"
        values = [
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        ]
        return sum(values) if values else None

    def nodes(self) -> list[JSON]:
        """The Nodes of this test (the bridge labels every Node it makes for us)."""
        return list(self.api.get("/api/v1/nodes", labelSelector=self.ns.node_selector)["items"])

    def sim_workers(self, group: str) -> list[JSON]:
        """The simulator's workers of NodeGroup ``group``'s VPSie group, deleted ones too."""
        assert self.sim is not None
        return inv.workers(self.sim.state(), [self.groups[group]])

    def created(self) -> set[str]:
        """Identifiers of the workers VPSie created through K4 in our groups so far."""
        assert self.sim is not None
        return inv.created_by_k4(self.sim.state(), self.groups.values())

    def k4_calls(self, group: str) -> list[JSON]:
        """The simulator's add-worker calls (K4) for NodeGroup ``group``'s VPSie group, in order.

        Each is an entry of the call log: ``seq``, ``t`` (simulator seconds), ``status`` and
        ``fault``. A refusal such as a quota error answers 200 with ``"error": true`` unless
        the world's ``business_error_status`` knob is 400.
        """
        assert self.sim is not None
        path = f"/group/{self.groups[group].group_id}"
        calls = self.sim.calls()["calls"]
        return [c for c in calls if c.get("route_id") == inv.K4_ROUTE and c["path"].endswith(path)]

    def snapshot(self) -> Snapshot:
        """Read everything the invariants look at."""
        assert self.sim is not None
        return Snapshot(
            sim=self.sim.state(),
            calls=list(self.sim.calls()["calls"]),
            nodegroups=self.nodegroups(),
            vpsienodes=self.vpsienodes(),
            nodes=self.nodes(),
        )

    def _reading(self) -> Reading:
        return Reading(
            nodegroups=self.nodegroups(),
            vpsienodes=self.vpsienodes(),
            sim=self.sim.state() if self.sim is not None and self.sim.alive() else None,
        )

    def history(self) -> History:
        """What the recorder saw so far."""
        return self.recorder.snapshot_history()

    # --- workload ----------------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        *,
        replicas: int,
        cpu: str,
        memory: str,
        node_selector: Mapping[str, str] | None = None,
        tolerations: Sequence[Mapping[str, Any]] = (),
    ) -> JSON:
        """A Deployment of ``replicas`` pods labelled ``app=<name>`` in the test's namespace.

        The pods' nodeSelector always holds the test's isolation label (the bridge puts it
        on every Node of this test), so they never fit another test's Nodes; add a label of
        a NodeGroup's template to ``node_selector`` to keep them off Nodes of no group. The
        planner knows a group's nodes by its template only: a NodeGroup meant for these pods
        carries ``ns.node_labels`` in its template labels too.
        """
        selector = {**dict(node_selector or {}), **self.ns.node_labels}
        pod = pod_manifest(
            name,
            namespace=self.ns.name,
            labels={"app": name},
            node_selector=selector,
            cpu=cpu,
            memory=memory,
            tolerations=tolerations,
        )
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": self.ns.name, "labels": {"app": name}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": pod["metadata"], "spec": pod["spec"]},
            },
        }
        return self.api.post(f"/apis/apps/v1/namespaces/{self.ns.name}/deployments", body)

    def pods(self, app: str | None = None) -> list[JSON]:
        """The pods of the test's namespace (labelled ``app=<app>`` if given), by name."""
        params = {"labelSelector": f"app={app}"} if app else {}
        items = self.api.get(f"/api/v1/namespaces/{self.ns.name}/pods", **params)["items"]
        return sorted(items, key=lambda p: str(p["metadata"]["name"]))

    def pods_running(self, app: str, count: int, *, group: str | None = None) -> Probe:
        """Probe: ``count`` pods of ``app``, all Running (on Nodes of NodeGroup ``group``)."""

        def probe() -> list[str]:
            pods = self.pods(app)
            missing = [] if len(pods) == count else [f"{len(pods)} pods of {app}, want {count}"]
            missing += [
                f"pod {p['metadata']['name']} is {p.get('status', {}).get('phase')}"
                for p in pods
                if not is_pod_running(p)
            ]
            if group is not None:
                ours = {
                    n["metadata"]["name"]
                    for n in self.nodes()
                    if (n["metadata"].get("labels") or {}).get(inv.GROUP_LABEL) == group
                }
                missing += [
                    f"pod {p['metadata']['name']} runs on {p['spec'].get('nodeName')},"
                    f" not on a Node of {group}"
                    for p in pods
                    if p["spec"].get("nodeName") and p["spec"]["nodeName"] not in ours
                ]
            return missing

        return probe

    def pods_unschedulable(self, app: str, count: int) -> Probe:
        """Probe: ``count`` pods of ``app``, each with ``PodScheduled=False/Unschedulable``."""

        def probe() -> list[str]:
            pods = self.pods(app)
            missing = [] if len(pods) == count else [f"{len(pods)} pods of {app}, want {count}"]
            for p in pods:
                conditions = p.get("status", {}).get("conditions") or []
                if not any(
                    c.get("type") == "PodScheduled"
                    and c.get("status") == "False"
                    and c.get("reason") == "Unschedulable"
                    for c in conditions
                ):
                    missing.append(f"pod {p['metadata']['name']} is not Unschedulable")
            return missing

        return probe

    # --- waiting -----------------------------------------------------------------------------
    def wait_until(self, probe: Probe, *, what: str, timeout: float = WAIT) -> float:
        """Poll ``probe`` until it reports nothing missing; return the seconds it took."""
        began = time.monotonic()
        deadline = began + timeout
        missing: list[str] = ["(never probed)"]
        while True:
            self.check_alive()
            try:
                missing = probe()
            except (ApiError, OSError, SimulatorError) as err:  # slow or restarting: again
                missing = [f"read failed: {err}"]
            if not missing:
                return time.monotonic() - began
            if time.monotonic() > deadline:
                shown = "\n  ".join(missing[:20])
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}:\n  {shown}"
                )
            time.sleep(POLL)

    def group_ready(
        self, group: str, count: int, *, template: Mapping[str, Any] | None = None
    ) -> Probe:
        """Probe: ``count`` Ready VPSieNodes in ``group``, each with a Ready, labelled Node.

        Only members that count toward the group's size are looked at: a Failed member, or
        one whose finalizer is still at work, may linger beside them.
        """

        def probe() -> list[str]:
            vns = [vn for vn in self.vpsienodes(group) if inv.counted(vn)]
            nodes = {n["metadata"]["name"]: n for n in self.nodes()}
            live = {
                w["identifier"]: w for w in self.sim_workers(group) if w["state"] not in inv.DEAD
            }
            missing = [] if len(vns) == count else [f"{len(vns)} VPSieNodes, want {count}"]
            for vn in vns:
                missing += vpsienode_ready_problems(vn, nodes, live, group, template or {})
            return missing

        return probe

    def group_gone(self, group: str) -> Probe:
        """Probe: the NodeGroup, its VPSieNodes, its workers and their Nodes are all gone."""

        def probe() -> list[str]:
            missing = []
            if self.api.exists(self.nodegroup_path(group)):
                missing.append(f"NodeGroup {group} still exists")
            missing += [
                f"VPSieNode {vn['metadata']['name']} still exists" for vn in self.vpsienodes(group)
            ]
            ours = [w for w in self.sim_workers(group) if w["identifier"] not in self.foreign]
            missing += [
                f"worker {w['hostname']} is {w['state']}"
                for w in ours
                if w["state"] not in inv.DEAD
            ]
            hostnames = {str(w["hostname"]).lower() for w in ours}
            missing += [
                f"Node {n['metadata']['name']} still exists"
                for n in self.nodes()
                if (n["metadata"].get("labels") or {}).get(inv.GROUP_LABEL) == group
                or n["metadata"]["name"] in hostnames
            ]
            return missing

        return probe

    def wait_sim(
        self, predicate: Callable[[JSON], bool], *, what: str, timeout: float = WAIT
    ) -> None:
        """Wait until ``predicate(GET /__sim/state)`` holds."""
        assert self.sim is not None
        sim = self.sim
        self.wait_until(
            lambda: [] if predicate(sim.state()) else [what], what=what, timeout=timeout
        )

    # --- invariants --------------------------------------------------------------------------
    def invariant_violations(self, *, creates: int | None = None, bounds: bool = True) -> list[str]:
        """The invariants broken right now (see ``invariants.py``)."""
        self.recorder.poll_now()
        return inv.violations(
            self.snapshot(),
            self.history(),
            groups=self.groups,
            creates=creates,
            bounds=bounds,
            foreign=frozenset(self.foreign),
        )

    def expect_invariants(
        self, *, creates: int | None = None, bounds: bool = True, timeout: float = SETTLE
    ) -> float:
        """Wait until every invariant holds (bounded time for GC and finalizers); fail otherwise."""
        self.invariants_checked = True
        return self.wait_until(
            lambda: self.invariant_violations(creates=creates, bounds=bounds),
            what="the invariants of architecture.md §2",
            timeout=timeout,
        )


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> JSON:
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = _merged(current, value)
        else:
            out[key] = value
    return out


def _items(listing: JSON, kind: str) -> list[JSON]:
    items = list(listing.get("items") or [])
    for item in items:
        item.setdefault("kind", kind)
    return items
