"""The NodeGroup reconciler over fakes: sizing, status, finalizer and winding down."""

from __future__ import annotations

from autoscaler.controllers.nodegroup import GROUP_FINALIZER, NodeGroupReconciler
from autoscaler.controllers.vpsienode import VPSieNodeReconciler
from tests.controllers import NS, make_context, nodegroup
from tests.controllers.fake_kube import FakeKube
from tests.controllers.fake_provider import FakeProvider

KEY = f"{NS}/web"


async def setup(
    **spec: object,
) -> tuple[FakeKube, FakeProvider, NodeGroupReconciler, list[dict[str, object]]]:
    kube, provider = FakeKube(), FakeProvider()
    ctx, log = make_context(kube, provider)
    await kube.create("nodegroups", NS, nodegroup(**spec))  # type: ignore[arg-type]
    kube.sync()
    reconciler = NodeGroupReconciler(ctx)
    await reconciler.reconcile(KEY)  # adds the finalizer
    kube.sync()
    return kube, provider, reconciler, log.events


async def test_group_grows_to_min_once_even_on_a_stale_cache() -> None:
    kube, _, reconciler, _ = await setup(min_nodes=3)
    group = kube.get_object("nodegroups", NS, "web")
    assert group is not None
    assert GROUP_FINALIZER in group["metadata"]["finalizers"]

    await reconciler.reconcile(KEY)
    await reconciler.reconcile(KEY)  # the cache does not show the creates yet
    kube.sync()
    await reconciler.reconcile(KEY)

    members = kube.of("vpsienodes")
    assert len(members) == 3
    owner = members[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "NodeGroup",
        group["metadata"]["uid"],
        True,
    )
    status = kube.get_object("nodegroups", NS, "web")["status"]  # type: ignore[index]
    assert (status["upcomingNodes"], status["targetNodes"], status["readyNodes"]) == (3, 3, 0)
    assert status["monthlyCost"] == "72.00"


async def test_a_deleted_group_deletes_its_members_and_waits_for_their_finalizers() -> None:
    kube, provider, reconciler, _ = await setup(min_nodes=1)
    await reconciler.reconcile(KEY)
    kube.sync()
    (member,) = kube.of("vpsienodes")
    vpsienodes = VPSieNodeReconciler(reconciler._ctx)
    await vpsienodes.reconcile(f"{NS}/{member['metadata']['name']}")
    kube.sync()
    assert len(provider.create_calls) == 1

    await kube.delete("nodegroups", NS, "web")
    kube.sync()
    await reconciler.reconcile(KEY)
    kube.sync()
    assert kube.get_object("nodegroups", NS, "web") is not None  # held until the worker is gone

    for _ in range(6):
        await vpsienodes.reconcile(f"{NS}/{member['metadata']['name']}")
        kube.sync()
    await reconciler.reconcile(KEY)
    assert kube.of("vpsienodes") == []
    assert kube.get_object("nodegroups", NS, "web") is None
    assert provider.workers["web"] == []


async def test_a_group_in_another_mode_is_reported_invalid_and_left_alone() -> None:
    kube, provider, reconciler, events = await setup(
        min_nodes=1, provider={"clusterIdentifier": "other-cluster", "nodeGroupId": 12}
    )
    await reconciler.reconcile(KEY)
    assert kube.of("vpsienodes") == []
    status = kube.get_object("nodegroups", NS, "web")["status"]  # type: ignore[index]
    assert status["conditions"][0]["reason"] == "InvalidSpec"
    assert "InvalidSpec" in [e["reason"] for e in events]
    assert provider.create_calls == []


async def test_a_vm_group_without_its_user_data_secret_is_invalid() -> None:
    kube, provider = FakeKube(), FakeProvider("vm")
    ctx, _ = make_context(kube, provider)
    vm = {
        "mode": "vm", "datacenterIdentifier": "dc", "planIdentifier": "plan", "osIdentifier": "os",
        "projectId": 1, "hostnamePrefix": "vpsie",
        "userDataSecretRef": {"name": "join", "key": "user-data"},
    }  # fmt: skip
    await kube.create("nodegroups", NS, nodegroup(min_nodes=1, provider=vm))
    kube.sync()
    reconciler = NodeGroupReconciler(ctx)
    await reconciler.reconcile(KEY)
    kube.sync()
    await reconciler.reconcile(KEY)
    condition = kube.get_object("nodegroups", NS, "web")["status"]["conditions"][0]  # type: ignore[index]
    assert (condition["reason"], "join" in condition["message"]) == ("InvalidSpec", True), condition
    assert kube.of("vpsienodes") == []
