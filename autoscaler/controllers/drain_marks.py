"""The Node-side steps of a drain: mark it (taint, cordon), then finish or restore it.

Taints are an atomic list in the Node API, so each step reads the Node, computes a merge
patch and sends it with the Node's ``resourceVersion``; a concurrent change answers 409 and
the step reads again (up to ``attempts`` times). Every step is idempotent, so a cleanup may
run after a mark that never happened or only half happened.

Order for the caller: set the VPSieNode's phase to ``Draining`` *before* :func:`mark_draining`,
because the garbage collector removes our taints from Nodes whose VPSieNode is not being
removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from autoscaler.controllers.keys import (
    DELETION_CANDIDATE_TAINT,
    DRAIN_CORDONED,
    DRAIN_FINISHED,
    DRAIN_STARTED,
    DRAIN_STATUS,
)
from autoscaler.kube import errors

JSON = dict[str, Any]
ATTEMPTS = 5


class NodeWrites(Protocol):
    """The Node calls a drain makes (``kube.objects.KubeObjects`` has them)."""

    async def get_node(self, name: str) -> JSON | None:
        """Read a Node; ``None`` if there is none."""

    async def patch_node(self, name: str, patch: JSON) -> JSON:
        """Merge-patch a Node."""


@dataclasses.dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Who the Node was when a step read it (for Events)."""

    name: str
    uid: str


def stamp(now: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, whole seconds."""
    return now.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _marked(node: JSON, now: dt.datetime) -> JSON | None:
    spec, meta = node.get("spec") or {}, node.get("metadata") or {}
    taints = list(spec.get("taints") or [])
    has_taint = any(t.get("key") == DELETION_CANDIDATE_TAINT for t in taints)
    running = (meta.get("annotations") or {}).get(DRAIN_STATUS) == "running"
    if has_taint and spec.get("unschedulable") and running:
        return None
    patch: JSON = {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "annotations": {DRAIN_STATUS: "running", DRAIN_STARTED: stamp(now)},
        },
        "spec": {"unschedulable": True},
    }
    if not spec.get("unschedulable"):
        patch["metadata"]["annotations"][DRAIN_CORDONED] = "true"
    if not has_taint:
        taint = {"key": DELETION_CANDIDATE_TAINT, "effect": "NoSchedule", "timeAdded": stamp(now)}
        patch["spec"]["taints"] = [*taints, taint]
    return patch


def _restored(node: JSON, status: str, now: dt.datetime) -> JSON:
    spec, meta = node.get("spec") or {}, node.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    patch: JSON = {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "annotations": {DRAIN_STATUS: status, DRAIN_FINISHED: stamp(now), DRAIN_CORDONED: None},
        },
    }
    taints = list(spec.get("taints") or [])
    kept = [t for t in taints if t.get("key") != DELETION_CANDIDATE_TAINT]
    if len(kept) != len(taints):
        patch["spec"] = {"taints": kept}
    if annotations.get(DRAIN_CORDONED) == "true" and spec.get("unschedulable"):
        patch.setdefault("spec", {})["unschedulable"] = False
    return patch


def _finished(node: JSON, now: dt.datetime) -> JSON:
    meta = node.get("metadata") or {}
    annotations = {DRAIN_STATUS: "complete", DRAIN_FINISHED: stamp(now)}
    return {
        "metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": annotations}
    }


async def _apply(
    nodes: NodeWrites, name: str, build: Callable[[JSON], JSON | None]
) -> NodeIdentity | None:
    """Read, build the patch, write with the read resourceVersion; re-read on 409."""
    for _ in range(ATTEMPTS):
        node = await nodes.get_node(name)
        if node is None:
            return None
        who = NodeIdentity(name, str((node.get("metadata") or {}).get("uid") or ""))
        patch = build(node)
        if patch is None:
            return who
        try:
            await nodes.patch_node(name, patch)
        except errors.Conflict:
            continue
        except errors.NotFound:
            return None
        return who
    raise errors.Conflict(f"patching node {name}: {ATTEMPTS} conflicts in a row", status=409)


async def mark_draining(nodes: NodeWrites, name: str, *, now: dt.datetime) -> NodeIdentity:
    """Taint the Node with our deletion-candidate taint, cordon it, annotate ``running``.

    Raises ``errors.NotFound`` when the Node does not exist.
    """
    who = await _apply(nodes, name, lambda node: _marked(node, now))
    if who is None:
        raise errors.NotFound(f"node {name} not found", status=404)
    return who


async def restore_node(
    nodes: NodeWrites, name: str, *, status: str, now: dt.datetime
) -> NodeIdentity | None:
    """Remove our taint, lift the cordon we set, annotate ``status``; ``None`` if no Node."""
    return await _apply(nodes, name, lambda node: _restored(node, status, now))


async def mark_drained(nodes: NodeWrites, name: str, *, now: dt.datetime) -> NodeIdentity | None:
    """Annotate a drained Node ``complete`` (it stays tainted and cordoned for deletion)."""
    return await _apply(nodes, name, lambda node: _finished(node, now))
