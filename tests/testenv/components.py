"""Command lines of the plane's components, in start order (testenv.md §5). Loopback only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.testenv.objects import KWOK_ANNOTATION
from tests.testenv.processes import Component

if TYPE_CHECKING:
    from tests.testenv.plane import ControlPlane

LOOPBACK = "127.0.0.1"


def build_all(plane: ControlPlane) -> dict[str, Component]:
    """etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok — in start order."""
    b, d, p, pki = plane.bin_dir, plane.dir, plane.ports, plane.pki
    admin = str(plane.admin_kubeconfig)
    etcd_client, etcd_peer = f"http://{LOOPBACK}:{p.etcd}", f"http://{LOOPBACK}:{p.etcd_peer}"
    argv: dict[str, list[str]] = {
        "etcd": [
            f"{b}/etcd",
            "--name=t",
            f"--data-dir={plane.etcd_dir}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
            f"--listen-client-urls={etcd_client}",
            f"--advertise-client-urls={etcd_client}",
            f"--listen-peer-urls={etcd_peer}",
            f"--initial-advertise-peer-urls={etcd_peer}",
            f"--initial-cluster=t={etcd_peer}",
        ],
        "kube-apiserver": [
            f"{b}/kube-apiserver",
            f"--etcd-servers={etcd_client}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={p.apiserver}",
            f"--advertise-address={LOOPBACK}",
            f"--tls-cert-file={pki.apiserver_crt}",
            f"--tls-private-key-file={pki.apiserver_key}",
            f"--client-ca-file={pki.ca_crt}",
            f"--token-auth-file={d}/tokens.csv",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ],
        "kube-controller-manager": [
            f"{b}/kube-controller-manager",
            f"--kubeconfig={admin}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={p.kcm}",
            f"--authentication-kubeconfig={admin}",
            f"--authorization-kubeconfig={admin}",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_crt}",
            "--node-monitor-period=2s",
            "--node-monitor-grace-period=30s",
            "--profiling=false",
            # The defaults (20/30) make a Deployment of a few thousand pods take minutes.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ],
        "kube-scheduler": [
            f"{b}/kube-scheduler",
            f"--kubeconfig={admin}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={p.scheduler}",
            f"--authentication-kubeconfig={admin}",
            f"--authorization-kubeconfig={admin}",
            "--leader-elect=false",
            "--profiling=false",
            # The default 50/100 marks a burst of 3k pending pods Unschedulable over a minute;
            # the decision-latency benchmark needs the burst to be a burst.
            "--kube-api-qps=1000",
            "--kube-api-burst=2000",
        ],
        "kwok": [
            f"{b}/kwok",
            f"--kubeconfig={admin}",
            f"--config={b}/kwok-stages.yaml",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
            "--node-lease-duration-seconds=40",
            "--cidr=10.244.0.0/16",
            "--node-ip=10.244.0.1",
        ],
    }
    env = {"kwok": {"KWOK_WORKDIR": str(d / "kwok")}}
    return {
        name: Component(name=name, argv=args, log_dir=plane.log_dir, env=env.get(name, {}))
        for name, args in argv.items()
    }
