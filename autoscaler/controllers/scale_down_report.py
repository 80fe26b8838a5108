"""What a scale-down pass tells about the nodes it keeps: metrics, Events, status.

``ScaleDownReporter.report`` counts every kept node (``scale_down_blocked_total``, the
``unremovable_nodes_count`` gauge) and queues a ``ScaleDownBlocked`` Event on it, not
repeated while it stays kept for the same reason (``scale_down_explain``);
``write_summaries`` writes each group's ``status.keptSummary`` when it changed, with
``status.lastScaleDownTime`` once the group lost a node.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from autoscaler.controllers.context import NODEGROUPS, Context, node_ref, nodegroup_ref
from autoscaler.controllers.event_writer import EventWriter
from autoscaler.controllers.keys import Reason
from autoscaler.controllers.scale_down_explain import (
    NODE_EVENT_REPEAT_S,
    event_text,
    is_warning,
    kept_summaries,
    repeat_key,
)
from autoscaler.controllers.status_edit import stamp
from autoscaler.core.scale_down_plan import ScaleDownPlan
from autoscaler.kube import errors
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics

__all__ = ["ScaleDownReporter"]

log = logging.getLogger(__name__)


class ScaleDownReporter:
    """Tells why kept nodes stay; keeps what it said last, to say only what changed."""

    def __init__(self, ctx: Context, *, metrics: ScaleDownMetrics) -> None:
        self._ctx = ctx
        self._metrics = metrics
        self.events = EventWriter(ctx, repeat_s=NODE_EVENT_REPEAT_S, name="scale-down")
        self._summaries: dict[str, str] = {}
        self._scaled_down: dict[str, dt.datetime] = {}

    def scaled_down(self, group: str, when: dt.datetime) -> None:
        """Remember that ``group`` lost a node (written with its next summary)."""
        self._scaled_down[group] = when
        self._summaries.pop(group, None)

    def report(self, plan: ScaleDownPlan, problems: Mapping[str, str]) -> None:
        """Count and tell why each kept node stays (metrics, Events); warn about groups whose
        scale-down spec cannot be read (``problems``)."""
        self._metrics.unneeded.set(len(plan.unneeded_since))
        self._metrics.kept(plan.kept_counts)
        nodes = self._ctx.caches.nodes
        keys = set()
        for kept in plan.kept:
            node = nodes.get(kept.node)
            if node is None:
                continue
            keys.add(node.uid)
            self.events.add(
                node_ref(node),
                key=node.uid,
                reason=Reason.SCALE_DOWN_BLOCKED,
                message=event_text(kept),
                warning=is_warning(kept),
                same=repeat_key(kept),
            )
        for name, problem in problems.items():
            rec = self._ctx.caches.nodegroups.get(f"{self._ctx.namespace}/{name}")
            if rec is not None:
                keys.add(rec.meta.uid)
                self.events.add(
                    nodegroup_ref(rec),
                    key=rec.meta.uid,
                    reason=Reason.INVALID_SPEC,
                    message=problem,
                    warning=True,
                )
        self.events.keep_only(keys)

    async def write_summaries(
        self, plan: ScaleDownPlan, groups: Iterable[str], removing: Mapping[str, int]
    ) -> None:
        """Per group, why its nodes are kept (``status.keptSummary``), and when it last lost
        a node to scale-down (``status.lastScaleDownTime``)."""
        texts = kept_summaries(plan.kept, groups, removing=removing)
        for name, text in texts.items():
            if self._summaries.get(name) == text:
                continue
            self._summaries[name] = text
            down = self._scaled_down.get(name)

            def edit(obj: dict[str, Any], text: str = text, down: Any = down) -> dict[str, Any]:
                status = dict(obj.get("status") or {})
                status["keptSummary"] = text
                if down is not None:
                    status["lastScaleDownTime"] = stamp(down)
                return status

            try:
                await self._ctx.objects.patch_status(NODEGROUPS, self._ctx.namespace, name, edit)
            except errors.KubeError as err:
                self._summaries.pop(name, None)
                log.info("cannot write kept summary", extra={"nodegroup": name, "error": str(err)})
