"""The daemon as a process on the real control plane: ready, leading, and a clean stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon import DaemonProcess
from tests.testenv.plane import ControlPlane
from tests.testenv.scope import TestNamespace

LEASE = "vpsie-autoscaler"
pytestmark = pytest.mark.usefixtures("crds")  # the daemon watches NodeGroups and VPSieNodes


@pytest.fixture
def daemon(
    testenv: ControlPlane, kube_ns: TestNamespace, tmp_path: Path
) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(
        tmp_path,
        kubeconfig=testenv.admin_kubeconfig,
        extra_env={
            "VPSIE_AUTOSCALER_KUBE__NAMESPACE": kube_ns.name,
            "VPSIE_AUTOSCALER_KUBE__LEASE_DURATION_S": "6",
            "VPSIE_AUTOSCALER_KUBE__RENEW_DEADLINE_S": "4",
            "VPSIE_AUTOSCALER_KUBE__RETRY_PERIOD_S": "1",
        },
    ).start()
    yield proc
    proc.kill()


def lease_holder(testenv: ControlPlane, namespace: str) -> str:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE}"
    if not testenv.admin.exists(path):
        return ""
    return str(testenv.admin.get(path)["spec"].get("holderIdentity") or "")


def test_daemon_becomes_ready_leads_and_releases_lease_on_sigterm(
    testenv: ControlPlane, kube_ns: TestNamespace, daemon: DaemonProcess
) -> None:
    daemon.wait_for(daemon.probes_port, "/readyz", 200)
    testenv.admin.wait_for(
        f"/apis/coordination.k8s.io/v1/namespaces/{kube_ns.name}/leases/{LEASE}",
        lambda lease: bool(lease["spec"].get("holderIdentity")),
        timeout=30,
        what="lease acquired",
    )
    metrics = daemon.wait_for(daemon.metrics_port, "/metrics", 200)
    assert f'leader_election_master_status{{name="{kube_ns.name}/{LEASE}"}} 1.0' in metrics
    assert daemon.terminate_and_wait(timeout=15) == 0
    assert lease_holder(testenv, kube_ns.name) == ""
    messages = [rec["msg"] for rec in daemon.logs()]
    assert "informers synced" in messages
    assert "stopped gracefully" in messages
