"""Readiness gates of the plane (testenv.md §5), each with an env-overridable timeout.

``TESTENV_TIMEOUT_<GATE>`` (seconds) overrides a gate's default, for example
``TESTENV_TIMEOUT_APISERVER=120``.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.testenv.kubehttp import POLL_INTERVAL, KubeHTTP
from tests.testenv.objects import is_node_ready, is_pod_running, node_manifest, pod_manifest

if TYPE_CHECKING:
    from tests.testenv.plane import ControlPlane

PROBE_LABEL = "testenv.autoscaler.vpsie.com/probe"
DEFAULT_TIMEOUTS = {
    "ETCD": 30.0,
    "APISERVER": 60.0,
    "HEALTHZ": 60.0,
    "SERVICEACCOUNT": 60.0,
    "NODE": 90.0,
    "POD": 90.0,
}


def timeout_for(gate: str) -> float:
    """The timeout of ``gate``: ``$TESTENV_TIMEOUT_<GATE>`` or its default."""
    return float(os.environ.get(f"TESTENV_TIMEOUT_{gate}", DEFAULT_TIMEOUTS[gate]))


def _get_ok(url: str, *, context: ssl.SSLContext | None, token: str | None = None) -> bool:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as resp:
            body: bytes = resp.read()
    except (urllib.error.URLError, OSError):
        return False
    if url.endswith("/health"):  # etcd answers {"health":"true",...}
        return bool(json.loads(body).get("health") == "true")
    return body.strip() == b"ok"


def poll(what: str, ok: Callable[[], bool], *, timeout: float, check: Callable[[], None]) -> None:
    """Call ``ok`` until it returns True; ``check`` raises if a component died meanwhile."""
    deadline = time.monotonic() + timeout
    while not ok():
        check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"testenv: {what} not ready after {timeout}s")
        time.sleep(POLL_INTERVAL)


def wait_component(plane: ControlPlane, name: str) -> None:
    """The gate of one component: etcd /health, apiserver /readyz, KCM/scheduler /healthz."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    p = plane.ports
    if name == "etcd":
        url, ctx, token, gate = f"http://127.0.0.1:{p.etcd}/health", None, None, "ETCD"
    elif name == "kube-apiserver":
        url, ctx, token, gate = (
            f"{plane.server}/readyz",
            plane.ssl_context(),
            plane.tokens["admin"],
            "APISERVER",
        )
    elif name == "kube-controller-manager":
        url, ctx, token, gate = f"https://127.0.0.1:{p.kcm}/healthz", insecure, None, "HEALTHZ"
    elif name == "kube-scheduler":
        url, ctx, token, gate = (
            f"https://127.0.0.1:{p.scheduler}/healthz",
            insecure,
            None,
            "HEALTHZ",
        )
    else:
        return  # kwok has no endpoint of its own; the probes below prove it works
    poll(
        f"{name} ({url})",
        lambda: _get_ok(url, context=ctx, token=token),
        timeout=timeout_for(gate),
        check=plane.check_alive,
    )
    plane.check_alive()  # the answer came from our process, not from a port squatter


def wait_plane_works(plane: ControlPlane) -> None:
    """Gates 4-6: the default ServiceAccount, a probe Node Ready, a probe pod Running; cleanup."""
    api: KubeHTTP = plane.admin
    api.wait_for(
        "/api/v1/namespaces/default/serviceaccounts/default",
        lambda _: True,
        timeout=timeout_for("SERVICEACCOUNT"),
        what="the default ServiceAccount (KCM)",
        check=plane.check_alive,
    )
    suffix = secrets.token_hex(3)
    node, pod = f"testenv-probe-{suffix}", f"testenv-probe-{suffix}"
    pod_path = f"/api/v1/namespaces/default/pods/{pod}"
    api.post("/api/v1/nodes", node_manifest(node, labels={PROBE_LABEL: "1"}))
    try:
        api.wait_for(
            f"/api/v1/nodes/{node}",
            is_node_ready,
            timeout=timeout_for("NODE"),
            what=f"probe Node {node} Ready without the not-ready taint (kwok + KCM)",
            check=plane.check_alive,
        )
        api.post(
            "/api/v1/namespaces/default/pods",
            pod_manifest(pod, namespace="default", node_selector={"kubernetes.io/hostname": node}),
        )
        api.wait_for(
            pod_path,
            is_pod_running,
            timeout=timeout_for("POD"),
            what=f"probe pod {pod} Running (scheduler + kwok)",
            check=plane.check_alive,
        )
        api.delete(pod_path)
        api.wait_gone(pod_path, timeout=timeout_for("POD"), check=plane.check_alive)
    finally:
        api.delete(pod_path, gracePeriodSeconds="0")
        api.delete(f"/api/v1/nodes/{node}")
        api.delete(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}")
