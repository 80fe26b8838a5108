"""Builders of NodeGroup and VPSieNode JSON objects, and the invalid cases both tiers reject.

``INVALID_NODEGROUPS`` is run twice: by ``tests/core/test_resource_parsing.py`` against our
parser and by ``tests/integration/test_crds.py`` against the real API server, so the CRD
schema and the parser are shown to reject the same objects with the same words.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from autoscaler.core.resources.common import API_VERSION
from autoscaler.core.resources.values import (
    CLOCK_MESSAGE,
    DURATION_MESSAGE,
    QUANTITY_MESSAGE,
)

JSON = dict[str, Any]

VKE_PROVIDER: JSON = {"clusterIdentifier": "c0ffee-1234", "nodeGroupId": 7}
VM_PROVIDER: JSON = {
    "mode": "vm",
    "datacenterIdentifier": "dc-ams-1",
    "planIdentifier": "plan-4c8g",
    "osIdentifier": "os-ubuntu-24",
    "projectId": 880,
    "hostnamePrefix": "va",
    "userDataSecretRef": {"name": "join", "key": "user-data"},
}
TZ_MESSAGE = "must be an IANA time zone name"


def nodegroup(name: str = "web", namespace: str = "default", **spec: Any) -> JSON:
    """A valid NodeGroup (vke, maxNodes 5) with ``spec`` keys replaced; ``None`` drops a key."""
    body: JSON = {"maxNodes": 5, "provider": copy.deepcopy(VKE_PROVIDER)}
    body.update(copy.deepcopy(spec))
    body = {key: value for key, value in body.items() if value is not None}
    return {
        "apiVersion": API_VERSION,
        "kind": "NodeGroup",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def vm_provider(*, without: str = "", **fields: Any) -> JSON:
    """A valid vm-mode provider, minus the field ``without``, plus ``fields``."""
    provider = {k: v for k, v in copy.deepcopy(VM_PROVIDER).items() if k != without}
    provider.update(fields)
    return provider


def window(**fields: Any) -> JSON:
    """A scale-down window 22:00-06:00 with ``fields`` replaced."""
    return {"start": "22:00", "end": "06:00", **fields}


def windows(**fields: Any) -> JSON:
    """A ``scaleDown`` block holding the one window ``window(**fields)``."""
    return {"allowedWindows": [window(**fields)]}


def taint(key: str = "dedicated", effect: str = "NoSchedule", **fields: Any) -> JSON:
    """A taint dict."""
    return {"key": key, "effect": effect, **fields}


def vpsienode(name: str = "web-abc12", namespace: str = "default", **spec: Any) -> JSON:
    """A valid vm-mode VPSieNode of group ``web`` with ``spec`` keys replaced."""
    body: JSON = {
        "nodeGroup": "web",
        "mode": "vm",
        "hostname": "va-web-k3m9q2ab",
        "planIdentifier": "plan-4c8g",
    }
    body.update(spec)
    return {
        "apiVersion": API_VERSION,
        "kind": "VPSieNode",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def case(case_id: str, spec: JSON, path: str, message: str, *, name: str = "web") -> Any:
    """One invalid NodeGroup: the spec overrides, the offending path and a message fragment."""
    return pytest.param(nodegroup(name, **spec), path, message, id=case_id)


INVALID_NODEGROUPS = [
    case("min-greater-than-max", {"minNodes": 6}, "spec.minNodes",
         "minNodes must not be greater than maxNodes"),
    case("negative-min-nodes", {"minNodes": -1}, "spec.minNodes",
         "should be greater than or equal to 0"),
    case("max-nodes-above-limit", {"maxNodes": 1001}, "spec.maxNodes",
         "should be less than or equal to 1000"),
    case("max-nodes-missing", {"maxNodes": None}, "spec.maxNodes", "Required value"),
    case("max-nodes-not-an-integer", {"maxNodes": "5"}, "spec.maxNodes",
         "must be of type integer"),
    case("unknown-mode", {"provider": {**VKE_PROVIDER, "mode": "ec2"}}, "spec.provider.mode",
         'Unsupported value: "ec2": supported values: "vke", "vm"'),
    case("vke-without-cluster-identifier", {"provider": {"nodeGroupId": 7}},
         "spec.provider.clusterIdentifier", "clusterIdentifier is required when mode is vke"),
    case("vke-with-group-id-and-name",
         {"provider": {**VKE_PROVIDER, "nodeGroupName": "workers"}}, "spec.provider",
         "exactly one of nodeGroupId or nodeGroupName is required when mode is vke"),
    case("vke-with-neither-group-id-nor-name", {"provider": {"clusterIdentifier": "c0ffee"}},
         "spec.provider", "exactly one of nodeGroupId or nodeGroupName is required"),
    case("vke-with-vm-fields", {"provider": {**VKE_PROVIDER, "planIdentifier": "p"}},
         "spec.provider", "sshKeyIdentifier are only used when mode is vm"),
    case("vm-without-plan-identifier", {"provider": vm_provider(without="planIdentifier")},
         "spec.provider.planIdentifier", "planIdentifier is required when mode is vm"),
    case("vm-without-user-data-secret", {"provider": vm_provider(without="userDataSecretRef")},
         "spec.provider.userDataSecretRef", "userDataSecretRef is required when mode is vm"),
    case("vm-with-cluster-identifier", {"provider": vm_provider(clusterIdentifier="c0ffee")},
         "spec.provider", "nodeGroupName are only used when mode is vke"),
    case("vm-hostname-prefix-uppercase", {"provider": vm_provider(hostnamePrefix="VA")},
         "spec.provider.hostnamePrefix", "must be 1 to 20 lowercase alphanumerics"),
    case("utilization-threshold-above-one", {"scaleDown": {"utilizationThreshold": 1.5}},
         "spec.scaleDown.utilizationThreshold", "should be less than or equal to 1"),
    case("unneeded-time-in-words", {"scaleDown": {"unneededTime": "10 minutes"}},
         "spec.scaleDown.unneededTime", DURATION_MESSAGE),
    case("delay-after-add-fractional", {"scaleDown": {"delayAfterAdd": "1.5h"}},
         "spec.scaleDown.delayAfterAdd", DURATION_MESSAGE),
    case("window-start-25-00", {"scaleDown": windows(start="25:00")},
         "spec.scaleDown.allowedWindows[0].start", CLOCK_MESSAGE),
    case("window-start-equals-end", {"scaleDown": windows(end="22:00")},
         "spec.scaleDown.allowedWindows[0].end", "start and end must differ"),
    case("window-unknown-weekday", {"scaleDown": windows(days=["Mon", "Funday"])},
         "spec.scaleDown.allowedWindows[0].days[1]", 'Unsupported value: "Funday"'),
    case("window-time-zone-with-space", {"scaleDown": windows(timeZone="Europe Berlin")},
         "spec.scaleDown.allowedWindows[0].timeZone", TZ_MESSAGE),
    case("taint-effect-invalid", {"template": {"taints": [taint(effect="Sometimes")]}},
         "spec.template.taints[0].effect", 'Unsupported value: "Sometimes"'),
    case("taint-key-invalid", {"template": {"taints": [taint(key="-bad key")]}},
         "spec.template.taints[0].key", "must be a qualified name"),
    case("taint-duplicate-key-and-effect",
         {"template": {"taints": [taint(), taint(value="other")]}},
         "spec.template.taints[1]", "Duplicate value"),
    case("too-many-taints",
         {"template": {"taints": [taint(key=f"k{i}") for i in range(33)]}},
         "spec.template.taints", "must have at most 32 items"),
    case("label-key-name-too-long", {"template": {"labels": {"example.com/" + "a" * 64: "x"}}},
         "spec.template.labels", "every label key must be a qualified name"),
    case("label-value-too-long", {"template": {"labels": {"tier": "v" * 64}}},
         "spec.template.labels.tier", "may not be more than 63 bytes"),
    case("label-value-with-space", {"template": {"labels": {"tier": "a b"}}},
         "spec.template.labels", "every label value must be a label value"),
    case("label-key-reserved", {"template": {"labels": {"autoscaler.vpsie.com/nodegroup": "x"}}},
         "spec.template.labels", "labels under autoscaler.vpsie.com/ are set by the autoscaler"),
    case("priority-above-100", {"priority": 101}, "spec.priority",
         "should be less than or equal to 100"),
    case("reserved-memory-malformed", {"template": {"reserved": {"memory": "1 GB"}}},
         "spec.template.reserved.memory", QUANTITY_MESSAGE),
    case("reserved-cpu-negative", {"template": {"reserved": {"cpu": "-100m"}}},
         "spec.template.reserved.cpu", QUANTITY_MESSAGE),
    case("name-longer-than-a-label-value", {}, "",
         "NodeGroup names are at most 63 characters", name="n" * 64),
]  # fmt: skip


def walk_schema(schema: JSON, path: str = "") -> Any:
    """Yield ``(path, sub-schema)`` for every property, list item and map value of a schema."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from walk_schema(sub, f"{path}.{name}")
    if "items" in schema:
        yield from walk_schema(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk_schema(schema["additionalProperties"], f"{path}{{}}")
