"""The daemon as a process: probes, JSON logs and a prompt exit 0 on SIGTERM.

Here the API server accepts connections and never answers, the worst case for a
shutdown: informers are stuck in their first list and nothing is ever ready.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon import DaemonProcess

SHUTDOWN_TIMEOUT_S = 3.0


@pytest.fixture
def hanging_api_server() -> Iterator[int]:
    """A TCP listener that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def kubeconfig_for(tmp: Path, port: int) -> Path:
    path = tmp / "kubeconfig"
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""
    )
    return path


@pytest.fixture
def daemon(tmp_path: Path, hanging_api_server: int) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(
        tmp_path,
        kubeconfig=kubeconfig_for(tmp_path, hanging_api_server),
        extra_env={"VPSIE_AUTOSCALER_SERVER__SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_TIMEOUT_S)},
    ).start()
    yield proc
    proc.kill()


def test_not_ready_while_informers_cannot_list(daemon: DaemonProcess) -> None:
    assert daemon.wait_for(daemon.probes_port, "/healthz", 200) == "ok\n"
    status, body = daemon.get(daemon.probes_port, "/readyz")
    assert status == 503
    assert "informer nodes not ready" in body


def test_metrics_are_served(daemon: DaemonProcess) -> None:
    body = daemon.wait_for(daemon.metrics_port, "/metrics", 200)
    assert 'vpsie_autoscaler_build_info{version="' in body


def test_sigterm_exits_0_in_time_when_api_server_hangs(daemon: DaemonProcess) -> None:
    daemon.wait_for(daemon.probes_port, "/healthz", 200)
    # The bound is the configured deadline plus interpreter start/stop slack.
    assert daemon.terminate_and_wait(timeout=SHUTDOWN_TIMEOUT_S + 5) == 0
    messages = [rec["msg"] for rec in daemon.logs()]  # every line is one JSON object
    assert "stop requested: shutting down" in messages
    assert "stopped gracefully" in messages
    assert "graceful shutdown exceeded its deadline: exiting" not in messages
