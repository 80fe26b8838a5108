"""C2, C3, K1, K6, K7, V6 and V7 against the simulator: paths, encodings, shapes, prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoscaler.simulator import SimulatorConfig
from autoscaler.simulator.catalogue import Datacenter, default_datacenters
from autoscaler.vpsie import ApiError, QuotaExceeded
from autoscaler.vpsie import types as t
from tests.contract import CATEGORY, CLUSTER, DC, OS, PLAN, PROJECT, Connected, Contract
from tests.simulator import manual_config

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]


def with_datacenters(total: int) -> SimulatorConfig:
    """The default world with ``total`` datacenters (the two default ones first)."""
    extra = [
        Datacenter(id=100 + i, identifier=f"d2000000-0000-4000-8000-{i:012d}", dc_name=f"DC {i}")
        for i in range(total - 2)
    ]
    return manual_config(datacenters=[*default_datacenters(), *extra])


@pytest.mark.parametrize(
    ("sim_config", "offsets"),
    [
        pytest.param(manual_config(), ["0"], id="2-one-page"),
        pytest.param(with_datacenters(500), ["0"], id="500-one-full-page"),
        pytest.param(with_datacenters(501), ["0", "500"], id="501-two-pages"),
        pytest.param(with_datacenters(1203), ["0", "500", "1000"], id="1203-three-pages"),
    ],
)
async def test_datacenters_are_paged_by_offset_until_total(
    contract: Contract, vke: Connected, sim_config: SimulatorConfig, offsets: list[str]
) -> None:
    dcs = await vke.api.list_datacenters()
    assert [d.identifier for d in dcs] == [d.identifier for d in sim_config.datacenters]
    calls = await contract.calls("C2")
    assert [c["query"] for c in calls] == [{"offset": o, "limit": "500"} for o in offsets]
    assert {c["status"] for c in calls} == {200}


async def test_a_datacenter_is_read_with_its_flags(vke: Connected) -> None:
    dcs = await vke.api.list_datacenters()
    assert dcs[0] == t.Datacenter(DC, "New York", "US", "NY", active=True)


async def test_projects_are_read_from_rows(vke: Connected) -> None:
    projects = await vke.api.list_projects()
    assert projects == [
        t.Project(PROJECT, "b1000000-0000-4000-8000-000000000880", "Default", is_default=True)
    ]


async def test_clusters_are_listed_with_their_node_count(vke: Connected) -> None:
    clusters = await vke.api.list_clusters()
    assert clusters == [t.ClusterSummary(CLUSTER, "demo", node_count=2)]  # master + small worker


@pytest.mark.parametrize("as_string", [False, True], ids=["number-price", "string-price"])
async def test_k8s_offers_carry_monthly_and_hourly_prices(
    contract: Contract, vke: Connected, as_string: bool
) -> None:
    await contract.set_faults(knobs={"shape": {"price_as_string": as_string}})
    offers = await vke.api.list_offers(DC)
    assert [o.id for o in offers] == [101, 102, 103, 104]
    assert offers[0] == t.Offer(
        101, "k8s-2c-4g", 2, 4096, 80, t.Price(Decimal(24), Decimal("0.0329"))
    )
    assert offers[3].price == t.Price(Decimal(192), Decimal("0.3"))  # hourly_price as given
    [k6] = await contract.calls("K6")
    assert k6["body"] == {"dcIdentifier": DC}


async def test_a_new_group_is_found_by_name_after_k7(contract: Contract, vke: Connected) -> None:
    await vke.api.add_group(CLUSTER, group_name="xl", kube_size_id=104)
    groups = {g.name: g for g in await vke.api.list_node_groups(CLUSTER)}
    assert groups["xl"].boxsize_id == 104
    assert (groups["xl"].cpu, groups["xl"].ram_mb, groups["xl"].ssd_gb) == (16, 32768, 640)
    assert groups["xl"].nodes_count == 0
    [k7] = await contract.calls("K7")
    assert k7["body"] == {"clusterIdentifier": CLUSTER, "groupName": "xl", "KubeSizeID": 104}


@pytest.mark.parametrize("status", [200, 400], ids=["http-200", "http-400"])
async def test_k7_refuses_a_duplicate_size_once_as_a_plain_api_error(
    contract: Contract, vke: Connected, status: int
) -> None:
    await contract.set_faults(knobs={"business_error_status": status})
    with pytest.raises(ApiError) as info:
        await vke.api.add_group(CLUSTER, group_name="second-small", kube_size_id=101)
    assert not isinstance(info.value, QuotaExceeded)
    assert info.value.message == "Group small has same selected Size, please select another size"
    assert await contract.statuses("K7") == [status]  # a create: never re-sent


async def test_plan_categories_are_listed(vm: Connected) -> None:
    assert await vm.api.list_plan_categories() == [t.PlanCategory(CATEGORY, "Shared CPU")]


@pytest.mark.parametrize("as_string", [False, True], ids=["number-price", "string-price"])
async def test_plans_are_asked_for_with_a_form_and_priced_monthly(
    contract: Contract, vm: Connected, as_string: bool
) -> None:
    await contract.set_faults(knobs={"shape": {"price_as_string": as_string}})
    plans = await vm.api.list_plans(
        dc_identifier=DC, os_identifier=OS, category_identifier=CATEGORY
    )
    assert [(p.cpu, p.ram_mb, p.ssd_gb) for p in plans] == [
        (1, 2048, 40),
        (2, 4096, 80),
        (4, 8192, 160),
        (8, 16384, 320),
    ]
    plan = plans[1]
    assert (plan.identifier, plan.nickname, plan.traffic_gb) == (PLAN, "shared-2c-4g", 2000)
    assert plan.price == t.Price(Decimal(20), Decimal(20) / 730)
    [v7] = await contract.calls("V7")
    assert v7["status"] == 200  # a JSON body would have got 415
    assert v7["body"] == {
        "dcIdentifier": DC,
        "osIdentifier": OS,
        "planCatIdentifier": CATEGORY,
        "name": "query",
        "description": "query",
        "isCustom": "0",
    }
