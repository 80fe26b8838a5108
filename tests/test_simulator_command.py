"""``vpsie-autoscaler simulator`` serves the simulated API and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.daemon import free_port


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "simulator exited early"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__sim/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("simulator never became healthy")


def test_simulator_command_serves_the_api_and_exits_0_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoscaler", "simulator", "--port", str(port), "--seed", "7"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(port, proc)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/apps/v2/datacenter")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
        assert json.loads(refused.value.read()) == {"error": True, "message": "Please authenticate"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
