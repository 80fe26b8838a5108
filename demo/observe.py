"""One reading of the demo's world: pods, VPSieNodes, Nodes and the autoscaler's pod Events.

``read(api, place, elapsed)`` does the I/O (four list calls; with ``scale_down`` two more:
the scale-down Events of Nodes and the NodeGroups' status); everything else in the demo
works on the frozen ``Reading`` it returns, so progress and the summary can be tested
without a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autoscaler.core.resources.common import GROUP, VERSION
from demo.scenario import Place
from tests.testenv import KubeHTTP
from tests.testenv.objects import is_node_ready, is_pod_running

JSON = dict[str, Any]
PREFIX = "autoscaler.vpsie.com/"
GROUP_LABEL = PREFIX + "nodegroup"
NODE_EVENTS = "involvedObject.kind=Node"
DECISION_ANNOTATION = PREFIX + "decision"
TRIGGERED = "TriggeredScaleUp"
NOT_TRIGGERED = "NotTriggerScaleUp"
FAILED = "Failed"
READY = "Ready"
DRAINING = "Draining"
DELETING = "Deleting"
SCALE_DOWN = "ScaleDown"
SCALE_DOWN_FAILED = "ScaleDownFailed"
NODE_REASONS = (SCALE_DOWN, SCALE_DOWN_FAILED)


@dataclass(frozen=True, order=True)
class Pod:
    """A workload pod: its Deployment, where it is bound, whether it runs."""

    name: str
    app: str
    node: str
    running: bool


@dataclass(frozen=True, order=True)
class VNode:
    """A VPSieNode: its NodeGroup, phase and the scale-up decision that asked for it."""

    name: str
    group: str
    phase: str
    decision: str
    node: str = ""


@dataclass(frozen=True, order=True)
class Node:
    """A Node: its NodeGroup label (empty until the daemon labels it) and readiness."""

    name: str
    group: str
    ready: bool


@dataclass(frozen=True)
class PodEvent:
    """A ``TriggeredScaleUp`` or ``NotTriggerScaleUp`` Event (``count`` aggregated ones)."""

    reason: str
    pod: str
    message: str
    count: int


@dataclass(frozen=True)
class NodeEvent:
    """A ``ScaleDown`` or ``ScaleDownFailed`` Event of a Node; ``name`` is the Event's."""

    name: str
    reason: str
    node: str
    message: str


@dataclass(frozen=True)
class GroupStatus:
    """What the demo reads from a NodeGroup's status."""

    name: str
    kept_summary: str | None = None
    monthly_cost: str | None = None
    last_scale_down: str | None = None


@dataclass(frozen=True)
class Reading:
    """What the demo saw at ``elapsed`` seconds after applying the workload."""

    elapsed: float
    pods: tuple[Pod, ...] = ()
    vnodes: tuple[VNode, ...] = ()
    nodes: tuple[Node, ...] = ()
    events: tuple[PodEvent, ...] = ()
    node_events: tuple[NodeEvent, ...] = ()
    groups: tuple[GroupStatus, ...] = ()
    kept: tuple[tuple[str, str, int], ...] = ()
    """(group, reason, nodes) the daemon's last scale-down pass kept (from its metrics)."""

    @property
    def running(self) -> int:
        """Pods Running and Ready."""
        return sum(p.running for p in self.pods)

    @property
    def unscheduled(self) -> int:
        """Pods not bound to a Node yet."""
        return sum(not p.node for p in self.pods)

    @property
    def starting(self) -> int:
        """Pods bound to a Node but not Running yet."""
        return sum(bool(p.node) and not p.running for p in self.pods)

    @property
    def requested(self) -> int:
        """VPSieNodes that have not failed."""
        return sum(v.phase != FAILED for v in self.vnodes)

    @property
    def ready_nodes(self) -> int:
        """Nodes that are Ready."""
        return sum(n.ready for n in self.nodes)

    def group_of(self, node: Node) -> str:
        """The Node's NodeGroup: its label, else the VPSieNode naming it; empty if unknown."""
        if node.group:
            return node.group
        return next((v.group for v in self.vnodes if v.node == node.name), "")

    def done(self, want: int) -> bool:
        """All ``want`` pods exist and run."""
        return len(self.pods) == want and self.running == want


def read(api: KubeHTTP, place: Place, elapsed: float, *, scale_down: bool = False) -> Reading:
    """List the workload's pods and Events, the VPSieNodes and the Nodes; with
    ``scale_down`` also the Nodes' scale-down Events and the NodeGroups."""
    ns = place.workload_namespace
    pods = api.get(f"/api/v1/namespaces/{ns}/pods")["items"]
    vns = api.get(f"/apis/{GROUP}/{VERSION}/namespaces/{place.system_namespace}/vpsienodes")
    selector = {"labelSelector": place.node_selector} if place.node_labels else {}
    nodes = api.get("/api/v1/nodes", **selector)["items"]
    events = api.get(f"/api/v1/namespaces/{ns}/events")["items"]
    node_events: list[JSON] = []
    groups: list[JSON] = []
    if scale_down:  # Events of cluster-scoped objects are in "default"
        found = api.get("/api/v1/namespaces/default/events", fieldSelector=NODE_EVENTS)
        node_events = [e for e in found["items"] if e.get("reason") in NODE_REASONS]
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{place.system_namespace}/nodegroups"
        groups = api.get(path)["items"]
    return Reading(
        elapsed=elapsed,
        pods=tuple(sorted(_pod(p) for p in pods if not p["metadata"].get("deletionTimestamp"))),
        vnodes=tuple(sorted(_vnode(v) for v in vns["items"])),
        nodes=tuple(sorted(_node(n) for n in nodes)),
        events=tuple(_event(e) for e in events if e.get("reason") in (TRIGGERED, NOT_TRIGGERED)),
        node_events=tuple(_node_event(e) for e in node_events),
        groups=tuple(sorted((_group(g) for g in groups), key=lambda g: g.name)),
    )


def _pod(pod: JSON) -> Pod:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    return Pod(
        name=meta["name"],
        app=(meta.get("labels") or {}).get("app", ""),
        node=spec.get("nodeName") or "",
        running=is_pod_running(pod),
    )


def _vnode(vn: JSON) -> VNode:
    meta, status = vn["metadata"], vn.get("status") or {}
    return VNode(
        name=meta["name"],
        group=(meta.get("labels") or {}).get(GROUP_LABEL)
        or (vn.get("spec") or {}).get("nodeGroup", ""),
        phase=status.get("phase") or "Pending",
        decision=(meta.get("annotations") or {}).get(DECISION_ANNOTATION, ""),
        node=status.get("nodeName") or str(status.get("hostname") or "").lower(),
    )


def _node(node: JSON) -> Node:
    meta = node["metadata"]
    return Node(
        name=meta["name"],
        group=(meta.get("labels") or {}).get(GROUP_LABEL, ""),
        ready=is_node_ready(node),
    )


def _event(event: JSON) -> PodEvent:
    series = event.get("series") or {}
    return PodEvent(
        reason=event["reason"],
        pod=event["involvedObject"].get("name", ""),
        message=event.get("message") or event.get("note") or "",
        count=int(series.get("count") or event.get("count") or 1),
    )


def _node_event(event: JSON) -> NodeEvent:
    return NodeEvent(
        name=event["metadata"]["name"],
        reason=event["reason"],
        node=event["involvedObject"].get("name", ""),
        message=event.get("message") or "",
    )


def _group(ng: JSON) -> GroupStatus:
    status = ng.get("status") or {}
    cost = status.get("monthlyCost")
    return GroupStatus(
        name=ng["metadata"]["name"],
        kept_summary=status.get("keptSummary"),
        monthly_cost=None if cost is None else str(cost),
        last_scale_down=status.get("lastScaleDownTime"),
    )
