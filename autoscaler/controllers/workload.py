"""Read-only questions about Nodes and their pods, answered from the caches."""

from __future__ import annotations

from collections.abc import Callable

from autoscaler.controllers.context import Context
from autoscaler.controllers.joining import node_of
from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.core.records import NodeRecord


def group_nodes(ctx: Context, group: str) -> list[NodeRecord]:
    """The cached Nodes labelled with the group."""
    return ctx.caches.nodes.by_index("nodes_by_group", group)


def runs_workload(ctx: Context, node: NodeRecord) -> bool:
    """Whether pods other than DaemonSet and mirror pods run (or will run) on the Node."""
    pods = ctx.caches.pods.by_index("pods_by_node", node.name)
    return any(
        not (p.is_daemonset or p.is_mirror) and p.phase not in ("Succeeded", "Failed") for p in pods
    )


def busy_checker(ctx: Context) -> Callable[[VPSieNodeRecord], bool]:
    """A predicate: does the VPSieNode's Node run workload pods?"""

    def busy(rec: VPSieNodeRecord) -> bool:
        node = node_of(ctx, rec)
        return node is not None and runs_workload(ctx, node)

    return busy
