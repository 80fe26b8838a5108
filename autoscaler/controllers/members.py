"""Building a new VPSieNode of a group: the intent object, written before any VPSie call.

It is owned by its NodeGroup (controller ownerReference), carries the worker finalizer from
birth (so it can never disappear before its worker), the group labels, and for vm groups
the hostname chosen now, so a create whose answer is lost can be found again. The
scale-up path creates VPSieNodes with ``new_vpsienode`` too.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from autoscaler.controllers.keys import (
    ADOPTED,
    ADOPTED_HOSTNAME,
    FINALIZER,
    MANAGED_LABEL,
    NODEGROUP_LABEL,
)
from autoscaler.controllers.records import NodeGroupRecord
from autoscaler.core.resources import API_VERSION, ProviderMode
from autoscaler.vpsie.provider import Worker

JSON = dict[str, Any]
SUFFIX = string.ascii_lowercase + string.digits
MAX_NAME = 63


def _suffix(length: int = 8) -> str:
    return "".join(secrets.choice(SUFFIX) for _ in range(length))


def member_name(group: str, hostname: str | None) -> str:
    """The VPSieNode's name: the VM hostname when there is one, else ``<group>-<random>``."""
    if hostname:
        return hostname.lower()
    return f"{group[: MAX_NAME - 9].rstrip('-')}-{_suffix()}"


def new_vpsienode(
    group: NodeGroupRecord, *, hostname: str | None = None, adopt: Worker | None = None
) -> JSON:
    """The body of a new VPSieNode of ``group`` (``adopt``: an existing worker of ours)."""
    assert group.resource is not None
    provider = group.resource.spec.provider
    vm = provider.mode == ProviderMode.VM
    spec: JSON = {"nodeGroup": group.meta.name, "mode": str(provider.mode)}
    if vm:
        spec["hostname"] = hostname
        spec["planIdentifier"] = provider.plan_identifier
    annotations: JSON = {}
    if adopt is not None:
        annotations[ADOPTED] = adopt.identifier or adopt.hostname or ""
        if adopt.hostname:
            annotations[ADOPTED_HOSTNAME] = adopt.hostname
    name = member_name(group.meta.name, hostname if vm else None)
    metadata: JSON = {
        "name": name,
        "namespace": group.meta.namespace,
        "labels": {NODEGROUP_LABEL: group.meta.name, MANAGED_LABEL: "true"},
        "finalizers": [FINALIZER],
        "ownerReferences": [
            {
                "apiVersion": API_VERSION,
                "kind": "NodeGroup",
                "name": group.meta.name,
                "uid": group.meta.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": "VPSieNode", "metadata": metadata, "spec": spec}
