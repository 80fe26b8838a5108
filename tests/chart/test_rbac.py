"""The chart's RBAC is exactly the permission list kept next to the code (review SEC-2).

``autoscaler/kube/permissions.py`` lists every permission with the functions that need it.
These tests hold the three together: the rendered ClusterRole and Role grant exactly that
list (no extra verb, resource or namespace), each ``used_by`` names a real function, and
every Kubernetes API call in the daemon's code maps to a listed permission while every
listed permission is needed by some call. The integration test
``tests/integration/test_chart_rbac.py`` then runs the daemon with the chart's
ServiceAccount on a real API server.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s

from autoscaler.kube.permissions import CRD_GROUP, PERMISSIONS, Grant, Scope, grants
from tests.chart.helm import NAMESPACE, Helm, find, one

ROOT = Path(__file__).resolve().parents[2]
NOT_THE_DAEMON = ("autoscaler/simulator/",)  # the VPSie simulator runs with its own credentials
LEASE = {"kube.lease_name": "vpsie-autoscaler"}

# Every kubernetes_asyncio call the daemon makes, and the (group, resource, verb)s it needs.
# A list call made through KubeListWatch also watches. Custom-object calls name the CRD's
# resource in their arguments: "*" stands for the project's resources (the permission list
# says which of them), "*/status" for their status subresources.
CALLS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "list_node": (("", "nodes", "list"), ("", "nodes", "watch")),
    "read_node": (("", "nodes", "get"),),
    "patch_node": (("", "nodes", "patch"),),
    "delete_node": (("", "nodes", "delete"),),
    "list_pod_for_all_namespaces": (("", "pods", "list"), ("", "pods", "watch")),
    "create_namespaced_pod_eviction": (("", "pods/eviction", "create"),),
    "list_pod_disruption_budget_for_all_namespaces": (
        ("policy", "poddisruptionbudgets", "list"),
        ("policy", "poddisruptionbudgets", "watch"),
    ),
    "list_persistent_volume_claim_for_all_namespaces": (
        ("", "persistentvolumeclaims", "list"),
        ("", "persistentvolumeclaims", "watch"),
    ),
    "list_persistent_volume": (
        ("", "persistentvolumes", "list"),
        ("", "persistentvolumes", "watch"),
    ),
    "read_namespaced_secret": (("", "secrets", "get"),),
    "create_namespaced_event": (("", "events", "create"),),
    "patch_namespaced_event": (("", "events", "patch"),),
    "read_namespaced_lease": (("coordination.k8s.io", "leases", "get"),),
    "create_namespaced_lease": (("coordination.k8s.io", "leases", "create"),),
    "replace_namespaced_lease": (("coordination.k8s.io", "leases", "update"),),
    "list_cluster_custom_object": (("metrics.k8s.io", "nodes", "list"),),
    "list_namespaced_custom_object": ((CRD_GROUP, "*", "list"), (CRD_GROUP, "*", "watch")),
    "get_namespaced_custom_object": ((CRD_GROUP, "*", "get"),),
    "create_namespaced_custom_object": ((CRD_GROUP, "*", "create"),),
    "patch_namespaced_custom_object": ((CRD_GROUP, "*", "patch"),),
    "delete_namespaced_custom_object": ((CRD_GROUP, "*", "delete"),),
    "patch_namespaced_custom_object_status": ((CRD_GROUP, "*/status", "patch"),),
}


def rendered_grants(objects: list[dict[str, Any]]) -> set[Grant]:
    """Every single grant of the rendered ClusterRole (cluster) and Roles (namespace)."""
    out = set()
    for kind, scope in (("ClusterRole", Scope.CLUSTER), ("Role", Scope.NAMESPACE)):
        for role in find(objects, kind):
            if scope is Scope.NAMESPACE:
                assert role["metadata"]["namespace"] == NAMESPACE
            for rule in role["rules"]:
                assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        for verb in rule["verbs"]:
                            for name in rule.get("resourceNames") or [""]:
                                out.add(Grant(scope, group, resource, verb, name))
    return out


@pytest.mark.parametrize("mode", ["vke", "vm"])
def test_role_matches_the_code_s_permission_list(helm: Helm, mode: str) -> None:
    rendered = rendered_grants(helm.template({"vpsie": {"mode": mode}}))
    listed = grants(names=LEASE, mode=mode)
    assert sorted(rendered - listed) == [], "the chart grants more than the code needs"
    assert sorted(listed - rendered) == [], "the chart misses a permission the code needs"
    assert not any("*" in (g.api_group, g.resource, g.verb) for g in rendered)


def test_the_lease_rule_names_the_configured_lease(helm: Helm) -> None:
    objects = helm.template({"leaderElection": {"leaseName": "autoscaler-leader"}})
    names = {"kube.lease_name": "autoscaler-leader"}
    assert rendered_grants(objects) == grants(names=names, mode="vke")
    (rule,) = [r for r in one(objects, "Role")["rules"] if r.get("resourceNames")]
    assert rule == {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "resourceNames": ["autoscaler-leader"],
        "verbs": ["get", "update"],
    }


def test_bindings_bind_the_chart_s_service_account(helm: Helm) -> None:
    objects = helm.template()
    sa = one(objects, "ServiceAccount")["metadata"]
    subject = {"kind": "ServiceAccount", "name": sa["name"], "namespace": NAMESPACE}
    for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        binding = one(objects, kind)
        assert binding["subjects"] == [subject]
        role = one(objects, role_kind)["metadata"]["name"]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": role,
        }
    assert one(objects, "RoleBinding")["metadata"]["namespace"] == NAMESPACE


def test_rbac_can_be_left_to_the_cluster_admin(helm: Helm) -> None:
    values = {"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "given"}}
    objects = helm.template(values)
    kinds = {o["kind"] for o in objects}
    assert not kinds & {
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    }
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "given"


def resolve(path: str) -> Any:
    """Import ``a.b.c.Class.method`` (the longest importable module, then attributes)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(path)


@pytest.mark.parametrize("path", sorted({p for perm in PERMISSIONS for p in perm.used_by}), ids=str)
def test_every_used_by_names_a_real_function(path: str) -> None:
    target = resolve(path)
    assert inspect.isfunction(target), f"{path} is {target!r}, not a function"
    assert target.__module__ == path.rsplit(".", 2 if "." in target.__qualname__ else 1)[0]


def test_secrets_are_read_in_vm_mode_only() -> None:
    secrets = {(g.resource, g.verb) for g in grants(mode="vm")} - {
        (g.resource, g.verb) for g in grants(mode="vke")
    }
    assert secrets == {("secrets", "get")}


def test_every_permission_says_why() -> None:
    for perm in PERMISSIONS:
        assert perm.used_by, perm
        assert perm.why, perm
        assert perm.verbs, perm
        assert len(set(perm.verbs)) == len(perm.verbs), perm
    keys = [(p.scope, p.api_group, p.resource, v) for p in PERMISSIONS for v in p.verbs]
    assert len(keys) == len(set(keys)), "a verb is listed twice"


def api_methods() -> set[str]:
    """The request methods of kubernetes_asyncio's API classes."""
    names = set()
    for _, cls in inspect.getmembers(k8s, inspect.isclass):
        if not cls.__module__.startswith("kubernetes_asyncio.client.api."):  # not api_client
            continue
        names |= {n for n in vars(cls) if not n.startswith("_") and "_with_http_info" not in n}
    return names


def daemon_calls() -> Iterator[tuple[str, str]]:
    """(file, method) for every kubernetes_asyncio request method named in the daemon's code."""
    methods = api_methods()
    for path in sorted((ROOT / "autoscaler").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(NOT_THE_DAEMON):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                yield rel, node.attr


def test_every_kubernetes_call_in_the_daemon_has_a_permission() -> None:
    found = sorted(set(daemon_calls()))
    unknown = [f"{f}: {m}" for f, m in found if m not in CALLS]
    assert unknown == [], "new API calls: list their permissions in autoscaler/kube/permissions.py"
    listed = {(g.api_group, g.resource, g.verb) for g in grants()}
    crd = {(g.api_group, "*/status" if "/" in g.resource else "*", g.verb) for g in grants()}
    missing = [
        (m, need)
        for _, m in found
        for need in CALLS[m]
        if need not in (crd if need[1].startswith("*") else listed)
    ]
    assert missing == []


def test_every_permission_is_needed_by_a_call_in_the_daemon() -> None:
    needed = {need for _, m in daemon_calls() for need in CALLS[m]}
    unused = []
    for g in grants():
        key = (g.api_group, g.resource, g.verb)
        if g.api_group == CRD_GROUP:
            key = (g.api_group, "*/status" if "/" in g.resource else "*", g.verb)
        if key not in needed:
            unused.append(g)
    assert unused == [], "permissions no code needs: drop them from the list and the chart"
