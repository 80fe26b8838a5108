"""How a scale-down pass explains itself: per-group summaries and per-node Events; pure.

Every kept node gets a ``ScaleDownBlocked`` Event naming its reason (a Warning for a
malformed annotation). The Event is not repeated while the node stays kept for the same
reason (and blocking pod) within ``NODE_EVENT_REPEAT_S``; numbers in the message such as
the utilization do not count as news. Each group's ``status.keptSummary`` counts its
kept nodes by reason, with the first node's message for each reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from autoscaler.core.node_eligibility import KeptReason
from autoscaler.core.resources.nodegroup import SUMMARY_LENGTH
from autoscaler.core.scale_down_plan import Kept

__all__ = ["NODE_EVENT_REPEAT_S", "event_text", "kept_summaries", "repeat_key"]

NODE_EVENT_REPEAT_S = 900.0
"""A node kept for the same reason is told again after 15 minutes."""

_DETAIL = 160


def repeat_key(kept: Kept) -> str:
    """What must change for a kept node's Event to be news."""
    return f"{kept.reason}|{kept.blocking_pod or ''}|{kept.pod_reason or ''}"


def event_text(kept: Kept) -> str:
    """The Event message: the reason, then the planner's explanation."""
    return f"{kept.reason}: {kept.message}"


def is_warning(kept: Kept) -> bool:
    """Whether the Event is a Warning (the user must fix something)."""
    return kept.reason is KeptReason.MALFORMED_ANNOTATION


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL else text[: _DETAIL - 3] + "..."


def kept_summaries(
    kept: Iterable[Kept], groups: Iterable[str], *, removing: Mapping[str, int]
) -> dict[str, str]:
    """Per group: ``"<n> node(s) kept: <count> <Reason> (<first message>); ..."``, and how
    many of its nodes are being removed (``removing``)."""
    by_group: dict[str, dict[KeptReason, list[Kept]]] = {}
    for k in kept:
        by_group.setdefault(k.group, {}).setdefault(k.reason, []).append(k)
    out: dict[str, str] = {}
    for group in groups:
        reasons = by_group.get(group, {})
        total = sum(len(v) for v in reasons.values())
        parts = [
            f"{len(found)} {reason} ({found[0].node}: {_short(found[0].message)})"
            for reason, found in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        text = f"{total} node(s) kept" + (": " + "; ".join(parts) if parts else "")
        if removing.get(group):
            text += f"; {removing[group]} being removed"
        out[group] = text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 3] + "..."
    return out
