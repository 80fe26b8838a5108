"""Whether a node may be considered for scale-down, and the first reason it is kept.

``node_verdict`` runs these checks in order; the first that fails names the node's reason
(``KeptReason``, Cluster Autoscaler's ``UnremovableReason`` names where CA has one):

1. ``CurrentlyBeingDeleted`` — the Node has a deletion timestamp.
2. ``NotAutoscaled`` — no ``autoscaler.vpsie.com/nodegroup`` label, or a group we do not know.
3. The node's own keys (``autoscaler.core.disruption_keys``): ``MalformedAnnotation``, then
   ``ScaleDownDisabledAnnotation``, then ``OutsideAllowedWindow`` (its allowed hours).
4. ``ScaleDownDisabledForGroup`` — the NodeGroup's ``scaleDown.enabled`` is false.
5. ``OutsideAllowedWindow`` — the NodeGroup has allowed windows and none is open.
6. ``NodeGroupMinSizeReached`` — removing a node would take the group below ``minNodes``.
7. ``NodeNotReady`` — the node is not Ready (when the policy keeps such nodes).
8. ``NotUnderutilized`` — utilization is not below the group's threshold.
9. ``RecentlyScaledUp`` — the group grew (or the node joined) less than the delay after add ago.
10. ``NotUnneededLongEnough`` — it has been under the threshold for less than the unneeded time.

What the user configured comes first and passing timers last, so a node is reported with
the reason that will still hold once the timers have run. The remaining members are set by
later stages: the rescheduling simulation, the pod rules and the planner's error handling.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from autoscaler.core.disruption_keys import node_opt_out
from autoscaler.core.records import NODE_GROUP_LABEL, NodeRecord
from autoscaler.core.resources.scaling import (
    DEFAULT_DELAY_AFTER_ADD,
    DEFAULT_UNNEEDED_TIME,
    DEFAULT_UTILIZATION_THRESHOLD,
    ScaleDown,
)
from autoscaler.core.time_window import TimeWindow, window_of

__all__ = ["GroupState", "KeptReason", "NodeVerdict", "ScaleDownNodePolicy", "node_verdict"]


class KeptReason(enum.StrEnum):
    """Why a node is not removed; the values are metric labels and status reasons."""

    SCALE_DOWN_DISABLED_ANNOTATION = "ScaleDownDisabledAnnotation"
    NOT_AUTOSCALED = "NotAutoscaled"
    NOT_UNNEEDED_LONG_ENOUGH = "NotUnneededLongEnough"
    NODE_GROUP_MIN_SIZE_REACHED = "NodeGroupMinSizeReached"
    CURRENTLY_BEING_DELETED = "CurrentlyBeingDeleted"
    NOT_UNDERUTILIZED = "NotUnderutilized"
    NODE_NOT_READY = "NodeNotReady"
    MALFORMED_ANNOTATION = "MalformedAnnotation"
    """A scale-down key on the node has a value we cannot read; warned about with an Event."""
    OUTSIDE_ALLOWED_WINDOW = "OutsideAllowedWindow"
    RECENTLY_SCALED_UP = "RecentlyScaledUp"
    SCALE_DOWN_DISABLED_FOR_GROUP = "ScaleDownDisabledForGroup"
    NO_PLACE_TO_MOVE_PODS = "NoPlaceToMovePods"
    """Set by the rescheduling simulation."""
    BLOCKED_BY_POD = "BlockedByPod"
    """Set by the pod drainability rules."""
    UNEXPECTED_ERROR = "UnexpectedError"
    """Set when checking the node failed."""
    SCALE_DOWN_BUDGET_EXCEEDED = "ScaleDownBudgetExceeded"
    """Set by the planner: this pass already deletes or drains as many nodes as its budgets
    allow (``max_empty_bulk_delete``, ``max_drain_parallelism``); tried again next pass."""
    DRAIN_BACKOFF = "DrainBackoff"
    """Set by the planner: a drain of this node failed recently; it is not tried again
    before its back-off ends."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupState:
    """What the node checks need of a node's group: its spec's scale-down part and its size."""

    name: str
    min_nodes: int
    current_nodes: int
    """Nodes counted toward ``min_nodes`` (registered, not being deleted)."""
    scale_down_enabled: bool = True
    utilization_threshold: float = DEFAULT_UTILIZATION_THRESHOLD
    unneeded_time: dt.timedelta = DEFAULT_UNNEEDED_TIME
    delay_after_add: dt.timedelta = DEFAULT_DELAY_AFTER_ADD
    last_scale_up: dt.datetime | None = None
    allowed_windows: tuple[TimeWindow, ...] = ()
    """Empty: scale-down at any time."""

    def __post_init__(self) -> None:
        if self.min_nodes < 0 or self.current_nodes < 0:
            raise ValueError(f"group {self.name}: node counts must not be negative")
        if not 0 <= self.utilization_threshold <= 1:
            raise ValueError(f"group {self.name}: utilization_threshold must be in [0, 1]")
        if self.unneeded_time < dt.timedelta(0) or self.delay_after_add < dt.timedelta(0):
            raise ValueError(f"group {self.name}: durations must not be negative")
        if self.last_scale_up is not None and self.last_scale_up.utcoffset() is None:
            raise ValueError(f"group {self.name}: last_scale_up must be timezone-aware")

    @classmethod
    def from_spec(
        cls,
        name: str,
        *,
        spec: ScaleDown,
        min_nodes: int,
        current_nodes: int,
        last_scale_up: dt.datetime | None,
    ) -> GroupState:
        """Return the state of a NodeGroup from its ``scaleDown`` spec and its counts.

        Raises ``TimeWindowError`` when an allowed window's time zone is unknown here.
        """
        return cls(
            name=name,
            min_nodes=min_nodes,
            current_nodes=current_nodes,
            scale_down_enabled=spec.enabled,
            utilization_threshold=spec.utilization_threshold,
            unneeded_time=spec.unneeded_time,
            delay_after_add=spec.delay_after_add,
            last_scale_up=last_scale_up,
            allowed_windows=tuple(window_of(w) for w in spec.allowed_windows),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleDownNodePolicy:
    """Cluster-wide choices of the node checks; the per-group ones are in ``GroupState``."""

    keep_not_ready: bool = True
    """Keep nodes that are not Ready (``NodeNotReady``): what runs on them is uncertain, and
    replacing broken nodes is repair's job, not scale-down's."""
    delay_after_node_created: bool = True
    """Also count the delay after add from the node's own creation, so a node that joined
    recently is kept when the group's last scale-up time is unknown (after a restart, or a
    node added outside the autoscaler)."""


@dataclass(frozen=True, slots=True)
class NodeVerdict:
    """The outcome of the node checks: eligible (``reason is None``) or the first reason."""

    reason: KeptReason | None
    message: str

    @property
    def eligible(self) -> bool:
        """Whether the node may go on to the pod rules and the rescheduling simulation."""
        return self.reason is None

    @property
    def warning(self) -> bool:
        """Whether the user should get a warning Event (a malformed value on the node)."""
        return self.reason is KeptReason.MALFORMED_ANNOTATION


def _duration(delta: dt.timedelta) -> str:
    """``1h30m``, ``10m``, ``45s``: a timedelta as people write it."""
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"


def _window_reason(group: GroupState, now: dt.datetime) -> str | None:
    windows = group.allowed_windows
    if not windows or any(w.contains(now) for w in windows):
        return None
    shown = "; ".join(str(w) for w in windows)
    return f"node group {group.name} allows scale-down only in its windows ({shown})"


def _added_recently(
    node: NodeRecord, group: GroupState, now: dt.datetime, policy: ScaleDownNodePolicy
) -> str | None:
    moments = [("node group", group.name, "grew", group.last_scale_up)]
    if policy.delay_after_node_created:
        moments.append(("node", node.name, "was created", node.created))
    for kind, name, what, at in moments:
        if at is not None and now < at + group.delay_after_add:
            until = at + group.delay_after_add
            return (
                f"{kind} {name} {what} at {at.isoformat()}; node group {group.name} removes"
                f" nodes only {_duration(group.delay_after_add)} after that, from"
                f" {until.isoformat()}"
            )
    return None


def _checks(
    node: NodeRecord,
    group: GroupState,
    *,
    now: dt.datetime,
    unneeded_since: dt.datetime | None,
    utilization: float,
    policy: ScaleDownNodePolicy,
) -> NodeVerdict | None:
    """The checks after the node is known to be ours (3 to 10 in the module docstring)."""
    opt_out = node_opt_out(node, now)
    if opt_out is not None:
        return NodeVerdict(KeptReason(opt_out.reason.value), opt_out.message)
    if not group.scale_down_enabled:
        return NodeVerdict(
            KeptReason.SCALE_DOWN_DISABLED_FOR_GROUP,
            f"scale-down is disabled for node group {group.name} (spec.scaleDown.enabled)",
        )
    outside = _window_reason(group, now)
    if outside is not None:
        return NodeVerdict(KeptReason.OUTSIDE_ALLOWED_WINDOW, outside)
    if group.current_nodes <= group.min_nodes:
        return NodeVerdict(
            KeptReason.NODE_GROUP_MIN_SIZE_REACHED,
            f"node group {group.name} has {group.current_nodes} node(s),"
            f" at its minimum of {group.min_nodes}",
        )
    if policy.keep_not_ready and not node.ready:
        return NodeVerdict(KeptReason.NODE_NOT_READY, "node is not Ready")
    threshold = group.utilization_threshold
    if not utilization < threshold:
        return NodeVerdict(
            KeptReason.NOT_UNDERUTILIZED,
            f"utilization {utilization:.2f} (the larger of CPU and memory requests over"
            f" allocatable) is not below node group {group.name}'s threshold {threshold:.2f}",
        )
    recent = _added_recently(node, group, now, policy)
    if recent is not None:
        return NodeVerdict(KeptReason.RECENTLY_SCALED_UP, recent)
    unneeded_for = now - unneeded_since if unneeded_since is not None else dt.timedelta(0)
    if unneeded_for < group.unneeded_time:
        return NodeVerdict(
            KeptReason.NOT_UNNEEDED_LONG_ENOUGH,
            f"node has been unneeded for {_duration(unneeded_for)} of the"
            f" {_duration(group.unneeded_time)} node group {group.name} requires",
        )
    return None


def node_verdict(
    node: NodeRecord,
    *,
    group: GroupState | None,
    now: dt.datetime,
    unneeded_since: dt.datetime | None,
    utilization: float,
    policy: ScaleDownNodePolicy,
) -> NodeVerdict:
    """Return whether ``node`` may be considered for scale-down at ``now``, or why not.

    ``group`` is the state of the group the node's label names (``None``: unknown group),
    ``unneeded_since`` when the node was first seen under its threshold (``None``: not yet),
    and ``utilization`` its requests utilization (a NaN is never under a threshold). The
    group-size check only ensures that one node may go; the planner budgets several.
    """
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    if node.deletion_timestamp is not None:
        return NodeVerdict(
            KeptReason.CURRENTLY_BEING_DELETED,
            f"node is being deleted (since {node.deletion_timestamp.isoformat()})",
        )
    if node.group is None:
        return NodeVerdict(KeptReason.NOT_AUTOSCALED, f"node has no {NODE_GROUP_LABEL} label")
    if group is None:
        return NodeVerdict(
            KeptReason.NOT_AUTOSCALED, f"node group {node.group} is not a known NodeGroup"
        )
    if group.name != node.group:
        raise ValueError(f"node {node.name} is in group {node.group}, not {group.name}")
    found = _checks(
        node,
        group,
        now=now,
        unneeded_since=unneeded_since,
        utilization=utilization,
        policy=policy,
    )
    return found or NodeVerdict(None, "eligible for scale-down")
