"""The demo's processes: control plane, CRDs, VPSie simulator with its bridge, the daemon.

``Stack`` starts them in that order and ``close()`` stops them in reverse (daemon first, so
it stops acting before the world goes away), removes their files and then checks that no
process it started is left: every component led its own process group, and a group with no
member left cannot be signalled any more. ``leftovers()`` names what is still there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml

from autoscaler.core.resources.common import GROUP, VERSION
from demo import scenario
from tests.e2e.daemons import E2E_SETTINGS, E2EDaemon, daemon_env
from tests.e2e.simproc import SimulatorProcess
from tests.testenv import ApiError, ControlPlane, KubeHTTP
from tests.testenv.pins import BuildFailed, ensure_built, load_pins
from tests.testenv.processes import Component, _die_with_parent_hook

REPO_ROOT = Path(__file__).resolve().parents[1]
CRD_DIR = REPO_ROOT / "charts" / "vpsie-autoscaler" / "crds"
CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WAIT = 60.0
POLL = 0.2

# E2E_SETTINGS (short leases, polls and back-offs) plus the scale-up batcher's windows.
DEMO_SETTINGS: dict[tuple[str, str], str] = {
    **E2E_SETTINGS,
    ("scaling", "batch_idle_s"): "1",
    ("scaling", "batch_max_s"): "10",
}


class DemoDaemon(E2EDaemon):
    """The daemon in a session of its own: a Ctrl-C in the terminal reaches only the demo."""

    def start(self) -> DemoDaemon:
        """Start ``python -m autoscaler run``; logs go to ``log_path``."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autoscaler", "run"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509 -- one prctl call
                start_new_session=True,
            )
        return self

    @property
    def metrics_url(self) -> str:
        """Where the daemon serves ``/metrics``."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"


class Stack:
    """Everything the demo runs; see the module docstring.

    Given a started ``plane`` (a test's), the stack uses it and leaves it running.
    """

    def __init__(
        self, place: scenario.Place | None = None, *, plane: ControlPlane | None = None
    ) -> None:
        self.place = place or scenario.Place()
        self.dir = Path(tempfile.mkdtemp(prefix="vpsie-demo-"))
        self.own_plane = plane is None
        self.plane: ControlPlane | None = plane
        self.sim: SimulatorProcess | None = None
        self.daemon: DemoDaemon | None = None
        self.pgids: dict[str, int] = {}  # every process group we started, by component

    @property
    def api(self) -> KubeHTTP:
        """The admin client of the plane."""
        assert self.plane is not None, "the plane is not started"
        return self.plane.admin

    # --- start -------------------------------------------------------------------------------
    def start_plane(self) -> ControlPlane:
        """Build (once, cached) and start the control plane; block until it works."""
        if self.plane is not None:
            return self.plane
        pins = load_pins()
        try:
            binaries = ensure_built(pins)
        except BuildFailed as err:
            raise SystemExit(f"demo: the control plane could not be built: {err}") from None
        self.plane = ControlPlane(binaries, pins=pins)
        try:
            self.plane.start()
        finally:  # record what started even if a gate failed, so close() can check it
            self._record(self.plane.components)
        return self.plane

    def install_crds(self) -> None:
        """Create the chart's CRDs and wait until the API server serves them."""
        for path in sorted(CRD_DIR.glob("*.yaml")):
            manifest = yaml.safe_load(path.read_text())
            self._create(CRD_API, manifest)
            self.api.wait_for(
                f"{CRD_API}/{manifest['metadata']['name']}",
                _established,
                timeout=WAIT,
                what=f"CRD {manifest['metadata']['name']} Established",
                check=self.check_alive,
            )
        self.api.wait_for(
            f"/apis/{GROUP}/{VERSION}",
            lambda doc: {"nodegroups", "vpsienodes"} <= {r["name"] for r in doc["resources"]},
            timeout=WAIT,
            what="discovery lists nodegroups and vpsienodes",
            check=self.check_alive,
        )

    def create_namespaces(self) -> None:
        """The daemon's namespace (NodeGroups, Lease) and the workload's."""
        for name in {self.place.system_namespace, self.place.workload_namespace}:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            self._create("/api/v1/namespaces", body)

    def _create(self, path: str, body: dict[str, Any]) -> None:
        """POST ``body``; one that exists already (a test plane's) is fine."""
        try:
            self.api.post(path, body)
        except ApiError as err:
            if err.status != HTTPStatus.CONFLICT:
                raise

    def start_simulator(self) -> SimulatorProcess:
        """The simulator with the demo's world; its bridge writes Nodes into the plane."""
        assert self.plane is not None
        self.sim = SimulatorProcess(
            self.dir / "simulator",
            world=scenario.sim_world(),
            kubeconfig=self.plane.admin_kubeconfig,
            node_labels=dict(self.place.node_labels),
        )
        try:
            self.sim.start()
        finally:
            if self.sim.component is not None:
                self._record({"simulator": self.sim.component})
        return self.sim

    def start_daemon(self) -> DemoDaemon:
        """``vpsie-autoscaler run`` against the plane and the simulator; wait until ready."""
        assert self.plane is not None
        assert self.sim is not None
        env, _ = daemon_env(
            {
                **DEMO_SETTINGS,
                ("kube", "namespace"): self.place.system_namespace,
                ("vpsie", "url"): self.sim.url,
                ("vpsie", "token"): scenario.TOKEN,
                ("vpsie", "cluster_identifier"): scenario.CLUSTER,
            }
        )
        self.daemon = DemoDaemon(
            self.dir / "daemon", kubeconfig=self.plane.admin_kubeconfig, env=env
        )
        self.daemon.start()
        assert self.daemon.proc is not None
        self.pgids["daemon"] = self.daemon.proc.pid
        self.daemon.wait_ready()
        return self.daemon

    def _record(self, components: Mapping[str, Component]) -> None:
        for name, comp in components.items():
            if comp.proc is not None:
                self.pgids[name] = comp.proc.pid

    # --- while running -----------------------------------------------------------------------
    def check_alive(self) -> None:
        """Raise if a component, the simulator or the daemon has exited."""
        if self.plane is not None:
            self.plane.check_alive()
        if self.sim is not None:
            self.sim.check_alive()
        if self.daemon is not None and not self.daemon.alive():
            code = self.daemon.proc.returncode if self.daemon.proc else None
            raise RuntimeError(f"the daemon exited {code}:\n{self.daemon.tail(30)}")

    def tails(self, lines: int = 25) -> dict[str, str]:
        """The last log lines of the daemon and the simulator (for a failure report)."""
        out = {}
        if self.daemon is not None and self.daemon.log_path.exists():
            out["daemon"] = self.daemon.tail(lines)
        if self.sim is not None:
            out["simulator"] = self.sim.tail(lines)
        return out

    # --- stop --------------------------------------------------------------------------------
    def close(self) -> list[str]:
        """Stop everything in reverse order; return the processes that are still there."""
        problems = []
        if self.daemon is not None:
            if problem := self.daemon.stop():
                problems.append(problem)
            self.daemon.kill()
        if self.sim is not None:
            self.sim.stop()
        if self.plane is not None and self.own_plane:
            self.plane.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems + self.leftovers()

    def leftovers(self, *, wait: float = 5.0) -> list[str]:
        """The components whose process group still has a member after ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            alive = [name for name, pgid in self.pgids.items() if _group_alive(pgid)]
            if not alive or time.monotonic() > deadline:
                return [f"{name} (process group {self.pgids[name]})" for name in alive]
            time.sleep(POLL)


def _established(crd: dict[str, object]) -> bool:
    status = crd.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    ok = {c.get("type") for c in conditions or [] if c.get("status") == "True"}
    return {"Established", "NamesAccepted"} <= ok


def _group_alive(pgid: int) -> bool:
    """True if process group ``pgid`` still has a member (a zombie counts until reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forward_sigterm() -> None:
    """Turn SIGTERM into ``KeyboardInterrupt``, so ``finally`` blocks stop every process."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
