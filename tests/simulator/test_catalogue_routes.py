"""C2, C3, K1, K6, V6, V7 shapes, and the routing quirks: trailing slash, stray space, 404."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.simulator import CATEGORY, CLUSTER, DC, OS, Sim, manual_config, running_simulator

DC_KEYS = {
    "id",
    "identifier",
    "dc_name",
    "country",
    "state",
    "is_active",
    "is_deleted",
    "is_private",
    "default_selected",
    "is_fip_available",
    "is_bucket_available",
}


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator() as s:
        yield s


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", ["New York", "Amsterdam"], id="no-paging-returns-everything"),
        pytest.param("?offset=0&limit=500", ["New York", "Amsterdam"], id="client-paging"),
        pytest.param("?offset=1&limit=1", ["Amsterdam"], id="second-page"),
        pytest.param("?offset=0&limit10", ["New York", "Amsterdam"], id="sdk-malformed-limit"),
        pytest.param("?limit=abc", ["New York", "Amsterdam"], id="non-numeric-limit"),
    ],
)
async def test_datacenters_honour_only_well_formed_paging(
    sim: Sim, query: str, expected: list[str]
) -> None:
    answer = await sim.get(f"/apps/v2/datacenter{query}")
    assert answer.status == 200
    assert answer.json["total"] == 2
    assert [d["dc_name"] for d in answer.data] == expected


async def test_datacenters_carry_the_contract_fields_as_ints(sim: Sim) -> None:
    dc = (await sim.get("/apps/v2/datacenter")).data[0]
    assert set(dc) >= DC_KEYS
    assert dc["identifier"] == DC
    assert dc["is_active"] == 1
    assert dc["is_deleted"] == 0


async def test_projects_come_as_rows_and_count(sim: Sim) -> None:
    body = (await sim.get("/apps/v2/projects")).json
    assert "total" not in body
    assert body["data"]["count"] == 1
    assert set(body["data"]["rows"][0]) == {"id", "identifier", "name", "is_default", "created_on"}
    assert body["data"]["rows"][0]["id"] == 880


async def test_cluster_list_has_the_summary_fields(sim: Sim) -> None:
    answer = await sim.get("/apps/v2/k8s/cluster/all")
    assert answer.json["total"] == 1
    cluster = answer.data[0]
    assert cluster["identifier"] == CLUSTER
    assert cluster["managerCount"] == 1
    assert cluster["slaveCount"] == 1
    assert cluster["count"] == 2
    for key in ("kube_version", "cpu", "ram", "traffic", "price", "nickname", "color", "lock"):
        assert key in cluster
    assert cluster["lb_id"] is None


async def test_offers_list_sizes_with_monthly_and_hourly_prices(sim: Sim) -> None:
    answer = await sim.post("/apps/v2/k8s/offers", json={"dcIdentifier": DC})
    offers = {o["id"]: o for o in answer.data}
    assert set(offers[101]) == {"id", "name", "cpu", "ram", "disk", "price", "hourly_price"}
    assert offers[101]["price"] == 24.0
    assert offers[101]["hourly_price"] == round(24.0 / 730, 4)
    assert offers[104]["hourly_price"] == 0.3
    assert answer.json["total"] == 4


async def test_offers_need_a_datacenter(sim: Sim) -> None:
    answer = await sim.post("/apps/v2/k8s/offers", json={})
    assert answer.status == 400
    assert answer.json == {
        "error": True,
        "code": 400,
        "message": "dcIdentifier is required",
        "stack": "",
    }


async def test_plan_categories_include_shared_cpu(sim: Sim) -> None:
    answer = await sim.get("/api/v2/plans/category")
    assert answer.data == [{"identifier": CATEGORY, "name": "Shared CPU"}]


def plan_form() -> dict[str, str]:
    return {
        "dcIdentifier": DC,
        "osIdentifier": OS,
        "planCatIdentifier": CATEGORY,
        "name": "query",
        "description": "query",
        "isCustom": "0",
    }


async def test_plans_answer_a_form(sim: Sim) -> None:
    answer = await sim.post("/apps/v2/resources", data=plan_form())
    plans = answer.data
    assert len(plans) == 4
    assert set(plans[0]) == {
        "identifier",
        "nickname",
        "cpu",
        "ram",
        "ssd",
        "traffic",
        "price",
        "net_speed",
    }
    assert plans[0]["price"] == 10.0


async def test_plans_refuse_json_with_415(sim: Sim) -> None:
    answer = await sim.post("/apps/v2/resources", json=plan_form())
    assert answer.status == 415
    assert answer.json["error"] is True


async def test_prices_can_come_as_strings() -> None:
    config = manual_config(knobs={"shape": {"price_as_string": True}})
    async with running_simulator(config) as sim:
        plans = (await sim.post("/apps/v2/resources", data=plan_form())).data
        offers = (await sim.post("/apps/v2/k8s/offers", json={"dcIdentifier": DC})).data
    assert plans[0]["price"] == "10.00"
    assert offers[0]["price"] == "24.00"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/apps/v2/k8s/cluster/all/", id="trailing-slash"),
        pytest.param(f"/apps/v2/k8s/cluster/byId/%20{CLUSTER}", id="sdk-stray-space"),
        pytest.param("/apps//v2/datacenter", id="double-slash"),
    ],
)
async def test_paths_are_matched_tolerantly(sim: Sim, path: str) -> None:
    answer = await sim.get(path)
    assert answer.status == 200
    assert answer.json["error"] is False


async def test_unknown_paths_are_404_in_the_envelope(sim: Sim) -> None:
    answer = await sim.get("/apps/v2/nothing/here")
    assert answer.status == 404
    assert answer.json["message"] == "Route not found"


async def test_a_known_path_with_another_method_is_405(sim: Sim) -> None:
    answer = await sim.call("PATCH", "/apps/v2/datacenter")
    assert answer.status == 405
    assert answer.json["error"] is True


@pytest.mark.parametrize(
    ("setting", "api", "apps"),
    [
        pytest.param("both", 200, 200, id="both"),
        pytest.param("api", 200, 404, id="api-only"),
        pytest.param("apps", 404, 200, id="apps-only"),
    ],
)
async def test_vm_prefixes_knob_switches_the_aliases(setting: str, api: int, apps: int) -> None:
    async with running_simulator(manual_config(knobs={"shape": {"vm_prefixes": setting}})) as sim:
        assert (await sim.get("/api/v2/vm")).status == api
        assert (await sim.get("/apps/v2/vm")).status == apps
        assert (await sim.get("/apps/v2/vm/pending")).status == 200
