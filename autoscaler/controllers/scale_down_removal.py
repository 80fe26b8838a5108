"""The steps around one node's drain: claim it, check it after the drain, let it go or keep it.

1. ``claim``: the node's VPSieNode moves ``Ready → Draining`` by a compare-and-set status
   write, *before* any taint (the garbage collector removes our taints from Nodes whose
   VPSieNode is not being removed). Only one writer can win it, so a node is never drained
   twice;
2. after a successful drain, ``arrivals`` lists the node's pods **from the API server**
   (not the cache, which may not have seen a pod bound just before the taint): any pod
   that still needs the node (not a DaemonSet or mirror pod, not finished, not already
   terminating) stops the removal;
3. ``remove``: the VPSieNode is deleted (UID precondition); its finalizer deletes the VPSie
   worker, waits until it is gone, deletes the Node and lets the object go;
4. ``release``: otherwise the VPSieNode goes back ``Draining → Ready``; the drain's cleanup
   (or ``restore``) has made the Node schedulable again.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import cast

from autoscaler.controllers.context import VPSIENODES, Context, node_ref
from autoscaler.controllers.drain_marks import restore_node
from autoscaler.controllers.keys import Reason
from autoscaler.controllers.records import VPSieNodeRecord
from autoscaler.controllers.transitions import transition
from autoscaler.core.records import PodRecord
from autoscaler.core.resources import Phase
from autoscaler.core.scale_down_plan import Removal
from autoscaler.core.utilization import TERMINAL_PHASES
from autoscaler.kube import errors
from autoscaler.kube.bodies import PodBody
from autoscaler.kube.events import ObjectRef
from autoscaler.kube.projection import project_pod

__all__ = ["DrainJob", "arrivals", "claim", "needs_node", "release", "remove", "restore"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class DrainJob:
    """One node to remove, as the drain pool carries it."""

    node: str
    group: str
    vpsienode: str
    """The owning VPSieNode's ``namespace/name``."""
    namespace: str
    name: str
    uid: str
    pods: tuple[PodRecord, ...]
    """The pods the plan moves (none for an empty node)."""
    utilization: float
    deleting: bool = False
    """A drain before the deletion someone else asked for (the VPSieNode is being deleted):
    nothing is removed or released after it."""

    @classmethod
    def of(
        cls,
        owner: VPSieNodeRecord,
        *,
        node: str,
        pods: tuple[PodRecord, ...] = (),
        utilization: float = 0.0,
        deleting: bool = False,
    ) -> DrainJob:
        """The job of ``owner``'s Node ``node``."""
        m = owner.meta
        return cls(
            node=node,
            group=owner.group or "",
            vpsienode=owner.key,
            namespace=m.namespace,
            name=m.name,
            uid=m.uid,
            pods=pods,
            utilization=utilization,
            deleting=deleting,
        )

    @property
    def empty(self) -> bool:
        """Whether no pod had to move (the node is deleted at once after its taint)."""
        return not self.pods

    @property
    def reason(self) -> str:
        """``empty`` or ``underutilized``: the ``scaled_down_nodes_total`` label."""
        return "empty" if self.empty else "underutilized"


async def claim(ctx: Context, removal: Removal, owner: VPSieNodeRecord) -> DrainJob | None:
    """Move the node's VPSieNode ``Ready → Draining``; the job, or ``None`` if it lost."""
    if owner.phase is not Phase.READY or owner.meta.deleting:
        return None
    fresh = await transition(ctx, owner, expect=(Phase.READY,), phase=Phase.DRAINING)
    if fresh is None:
        return None
    pods = tuple(move.pod for move in removal.pods)
    job = DrainJob.of(owner, node=removal.node, pods=pods, utilization=removal.utilization)
    return dataclasses.replace(job, group=removal.group)


def needs_node(pod: PodRecord) -> bool:
    """Whether ``pod`` would be lost with its node (not a DaemonSet or mirror pod, not
    finished, not already terminating)."""
    return not (
        pod.is_daemonset
        or pod.is_mirror
        or pod.phase in TERMINAL_PHASES
        or pod.deletion_timestamp is not None
    )


async def arrivals(ctx: Context, node: str) -> list[str]:
    """Keys of the pods on ``node`` that would be lost with it (read from the API server)."""
    found = await ctx.objects.list_pods_on_node(node)
    pods = [project_pod(cast("PodBody", raw)) for raw in found]
    return sorted(p.key for p in pods if needs_node(p))


async def remove(ctx: Context, job: DrainJob) -> bool:
    """Delete the job's VPSieNode (that UID only); ``False`` if it was gone already."""
    return await ctx.objects.delete(VPSIENODES, job.namespace, job.name, uid=job.uid)


async def release(ctx: Context, job: DrainJob) -> None:
    """Move the job's VPSieNode back ``Draining → Ready`` (nothing if it moved on)."""
    rec = ctx.caches.vpsienodes.get(job.vpsienode)
    if rec is None or rec.meta.uid != job.uid:
        return
    await transition(ctx, rec, expect=(Phase.DRAINING,), phase=Phase.READY)


async def restore(ctx: Context, node: str, *, status: str, message: str) -> None:
    """Untaint and uncordon ``node`` and say why in a Warning ``ScaleDownFailed``."""
    try:
        who = await restore_node(ctx.objects, node, status=status, now=ctx.now())
    except errors.KubeError as err:
        log.warning("cannot restore node", extra={"node": node, "error": str(err)})
        return
    cached = ctx.caches.nodes.get(node)
    ref = node_ref(cached) if cached is not None else ObjectRef("v1", "Node", node, "", "")
    if who is not None:
        ref = ObjectRef("v1", "Node", node, "", who.uid)
    text = f"drain {status}: {message}; node untainted and uncordoned"
    await ctx.event(ref, Reason.SCALE_DOWN_FAILED, text, warning=True)
