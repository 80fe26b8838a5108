"""The chart's RBAC is sufficient and minimal on a real API server (review SEC-2).

``helm install`` puts the chart into the test's namespace (its pods never run: the image is
fake and their nodeSelector matches no Node). The daemon then runs out of cluster with a
token of the chart's ServiceAccount from the TokenRequest API, against the VPSie simulator,
through the e2e smoke path: a NodeGroup's minimum brings a Ready Node; a pending pod (in
another namespace) brings a second; with its workload gone and the minimum lowered, the
first node is drained through the Eviction API and deleted. Nothing may answer 403, every
controller must make progress, and the same token must be refused what the role does not
grant (SelfSubjectAccessReviews).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoscaler.core.disruption_keys import SCALE_DOWN_DISABLED_LABEL
from tests.chart.access import allowed_reviews, forbidden_reviews, review
from tests.chart.conftest import helm
from tests.chart.helm import CHART, CI_VALUES, Helm
from tests.e2e.conftest import e2e
from tests.e2e.daemons import E2E_SETTINGS, E2EDaemon, daemon_env
from tests.e2e.harness import E2E, Probe
from tests.e2e.invariants import GROUP_LABEL
from tests.e2e.simproc import CLUSTER, TOKEN
from tests.e2e.test_scale_up import POOL, world
from tests.e2e.workloads import deployment_body
from tests.integration.conftest import crds
from tests.testenv import ApiError, ControlPlane, KubeHTTP, TestNamespace
from tests.testenv.kubehttp import MERGE_PATCH
from tests.testenv.objects import is_pod_running
from tests.testenv.pki import write_kubeconfig

__all__ = ["crds", "e2e", "helm"]

RELEASE = "vpsie-autoscaler"  # the ServiceAccount, Role and Lease carry this name
LEASE = "vpsie-autoscaler"
FAST = {"unneededTime": "5s", "delayAfterAdd": "0s", "utilizationThreshold": 0.5}
WAIT = 150.0
FORBIDDEN = re.compile(r"\b403\b|forbidden", re.IGNORECASE)
COMPONENT = "vpsie-autoscaler"
METRIC = "vpsie_autoscaler_"
JSON = dict[str, Any]


@pytest.fixture
def release(
    testenv: ControlPlane, kube_ns: TestNamespace, crds: dict[str, JSON], helm: Helm
) -> Iterator[str]:
    """The chart installed into the test's namespace; uninstalled (RBAC included) at the end."""
    values = helm.values_file(
        {
            "vpsie": {"clusterIdentifier": CLUSTER},
            "image": {"repository": "registry.invalid/vpsie-autoscaler", "tag": "rbac-test"},
            "nodeSelector": {"testenv.autoscaler.vpsie.com/no-such-node": "true"},
            "leaderElection": {"leaseName": LEASE},
        }
    )
    admin = testenv.admin_kubeconfig
    restricted = {"pod-security.kubernetes.io/enforce": "restricted"}  # PodSecurity admission
    testenv.admin.patch(f"/api/v1/namespaces/{kube_ns.name}", {"metadata": {"labels": restricted}})
    args = ["-n", kube_ns.name, "-f", str(CI_VALUES), "-f", str(values)]
    out = helm.run("install", RELEASE, str(CHART), *args, kubeconfig=admin)
    assert f"the holder of Lease {LEASE} acts" in out, f"NOTES.txt not shown:\n{out}"
    try:
        yield kube_ns.name
    finally:
        helm.run("uninstall", RELEASE, "-n", kube_ns.name, "--wait", kubeconfig=admin)


@pytest.fixture
def workload_ns(testenv: ControlPlane, kube_ns: TestNamespace) -> Iterator[str]:
    """A namespace for the workload besides the daemon's (Events and evictions land there)."""
    name = f"w-{kube_ns.test_hash}"
    api = testenv.admin
    api.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    try:
        yield name
    finally:
        with contextlib.suppress(ApiError):
            api.delete(f"/apis/apps/v1/namespaces/{name}/deployments")
            api.delete(f"/api/v1/namespaces/{name}/pods", gracePeriodSeconds="0")
            api.delete(f"/api/v1/namespaces/{name}")


def service_account_token(testenv: ControlPlane, namespace: str, name: str) -> str:
    """A token of ServiceAccount ``namespace/name`` from the TokenRequest API."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    return str(testenv.admin.post(path, body)["status"]["token"])


def start_daemon(e2e: E2E, kubeconfig: Path) -> E2EDaemon:
    """The daemon on the simulator, as the chart's ServiceAccount; waits until ready."""
    assert e2e.sim is not None
    wanted = {
        **E2E_SETTINGS,
        ("kube", "namespace"): e2e.ns.name,
        ("kube", "lease_name"): LEASE,
        ("vpsie", "url"): e2e.sim.url,
        ("vpsie", "token"): TOKEN,
        ("vpsie", "cluster_identifier"): CLUSTER,
    }
    env, _ = daemon_env(wanted)
    daemon = E2EDaemon(e2e.dir / "daemon-sa", kubeconfig=kubeconfig, env=env)
    e2e.daemons.append(daemon)
    daemon.start().wait_ready()
    return daemon


def deploy(e2e: E2E, namespace: str, name: str, *, cpu: str) -> None:
    body = deployment_body(
        name,
        namespace=namespace,
        replicas=1,
        node_selector={**POOL, **e2e.ns.node_labels},
        cpu=cpu,
        memory="256Mi",
    )
    e2e.api.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", body)


def running_on(
    e2e: E2E, namespace: str, app: str, nodes: set[str] | None = None, *, count: int = 1
) -> Probe:
    """Probe: ``count`` pods of ``app``, all Running (on one of ``nodes`` if given)."""

    def probe() -> list[str]:
        path = f"/api/v1/namespaces/{namespace}/pods"
        pods = e2e.api.get(path, labelSelector=f"app={app}")["items"]
        ok = [
            p
            for p in pods
            if is_pod_running(p)
            and not p["metadata"].get("deletionTimestamp")
            and (nodes is None or p["spec"]["nodeName"] in nodes)
        ]
        return [] if len(ok) == count == len(pods) else [f"{app}: {len(ok)} of {len(pods)} pods ok"]

    return probe


def group_nodes(e2e: E2E) -> set[str]:
    return {
        n["metadata"]["name"]
        for n in e2e.nodes()
        if (n["metadata"].get("labels") or {}).get(GROUP_LABEL) == "web"
    }


def events(e2e: E2E, namespace: str, **match: str) -> list[JSON]:
    """The daemon's Events in ``namespace`` whose involved object matches ``match``."""
    items = e2e.api.get(f"/api/v1/namespaces/{namespace}/events")["items"]
    return [
        e
        for e in items
        if e.get("reportingComponent") == COMPONENT
        and all(e["involvedObject"].get(k) == v for k, v in match.items())
    ]


def test_chart_rbac_is_sufficient_and_minimal(
    testenv: ControlPlane, release: str, workload_ns: str, e2e: E2E
) -> None:
    ns, wl = release, workload_ns
    token = service_account_token(testenv, ns, RELEASE)
    kubeconfig = write_kubeconfig(
        e2e.dir / "sa.kubeconfig",
        server=testenv.server,
        ca_crt=testenv.ca_path,
        user=f"system:serviceaccount:{ns}:{RELEASE}",
        token=token,
    )
    sa = KubeHTTP(testenv.server, token=token, ca_file=testenv.ca_path)

    # The chart's pods pass the "restricted" Pod Security Standard (the namespace enforces it).
    testenv.admin.wait_for(
        f"/api/v1/namespaces/{ns}/pods?labelSelector=app.kubernetes.io/instance%3D{RELEASE}",
        lambda pods: len(pods["items"]) == 2,
        timeout=30,
        what="the chart's two pods admitted",
        check=testenv.check_alive,
    )

    # Minimal: the token may do what the list grants and is refused the rest.
    refused = [a for a in allowed_reviews(ns, LEASE, mode="vke") if not review(sa, a)]
    assert refused == [], "the chart's role lacks a listed permission"
    granted = [why for why, a in forbidden_reviews(ns, LEASE, mode="vke") if review(sa, a)]
    assert granted == [], "the chart's role grants more than the list"

    # Sufficient: the smoke path as the ServiceAccount.
    e2e.start_simulator_in(world())
    daemon = start_daemon(e2e, kubeconfig)
    e2e.apply_nodegroup("web", min_nodes=1, max_nodes=2, labels={**POOL, **e2e.ns.node_labels})
    e2e.wait_until(e2e.group_ready("web", 1), what="minNodes: one Ready node", timeout=WAIT)
    (first,) = group_nodes(e2e)
    deploy(e2e, wl, "base", cpu="500m")
    e2e.wait_until(running_on(e2e, wl, "base", {first}), what="base Running on the first node")

    deploy(e2e, wl, "burst", cpu="3600m")  # 500m + 3600m > 3900m allocatable: pending
    e2e.wait_until(e2e.group_ready("web", 2), what="a scale-up for the pending pod", timeout=WAIT)
    e2e.wait_until(running_on(e2e, wl, "burst"), what="burst Running on the new node")
    (second,) = group_nodes(e2e) - {first}

    # The workload goes; the new node stays (opt-out), so the first one is drained.
    e2e.api.delete(f"/apis/apps/v1/namespaces/{wl}/deployments/burst")
    e2e.wait_until(running_on(e2e, wl, "burst", count=0), what="burst's pod gone")
    e2e.api.patch(
        f"/api/v1/nodes/{second}",
        {"metadata": {"labels": {SCALE_DOWN_DISABLED_LABEL: "true"}}},
        content_type=MERGE_PATCH,
    )
    e2e.patch_nodegroup("web", {"minNodes": 0, "scaleDown": FAST})
    e2e.wait_until(
        lambda: [] if group_nodes(e2e) == {second} else [f"nodes {sorted(group_nodes(e2e))}"],
        what="the first node drained and deleted",
        timeout=WAIT,
    )
    e2e.wait_until(running_on(e2e, wl, "base", {second}), what="base moved to the second node")
    e2e.expect_invariants()

    # Nothing was refused, and every controller made progress.
    denied = [line for line in daemon.log_path.read_text().splitlines() if FORBIDDEN.search(line)]
    assert denied == [], "the daemon was refused something:\n" + "\n".join(denied[:20])
    reconciles = "controller_runtime_reconcile_total"
    progress = {
        "nodegroup": e2e.daemon_metric(reconciles, controller="nodegroup", result="success"),
        "vpsienode": e2e.daemon_metric(reconciles, controller="vpsienode", result="success"),
        "drain": e2e.daemon_metric(reconciles, controller="drain", result="success"),
        "scale-up": e2e.daemon_metric(f"{METRIC}scale_up_decisions_total", outcome="scaled_up"),
        "scale-down": e2e.daemon_metric(f"{METRIC}scaled_down_nodes_total"),
        "eviction": e2e.daemon_metric(f"{METRIC}evicted_pods_total"),
        # metrics.k8s.io is not served here: allowed, the daemon hears 404, not 403
        "usage": e2e.daemon_metric(f"{METRIC}usage_collections_total", outcome="not_served"),
    }
    assert [k for k, v in progress.items() if not v] == [], progress
    assert e2e.daemon_metric(f"{METRIC}usage_collections_total", outcome="error") == 0
    # A garbage-collection pass sets the orphan gauge of every group; a failed one counts.
    assert e2e.daemon_metric(f"{METRIC}orphan_workers", nodegroup="web") == 0
    assert not e2e.daemon_metric(f"{METRIC}garbage_collection_total", action="error")
    lease = e2e.api.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{LEASE}")
    assert lease["spec"]["holderIdentity"], "the Lease was never taken"
    written = {
        "on the pending pod (its namespace)": events(e2e, wl, kind="Pod"),
        "on a Node (default)": events(e2e, "default", kind="Node", name=first),
        "on NodeGroup or VPSieNodes (own namespace)": events(e2e, ns),
    }
    assert [k for k, v in written.items() if not v] == [], written
