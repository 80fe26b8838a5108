"""Run the daemon as a real subprocess, for tests of the process as a whole."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

POLL = 0.1
VPSIE_ENV = {
    # A valid VPSie configuration (the daemon refuses to start without one); nothing listens
    # on port 9, so a test that needs VPSie passes the simulator's URL in ``extra_env``.
    "VPSIE_AUTOSCALER_VPSIE__URL": "http://127.0.0.1:9",
    "VPSIE_AUTOSCALER_VPSIE__ALLOW_HTTP": "true",
    "VPSIE_AUTOSCALER_VPSIE__TOKEN": "sim-token",
    "VPSIE_AUTOSCALER_VPSIE__CLUSTER_IDENTIFIER": "c1000000-0000-4000-8000-000000000007",
}


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaemonProcess:
    """``vpsie-autoscaler run`` in a subprocess with free ports and JSON logs in a file."""

    def __init__(self, tmp: Path, *, kubeconfig: Path, extra_env: dict[str, str] | None = None):
        self.metrics_port = free_port()
        self.probes_port = free_port()
        self.log_path = tmp / "daemon.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VPSIE_AUTOSCALER_")},
            "VPSIE_AUTOSCALER_KUBE__KUBECONFIG": str(kubeconfig),
            "VPSIE_AUTOSCALER_SERVER__HOST": "127.0.0.1",
            "VPSIE_AUTOSCALER_SERVER__METRICS_PORT": str(self.metrics_port),
            "VPSIE_AUTOSCALER_SERVER__PROBES_PORT": str(self.probes_port),
            **VPSIE_ENV,
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        """Start the process; logs go to ``log_path``."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autoscaler", "run"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def logs(self) -> list[dict[str, Any]]:
        """Every log line, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def get(self, port: int, path: str) -> tuple[int, str]:
        """GET a local endpoint; (status, body), or (0, error) when nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except OSError as err:
            return 0, str(err)

    def wait_for(self, port: int, path: str, status: int, *, timeout: float = 60.0) -> str:
        """Poll until ``path`` answers ``status``; fail with the logs otherwise."""
        deadline = time.monotonic() + timeout
        last: tuple[int, str] = (0, "")
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.tail()}")
            last = self.get(port, path)
            if last[0] == status:
                return last[1]
            time.sleep(POLL)
        raise AssertionError(f"{path} never answered {status} (last {last}):\n{self.tail()}")

    def terminate_and_wait(self, *, timeout: float) -> int:
        """Send SIGTERM and wait for the exit code (fails if it takes longer than ``timeout``)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit within {timeout} s of SIGTERM:\n{self.tail()}") from None

    def kill(self) -> None:
        """Kill the process if it still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        """The last lines of the log."""
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])
