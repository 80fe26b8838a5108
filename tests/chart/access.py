"""Access reviews of the chart's ServiceAccount: what it may do, and what it must not.

``allowed_reviews`` turns every grant of ``autoscaler/kube/permissions.py`` into the
``resourceAttributes`` of a SelfSubjectAccessReview (cluster-wide grants are asked for in
another namespace and across all of them); ``FORBIDDEN`` lists requests close to those
grants that the role must refuse: other verbs on the same resources, the same verbs in other
namespaces, other names, and the usual ways to escalate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autoscaler.kube.permissions import CRD_GROUP, Scope, grants
from tests.testenv.kubehttp import KubeHTTP

JSON = dict[str, Any]
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
OTHER_NAMESPACE = "default"
CLUSTER_SCOPED = {("", "nodes"), ("", "persistentvolumes"), ("metrics.k8s.io", "nodes")}


def attributes(
    group: str, resource: str, verb: str, *, namespace: str = "", name: str = ""
) -> JSON:
    """``resourceAttributes`` for ``resource`` (``pods/eviction`` names a subresource)."""
    main, _, sub = resource.partition("/")
    attrs: JSON = {"group": group, "resource": main, "verb": verb}
    if sub:
        attrs["subresource"] = sub
    if namespace:
        attrs["namespace"] = namespace
    if name:
        attrs["name"] = name
    return attrs


def allowed_reviews(namespace: str, lease: str, *, mode: str) -> Iterator[JSON]:
    """The requests every listed permission of ``mode`` must allow, ``namespace`` the daemon's."""
    for g in sorted(grants(names={"kube.lease_name": lease}, mode=mode)):
        if g.scope is Scope.NAMESPACE:
            yield attributes(g.api_group, g.resource, g.verb, namespace=namespace, name=g.name)
        elif (g.api_group, g.resource) in CLUSTER_SCOPED:
            yield attributes(g.api_group, g.resource, g.verb)
        else:  # namespaced resources granted in every namespace
            yield attributes(g.api_group, g.resource, g.verb, namespace=OTHER_NAMESPACE)
            yield attributes(g.api_group, g.resource, g.verb)


def forbidden_reviews(namespace: str, lease: str, *, mode: str) -> list[tuple[str, JSON]]:
    """(why, attributes) of requests the role must refuse in ``mode``."""
    ns, other = namespace, OTHER_NAMESPACE
    a = attributes
    vke_only = [("get secrets in vke mode", a("", "secrets", "get", namespace=ns))]
    return (vke_only if mode == "vke" else []) + [
        ("delete pods (only evictions)", a("", "pods", "delete", namespace=other)),
        ("delete pods in its own namespace", a("", "pods", "delete", namespace=ns)),
        ("create pods", a("", "pods", "create", namespace=ns)),
        ("patch pods", a("", "pods", "patch", namespace=other)),
        ("get one pod (the informer lists)", a("", "pods", "get", namespace=other)),
        ("exec into pods", a("", "pods/exec", "create", namespace=other)),
        ("create nodes", a("", "nodes", "create")),
        ("update nodes (only patch)", a("", "nodes", "update")),
        ("patch node status", a("", "nodes/status", "patch")),
        ("delete all nodes", a("", "nodes", "deletecollection")),
        ("get secrets in another namespace", a("", "secrets", "get", namespace=other)),
        ("get secrets in kube-system", a("", "secrets", "get", namespace="kube-system")),
        ("get secrets across namespaces", a("", "secrets", "get")),
        ("list secrets", a("", "secrets", "list", namespace=ns)),
        ("watch secrets", a("", "secrets", "watch", namespace=ns)),
        ("create secrets", a("", "secrets", "create", namespace=ns)),
        ("read configmaps", a("", "configmaps", "get", namespace=ns)),
        ("create service account tokens", a("", "serviceaccounts/token", "create", namespace=ns)),
        ("create NodeGroups", a(CRD_GROUP, "nodegroups", "create", namespace=ns)),
        ("delete NodeGroups", a(CRD_GROUP, "nodegroups", "delete", namespace=ns)),
        ("update NodeGroups (only patch)", a(CRD_GROUP, "nodegroups", "update", namespace=ns)),
        (
            "list NodeGroups in another namespace",
            a(CRD_GROUP, "nodegroups", "list", namespace=other),
        ),
        ("list NodeGroups across namespaces", a(CRD_GROUP, "nodegroups", "list")),
        ("create VPSieNodes elsewhere", a(CRD_GROUP, "vpsienodes", "create", namespace=other)),
        ("update VPSieNodes (only patch)", a(CRD_GROUP, "vpsienodes", "update", namespace=ns)),
        ("delete all VPSieNodes", a(CRD_GROUP, "vpsienodes", "deletecollection", namespace=ns)),
        (
            "update NodeGroup status (only patch)",
            a(CRD_GROUP, "nodegroups/status", "update", namespace=ns),
        ),
        ("change the CRDs", a("apiextensions.k8s.io", "customresourcedefinitions", "update")),
        (
            "get another Lease",
            a("coordination.k8s.io", "leases", "get", namespace=ns, name="other"),
        ),
        (
            "update another Lease",
            a("coordination.k8s.io", "leases", "update", namespace=ns, name="other"),
        ),
        (
            "delete its Lease",
            a("coordination.k8s.io", "leases", "delete", namespace=ns, name=lease),
        ),
        ("list Leases", a("coordination.k8s.io", "leases", "list", namespace=ns)),
        (
            "touch node heartbeats",
            a("coordination.k8s.io", "leases", "update", namespace="kube-node-lease", name="n1"),
        ),
        ("read Events", a("", "events", "list", namespace=other)),
        ("delete Events", a("", "events", "delete", namespace=other)),
        ("write events.k8s.io Events", a("events.k8s.io", "events", "create", namespace=other)),
        ("delete PersistentVolumes", a("", "persistentvolumes", "delete")),
        ("create PDBs", a("policy", "poddisruptionbudgets", "create", namespace=other)),
        ("read Deployments", a("apps", "deployments", "get", namespace=ns)),
        ("scale Deployments", a("apps", "deployments/scale", "update", namespace=ns)),
        ("pod metrics", a("metrics.k8s.io", "pods", "list", namespace=other)),
        (
            "create ClusterRoleBindings",
            a("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
        ),
        ("escalate its Role", a("rbac.authorization.k8s.io", "roles", "escalate", namespace=ns)),
        ("bind ClusterRoles", a("rbac.authorization.k8s.io", "clusterroles", "bind")),
        ("impersonate", a("", "users", "impersonate")),
    ]


def review(api: KubeHTTP, attrs: JSON) -> bool:
    """Whether the client's own identity may do ``attrs`` (SelfSubjectAccessReview)."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs},
    }
    return bool(api.post(SSAR, body)["status"].get("allowed"))
