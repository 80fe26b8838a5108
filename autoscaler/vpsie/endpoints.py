"""Request builders for every endpoint the client uses (vpsie-api.md §4), without I/O.

Each function returns an ``ApiRequest`` with the exact path, query and body encoding of the
contract: JSON bodies on DELETE (K5, V5), a form body for V7, no body for K4, create flags as
the strings ``"0"``/``"1"``, ``projectId`` as a string and ``userData`` base64-encoded (V4).
Path segments are percent-encoded. K8 (``reduce/slave``) is deliberately absent.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from pydantic import SecretStr

from autoscaler.vpsie.request import ApiRequest
from autoscaler.vpsie.types import VmCreate

PAGE_SIZE = 500
PENDING_PATH = "/apps/v2/vm/pending"
_CLUSTER = "/apps/v2/k8s/cluster/byId"


def _seg(value: str | int) -> str:
    text = str(value)
    if not text.strip():
        raise ValueError("an identifier in a path must not be empty")
    return quote(text, safe="")


def normalize_prefix(prefix: str) -> str:
    """``api/v2/vm/`` -> ``/api/v2/vm``."""
    return "/" + prefix.strip().strip("/")


def _get(path: str, template: str, endpoint: str, **ids: str | int) -> ApiRequest:
    return ApiRequest(
        method="GET", path=path, template=template, endpoint=endpoint, idempotent=True, ids=ids
    )


def list_datacenters(*, offset: int = 0, limit: int = PAGE_SIZE) -> ApiRequest:
    """C2: ``GET /apps/v2/datacenter?offset=&limit=``."""
    path = "/apps/v2/datacenter"
    query = {"offset": str(offset), "limit": str(limit)}
    return ApiRequest(
        method="GET", path=path, template=path, endpoint="C2", idempotent=True, query=query
    )


def list_projects() -> ApiRequest:
    """C3: ``GET /apps/v2/projects``."""
    return _get("/apps/v2/projects", "/apps/v2/projects", "C3")


def list_clusters() -> ApiRequest:
    """K1: ``GET /apps/v2/k8s/cluster/all``."""
    return _get("/apps/v2/k8s/cluster/all", "/apps/v2/k8s/cluster/all", "K1")


def get_cluster(cluster: str) -> ApiRequest:
    """K2: ``GET /apps/v2/k8s/cluster/byId/{cid}``."""
    return _get(f"{_CLUSTER}/{_seg(cluster)}", f"{_CLUSTER}/{{cid}}", "K2", cluster=cluster)


def list_node_groups(cluster: str) -> ApiRequest:
    """K3: ``GET /apps/v2/k8s/node/groups/byClusterId/{cid}``."""
    base = "/apps/v2/k8s/node/groups/byClusterId"
    return _get(f"{base}/{_seg(cluster)}", f"{base}/{{cid}}", "K3", cluster=cluster)


def add_worker(cluster: str, group_id: int) -> ApiRequest:
    """K4: ``POST .../byId/{cid}/add/slave/group/{gid}`` with no body. Never retried."""
    return ApiRequest(
        method="POST",
        path=f"{_CLUSTER}/{_seg(cluster)}/add/slave/group/{_seg(group_id)}",
        template=f"{_CLUSTER}/{{cid}}/add/slave/group/{{gid}}",
        endpoint="K4",
        idempotent=False,
        ids={"cluster": cluster, "group_id": group_id},
    )


def delete_worker(cluster: str, node_identifier: str) -> ApiRequest:
    """K5: ``DELETE .../byId/{cid}/delete/slave`` with ``{"identifier": <node uuid>}``."""
    return ApiRequest(
        method="DELETE",
        path=f"{_CLUSTER}/{_seg(cluster)}/delete/slave",
        template=f"{_CLUSTER}/{{cid}}/delete/slave",
        endpoint="K5",
        idempotent=True,
        json={"identifier": _nonempty(node_identifier)},
        ids={"cluster": cluster, "node": node_identifier},
    )


def list_offers(dc_identifier: str) -> ApiRequest:
    """K6: ``POST /apps/v2/k8s/offers`` with ``{"dcIdentifier"}`` (read-only, idempotent)."""
    path = "/apps/v2/k8s/offers"
    return ApiRequest(
        method="POST", path=path, template=path, endpoint="K6", idempotent=True,
        json={"dcIdentifier": dc_identifier}, ids={"dc": dc_identifier},
    )  # fmt: skip


def add_group(cluster: str, *, group_name: str, kube_size_id: int) -> ApiRequest:
    """K7: ``POST /apps/v2/k8s/cluster/add/group`` (setup only; never retried)."""
    path = "/apps/v2/k8s/cluster/add/group"
    body = {"clusterIdentifier": cluster, "groupName": group_name, "KubeSizeID": int(kube_size_id)}
    return ApiRequest(
        method="POST", path=path, template=path, endpoint="K7", idempotent=False, json=body,
        ids={"cluster": cluster, "group": group_name},
    )  # fmt: skip


def list_vms(*, vm_prefix: str, project_id: int | None = None) -> ApiRequest:
    """V1: ``GET {vm}`` or ``GET {vm}?projectId=N``."""
    prefix = normalize_prefix(vm_prefix)
    query = {"projectId": str(project_id)} if project_id is not None else {}
    return ApiRequest(
        method="GET", path=prefix, template="{vm}", endpoint="V1", idempotent=True, query=query
    )


def get_vm(identifier: str, *, vm_prefix: str) -> ApiRequest:
    """V2: ``GET {vm}/{identifier}``."""
    prefix = normalize_prefix(vm_prefix)
    return _get(f"{prefix}/{_seg(identifier)}", "{vm}/{identifier}", "V2", vm=identifier)


def list_pending() -> ApiRequest:
    """V3: ``GET /apps/v2/vm/pending``."""
    return _get(PENDING_PATH, PENDING_PATH, "V3")


def _flag(value: bool) -> str:
    return "1" if value else "0"


def create_vm(spec: VmCreate, *, vm_prefix: str) -> ApiRequest:
    """V4: ``POST {vm}``: flags as ``"0"``/``"1"`` strings, ``projectId`` as a string."""
    body: dict[str, object] = {
        "resourceIdentifier": spec.resource_identifier,
        "osIdentifier": spec.os_identifier,
        "dcIdentifier": spec.dc_identifier,
        "hostname": spec.hostname,
        "projectId": str(spec.project_id),
        "addPublicIpV4": _flag(spec.add_public_ipv4),
        "addPublicIpV6": _flag(spec.add_public_ipv6),
        "addPrivateIp": _flag(spec.add_private_ip),
        "backupEnabled": _flag(spec.backup_enabled),
        "weeklyBackupEnabled": _flag(spec.weekly_backup_enabled),
        "monthlyBackupEnabled": _flag(spec.monthly_backup_enabled),
    }
    optional = {
        "sshKeyIdentifier": spec.ssh_key_identifier,
        "scriptIdentifier": spec.script_identifier,
        "notes": spec.notes,
        "userData": _b64(spec.user_data) if spec.user_data is not None else None,
    }
    body |= {k: v for k, v in optional.items() if v is not None}
    if spec.tags:
        body["tags"] = list(spec.tags)
    return ApiRequest(
        method="POST", path=normalize_prefix(vm_prefix), template="{vm}", endpoint="V4",
        idempotent=False, json=body, ids={"hostname": spec.hostname},
    )  # fmt: skip


def delete_vm(identifier: str, *, vm_prefix: str, password: SecretStr, reason: str) -> ApiRequest:
    """V5: ``DELETE {vm}`` with ``vmIdentifier``, the account password and ``deleteStatistic``."""
    if not reason.strip():
        raise ValueError("deleteStatistic.reason must not be empty")
    body = {
        "vmIdentifier": _nonempty(identifier),
        "password": password.get_secret_value(),
        "deleteStatistic": {"reason": reason, "note": "deleted by vpsie-autoscaler"},
    }
    return ApiRequest(
        method="DELETE", path=normalize_prefix(vm_prefix), template="{vm}", endpoint="V5",
        idempotent=True, json=body, ids={"vm": identifier},
    )  # fmt: skip


def list_plan_categories() -> ApiRequest:
    """V6: ``GET /api/v2/plans/category``."""
    return _get("/api/v2/plans/category", "/api/v2/plans/category", "V6")


def list_plans(*, dc_identifier: str, os_identifier: str, category_identifier: str) -> ApiRequest:
    """V7: ``POST /apps/v2/resources`` as a **form** (read-only, idempotent)."""
    form = {
        "dcIdentifier": dc_identifier,
        "osIdentifier": os_identifier,
        "planCatIdentifier": category_identifier,
        "name": "query",
        "description": "query",
        "isCustom": "0",
    }
    path = "/apps/v2/resources"
    return ApiRequest(
        method="POST", path=path, template=path, endpoint="V7", idempotent=True, form=form,
        ids={"dc": dc_identifier, "category": category_identifier},
    )  # fmt: skip


def _nonempty(identifier: str) -> str:
    if not identifier or not identifier.strip():
        raise ValueError("an identifier must not be empty")
    return identifier


def _b64(secret: SecretStr) -> str:
    return base64.b64encode(secret.get_secret_value().encode()).decode("ascii")
