"""The generated CRDs on the real API server: defaults, validation messages, discovery, columns.

The invalid cases are ``tests.core.resource_objects.INVALID_NODEGROUPS``, the same table the
parser's unit tests run, so the server and the parser are shown to agree.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from autoscaler.core.resources import nodegroup_from_dict
from autoscaler.core.resources.common import API_VERSION
from tests.core.resource_objects import (
    INVALID_NODEGROUPS,
    JSON,
    nodegroup,
    vm_provider,
    vpsienode,
    walk_schema,
    window,
)
from tests.testenv import ApiError, ControlPlane, TestNamespace

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds")]

GROUP_API = f"/apis/{API_VERSION}"
CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def collection(ns: str, plural: str = "nodegroups") -> str:
    return f"{GROUP_API}/namespaces/{ns}/{plural}"


def create(testenv: ControlPlane, ns: str, obj: JSON, plural: str = "nodegroups") -> JSON:
    obj["metadata"]["namespace"] = ns
    return testenv.admin.post(collection(ns, plural), obj)


def rejection(testenv: ControlPlane, ns: str, obj: JSON, plural: str = "nodegroups") -> ApiError:
    with pytest.raises(ApiError) as info:
        create(testenv, ns, obj, plural)
    return info.value


def names_cause(err: ApiError, path: str, message: str) -> bool:
    """Whether the ``Status`` names ``path`` (a cause's field, or the text) with ``message``."""
    causes = err.body.get("details", {}).get("causes") or []
    if any(c.get("field") == path and message in c.get("message", "") for c in causes):
        return True
    return f"{path}: " in err.body.get("message", "") and message in err.body["message"]


def test_valid_nodegroup_is_accepted_with_defaults(testenv: ControlPlane, kube_ns: TestNamespace):
    obj = nodegroup(scaleDown={"allowedWindows": [window(timeZone="Europe/Berlin")]})
    created = create(testenv, kube_ns, obj)

    spec = testenv.admin.get(f"{collection(kube_ns)}/web")["spec"]
    assert created["spec"] == spec
    assert (spec["minNodes"], spec["priority"], spec["provider"]["mode"]) == (0, 0, "vke")
    assert spec["scaleUp"] == {"enabled": True}
    assert {k: v for k, v in spec["scaleDown"].items() if k != "allowedWindows"} == {
        "enabled": True,
        "utilizationThreshold": 0.5,
        "unneededTime": "10m",
        "delayAfterAdd": "10m",
    }
    assert spec["scaleDown"]["allowedWindows"][0]["days"] == [
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
    ]  # fmt: skip
    # what the server defaulted, the parser defaults the same way
    assert nodegroup_from_dict(nodegroup(**spec)).spec == nodegroup_from_dict(obj).spec


def test_valid_vm_nodegroup_round_trips_through_the_parser(
    testenv: ControlPlane, kube_ns: TestNamespace
):
    template = {
        "labels": {"example.com/tier": "web"},
        "taints": [{"key": "dedicated", "value": "web", "effect": "NoExecute"}],
        "reserved": {"cpu": "250m", "memory": 536870912, "ephemeralStorage": "10Gi"},
    }
    obj = nodegroup("vms", provider=vm_provider(sshKeyIdentifier="k-1"), template=template)
    stored = create(testenv, kube_ns, obj)
    group = nodegroup_from_dict(stored)
    assert group.spec.template.reserved.memory_bytes == 536870912
    assert group.metadata.namespace == kube_ns
    assert group.metadata.generation == 1


@pytest.mark.parametrize(("obj", "path", "message"), INVALID_NODEGROUPS)
def test_invalid_nodegroup_is_rejected_by_the_api_server(
    testenv: ControlPlane, kube_ns: TestNamespace, obj: JSON, path: str, message: str
):
    err = rejection(testenv, kube_ns, obj)
    assert err.status == 422, err.body
    assert names_cause(err, path, message) if path else message in err.body["message"], err.body


def test_unknown_time_zone_is_rejected_by_the_api_server(
    testenv: ControlPlane, kube_ns: TestNamespace
):
    """The server also checks the zone exists (the parser checks only its form)."""
    obj = nodegroup(scaleDown={"allowedWindows": [window(timeZone="Mars/Olympus_Mons")]})
    err = rejection(testenv, kube_ns, obj)
    assert err.status == 422
    assert "unknown time zone Mars/Olympus_Mons" in err.body["message"]


def test_unknown_field_is_pruned_or_rejected_when_strict(
    testenv: ControlPlane, kube_ns: TestNamespace
):
    """Unknown fields never reach the controller: pruned by default, an error when Strict."""
    strict = nodegroup("strict", colour="blue")
    strict["metadata"]["namespace"] = kube_ns
    with pytest.raises(ApiError) as info:
        testenv.admin.request(
            "POST", collection(kube_ns), strict, params={"fieldValidation": "Strict"}
        )
    assert info.value.status == 400
    assert 'unknown field "spec.colour"' in info.value.body["message"]

    pruned = create(testenv, kube_ns, nodegroup("lenient", colour="blue"))
    assert "colour" not in pruned["spec"]


def test_provider_mode_is_immutable(testenv: ControlPlane, kube_ns: TestNamespace):
    create(testenv, kube_ns, nodegroup())
    with pytest.raises(ApiError) as info:
        testenv.admin.put(
            f"{collection(kube_ns)}/web",
            {
                **testenv.admin.get(f"{collection(kube_ns)}/web"),
                "spec": nodegroup(provider=vm_provider())["spec"],
            },
        )
    assert info.value.status == 422
    assert names_cause(info.value, "spec.provider.mode", "mode is immutable"), info.value.body


def test_vpsienode_is_validated_and_its_spec_is_immutable(
    testenv: ControlPlane, kube_ns: TestNamespace
):
    no_hostname = vpsienode("no-host")
    del no_hostname["spec"]["hostname"]
    err = rejection(testenv, kube_ns, no_hostname, "vpsienodes")
    assert names_cause(err, "spec.hostname", "hostname is required when mode is vm"), err.body

    create(testenv, kube_ns, vpsienode(), "vpsienodes")
    path = f"{collection(kube_ns, 'vpsienodes')}/web-abc12"
    with pytest.raises(ApiError) as info:
        testenv.admin.patch(path, {"spec": {"hostname": "va-web-other"}})
    assert info.value.status == 422
    assert "spec is immutable" in info.value.body["message"]


def test_vpsienodes_are_selectable_by_group(testenv: ControlPlane, kube_ns: TestNamespace):
    create(testenv, kube_ns, vpsienode("web-1"), "vpsienodes")
    create(testenv, kube_ns, vpsienode("db-1", nodeGroup="db"), "vpsienodes")
    listed = testenv.admin.get(
        collection(kube_ns, "vpsienodes"), fieldSelector="spec.nodeGroup=web"
    )
    assert [item["metadata"]["name"] for item in listed["items"]] == ["web-1"]


@pytest.mark.parametrize("plural", ["nodegroups", "vpsienodes"])
def test_served_schema_documents_every_property(testenv: ControlPlane, plural: str):
    """What ``kubectl explain`` shows: a description on every field (metadata is built in)."""
    served = testenv.admin.get(f"{CRD_API}/{plural}.autoscaler.vpsie.com")
    schema = served["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    missing = [p for p, s in walk_schema(schema) if p != ".metadata" and not s.get("description")]
    assert missing == []


def test_discovery_lists_short_names_and_categories(testenv: ControlPlane):
    resources = {r["name"]: r for r in testenv.admin.get(GROUP_API)["resources"]}
    assert resources["nodegroups"]["shortNames"] == ["ng"]
    assert resources["vpsienodes"]["shortNames"] == ["vn"]
    assert resources["nodegroups"]["categories"] == ["vpsie"]
    assert "nodegroups/status" in resources
    assert "vpsienodes/status" in resources


def get_table(testenv: ControlPlane, path: str) -> dict[str, Any]:
    """GET ``path`` as a ``meta.k8s.io/v1`` Table, as ``kubectl get`` asks for it."""
    request = urllib.request.Request(
        testenv.server + path,
        headers={"Accept": TABLE, "Authorization": f"Bearer {testenv.tokens['admin']}"},
    )
    with urllib.request.urlopen(request, timeout=30, context=testenv.ssl_context()) as resp:
        table: dict[str, Any] = json.loads(resp.read())
    return table


@pytest.mark.parametrize(
    ("plural", "obj", "columns", "row"),
    [
        pytest.param(
            "nodegroups",
            nodegroup(minNodes=1),
            ["Name", "Min", "Max", "Current", "Ready", "Upcoming", "Mode", "Age"],
            ["web", 1, 5, None, None, None, "vke"],
            id="nodegroup",
        ),
        pytest.param(
            "vpsienodes",
            vpsienode(),
            ["Name", "Group", "Phase", "Hostname", "Node", "Age"],
            ["web-abc12", "web", None, None, None],
            id="vpsienode",
        ),
    ],
)
def test_printer_columns_are_served(
    testenv: ControlPlane,
    kube_ns: TestNamespace,
    plural: str,
    obj: JSON,
    columns: list[str],
    row: list[Any],
):
    create(testenv, kube_ns, obj, plural)
    table = get_table(testenv, collection(kube_ns, plural))
    assert [c["name"] for c in table["columnDefinitions"]] == columns
    assert table["rows"][0]["cells"][: len(row)] == row
