"""Every Kubernetes API permission the daemon needs, with the code that needs it.

The chart's ClusterRole and Role (``charts/vpsie-autoscaler/templates/rbac.yaml``) grant
exactly what ``PERMISSIONS`` lists, no more (review SEC-2): ``tests/chart/test_rbac.py``
renders the chart and compares its rules with this list, and imports every ``used_by``
path; ``tests/integration/test_chart_rbac.py`` runs the daemon with a token of the
chart's ServiceAccount against a real API server. A new API call therefore needs a new
entry here, and a permission nothing uses any more fails the comparison once removed here.

Scopes:

* ``CLUSTER``: a ClusterRole bound with a ClusterRoleBinding. Nodes and PersistentVolumes
  are cluster-scoped; pods, PVCs, PDBs and Events are read or written in every namespace.
  Events are cluster-wide because pod Events (``TriggeredScaleUp``, ``NotTriggerScaleUp``)
  go to each pod's namespace and Node Events to ``default`` (``kube.events``).
* ``NAMESPACE``: a Role and RoleBinding in the daemon's own namespace (``kube.namespace``,
  the chart's release namespace): NodeGroups, VPSieNodes, the leader Lease, and the
  user-data Secrets that ``vm`` NodeGroups name.

``only_named`` names the setting whose value is the only object name the rule allows
(``resourceNames``); ``create`` cannot be limited that way, so it is a rule of its own.
``modes`` are the provisioning modes (``vpsie.mode``) that need a rule: only ``vm``
NodeGroups name a Secret, so the chart grants ``secrets get`` in ``vm`` mode only.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator

__all__ = ["PERMISSIONS", "Grant", "Permission", "Scope", "grants"]

CRD_GROUP = "autoscaler.vpsie.com"


class Scope(enum.StrEnum):
    """Where a permission is granted."""

    CLUSTER = "cluster"
    NAMESPACE = "namespace"


@dataclasses.dataclass(frozen=True, slots=True)
class Permission:
    """One RBAC rule: ``verbs`` on ``resource`` of ``api_group``, and why."""

    api_group: str
    resource: str
    verbs: tuple[str, ...]
    scope: Scope
    used_by: tuple[str, ...]
    """Dotted paths of the functions that make (or directly cause) the call."""
    why: str
    only_named: str = ""
    """A setting (``group.name``) naming the one object allowed; empty: any name."""
    modes: tuple[str, ...] = ("vke", "vm")
    """The provisioning modes in which the daemon makes the call."""


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Grant:
    """One (scope, group, resource, verb, name) a rule allows; ``name`` "" means any."""

    scope: Scope
    api_group: str
    resource: str
    verb: str
    name: str = ""


_OBJ = "autoscaler.kube.objects.KubeObjects"
_C = "autoscaler.controllers"

PERMISSIONS: tuple[Permission, ...] = (
    # --- cluster-scoped reads and writes -------------------------------------------------
    Permission(
        "", "nodes", ("list", "watch"), Scope.CLUSTER,
        ("autoscaler.app.build_informers",),
        "the Node informer: capacity, labels and readiness for both paths",
    ),
    Permission(
        "", "nodes", ("get",), Scope.CLUSTER,
        (f"{_OBJ}.get_node", f"{_C}.drain_marks._apply"),
        "drain marks read the Node for its resourceVersion before patching taints",
    ),
    Permission(
        "", "nodes", ("patch",), Scope.CLUSTER,
        (f"{_OBJ}.patch_node", f"{_C}.joining._label", f"{_C}.drain_marks._apply",
         f"{_C}.garbage.GarbageCollector._untaint"),
        "label a joined Node with its group; taint, cordon and annotate it for a drain;"
        " restore it after a failed drain or on recovery",
    ),
    Permission(
        "", "nodes", ("delete",), Scope.CLUSTER,
        (f"{_OBJ}.delete_node", f"{_C}.vpsienode_deletion._delete_node"),
        "remove the Node object of a worker VPSie deleted (UID precondition)",
    ),
    Permission(
        "", "pods", ("list", "watch"), Scope.CLUSTER,
        ("autoscaler.app.build_informers", f"{_OBJ}.list_pods_on_node",
         f"{_C}.scale_down_removal.arrivals"),
        "the Pod informer (pending pods, pods by node); a fresh list of a node's pods"
        " before its worker is deleted",
    ),
    Permission(
        "", "pods/eviction", ("create",), Scope.CLUSTER,
        ("autoscaler.kube.eviction.evict", f"{_C}.drain_pods.PodEvictor.run"),
        "drain: evict each pod through the Eviction API so PodDisruptionBudgets hold",
    ),
    Permission(
        "policy", "poddisruptionbudgets", ("list", "watch"), Scope.CLUSTER,
        ("autoscaler.app.build_informers",),
        "scale-down drainability: a pod whose PDB allows no disruption keeps its node",
    ),
    Permission(
        "", "persistentvolumeclaims", ("list", "watch"), Scope.CLUSTER,
        ("autoscaler.app.build_informers",),
        "scale-down drainability: pods with claims on local volumes stay",
    ),
    Permission(
        "", "persistentvolumes", ("list", "watch"), Scope.CLUSTER,
        ("autoscaler.app.build_informers",),
        "scale-down drainability: whether a claim's volume is local or pinned to a node",
    ),
    Permission(
        "", "events", ("create", "patch"), Scope.CLUSTER,
        ("autoscaler.kube.events.EventRecorder.record", f"{_OBJ}.create_event",
         f"{_OBJ}.patch_event", f"{_C}.pod_events.PodEventWriter.add_pod"),
        "Events on pods (their namespaces), Nodes (default) and our objects; a repeat"
        " patches the first Event's count",
    ),
    Permission(
        "metrics.k8s.io", "nodes", ("list",), Scope.CLUSTER,
        (f"{_C}.usage_collector.node_metrics_source", f"{_C}.usage_collector.UsageCollector.tick"),
        "usage samples of nodes when metrics-server is installed (404 when it is not)",
    ),
    # --- the daemon's own namespace --------------------------------------------------------
    Permission(
        CRD_GROUP, "nodegroups", ("list", "watch"), Scope.NAMESPACE,
        (f"{_C}.wiring.lifecycle_informers",),
        "the NodeGroup informer",
    ),
    Permission(
        CRD_GROUP, "nodegroups", ("get",), Scope.NAMESPACE,
        ("autoscaler.kube.status.patch_status", f"{_OBJ}.get", f"{_OBJ}.remove_finalizer"),
        "status writes and finalizer removal read the object fresh first",
    ),
    Permission(
        CRD_GROUP, "nodegroups", ("patch",), Scope.NAMESPACE,
        (f"{_OBJ}.patch", f"{_C}.nodegroup.NodeGroupReconciler.reconcile",
         f"{_C}.nodegroup.NodeGroupReconciler._wind_down"),
        "add the NodeGroup's finalizer, and remove it once its VPSieNodes are gone",
    ),
    Permission(
        CRD_GROUP, "nodegroups/status", ("patch",), Scope.NAMESPACE,
        ("autoscaler.kube.status.patch_status", f"{_C}.nodegroup.NodeGroupReconciler._write_status",
         f"{_C}.nodegroup.NodeGroupReconciler._invalid",
         f"{_C}.scale_up_controller.ScaleUpController._write_summaries",
         f"{_C}.scale_down_report.ScaleDownReporter.write_summaries"),
        "counts, conditions and the scale-up/scale-down summaries",
    ),
    Permission(
        CRD_GROUP, "vpsienodes", ("list", "watch"), Scope.NAMESPACE,
        (f"{_C}.wiring.lifecycle_informers",),
        "the VPSieNode informer",
    ),
    Permission(
        CRD_GROUP, "vpsienodes", ("get",), Scope.NAMESPACE,
        ("autoscaler.kube.status.patch_status", f"{_OBJ}.get", f"{_OBJ}.remove_finalizer"),
        "status writes and finalizer removal read the object fresh first",
    ),
    Permission(
        CRD_GROUP, "vpsienodes", ("create",), Scope.NAMESPACE,
        (f"{_OBJ}.create", f"{_C}.scale_up_controller.ScaleUpController._create",
         f"{_C}.nodegroup.NodeGroupReconciler._act", f"{_C}.garbage.GarbageCollector._adopt"),
        "intent before any VPSie create (scale-up, minNodes), and adoption of a worker",
    ),
    Permission(
        CRD_GROUP, "vpsienodes", ("patch",), Scope.NAMESPACE,
        (f"{_OBJ}.patch", f"{_C}.vpsienode.VPSieNodeReconciler._add_finalizer",
         f"{_C}.provisioning.provision", f"{_C}.vpsienode_deletion.finalize"),
        "the finalizer that deletes the worker first, and the create annotations",
    ),
    Permission(
        CRD_GROUP, "vpsienodes", ("delete",), Scope.NAMESPACE,
        (f"{_OBJ}.delete", f"{_C}.nodegroup.NodeGroupReconciler._delete",
         f"{_C}.scale_down_removal.remove"),
        "scale-down and a lowered maxNodes delete a VPSieNode; its finalizer does the rest",
    ),
    Permission(
        CRD_GROUP, "vpsienodes/status", ("patch",), Scope.NAMESPACE,
        ("autoscaler.kube.status.patch_status", f"{_C}.transitions.transition"),
        "phase, identifiers, timestamps and conditions of each worker",
    ),
    Permission(
        "coordination.k8s.io", "leases", ("create",), Scope.NAMESPACE,
        ("autoscaler.kube.lease_client.KubeLeaseClient.create",),
        "leader election: the first replica creates the Lease",
    ),
    Permission(
        "coordination.k8s.io", "leases", ("get", "update"), Scope.NAMESPACE,
        ("autoscaler.kube.lease_client.KubeLeaseClient.get",
         "autoscaler.kube.lease_client.KubeLeaseClient.update",
         "autoscaler.kube.leader.LeaderElector.run"),
        "leader election: read, acquire, renew and release the Lease",
        only_named="kube.lease_name",
    ),
    Permission(
        "", "secrets", ("get",), Scope.NAMESPACE,
        (f"{_OBJ}.read_secret_key", f"{_C}.groups.group_spec"),
        "the cloud-init user data a vm NodeGroup names (spec.provider.userDataSecretRef)",
        modes=("vm",),
    ),
)  # fmt: skip


def grants(
    permissions: tuple[Permission, ...] = PERMISSIONS,
    *,
    names: dict[str, str] | None = None,
    mode: str | None = None,
) -> set[Grant]:
    """Every single grant of ``permissions`` (those ``mode`` needs, if given); ``names`` maps
    ``only_named`` settings to their values."""
    chosen = tuple(p for p in permissions if mode is None or mode in p.modes)
    return set(_expand(chosen, names or {}))


def _expand(permissions: tuple[Permission, ...], names: dict[str, str]) -> Iterator[Grant]:
    for p in permissions:
        name = names.get(p.only_named, p.only_named) if p.only_named else ""
        for verb in p.verbs:
            yield Grant(p.scope, p.api_group, p.resource, verb, name)
