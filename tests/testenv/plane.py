"""A real control plane on 127.0.0.1: etcd, kube-apiserver, KCM, scheduler and kwok (testenv.md §5).

Synchronous on purpose: fixtures run it outside the event loop. ``start()`` blocks until all
readiness gates pass; ``stop()`` (also registered with ``atexit``) tears down in reverse order.
"""

from __future__ import annotations

import atexit
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.testenv import components, readiness
from tests.testenv.kubehttp import JSON, KubeHTTP
from tests.testenv.objects import is_node_ready, node_manifest
from tests.testenv.pins import Pins, load_pins
from tests.testenv.pki import Pki, make_pki, make_tokens, write_kubeconfig
from tests.testenv.processes import (
    STOP_GRACE_SECONDS,
    Component,
    ComponentDied,
    free_ports,
    tail_file,
)

START_ATTEMPTS = 2  # a port grabbed between choosing and binding gets one retry with new ports


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one run."""

    etcd: int
    etcd_peer: int
    apiserver: int
    kcm: int
    scheduler: int


class ControlPlane:
    """One control plane in a private temporary directory ``dir`` (``$D``)."""

    def __init__(self, bin_dir: Path, *, pins: Pins | None = None) -> None:
        self.bin_dir = bin_dir
        self.pins = pins or load_pins()
        self.dir = Path(tempfile.mkdtemp(prefix="vpsie-testenv-"))
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else self.dir
        self.etcd_dir = Path(tempfile.mkdtemp(prefix="vpsie-testenv-etcd-", dir=base))
        self.log_dir = self.dir / "logs"
        self.pki: Pki = make_pki(self.dir / "pki")
        self.ca_path: Path = self.pki.ca_crt
        self.tokens: dict[str, str] = make_tokens(self.dir / "tokens.csv")
        self.ports = Ports(0, 0, 0, 0, 0)
        self.kubeconfigs: dict[str, Path] = {}
        self.components: dict[str, Component] = {}
        self.startup_seconds: float | None = None
        self._stopped = False

    # --- addresses and clients -----------------------------------------------------------
    @property
    def server(self) -> str:
        """``https://127.0.0.1:<apiserver port>``."""
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def admin_kubeconfig(self) -> Path:
        """Kubeconfig of ``admin`` (``system:masters``)."""
        return self.kubeconfigs["admin"]

    @property
    def sa_kubeconfig(self) -> Path:
        """Kubeconfig of ``system:serviceaccount:vpsie-system:vpsie-autoscaler``."""
        return self.kubeconfigs["sa"]

    @property
    def nobody_kubeconfig(self) -> Path:
        """Kubeconfig of ``nobody`` (no groups, no bindings)."""
        return self.kubeconfigs["nobody"]

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the run's CA."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def client(self, user: str = "admin") -> KubeHTTP:
        """A :class:`KubeHTTP` as ``admin``, ``sa`` or ``nobody``."""
        return KubeHTTP(self.server, token=self.tokens[user], ca_file=self.ca_path)

    @property
    def admin(self) -> KubeHTTP:
        """The admin client the fixtures use."""
        return self.client("admin")

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> ControlPlane:
        """Start every component in order and block until all readiness gates pass."""
        if self.pins.kwok_impl != "kwok":
            raise RuntimeError(
                f"KWOK_IMPL={self.pins.kwok_impl} is not implemented (testenv.md §4)"
            )
        atexit.register(self.stop)
        began = time.monotonic()
        for attempt in range(START_ATTEMPTS):
            self.ports = Ports(*free_ports(5))
            self._write_kubeconfigs()
            self.components = components.build_all(self)
            try:
                for name, comp in self.components.items():
                    comp.start()
                    readiness.wait_component(self, name)
                break
            except ComponentDied as err:
                self._stop_components()
                if not err.port_conflict or attempt + 1 == START_ATTEMPTS:
                    raise
                shutil.rmtree(self.etcd_dir, ignore_errors=True)
                self.etcd_dir.mkdir()
        readiness.wait_plane_works(self)
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Tear down in reverse order (SIGTERM, 5 s, SIGKILL) and remove ``$D`` unless kept."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_components()
        if os.environ.get("TESTENV_KEEP") == "1":
            print(f"testenv: kept {self.dir} and {self.etcd_dir} (TESTENV_KEEP=1)")
            return
        shutil.rmtree(self.etcd_dir, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, name: str, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """Restart one component with the same arguments and ports; wait for its gate.

        The apiserver drains open watches on SIGTERM, so it usually needs the whole ``grace``
        (5 s) before SIGKILL; ``grace=0`` kills at once, like a crash.
        """
        comp = self.components[name]
        comp.stop(grace)
        comp.start()
        readiness.wait_component(self, name)
        if name != "kube-apiserver":
            readiness.wait_component(self, "kube-apiserver")

    def check_alive(self) -> None:
        """Raise :class:`ComponentDied` if a started component has exited."""
        for comp in self.components.values():
            comp.check_alive()

    def log_tails(self, lines: int = 100) -> dict[str, str]:
        """The last ``lines`` lines of each component's log."""
        return {name: tail_file(c.log_path, lines) for name, c in self.components.items()}

    def _stop_components(self) -> None:
        for comp in reversed(list(self.components.values())):
            comp.stop()

    def _write_kubeconfigs(self) -> None:
        self.kubeconfigs = {
            user: write_kubeconfig(
                self.dir / f"{user}.kubeconfig",
                server=self.server,
                ca_crt=self.ca_path,
                user=user,
                token=token,
            )
            for user, token in self.tokens.items()
        }

    # --- objects -------------------------------------------------------------------------
    def make_node(
        self,
        name: str,
        *,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[Mapping[str, str]] = (),
        cpu: str = "4",
        memory: str = "8Gi",
        pods: int = 110,
        annotations: Mapping[str, str] | None = None,
        managed: bool = True,
        wait_ready: bool = False,
        **extra: Any,
    ) -> JSON:
        """Create a kwok-managed Node with ``status.capacity``/``allocatable``; return it.

        ``wait_ready`` blocks until it is Ready without the ``not-ready`` taint. Other keyword
        arguments go to :func:`tests.testenv.objects.node_manifest` (``ephemeral_storage``,
        ``extra_capacity``).
        """
        body = node_manifest(
            name,
            labels=labels,
            taints=taints,
            cpu=cpu,
            memory=memory,
            pods=pods,
            annotations=annotations,
            managed=managed,
            **extra,
        )
        node = self.admin.post("/api/v1/nodes", body)
        if wait_ready:
            node = self.wait_node_ready(name)
        return node

    def wait_node_ready(self, name: str, *, timeout: float = 60.0) -> JSON:
        """Block until Node ``name`` is Ready and has lost the ``not-ready`` taint."""
        return self.admin.wait_for(
            f"/api/v1/nodes/{name}",
            is_node_ready,
            timeout=timeout,
            what=f"Node {name} Ready",
            check=self.check_alive,
        )
