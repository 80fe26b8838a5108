"""Each endpoint's request and the parsing of its contract response shapes (§3, §4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from autoscaler.vpsie import errors
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.types import Price, VmCreate
from tests.vpsie.scripted import ScriptedVPSie, fail, ok

pytestmark = pytest.mark.looptime

CID = "c-1"
VM_RECORD = {
    "id": 5120, "identifier": "7c1e", "hostname": "va-web-k3m9q2", "boxsize_id": 31,
    "datacenter_id": 2, "dcIdentifier": "d4", "projectId": 880, "cpu": 4, "ram": 8192,
    "ssd": 160, "traffic": 5000, "default_ip": "198.51.100.7", "private_ip": "10.8.0.14",
    "is_active": 1, "power": 1, "is_suspended": 0, "is_locked": 0, "is_terminated": 0,
    "is_deleted": 0, "state": "x", "initial_password": "hunter2", "created_on": "2026",
    "dropped_on": None,
}  # fmt: skip


async def test_datacenters_are_paged_by_offset(server: ScriptedVPSie, api: VPSieApi) -> None:
    page = [{"identifier": f"dc-{i}", "dc_name": "x", "is_active": 1} for i in range(2)]
    server.on(
        "GET", "/apps/v2/datacenter", ok(page, total=3), ok([{"identifier": "dc-2"}], total=3)
    )
    dcs = await api.list_datacenters()
    assert [d.identifier for d in dcs] == ["dc-0", "dc-1", "dc-2"]
    assert [r.query for r in server.calls()] == [
        {"offset": "0", "limit": "500"},
        {"offset": "2", "limit": "500"},
    ]


async def test_projects_come_in_rows(server: ScriptedVPSie, api: VPSieApi) -> None:
    rows = [{"id": 880, "identifier": "p", "name": "Default", "is_default": 1}]
    server.on("GET", "/apps/v2/projects", ok({"rows": rows, "count": 1}))
    [project] = await api.list_projects()
    assert (project.id, project.is_default) == (880, True)


async def test_clusters(server: ScriptedVPSie, api: VPSieApi) -> None:
    server.on(
        "GET",
        "/apps/v2/k8s/cluster/all",
        ok([{"identifier": CID, "cluster_name": "k", "count": "3"}]),
    )
    [cluster] = await api.list_clusters()
    assert (cluster.identifier, cluster.node_count) == (CID, 3)


async def test_cluster_nodes_with_s_and_a_fields(server: ScriptedVPSie, api: VPSieApi) -> None:
    nodes = [
        {"id": 1, "hostname": "k-master", "node_type": "master", "private_ip": None},
        {"id": 2, "identifier": "n-2", "hostname": "K-Web-AB12C", "default_ip": "",
         "private_ip": "10.0.0.2", "cpu": "2", "ram": 4096, "status": "running"},
        {"id": 3, "identifier": "", "hostname": "k-web-x"},
    ]  # fmt: skip
    server.on("GET", f"/apps/v2/k8s/cluster/byId/{CID}", ok({"identifier": CID, "nodes": nodes}))
    cluster = await api.get_cluster(CID)
    master, web, blank = cluster.nodes
    assert (master.node_type, master.private_ip, master.identifier) == ("master", None, None)
    assert (web.identifier, web.default_ip, web.cpu, web.ram_mb) == ("n-2", None, 2, 4096)
    assert blank.identifier is None  # an empty identifier is no identifier


async def test_cluster_nodes_fall_back_to_masters_and_slaves(
    server: ScriptedVPSie, api: VPSieApi
) -> None:
    data = {"identifier": CID, "masters": [{"id": 1}], "slaves": [{"id": 2}, {"id": 3}]}
    server.on("GET", f"/apps/v2/k8s/cluster/byId/{CID}", ok(data))
    assert [n.id for n in (await api.get_cluster(CID)).nodes] == [1, 2, 3]


async def test_missing_cluster_is_not_found(server: ScriptedVPSie, api: VPSieApi) -> None:
    server.on("GET", f"/apps/v2/k8s/cluster/byId/{CID}", fail("Cluster not found", status=404))
    with pytest.raises(errors.NotFound):
        await api.get_cluster(CID)


async def test_node_groups(server: ScriptedVPSie, api: VPSieApi) -> None:
    group = {
        "id": 7, "identifier": "g", "group_name": "web", "boxsize_id": 31, "cpu": 2, "ram": 4096,
        "ssd": 80, "nodes_count": "2", "dcIdentifier": "dc", "project_id": "880",
        "is_active": "1", "is_deleted": 0, "dropped_on": None,
    }  # fmt: skip
    server.on("GET", f"/apps/v2/k8s/node/groups/byClusterId/{CID}", ok([group]))
    [g] = await api.list_node_groups(CID)
    assert (g.id, g.nodes_count, g.project_id, g.dc_identifier, g.active) == (7, 2, 880, "dc", True)


@pytest.mark.parametrize(
    ("data", "identifier"),
    [
        pytest.param(True, None, id="true"),
        pytest.param(
            {"id": 9, "identifier": "n-9", "status": "x", "hostname": "h"}, "n-9", id="object"
        ),
        pytest.param({"id": "not-a-number"}, None, id="odd-object-still-accepted"),
    ],
)
async def test_add_worker_answers(
    server: ScriptedVPSie, api: VPSieApi, data: object, identifier: str | None
) -> None:
    server.on("POST", f"/apps/v2/k8s/cluster/byId/{CID}/add/slave/group/7", ok(data))
    added = await api.add_worker(CID, 7)
    assert (added.identifier if added else None) == identifier


async def test_delete_worker_of_a_gone_node_is_success(
    server: ScriptedVPSie, api: VPSieApi
) -> None:
    path = f"/apps/v2/k8s/cluster/byId/{CID}/delete/slave"
    server.on("DELETE", path, ok(), fail("Node not found", status=404))
    assert await api.delete_worker(CID, "n-1") is True
    assert await api.delete_worker(CID, "n-1") is False


async def test_offers_with_string_and_missing_hourly_prices(
    server: ScriptedVPSie, api: VPSieApi
) -> None:
    offers = [
        {"id": 31, "cpu": 2, "ram": 4096, "disk": 80, "price": "20", "hourly_price": 0},
        {"id": 32, "cpu": 4, "ram": 8192, "disk": 160, "price": 40, "hourly_price": "0.06"},
    ]
    server.on("POST", "/apps/v2/k8s/offers", ok(offers))
    small, medium = await api.list_offers("dc")
    assert server.calls()[0].json == {"dcIdentifier": "dc"}
    assert small.price == Price(Decimal(20), Decimal(20) / 730)
    assert medium.price == Price(Decimal(40), Decimal("0.06"))


async def test_add_group_body(server: ScriptedVPSie, api: VPSieApi) -> None:
    server.on("POST", "/apps/v2/k8s/cluster/add/group", ok())
    await api.add_group(CID, group_name="web", kube_size_id=31)
    assert server.calls()[0].json == {
        "clusterIdentifier": CID,
        "groupName": "web",
        "KubeSizeID": 31,
    }


async def test_duplicate_group_size_is_an_api_error(server: ScriptedVPSie, api: VPSieApi) -> None:
    message = "Group web has same selected Size, please select another size"
    server.on("POST", "/apps/v2/k8s/cluster/add/group", fail(message))
    with pytest.raises(errors.ApiError, match="same selected Size"):
        await api.add_group(CID, group_name="web", kube_size_id=31)


async def test_vm_list_reads_flags_and_both_project_keys(
    server: ScriptedVPSie, api: VPSieApi
) -> None:
    older = VM_RECORD | {"identifier": "old", "project_id": 881, "is_active": "0", "power": False}
    del older["projectId"]
    server.on("GET", "/api/v2/vm", ok([VM_RECORD, older], total=2))
    new, old = await api.list_vms(project_id=880)
    assert server.calls()[0].query == {"projectId": "880"}
    assert (new.project_id, new.running) == (880, True)
    assert (old.project_id, old.running, old.is_active, old.power) == (881, False, False, False)
    assert "hunter2" not in repr(new)


async def test_vm_get_reads_vm_data(server: ScriptedVPSie, api: VPSieApi) -> None:
    data = {"vmData": VM_RECORD, "vmTags": [], "imageCategories": [], "privateIpData": []}
    server.on("GET", "/api/v2/vm/7c1e", ok(data), fail("VM not found"))
    vm = await api.get_vm("7c1e")
    assert vm is not None
    assert vm.identifier == "7c1e"
    assert await api.get_vm("7c1e") is None


async def test_pending_queue(server: ScriptedVPSie, api: VPSieApi) -> None:
    entry = {
        "id": 17, "user_id": 1, "running": 0, "type": "vm",
        "data": {"hostname": "vpsie-web-abcd1234", "resourceIdentifier": "p", "projectId": 880,
                 "addPublicIpV4": True},
    }  # fmt: skip
    server.on("GET", "/apps/v2/vm/pending", ok([entry]))
    [pending] = await api.list_pending()
    assert (pending.id, pending.hostname, pending.project_id) == ("17", "vpsie-web-abcd1234", 880)


async def test_vm_prefix_is_configurable(server: ScriptedVPSie, api: VPSieApi) -> None:
    apps = VPSieApi(_http_of(api), vm_prefix="apps/v2/vm/")
    server.on("POST", "/apps/v2/vm", ok())
    await apps.create_vm(VmCreate("p", "os", "dc", "vpsie-web-abcd1234", 1))
    assert server.calls()[0].path == "/apps/v2/vm"


async def test_wrong_account_password(server: ScriptedVPSie, api: VPSieApi) -> None:
    server.on("DELETE", "/api/v2/vm", fail("You entered the wrong password"))
    with pytest.raises(errors.BadAccountPassword):
        await api.delete_vm("vm-1", password=SecretStr("bad"), reason="scale down")


async def test_plan_categories_and_plans(server: ScriptedVPSie, api: VPSieApi) -> None:
    server.on("GET", "/api/v2/plans/category", ok([{"identifier": "cat", "name": "Shared CPU"}]))
    plans = [
        {"identifier": "p", "nickname": "S", "cpu": 1, "ram": 2048, "ssd": 40, "price": "7.30"}
    ]
    server.on("POST", "/apps/v2/resources", ok(plans))
    [cat] = await api.list_plan_categories()
    [plan] = await api.list_plans(
        dc_identifier="dc", os_identifier="os", category_identifier=cat.identifier
    )
    assert plan.price == Price(Decimal("7.30"), Decimal("0.01"))


async def test_list_with_one_unreadable_item_is_refused(
    server: ScriptedVPSie, api: VPSieApi
) -> None:
    server.on("GET", "/api/v2/vm", ok([VM_RECORD, {"hostname": "no identifier"}]))
    with pytest.raises(errors.Malformed, match="VMs"):
        await api.list_vms()


def _http_of(api: VPSieApi) -> Any:
    return api._http
