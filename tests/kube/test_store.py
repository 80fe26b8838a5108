"""The keyed store and its indexes (client-go ``store.go``/``index.go``, I2, I8, I9)."""

from __future__ import annotations

from typing import Any

from autoscaler.core.records import NodeRecord, PodRecord
from autoscaler.kube.projection import project_node, project_pod
from autoscaler.kube.reflector import Sink
from autoscaler.kube.store import DeletedFinalStateUnknown, Store, nodes_by_group, pods_by_node
from tests.kube.scripted_api import node, pod


def a_pod(name: str, *, node_name: str | None = None, rv: str = "1") -> PodRecord:
    raw: Any = pod(name, rv=rv, node=node_name)
    return project_pod(raw)


def a_node(name: str, *, group: str | None = None) -> NodeRecord:
    raw: Any = node(name, group=group)
    return project_node(raw)


def pod_store() -> Store[PodRecord]:
    return Store({"pods_by_node": pods_by_node})


def test_keys_are_namespace_and_name() -> None:
    store = pod_store()
    store.upsert(a_pod("web"))
    cluster_scoped: Store[NodeRecord] = Store()
    cluster_scoped.upsert(a_node("n1"))
    assert store.keys() == ["default/web"]
    assert cluster_scoped.keys() == ["n1"]


def test_upsert_returns_the_replaced_record() -> None:
    store = pod_store()
    first, second = a_pod("web", rv="1"), a_pod("web", rv="2")
    assert store.upsert(first) is None
    assert store.upsert(second) is first
    assert store.get("default/web") is second
    assert len(store) == 1


def test_delete_returns_the_removed_record() -> None:
    store = pod_store()
    web = a_pod("web", node_name="n1")
    store.upsert(web)
    assert store.delete("default/web") is web
    assert store.delete("default/web") is None
    assert "default/web" not in store
    assert store.index_values("pods_by_node") == []


def test_pods_by_node_follows_moves() -> None:
    store = pod_store()
    store.upsert(a_pod("a", node_name="n1"))
    store.upsert(a_pod("b", node_name="n1"))
    store.upsert(a_pod("c"))  # unscheduled: not indexed
    store.upsert(a_pod("b", node_name="n2", rv="2"))

    assert store.index_keys("pods_by_node", "n1") == ["default/a"]
    assert [p.resource_version for p in store.by_index("pods_by_node", "n2")] == ["2"]
    assert sorted(store.index_values("pods_by_node")) == ["n1", "n2"]
    assert store.by_index("pods_by_node", "n3") == []


def test_nodes_by_group_uses_the_nodegroup_label() -> None:
    store: Store[NodeRecord] = Store({"nodes_by_group": nodes_by_group})
    for name, group in (("n1", "web"), ("n2", "web"), ("n3", "db"), ("n4", None)):
        store.upsert(a_node(name, group=group))
    assert sorted(store.index_keys("nodes_by_group", "web")) == ["n1", "n2"]
    assert [n.name for n in store.by_index("nodes_by_group", "db")] == ["n3"]
    assert sorted(store.index_values("nodes_by_group")) == ["db", "web"]


def test_replace_returns_tombstones_with_the_last_known_state() -> None:
    store = pod_store()
    stale = a_pod("gone", node_name="n1", rv="3")
    store.upsert(stale)
    store.upsert(a_pod("kept", node_name="n1"))

    tombstones = store.replace([a_pod("kept", node_name="n2", rv="9"), a_pod("new")])

    assert tombstones == [DeletedFinalStateUnknown("default/gone", stale)]
    assert sorted(store.keys()) == ["default/kept", "default/new"]
    assert store.index_keys("pods_by_node", "n1") == []
    assert store.index_keys("pods_by_node", "n2") == ["default/kept"]


def test_iteration_is_a_snapshot() -> None:
    store = pod_store()
    store.upsert(a_pod("a"))
    for record in store:
        store.delete(record.key)
    assert len(store) == 0


def test_a_store_is_a_reflector_sink() -> None:
    store = pod_store()
    sink: Sink[PodRecord] = store
    sink.replace([a_pod("a"), a_pod("b")])
    sink.upsert(a_pod("a", rv="2"))
    sink.remove(a_pod("b", rv="3"))
    assert [(p.name, p.resource_version) for p in store] == [("a", "2")]
