"""The garbage collector: vm orphans adopted, vke orphans reported (never deleted), taints."""

from __future__ import annotations

from autoscaler.controllers.garbage import GarbageCollector
from autoscaler.controllers.keys import ADOPTED
from autoscaler.controllers.members import new_vpsienode
from autoscaler.controllers.records import project_nodegroup
from tests.controllers import NS, make_context, nodegroup
from tests.controllers.fake_kube import FakeKube
from tests.controllers.fake_provider import FakeProvider

VM_PROVIDER = {
    "mode": "vm",
    "datacenterIdentifier": "dc",
    "planIdentifier": "plan",
    "osIdentifier": "os",
    "projectId": 1,
    "hostnamePrefix": "vpsie",
    "userDataSecretRef": {"name": "join", "key": "user-data"},
}


async def collector(
    fake: FakeProvider, **spec: object
) -> tuple[FakeKube, GarbageCollector, list[dict[str, object]]]:
    kube = FakeKube()
    kube.secrets[(NS, "join")] = {"user-data": "#cloud-config"}
    ctx, log = make_context(kube, fake)
    await kube.create("nodegroups", NS, nodegroup(**spec))  # type: ignore[arg-type]
    kube.sync()
    enqueued: list[str] = []
    return kube, GarbageCollector(ctx, enqueue=enqueued.append), log.events


async def test_a_vke_worker_no_vpsienode_owns_is_reported_and_never_deleted() -> None:
    provider = FakeProvider()
    stranger = provider.add_worker("web")
    kube, gc, events = await collector(provider)
    await gc.collect()
    assert [e["reason"] for e in events] == ["OrphanWorkerFound"]
    assert provider.delete_calls == []
    assert kube.of("vpsienodes") == []
    assert provider.workers["web"] == [stranger]


async def test_no_orphan_is_reported_while_a_create_in_flight_has_not_claimed_its_worker() -> None:
    provider = FakeProvider()
    kube, gc, events = await collector(provider)
    await kube.create("vpsienodes", NS, new_vpsienode(project_nodegroup(kube.of("nodegroups")[0])))
    (member,) = kube.of("vpsienodes")
    await kube.patch(
        "vpsienodes", NS, member["metadata"]["name"], {"status": {"phase": "Provisioning"}}
    )
    kube.sync()
    provider.add_worker("web")  # the create's worker, listed before the member claimed it

    await gc.collect()
    assert events == []

    await kube.patch("vpsienodes", NS, member["metadata"]["name"], {"status": {"phase": "Failed"}})
    kube.sync()
    await gc.collect()
    assert [e["reason"] for e in events] == ["OrphanWorkerFound"]


async def test_a_vm_of_ours_no_vpsienode_owns_is_adopted_without_a_create() -> None:
    provider = FakeProvider("vm")
    orphan = provider.add_worker("web", hostname="vpsie-web-abcd1234")
    kube, gc, events = await collector(provider, provider=VM_PROVIDER)
    await gc.collect()
    (adopted,) = kube.of("vpsienodes")
    assert adopted["metadata"]["annotations"][ADOPTED] == orphan.identifier
    assert adopted["spec"]["hostname"] == "vpsie-web-abcd1234"
    assert "WorkerAdopted" in [e["reason"] for e in events]
    assert provider.create_calls == []


async def test_our_taints_are_removed_from_nodes_not_being_deleted() -> None:
    provider = FakeProvider()
    kube, gc, _ = await collector(provider)
    node = kube.add_node("n1", labels={"autoscaler.vpsie.com/nodegroup": "web"})
    node["spec"]["taints"] = [
        {"key": "autoscaler.vpsie.com/deletion-candidate", "effect": "NoSchedule"},
        {"key": "dedicated", "effect": "NoSchedule"},
    ]
    kube.sync()
    await gc.collect()
    assert kube.nodes["n1"]["spec"]["taints"] == [{"key": "dedicated", "effect": "NoSchedule"}]


async def test_recovery_untaints_node_after_crash() -> None:
    provider = FakeProvider()
    kube, gc, events = await collector(provider)
    node = kube.add_node("n1", labels={"autoscaler.vpsie.com/nodegroup": "web"})
    node["spec"]["unschedulable"] = True  # the drain's cordon, then the process died
    node["spec"]["taints"] = [
        {"key": "autoscaler.vpsie.com/deletion-candidate", "effect": "NoSchedule"},
        {"key": "dedicated", "effect": "NoSchedule"},
    ]
    node["metadata"]["annotations"] = {
        "autoscaler.vpsie.com/drain-status": "running",
        "autoscaler.vpsie.com/drain-cordoned": "true",
    }
    owner_cordoned = kube.add_node("n2", labels={"autoscaler.vpsie.com/nodegroup": "web"})
    owner_cordoned["spec"]["unschedulable"] = True  # cordoned by its owner: left as it is
    kube.sync()

    await gc.collect()

    restored = kube.nodes["n1"]
    assert restored["spec"]["taints"] == [{"key": "dedicated", "effect": "NoSchedule"}]
    assert restored["spec"]["unschedulable"] is False
    annotations = restored["metadata"]["annotations"]
    assert annotations["autoscaler.vpsie.com/drain-status"] == "interrupted"
    assert "autoscaler.vpsie.com/drain-cordoned" not in annotations
    assert "autoscaler.vpsie.com/drain-finished-time" in annotations
    assert kube.nodes["n2"]["spec"]["unschedulable"] is True
    assert [e["reason"] for e in events] == ["TaintRemoved"]
