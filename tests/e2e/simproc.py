"""The VPSie simulator as a subprocess, with its Node bridge, and a client of its admin API.

``vpsie-autoscaler simulator --config <world> --kubeconfig <admin> --node-label <isolation>``
runs in its own process group (``tests.testenv.processes.Component``), so teardown and a
dying pytest never leave it behind. The admin API (vpsie-api.md §8) is read with blocking
urllib: the e2e tests are synchronous, like the fixtures that drive the control plane.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.testenv.processes import Component, ComponentDied, free_ports, tail_file

JSON = dict[str, Any]
TOKEN = "sim-token"  # the default world's static API token (simulator/config.py)
CLUSTER = "c1000000-0000-4000-8000-000000000007"  # the default world's VKE cluster "demo"
START_TIMEOUT = 60.0
START_ATTEMPTS = 2
POLL = 0.2


class SimulatorError(RuntimeError):
    """The admin API answered with an error or not at all."""


class SimulatorProcess:
    """One simulator: ``start()``, the admin calls, ``stop()``; logs in ``<dir>/logs``."""

    def __init__(
        self,
        directory: Path,
        *,
        world: Mapping[str, Any],
        kubeconfig: Path,
        node_labels: Mapping[str, str],
    ) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "world.json"
        self.config_path.write_text(json.dumps(world, indent=2))
        self.kubeconfig = kubeconfig
        self.node_labels = dict(node_labels)
        self.port = 0
        self.component: Component | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: what the daemon's ``VPSIE__URL`` points at."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The process's stdout and stderr."""
        return self.dir / "logs" / "simulator.log"

    def start(self) -> SimulatorProcess:
        """Start the process and wait for ``/__sim/healthz``; one retry on a port clash."""
        for attempt in range(START_ATTEMPTS):
            (self.port,) = free_ports(1)
            labels = [a for k, v in self.node_labels.items() for a in ("--node-label", f"{k}={v}")]
            argv = [
                sys.executable,
                "-m",
                "autoscaler",
                "simulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--config",
                str(self.config_path),
                "--kubeconfig",
                str(self.kubeconfig),
                *labels,
            ]
            self.component = Component("simulator", argv, self.dir / "logs")
            self.component.start()
            try:
                self._wait_healthy()
                return self
            except ComponentDied as err:
                if not err.port_conflict or attempt + 1 == START_ATTEMPTS:
                    raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self.check_alive()
            try:
                if self.request("GET", "/__sim/healthz").get("ok"):
                    return
            except SimulatorError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulator not healthy after {START_TIMEOUT}s:\n{self.tail()}")
            time.sleep(POLL)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.component is not None and self.component.alive()

    def check_alive(self) -> None:
        """Raise ``ComponentDied`` (with the log tail) if the process has exited."""
        if self.component is not None:
            self.component.check_alive()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after the grace period; safe to call twice."""
        if self.component is not None:
            self.component.stop()

    def tail(self, lines: int = 60) -> str:
        """The last lines of the process log."""
        return tail_file(self.log_path, lines)

    # --- admin API ---------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: JSON | None = None, *, token: str | None = None
    ) -> JSON:
        """One call to the simulator (as a VPSie client if ``token``); the decoded answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if token is not None:
            req.add_header("Vpsie-Auth", token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise SimulatorError(f"{method} {path} -> {err.code}: {err.read()[:500]!r}") from None
        except OSError as err:
            raise SimulatorError(f"{method} {path}: {err}") from err
        decoded = json.loads(raw)
        if not isinstance(decoded, dict):
            raise SimulatorError(f"{method} {path}: not an object: {raw[:200]!r}")
        return decoded

    def state(self) -> JSON:
        """``GET /__sim/state``: every machine (deleted ones too), clusters, claims."""
        return self.request("GET", "/__sim/state")

    def calls(self, since: int = 0) -> JSON:
        """``GET /__sim/calls``: counters and the (redacted) call log after ``since``."""
        return self.request("GET", f"/__sim/calls?since={since}")

    def set_faults(self, rules: list[JSON], knobs: JSON | None = None) -> JSON:
        """``PUT /__sim/faults``: replace the fault rules (and knob overrides)."""
        return self.request("PUT", "/__sim/faults", {"rules": rules, "knobs": knobs or {}})

    def clear_faults(self) -> JSON:
        """``DELETE /__sim/faults``: no rules, configured knobs."""
        return self.request("DELETE", "/__sim/faults")

    def add_worker(self, cluster: str, group_id: int) -> str:
        """K4 as another VPSie client would; the identifier of the worker it created."""
        before = set(self.state()["claims"])
        answer = self.request(
            "POST", f"/apps/v2/k8s/cluster/byId/{cluster}/add/slave/group/{group_id}", token=TOKEN
        )
        if answer.get("error"):
            raise SimulatorError(f"K4 refused: {answer}")
        claims = self.state()["claims"]
        (new,) = [c["identifier"] for h, c in claims.items() if h not in before]
        return str(new)

    def group_id(self, cluster: str, name: str) -> int:
        """The numeric id of the VKE node group ``name`` of ``cluster``."""
        for c in self.state()["clusters"]:
            if c["identifier"] == cluster:
                for group in c["groups"]:
                    if group["group_name"] == name:
                        return int(group["id"])
        raise SimulatorError(f"no node group {name!r} in cluster {cluster}")


def world(
    *,
    seed: int,
    run_id: str,
    list_delay: float = 2.0,
    boot_delay: float = 2.0,
    join_delay: float = 2.0,
    ready_delay: float = 1.0,
    delete_delay: float = 2.0,
    jitter: float = 1.0,
) -> JSON:
    """The default account on the real clock, with provisioning delays of a few seconds.

    The stage delays (vpsie-api.md §5.1) are simulated seconds, equal to real ones on the
    real clock; each gets a uniform jitter in ``[0, jitter]``.
    """

    def delay(seconds: float) -> JSON:
        return {"seconds": seconds, "jitter": jitter}

    return {
        "seed": seed,
        "run_id": run_id,
        "clock": {"mode": "real", "tick_interval": 0.5},
        "knobs": {
            "provision": {
                "list_delay": delay(list_delay),
                "boot_delay": delay(boot_delay),
                "join_delay": delay(join_delay),
                "ready_delay": delay(ready_delay),
                "delete_delay": delay(delete_delay),
            }
        },
    }
