"""The scale-up controller over fakes: decisions, bounds, fallback, Events and latency."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from autoscaler.clock import FakeClock
from autoscaler.controllers.catalogue import Catalogue
from autoscaler.controllers.expectations import Expectations
from autoscaler.controllers.keys import DECISION
from autoscaler.controllers.records import project_vpsienode
from autoscaler.controllers.scale_up_controller import ScaleUpController, policy_of
from autoscaler.core.policy import Expander
from autoscaler.core.reasons import Disposition
from autoscaler.core.records import PodRecord
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.settings import ScalingSettings
from tests.controllers import NS, WALL, EventLog, make_context, nodegroup
from tests.controllers.fake_kube import FakeKube
from tests.controllers.fake_provider import FakeProvider
from tests.core.factories import pod, toleration

TOLERATES = (toleration("dedicated", effect="NoSchedule", operator="Exists"),)


@dataclasses.dataclass
class World:
    kube: FakeKube
    provider: FakeProvider
    controller: ScaleUpController
    events: EventLog
    clock: FakeClock
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    async def flush_events(self) -> None:
        """Write the queued pod Events (what the background writer does)."""
        await self.controller._events.flush()


async def world(*groups: dict[str, Any], **settings: Any) -> World:
    kube, provider = FakeKube(), FakeProvider()
    clock = FakeClock(wall=WALL)
    ctx, log = make_context(kube, provider, clock=clock, backoff_base_s=60, backoff_max_s=600)
    for body in groups or (nodegroup(),):
        await kube.create("nodegroups", NS, body)
    kube.sync()
    registry = CollectorRegistry()
    controller = ScaleUpController(
        ctx,
        settings=ScalingSettings(**settings),
        catalogue=Catalogue(provider, clock=clock),
        expected=Expectations(clock=clock),
        metrics=ScaleUpMetrics(registry),
    )
    ctx.on_create_call = controller.latency.create_called
    return World(kube, provider, controller, log, clock, registry)


def pending(count: int, *, cpu_m: int = 500, prefix: str = "p", **kw: Any) -> list[PodRecord]:
    kw.setdefault("tolerations", TOLERATES)
    kw.setdefault("node_selector", {"team": "web"})
    return [
        dataclasses.replace(
            pod(f"{prefix}{i}", cpu_m=cpu_m, namespace="apps", **kw),
            uid=f"uid-{prefix}{i}",
            unschedulable_since=WALL,
        )
        for i in range(count)
    ]


def see(w: World, pods: list[PodRecord]) -> None:
    w.kube.add_pods(pods)
    for p in pods:
        w.controller.pending.on_add(p)


def members(w: World, group: str | None = None) -> list[dict[str, Any]]:
    out = w.kube.of("vpsienodes")
    return [m for m in out if group is None or m["spec"]["nodeGroup"] == group]


async def test_pending_pods_become_one_decision_in_the_allowed_group() -> None:
    w = await world(
        nodegroup("web"),
        nodegroup("other", template={"labels": {"team": "other"}}),
    )
    see(w, pending(6))  # 500m each; a 2-CPU node offers 1900m: 3 per node

    decision = await w.controller.decide()

    assert decision.created == {"web": 2}
    made = members(w)
    assert len(made) == 2
    assert {m["spec"]["nodeGroup"] for m in made} == {"web"}
    assert {m["metadata"]["annotations"][DECISION] for m in made} == {decision.id}
    assert w.metric("vpsie_autoscaler_scale_ups_total", nodegroup="web", result="requested") == 2
    assert w.metric("vpsie_autoscaler_scale_up_decisions_total", outcome="scaled_up") == 1
    assert w.metric("vpsie_autoscaler_unschedulable_pods_count") == 6
    await w.flush_events()
    triggered = [e for e in w.events.events if e["reason"] == "TriggeredScaleUp"]
    assert len(triggered) == 6
    assert triggered[0]["message"] == "pod triggered scale-up: [web 0->2]"
    assert triggered[0]["involvedObject"]["kind"] == "Pod"


async def test_the_same_backlog_never_scales_up_twice_even_on_a_stale_cache() -> None:
    w = await world()
    see(w, pending(6))
    await w.controller.decide()

    again = await w.controller.decide()  # the cache does not show the VPSieNodes yet
    w.kube.sync()
    third = await w.controller.decide()  # now they are upcoming nodes

    assert again.created == {}
    assert third.created == {}
    assert len(members(w)) == 2
    assert w.metric("vpsie_autoscaler_scale_up_decisions_total", outcome="no_scale_up") == 2


async def test_a_registered_node_still_joining_is_counted_once_as_upcoming() -> None:
    w = await world()
    see(w, pending(3))
    await w.controller.decide()
    w.kube.sync()
    (member,) = members(w)
    name = member["metadata"]["name"]
    status = {"phase": "Joining", "hostname": "web-node-1", "nodeName": "web-node-1"}
    await w.kube.patch("vpsienodes", NS, name, {"status": status})
    node = w.kube.add_node("web-node-1", ready=False, labels={"team": "web"})
    node["spec"]["taints"] = [
        {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
        {"key": "dedicated", "effect": "NoSchedule"},
    ]
    w.kube.sync()

    joining = await w.controller.decide()

    assert joining.created == {}
    assert {d.disposition for d in joining.plan.pods} == {Disposition.FITS_UPCOMING}


async def test_a_ready_node_about_to_lose_the_not_ready_taint_offers_its_room() -> None:
    w = await world()
    node = w.kube.add_node("web-node-1", ready=True, labels={"team": "web"})
    node["status"]["allocatable"] = {"cpu": "1900m", "memory": "3740Mi", "pods": "110"}
    node["spec"]["taints"] = [
        {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
        {"key": "dedicated", "effect": "NoSchedule"},
    ]
    w.kube.sync()
    see(w, pending(3))

    decision = await w.controller.decide()

    assert decision.created == {}
    assert {d.disposition for d in decision.plan.pods} == {Disposition.FITS_EXISTING}


async def test_max_nodes_caps_the_scale_up_and_the_rest_is_explained() -> None:
    w = await world(nodegroup("web", max_nodes=1))
    see(w, pending(6))

    decision = await w.controller.decide()
    await w.flush_events()

    assert decision.created == {"web": 1}
    reasons = sorted(e["reason"] for e in w.events.events if e["involvedObject"]["kind"] == "Pod")
    assert reasons == ["NotTriggerScaleUp"] * 3 + ["TriggeredScaleUp"] * 3
    refused = next(e for e in w.events.events if e["reason"] == "NotTriggerScaleUp")
    assert refused["type"] == "Warning"
    assert "max node group size reached" in refused["message"]
    status = w.kube.get_object("nodegroups", NS, "web")["status"]  # type: ignore[index]
    assert "3 pod(s)" in status["pendingSummary"]
    assert "max node group size reached" in status["pendingSummary"]


async def test_a_pod_no_group_can_host_gets_the_reason_once() -> None:
    w = await world()
    see(w, pending(1, cpu_m=8000))

    first = await w.controller.decide()
    await w.controller.decide()
    await w.flush_events()

    assert first.created == {}
    (event,) = [e for e in w.events.events if e["reason"] == "NotTriggerScaleUp"]
    assert event["message"] == "pod didn't trigger scale-up: 1 Insufficient cpu"
    assert event["count"] == 1  # the repeat within 5 minutes was not written


async def test_a_failed_group_is_backed_off_and_the_next_option_planned_at_once() -> None:
    w = await world(
        nodegroup("first", priority=10),
        nodegroup("second", priority=0),
    )
    see(w, pending(3))
    decision = await w.controller.decide()
    assert decision.created == {"first": 1}
    w.kube.sync()
    (member,) = members(w, "first")
    old = project_vpsienode(member)
    name = member["metadata"]["name"]
    failed_at = WALL.isoformat().replace("+00:00", "Z")
    status = {
        "phase": "Failed",
        "lastError": "QuotaExceeded: worker quota reached",
        "timestamps": {"failed": failed_at},
    }
    await w.kube.patch("vpsienodes", NS, name, {"status": status})
    w.kube.sync()
    new = project_vpsienode(w.kube.get_object("vpsienodes", NS, name))  # type: ignore[arg-type]

    w.controller.on_vpsienode_update(old, new)
    count = await w.controller.batcher.window()  # flushed: returns at once
    fallback = await w.controller.decide()

    assert count >= 1
    assert fallback.created == {"second": 1}
    assert fallback.id != decision.id  # a new decision, not more of the failed one
    labels = {"nodegroup": "first", "reason": "QuotaExceeded"}
    assert w.metric("vpsie_autoscaler_failed_scale_ups_total", **labels) == 1
    assert w.metric("vpsie_autoscaler_node_group_backoff_status", nodegroup="first") == 1
    why = {r.group: r.reason for r in fallback.plan.decision("apps/p0").not_taken}
    assert why == {"first": "NotReadyForScaleUp"}


async def test_a_failure_while_the_window_is_open_makes_the_fallback_a_new_decision() -> None:
    w = await world(nodegroup("first", priority=10), nodegroup("second", priority=0))
    see(w, pending(3, cpu_m=600))  # a full node: created by the eager pass
    early = await w.controller.decide(partial=True)
    w.kube.sync()
    (member,) = members(w, "first")
    old = project_vpsienode(member)
    name = member["metadata"]["name"]
    status = {
        "phase": "Failed",
        "lastError": "QuotaExceeded: worker quota reached",
        "timestamps": {"failed": WALL.isoformat().replace("+00:00", "Z")},
    }
    await w.kube.patch("vpsienodes", NS, name, {"status": status})
    w.kube.sync()
    new = project_vpsienode(w.kube.get_object("vpsienodes", NS, name))  # type: ignore[arg-type]

    w.controller.on_vpsienode_update(old, new)
    fallback = await w.controller.decide()

    assert early.created == {"first": 1}
    assert fallback.created == {"second": 1}
    assert fallback.id != early.id
    assert w.metric("vpsie_autoscaler_scale_up_decisions_total", outcome="scaled_up") == 2


async def test_decision_latency_is_observed_at_the_create_call() -> None:
    w = await world()
    see(w, pending(3))
    w.clock.step(2.5)
    await w.controller.decide()
    (member,) = members(w)

    w.clock.step(0.5)
    w.controller._ctx.on_create_call(member["metadata"]["name"])  # type: ignore[misc]

    name = "vpsie_autoscaler_scale_up_decision_latency_seconds"
    assert w.metric(f"{name}_count") == 3
    assert w.metric(f"{name}_sum") == pytest.approx(9.0)


async def test_pods_that_fit_a_node_already_asked_for_are_observed_at_that_decision() -> None:
    w = await world()
    see(w, pending(2))
    await w.controller.decide()  # one node for 3 pods of 500m; two are pending so far
    w.kube.sync()
    late = pending(1, prefix="late")
    see(w, late)
    w.clock.step(4)

    decision = await w.controller.decide()
    await w.controller.decide()  # observed once, not at every decision

    assert decision.created == {}
    name = "vpsie_autoscaler_scale_up_decision_latency_seconds"
    assert w.metric(f"{name}_count") == 1
    assert w.metric(f"{name}_sum") == pytest.approx(4.0)


async def test_an_open_window_creates_its_full_nodes_early_as_one_decision() -> None:
    w = await world()
    see(w, pending(7, cpu_m=600))  # 3 per 1900m node (95 % full); the seventh waits

    early = await w.controller.decide(partial=True)
    await w.flush_events()
    triggered_early = w.events.reasons().count("TriggeredScaleUp")
    w.kube.sync()
    final = await w.controller.decide()

    assert early.created == {"web": 2}
    assert triggered_early == 6
    assert w.metric("vpsie_autoscaler_scale_up_decisions_total", outcome="scaled_up") == 1
    assert final.created == {"web": 1}
    assert final.id == early.id
    assert {m["metadata"]["annotations"][DECISION] for m in members(w)} == {early.id}
    assert len(members(w)) == 3


async def test_a_partial_pass_without_full_nodes_creates_nothing() -> None:
    w = await world()
    see(w, pending(2, cpu_m=600))

    early = await w.controller.decide(partial=True)
    await w.flush_events()

    assert early.created == {}
    assert members(w) == []
    assert w.events.events == []
    assert w.metric("vpsie_autoscaler_scale_up_decisions_total", outcome="no_scale_up") == 0

    w.clock.step(1.0)  # the pods have now waited batch_eager_s: their node is asked for
    later = await w.controller.decide(partial=True)
    assert later.created == {"web": 1}


async def test_dry_run_decides_and_explains_but_creates_nothing() -> None:
    w = await world(dry_run=True)
    see(w, pending(3))

    decision = await w.controller.decide()
    await w.flush_events()

    assert decision.plan.total_nodes == 1
    assert decision.created == {"web": 0}
    assert members(w) == []
    assert "TriggeredScaleUp" in w.events.reasons()


async def test_expendable_pods_never_trigger_a_scale_up() -> None:
    w = await world()
    see(w, pending(3, priority=-20))

    decision = await w.controller.decide()

    assert decision.created == {}
    assert decision.pending == 0
    assert w.controller.pending.since == {}


def test_policy_from_settings() -> None:
    settings = ScalingSettings(
        expanders="price, most-pods",
        max_nodes_total=50,
        max_cores_total=200,
        max_memory_total_gib=512,
        max_monthly_cost=1234.5,
        max_nodes_per_scale_up=7,
    )
    policy = policy_of(settings)
    assert policy.expanders == (Expander.PRICE, Expander.MOST_PODS)
    assert policy.max_nodes_per_scale_up == 7
    assert policy.limits.max_nodes == 50
    assert policy.limits.max_cores == 200_000
    assert policy.limits.max_memory == 512 * 2**30
    assert policy.limits.max_monthly_cost == Decimal("1234.5")
    assert policy_of(ScalingSettings()).limits.max_nodes is None


@pytest.mark.parametrize(
    ("expanders", "problem"),
    [("priority,cheapest", "unknown cheapest"), ("price,price", "listed twice"), (" ", "empty")],
    ids=["unknown", "twice", "empty"],
)
def test_a_bad_expander_chain_is_a_config_error(expanders: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ScalingSettings(expanders=expanders)


def test_setting_names_are_the_core_expanders() -> None:
    from autoscaler.settings import EXPANDER_NAMES

    assert set(EXPANDER_NAMES) == {str(e) for e in Expander}
