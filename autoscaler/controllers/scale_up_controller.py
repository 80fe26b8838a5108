"""The scale-up path (architecture §6): batch window → snapshot → plan → VPSieNodes → Events.

One decision per batch window: the caches give the nodes, pods and groups, ``core``
plans, and the chosen groups get their VPSieNodes (intent objects; the VPSieNode
reconciler makes the VPSie calls). While a long stream of pods keeps a window open, every
``batch_eager_s`` the new nodes that are full, or that are for a pod pending that long
already, are created (``core.eager``) instead of at the window's end, so the first pods of
a stream do not wait the whole window; all passes of a window are one decision. Each
VPSieNode carries the decision id; upcoming nodes, including creates the cache does not
show yet (``Expectations`` shared with the NodeGroup reconciler), absorb pending pods in
the next decision, so one backlog never triggers two scale-ups, and each group's count is
checked against ``maxNodes`` again right before every create.

A provisioning that fails (quota, a refused create, a timeout) makes the group's member
Failed; the NodeGroup backs off (``sizing``) and the batch window is closed at once, so
the next decision, made without the backed-off group, follows within moments instead of
after Cluster Autoscaler's 15 minutes. While pods stay pending, a decision is made every
``scan_interval_s`` (a back-off may have ended, a group may have room again).

Pods get ``TriggeredScaleUp`` or ``NotTriggerScaleUp`` Events (Cluster Autoscaler's
reasons and wording); the same Event for the same pod is not repeated within 5 minutes,
and Events are written by a background writer so they never delay a decision.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

from autoscaler.controllers.batcher import Batcher
from autoscaler.controllers.catalogue import Catalogue
from autoscaler.controllers.context import NODEGROUPS, VPSIENODES, Context, nodegroup_ref
from autoscaler.controllers.expectations import Expectations
from autoscaler.controllers.keys import DECISION, Reason
from autoscaler.controllers.members import new_vpsienode
from autoscaler.controllers.pending import DecisionLatency, PendingPods
from autoscaler.controllers.pod_events import PodEventWriter
from autoscaler.controllers.records import NodeGroupRecord, VPSieNodeRecord
from autoscaler.controllers.scale_up_groups import GroupInput, group_inputs
from autoscaler.controllers.scale_up_inputs import (
    failure_reason,
    pending_summaries,
    policy_of,
    settled,
)
from autoscaler.controllers.status_edit import stamp
from autoscaler.core.eager import full_nodes_only
from autoscaler.core.reasons import Disposition
from autoscaler.core.records import PodRecord
from autoscaler.core.resources import Phase
from autoscaler.core.scale_up import plan_scale_up
from autoscaler.core.scale_up_plan import GroupScaleUp, ScaleUpPlan
from autoscaler.core.snapshot import build_snapshot
from autoscaler.kube import errors
from autoscaler.kube.store import DeletedFinalStateUnknown
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.settings import ScalingSettings
from autoscaler.vpsie.errors import VPSieError
from autoscaler.vpsie.provider import VmGroupSpec

log = logging.getLogger(__name__)

CREATE_CONCURRENCY = 8
EAGER_FILL = 0.9  # a new node this full cannot get better by waiting for more pods


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """What one pass did."""

    id: str
    pending: int
    plan: ScaleUpPlan
    created: dict[str, int]
    """New VPSieNodes per group."""


class ScaleUpController:
    """Batches pending pods and turns each batch into one scale-up decision."""

    def __init__(
        self,
        ctx: Context,
        *,
        settings: ScalingSettings,
        catalogue: Catalogue,
        expected: Expectations,
        metrics: ScaleUpMetrics,
    ) -> None:
        self._ctx = ctx
        self._settings = settings
        self._policy = policy_of(settings)
        self._catalogue = catalogue
        self._expected = expected
        self._metrics = metrics
        self.batcher = Batcher(
            idle=settings.batch_idle_s,
            maximum=settings.batch_max_s,
            clock=ctx.clock,
            eager=settings.batch_eager_s or None,
        )
        self.pending = PendingPods(
            self.batcher.trigger, clock=ctx.clock, cutoff=settings.expendable_pods_priority_cutoff
        )
        self.latency = DecisionLatency(metrics.latency.observe, clock=ctx.clock)
        self._events = PodEventWriter(ctx)
        self._summaries: dict[str, str] = {}
        self._observed: set[str] = set()
        self._seq = 0
        self._window_id: str | None = None
        self._window_made = 0
        self._replan = False
        self.decisions: list[Decision] = []
        """The last few decisions, newest last (for tests and debugging)."""

    # --- informer handlers (quick, never block) ------------------------------------------------
    def on_vpsienode_update(self, old: VPSieNodeRecord, new: VPSieNodeRecord) -> None:
        """A member failed: count it and plan again at once without its group."""
        if new.phase is Phase.FAILED and old.phase is not Phase.FAILED:
            self._metrics.failed.labels(new.group or "", failure_reason(new)).inc()
            self._replan = True  # the fallback is a new decision, not more of the last one
            self.batcher.flush()

    def on_nodegroup_change(self, obj: NodeGroupRecord | DeletedFinalStateUnknown[Any]) -> None:
        """A group appeared, changed or went: pending pods may have a new option."""
        if self.pending.since:
            self.batcher.trigger()

    # --- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Decide per batch window until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._events.run(), name="scale-up-events")
            tg.create_task(self._rescan(), name="scale-up-rescan")
            while True:
                closed, _ = await self.batcher.next()
                try:
                    await self.decide(partial=not closed)
                except (errors.KubeError, VPSieError) as err:
                    log.warning("scale-up decision failed", extra={"error": str(err)})

    async def _rescan(self) -> None:
        while True:
            await asyncio.sleep(self._settings.scan_interval_s)
            if self.pending.since:
                self.batcher.trigger()

    async def decide(self, *, partial: bool = False) -> Decision:
        """One planning pass over the current caches.

        A window's decision is its last pass; ``partial`` passes (eager ticks of a window
        still open) create only the plan's new nodes that are full or hold a pod pending for
        ``batch_eager_s``, and say nothing yet about the other pods. Every pass of one
        window shares its decision id, and the decision is counted once, when the window
        closes.
        """
        ctx = self._ctx
        started = time.perf_counter()
        joining: set[str] = set()
        groups = await group_inputs(
            ctx, catalogue=self._catalogue, expected=self._expected, registered_upcoming=joining
        )
        cutoff = self._settings.expendable_pods_priority_cutoff
        pods = [
            p
            for p in ctx.caches.pods.values()
            if not (p.unschedulable and p.priority < cutoff and p.node_name is None)
        ]
        snapshot = build_snapshot(
            nodes=[settled(n) for n in ctx.caches.nodes.values() if n.name not in joining],
            pods=pods,
            groups=[g.option for g in groups],
            host_ports={p.key: p.host_ports for p in pods if p.host_ports},
        )
        now = ctx.now()
        plan = plan_scale_up(snapshot, policy=self._policy, now=now)
        self._metrics.planning.observe(time.perf_counter() - started)
        self._metrics.unschedulable.set(len(snapshot.pending))
        if self._replan:
            self._replan = False
            self._close_window()
        if self._window_id is None:
            self._seq += 1
            self._window_id = f"{now:%Y%m%dT%H%M%S}-{self._seq}"
        decision_id = self._window_id
        by_name = {g.option.name: g for g in groups}
        by_key = {p.key: p for p in snapshot.pending}
        self._observe_absorbed(plan, by_key, now)
        if partial:
            wait = dt.timedelta(seconds=self._settings.batch_eager_s)
            since = self.pending.since
            due = frozenset(
                k for k, p in by_key.items() if p.uid in since and now - since[p.uid] >= wait
            )
            plan = full_nodes_only(plan, snapshot, by_key, threshold=EAGER_FILL, due=due)
        created: dict[str, int] = {}
        for up in plan.scale_ups:
            created[up.group] = await self._scale(by_name[up.group], up, by_key, decision_id)
        self._window_made += sum(created.values())
        self._explain(plan, by_key)
        if not partial:
            self._close_window()
            await self._write_summaries(plan, groups, created, now)
        for g in groups:
            self._metrics.backoff.labels(g.option.name).set(int(g.option.in_backoff(now)))
        decision = Decision(decision_id, len(snapshot.pending), plan, created)
        self.decisions = [*self.decisions[-9:], decision]
        if snapshot.pending:
            log.info(
                "scale-up decision",
                extra={
                    "decision": decision_id,
                    "partial": partial,
                    "pending": len(snapshot.pending),
                    "nodes": created,
                    "seconds": round(time.perf_counter() - started, 4),
                },
            )
        return decision

    def _close_window(self) -> None:
        """Count the open decision (if any) and start the next one afresh."""
        if self._window_id is None:
            return
        outcome = "scaled_up" if self._window_made else "no_scale_up"
        self._metrics.decisions.labels(outcome).inc()
        self._window_id, self._window_made = None, 0

    # --- actuation ------------------------------------------------------------------------------
    def _room(self, group: NodeGroupRecord) -> int:
        """Nodes the group may still gain by the cache and the expected creates."""
        assert group.resource is not None
        members = self._ctx.members(group.meta.namespace, group.meta.name)
        active = [m for m in members if not m.meta.deleting and m.phase is not Phase.FAILED]
        expected = self._expected.pending(group.key, seen={m.meta.name for m in members})
        return group.resource.spec.max_nodes - len(active) - expected

    async def _scale(
        self, group: GroupInput, up: GroupScaleUp, pods: dict[str, PodRecord], decision: str
    ) -> int:
        ctx, rec = self._ctx, group.record
        count = min(up.nodes, self._room(rec))
        if count < up.nodes:
            log.warning(
                "group filled up since the plan",
                extra={"nodegroup": rec.meta.name, "planned": up.nodes, "room": count},
            )
        if count <= 0:
            return 0
        if self._settings.dry_run:
            log.info(
                "dry run: not adding nodes", extra={"nodegroup": rec.meta.name, "nodes": count}
            )
            return 0
        spec = await ctx.spec_of(rec)
        bodies = []
        for keys in up.new_nodes[:count]:
            hostname = (
                ctx.provider.prepare_create(spec).hostname
                if isinstance(spec, VmGroupSpec)
                else None
            )
            body = new_vpsienode(rec, hostname=hostname)
            body["metadata"].setdefault("annotations", {})[DECISION] = decision
            name = body["metadata"]["name"]
            self._expected.expect(rec.key, name)
            uids = [pods[k].uid for k in keys if k in pods]
            fresh = [u for u in uids if u not in self._observed and u in self.pending.since]
            self._observed.update(fresh)
            self.latency.decided(name, [self.pending.since[u] for u in fresh])
            bodies.append(body)
        gate = asyncio.Semaphore(CREATE_CONCURRENCY)
        results = await asyncio.gather(*(self._create(rec, b, gate) for b in bodies))
        made = sum(results)
        if made:
            self._metrics.scale_ups.labels(rec.meta.name, "requested").inc(made)
            await ctx.event(
                nodegroup_ref(rec),
                Reason.SCALED_UP_GROUP,
                f"scale-up {decision}: {up.size_before}->{up.size_before + made}"
                f" ({made} node(s) for {len(up.pods)} pod(s))",
            )
        if made < len(bodies):
            self._metrics.scale_ups.labels(rec.meta.name, "error").inc(len(bodies) - made)
        return made

    async def _create(
        self, rec: NodeGroupRecord, body: dict[str, Any], gate: asyncio.Semaphore
    ) -> int:
        name = body["metadata"]["name"]
        async with gate:
            try:
                await self._ctx.objects.create(VPSIENODES, rec.meta.namespace, body)
            except errors.KubeError as err:
                if not isinstance(err, errors.Timeout):  # refused: it surely does not exist
                    self._expected.forget(rec.key, name)
                    self.latency.forget(name)
                log.warning(
                    "cannot write VPSieNode",
                    extra={"nodegroup": rec.meta.name, "vpsienode": name, "error": str(err)},
                )
                return 0
        return 1

    def _observe_absorbed(
        self, plan: ScaleUpPlan, pods: dict[str, PodRecord], now: dt.datetime
    ) -> None:
        """Decision latency of pods that fit a node already asked for: this decision.

        Each pod is observed once, by the first decision that covers it: at this decision if
        it fits a node asked for earlier, else at the create call of its new node (``_scale``
        skips pods covered before). Pods of one class are interchangeable, so a plan may
        hand an earlier node's room to a newer pod and a new node to an older one; counting
        coverage per pod keeps one observation per pod either way.
        """
        since = self.pending.since
        self._observed &= since.keys()
        for d in plan.pods:
            pod = pods.get(d.pod)
            if pod is None or pod.uid in self._observed or pod.uid not in since:
                continue
            if d.disposition is Disposition.FITS_UPCOMING:
                self._observed.add(pod.uid)
                self._metrics.latency.observe(max(0.0, (now - since[pod.uid]).total_seconds()))

    # --- explanations ---------------------------------------------------------------------------
    def _explain(self, plan: ScaleUpPlan, pods: dict[str, PodRecord]) -> None:
        for d in plan.pods:
            pod = pods.get(d.pod)
            if pod is None:
                continue
            if d.disposition is Disposition.SCALE_UP:
                self._events.add_pod(pod, Reason.TRIGGERED_SCALE_UP, plan.message(d.pod))
            elif d.disposition is Disposition.NO_SCALE_UP:
                self._events.add_pod(pod, Reason.NOT_TRIGGER_SCALE_UP, d.message)
        self._events.keep_only(self.pending.since)

    async def _write_summaries(
        self,
        plan: ScaleUpPlan,
        groups: Sequence[GroupInput],
        created: dict[str, int],
        now: dt.datetime,
    ) -> None:
        """Per group, why pending pods did not go there (``status.pendingSummary``)."""
        texts = pending_summaries(plan, [g.option.name for g in groups])
        for g in groups:
            name = g.option.name
            text = texts[name]
            if self._summaries.get(name) == text and not created.get(name):
                continue
            self._summaries[name] = text
            scaled = bool(created.get(name))

            def edit(
                obj: dict[str, Any], text: str = text, scaled: bool = scaled
            ) -> dict[str, Any]:
                status = dict(obj.get("status") or {})
                status["pendingSummary"] = text
                if scaled:
                    status["lastScaleUpTime"] = stamp(now)
                return status

            rec = g.record
            try:
                await self._ctx.objects.patch_status(
                    NODEGROUPS, rec.meta.namespace, rec.meta.name, edit
                )
            except errors.KubeError as err:
                self._summaries.pop(name, None)
                log.info(
                    "cannot write pending summary", extra={"nodegroup": name, "error": str(err)}
                )


__all__ = ["Decision", "ScaleUpController", "failure_reason", "policy_of", "settled"]
