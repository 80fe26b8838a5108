"""What keeps a VPSieNode from being done: checks the waits of the e2e tests poll on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.e2e import invariants as inv
from tests.e2e.invariants import JSON
from tests.testenv.objects import is_node_ready


def vpsienode_ready_problems(
    vn: JSON,
    nodes: Mapping[str, JSON],
    live: Mapping[str, JSON],
    group: str,
    template: Mapping[str, Any],
) -> list[str]:
    """What keeps ``vn`` from being Ready with its worker live and its Node Ready and labelled.

    ``nodes`` are the test's Nodes by name, ``live`` the group's live workers by identifier,
    ``template`` the NodeGroup's ``spec.template`` (labels and taints every Node must carry).
    """
    name, s = vn["metadata"]["name"], inv.status(vn)
    if s.get("phase") != "Ready":
        return [f"VPSieNode {name} is {s.get('phase')}"]
    worker = live.get(inv.identifier(vn) or "")
    if worker is None:
        return [f"VPSieNode {name} names no live worker of the group ({inv.identifier(vn)})"]
    node = nodes.get(s.get("nodeName") or "")
    if node is None:
        return [f"VPSieNode {name}: no Node {s.get('nodeName')!r}"]
    node_name = node["metadata"]["name"]
    problems = []
    if node_name != str(worker["hostname"]).lower():
        problems.append(f"Node {node_name} is not named after {worker['hostname']}")
    if not is_node_ready(node):
        problems.append(f"Node {node_name} is not Ready")
    want = {
        inv.MANAGED_LABEL: "true",
        inv.GROUP_LABEL: group,
        inv.VPSIENODE_LABEL: name,
        **(template.get("labels") or {}),
    }
    labels = node["metadata"].get("labels") or {}
    problems += [
        f"Node {node_name} label {k}={labels.get(k)!r}, want {v!r}"
        for k, v in want.items()
        if labels.get(k) != v
    ]
    taints = [
        {k: t.get(k, "") for k in ("key", "value", "effect")}
        for t in node.get("spec", {}).get("taints") or []
    ]
    problems += [
        f"Node {node_name} lacks taint {t}"
        for t in template.get("taints") or []
        if {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]} not in taints
    ]
    return problems
