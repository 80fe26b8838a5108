"""The Node of a VPSieNode: finding it, and the patch that gives it the group's identity.

A managed Node carries the group template's labels and taints plus
``autoscaler.vpsie.com/managed=true``, ``.../nodegroup=<group>`` and
``.../vpsienode=<name>``, and ``spec.providerID = vpsie://<identifier>`` when it had none
(vpsie-api.md §5.2). ``node_patch`` is pure and returns ``None`` when nothing is missing;
a patch that changes taints carries the Node's resourceVersion, so a concurrent taint
change answers 409 rather than being overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autoscaler.controllers.keys import MANAGED_LABEL, NODEGROUP_LABEL, VPSIENODE_LABEL
from autoscaler.core.records import NodeRecord, Taint, lookup
from autoscaler.core.resources import NodeTemplate
from autoscaler.kube.store import Store

JSON = dict[str, Any]


def provider_identifier(provider_id: str | None) -> str | None:
    """The identifier in a providerID, leniently: its last path segment."""
    if not provider_id:
        return None
    tail = provider_id.rstrip("/").rsplit("/", 1)[-1]
    return tail or None


def find_node(
    nodes: Store[NodeRecord], *, names: Iterable[str], identifier: str | None
) -> NodeRecord | None:
    """The Node named like the worker (lowercased), else the one whose providerID names
    its identifier."""
    for name in names:
        node = nodes.get(name.lower())
        if node is not None:
            return node
    if identifier:
        for node in nodes:
            if provider_identifier(node.provider_id) == identifier:
                return node
    return None


def desired_labels(template: NodeTemplate, *, group: str, vpsienode: str) -> dict[str, str]:
    """The labels every Node of the group carries."""
    labels = dict(template.labels)
    labels.update({MANAGED_LABEL: "true", NODEGROUP_LABEL: group, VPSIENODE_LABEL: vpsienode})
    return labels


def node_patch(
    node: NodeRecord,
    *,
    template: NodeTemplate,
    group: str,
    vpsienode: str,
    identifier: str | None,
) -> JSON | None:
    """The merge patch that gives ``node`` the group's labels, taints and providerID."""
    patch: JSON = {}
    labels = {
        k: v
        for k, v in desired_labels(template, group=group, vpsienode=vpsienode).items()
        if lookup(node.labels, k) != v
    }
    if labels:
        patch["metadata"] = {"labels": labels}
    have = {(t.key, t.effect) for t in node.taints}
    missing = [t for t in template.taints if (t.key, str(t.effect)) not in have]
    if missing:
        taints = [_taint_json(t) for t in node.taints]
        taints += [{"key": t.key, "value": t.value, "effect": str(t.effect)} for t in missing]
        patch.setdefault("metadata", {})["resourceVersion"] = node.resource_version
        patch["spec"] = {"taints": [{k: v for k, v in t.items() if v != ""} for t in taints]}
    if identifier and not node.provider_id:
        patch.setdefault("spec", {})["providerID"] = f"vpsie://{identifier}"
    return patch or None


def without_taints(node: NodeRecord, keys: Iterable[str]) -> JSON | None:
    """The patch removing taints with these keys (``None`` if there are none)."""
    drop = set(keys)
    kept = [t for t in node.taints if t.key not in drop]
    if len(kept) == len(node.taints):
        return None
    taints = [{k: v for k, v in _taint_json(t).items() if v != ""} for t in kept]
    return {"metadata": {"resourceVersion": node.resource_version}, "spec": {"taints": taints}}


def _taint_json(taint: Taint) -> JSON:
    return {"key": taint.key, "value": taint.value, "effect": taint.effect}
