"""The test control plane behaves like a cluster: kwok Nodes, scheduling, PDB evictions,
status-subresource conflicts and RBAC, all judged by the real components (testenv.md §1, §5)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.testenv import ApiError, ControlPlane, KubeHTTP, TestNamespace
from tests.testenv.kubehttp import JSON, condition
from tests.testenv.objects import is_pod_running, pod_manifest
from tests.testenv.pki import SA_GROUPS, SA_USER

POLICY = "/apis/policy/v1"


def eventually(action: Callable[[], Any], *, timeout: float = 30.0) -> Any:
    """Retry ``action`` until it stops raising ``ApiError``/``AssertionError`` (then re-raise)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except (ApiError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def running_pod(testenv: ControlPlane, ns: TestNamespace, *, labels: dict[str, str]) -> JSON:
    """A Ready kwok Node of this test and a pod of ``labels`` Running on it."""
    node = ns.node_name("a")
    ns.make_node(node, cpu="2", memory="4Gi", pods=10, wait_ready=True)
    pod = pod_manifest(
        "p-" + "-".join(labels.values()),
        namespace=ns,
        labels=labels,
        node_selector={"kubernetes.io/hostname": node},
    )
    testenv.admin.post(f"/api/v1/namespaces/{ns}/pods", pod)
    return testenv.admin.wait_for(
        f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}",
        is_pod_running,
        timeout=60,
        what="pod Running",
        check=testenv.check_alive,
    )


def evict(api: KubeHTTP, ns: str, pod: str) -> JSON:
    """POST an Eviction for ``pod``."""
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": ns},
    }
    return api.post(f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", body)


def pdb_settled(allowed: int) -> Callable[[JSON], bool]:
    """KCM's disruption controller has seen the current spec and allows ``allowed`` evictions."""

    def check(pdb: JSON) -> bool:
        status = pdb.get("status", {})
        seen = status.get("observedGeneration") == pdb["metadata"]["generation"]
        return bool(seen and status.get("disruptionsAllowed") == allowed)

    return check


@pytest.mark.integration
def test_kwok_node_goes_ready_and_runs_a_scheduled_pod(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    pod = running_pod(testenv, kube_ns, labels={"app": "web"})

    node = testenv.admin.get(f"/api/v1/nodes/{pod['spec']['nodeName']}")
    assert node["metadata"]["labels"]["testenv.autoscaler.vpsie.com/test"] == kube_ns.test_hash
    assert node["status"]["allocatable"]["cpu"] == "2"
    assert condition(pod, "PodScheduled") == "True"
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network("10.244.0.0/16")
    lease = testenv.admin.wait_for(
        f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node['metadata']['name']}",
        lambda lease: bool(lease["spec"].get("renewTime")),
        what="node Lease renewed by kwok",
    )
    assert lease["spec"]["leaseDurationSeconds"] == 40


@pytest.mark.integration
def test_eviction_is_refused_with_429_until_the_pdb_allows_it(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    api = testenv.admin
    pod = running_pod(testenv, kube_ns, labels={"app": "db"})["metadata"]["name"]
    pdb_path = f"{POLICY}/namespaces/{kube_ns}/poddisruptionbudgets/db"
    api.post(
        f"{POLICY}/namespaces/{kube_ns}/poddisruptionbudgets",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "db"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
        },
    )
    api.wait_for(pdb_path, pdb_settled(0), what="PDB status computed by KCM")

    with pytest.raises(ApiError) as refused:
        evict(api, kube_ns, pod)
    assert refused.value.status == 429, refused.value.body

    api.patch(pdb_path, {"spec": {"minAvailable": 0}})
    api.wait_for(pdb_path, pdb_settled(1), what="PDB allows one disruption")
    evict(api, kube_ns, pod)
    api.wait_gone(f"/api/v1/namespaces/{kube_ns}/pods/{pod}", check=testenv.check_alive)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["node", "pdb"])
def test_status_write_with_a_stale_resource_version_conflicts(
    testenv: ControlPlane, kube_ns: TestNamespace, kind: str
) -> None:
    api = testenv.admin
    if kind == "node":
        path = f"/api/v1/nodes/{kube_ns.node_name('s')}"
        kube_ns.make_node(kube_ns.node_name("s"), wait_ready=True)
    else:
        path = f"{POLICY}/namespaces/{kube_ns}/poddisruptionbudgets/idle"
        api.post(
            f"{POLICY}/namespaces/{kube_ns}/poddisruptionbudgets",
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "idle"},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "none"}}},
            },
        )
        api.wait_for(path, lambda o: o.get("status", {}).get("observedGeneration") == 1)
    stale = api.get(path)
    api.patch(path, {"metadata": {"labels": {"bumped": "yes"}}})  # any write moves the version on

    with pytest.raises(ApiError) as patched:
        api.patch(
            f"{path}/status",
            {
                "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
                "status": stale["status"],
            },
        )
    with pytest.raises(ApiError) as replaced:
        api.put(f"{path}/status", stale)
    assert (patched.value.status, patched.value.reason) == (409, "Conflict")
    assert (replaced.value.status, replaced.value.reason) == (409, "Conflict")
    # the same write with the current version succeeds (retry: a controller may write in between)
    eventually(lambda: api.put(f"{path}/status", api.get(path)), timeout=10)


@pytest.mark.integration
def test_nobody_is_forbidden_to_list_pods(testenv: ControlPlane, kube_ns: TestNamespace) -> None:
    nobody = testenv.client("nobody")
    for path in ("/api/v1/pods", f"/api/v1/namespaces/{kube_ns}/pods"):
        with pytest.raises(ApiError) as forbidden:
            nobody.get(path)
        assert forbidden.value.status == 403, path
        assert 'User "nobody"' in forbidden.value.body["message"]


@pytest.mark.integration
def test_service_account_user_is_forbidden_without_a_role(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    sa, api = testenv.client("sa"), testenv.admin
    review = sa.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert review["status"]["userInfo"]["username"] == SA_USER
    assert set(SA_GROUPS) <= set(review["status"]["userInfo"]["groups"])
    with pytest.raises(ApiError) as forbidden:
        sa.get(f"/api/v1/namespaces/{kube_ns}/pods")
    assert forbidden.value.status == 403
    assert SA_USER in forbidden.value.body["message"]

    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{kube_ns}"
    api.post(
        f"{rbac}/roles",
        {
            "metadata": {"name": "pods-reader"},
            "rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
            ],
        },
    )
    api.post(
        f"{rbac}/rolebindings",
        {
            "metadata": {"name": "pods-reader"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pods-reader",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "vpsie-autoscaler", "namespace": "vpsie-system"}
            ],
        },
    )
    eventually(lambda: sa.get(f"/api/v1/namespaces/{kube_ns}/pods"))  # authorizer cache catches up
    with pytest.raises(ApiError) as still_forbidden:
        sa.get(f"/api/v1/namespaces/{kube_ns}/secrets")
    assert still_forbidden.value.status == 403
