"""The daemon under test: ``DaemonProcess`` tied to pytest's life, with settings for the e2e world.

Settings are passed as environment variables (``VPSIE_AUTOSCALER_<GROUP>__<FIELD>``). The
daemon's settings forbid unknown keys, so ``daemon_env`` keeps only the fields that
``autoscaler.settings.Settings`` has today and names the ones it dropped.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from autoscaler.settings import ENV_PREFIX, Settings
from tests.daemon import DaemonProcess
from tests.testenv.processes import _die_with_parent_hook

READY_TIMEOUT = 120.0  # informers synced on a loaded 2-core machine
STOP_TIMEOUT = 30.0

# (group, field) -> value. Short timings so that a test sees a reaction within seconds;
# the VPSie client keeps its real policy (retries, breaker, no blind create retries).
E2E_SETTINGS: dict[tuple[str, str], str] = {
    ("kube", "lease_duration_s"): "6",
    ("kube", "renew_deadline_s"): "4",
    ("kube", "retry_period_s"): "1",
    ("kube", "request_timeout_s"): "15",
    ("vpsie", "mode"): "vke",
    ("vpsie", "allow_http"): "true",
    ("vpsie", "connect_timeout_s"): "3",
    ("vpsie", "request_timeout_s"): "10",
    ("vpsie", "rate_per_s"): "20",
    ("vpsie", "burst"): "40",
    ("vpsie", "max_in_flight"): "8",
    ("vpsie", "backoff_cap_s"): "4",
    ("vpsie", "breaker_open_s"): "5",
    ("vpsie", "unknown_outcome_window_s"): "30",
    ("vpsie", "poll_interval_s"): "1",
    ("scaling", "scan_interval_s"): "2",
    ("lifecycle", "poll_interval_s"): "1",
    ("lifecycle", "gc_interval_s"): "5",
    ("lifecycle", "backoff_base_s"): "5",
    ("lifecycle", "backoff_max_s"): "20",
    # A Failed create's VPSieNode waits unknown_outcome_window + provisioning_timeout before
    # it gives its worker up as never made: keep that within the invariants' settle time.
    ("lifecycle", "provisioning_timeout_s"): "60",
    ("lifecycle", "joining_timeout_s"): "300",
    ("queue", "max_delay_s"): "5",
    ("server", "shutdown_timeout_s"): "10",
}


def known_setting(group: str, name: str) -> bool:
    """True if ``Settings`` has the field ``group.name``."""
    field = Settings.model_fields.get(group)
    model = field.annotation if field is not None else None
    return isinstance(model, type) and issubclass(model, BaseModel) and name in model.model_fields


def daemon_env(settings: Mapping[tuple[str, str], str]) -> tuple[dict[str, str], list[str]]:
    """The environment for ``settings`` and the ``group.field`` names Settings does not know."""
    env, dropped = {}, []
    for (group, name), value in settings.items():
        if known_setting(group, name):
            env[f"{ENV_PREFIX}{group}__{name}".upper()] = value
        else:
            dropped.append(f"{group}.{name}")
    return env, dropped


class E2EDaemon(DaemonProcess):
    """A daemon that dies with the test process (PR_SET_PDEATHSIG), so none is left behind."""

    def __init__(self, directory: Path, *, kubeconfig: Path, env: Mapping[str, str]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(directory, kubeconfig=kubeconfig, extra_env=dict(env))
        self.name = directory.name
        self.killed = False

    def start(self) -> E2EDaemon:
        """Start ``python -m autoscaler run``; logs go to ``log_path``."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autoscaler", "run"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509 -- one prctl call
            )
        return self

    def wait_ready(self) -> None:
        """Wait until ``/readyz`` answers 200 (informers synced)."""
        self.wait_for(self.probes_port, "/readyz", 200, timeout=READY_TIMEOUT)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def sigkill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would, and reap the process."""
        self.killed = True
        self.kill()

    def stop(self) -> str:
        """SIGTERM and wait, SIGKILL if it hangs; a non-empty answer says what went wrong."""
        if not self.alive():
            return ""
        try:
            code = self.terminate_and_wait(timeout=STOP_TIMEOUT)
        except AssertionError as err:
            return f"{self.name}: {err}"
        finally:
            self.kill()
        return "" if code == 0 else f"{self.name} exited {code} after SIGTERM"

    def tail(self, lines: int = 40) -> str:
        """The last lines of the log (empty if there is none yet)."""
        if not self.log_path.exists():
            return f"(no {self.log_path})"
        return super().tail(lines)
