"""Pure edits of status JSON: conditions (``metav1.Condition`` rules) and phase entries.

Each function takes a status mapping and returns a new one; nothing here reads a clock or
does I/O, so the same inputs always give the same status (and ``patch_status`` may run a
mutation several times on fresh copies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from autoscaler.core.resources import Phase

JSON = dict[str, Any]
MAX_MESSAGE = 1024


def stamp(now: dt.datetime) -> str:
    """RFC 3339 UTC with seconds precision, as the API server stores ``date-time``."""
    return now.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def set_condition(
    conditions: Sequence[Mapping[str, Any]],
    *,
    type: str,
    status: str,
    reason: str,
    message: str,
    now: dt.datetime,
) -> list[JSON]:
    """Set one condition; ``lastTransitionTime`` moves only when ``status`` changes."""
    out: list[JSON] = []
    found = False
    type, reason = str(type), str(reason)
    for cond in conditions:
        if cond.get("type") != type:
            out.append(dict(cond))
            continue
        found = True
        moved = cond.get("status") != status
        out.append(
            {
                "type": type,
                "status": status,
                "reason": reason,
                "message": message[:MAX_MESSAGE],
                "lastTransitionTime": stamp(now) if moved else cond.get("lastTransitionTime"),
            }
        )
    if not found:
        out.append(
            {
                "type": type,
                "status": status,
                "reason": reason,
                "message": message[:MAX_MESSAGE],
                "lastTransitionTime": stamp(now),
            }
        )
    return out


def condition(status: Mapping[str, Any], type: str) -> Mapping[str, Any] | None:
    """The condition of ``type`` in a status, if any."""
    for cond in status.get("conditions") or ():
        if cond.get("type") == type:
            return dict(cond)
    return None


def with_condition(
    status: Mapping[str, Any], *, type: str, value: str, reason: str, message: str, now: dt.datetime
) -> JSON:
    """``status`` with one condition set."""
    out = dict(status)
    out["conditions"] = set_condition(
        status.get("conditions") or (),
        type=type,
        status=value,
        reason=reason,
        message=message,
        now=now,
    )
    return out


def enter_phase(status: Mapping[str, Any], phase: Phase, *, now: dt.datetime) -> JSON:
    """``status`` in ``phase``, with the phase's entry time recorded."""
    out = dict(status)
    out["phase"] = str(phase)
    stamps = dict(status.get("timestamps") or {})
    stamps[phase.value.lower()] = stamp(now)
    out["timestamps"] = stamps
    return out


def phase_of(obj: Mapping[str, Any]) -> Phase:
    """The phase of a raw VPSieNode (Pending when unset)."""
    raw = (obj.get("status") or {}).get("phase")
    return Phase(raw) if isinstance(raw, str) and raw in set(Phase) else Phase.PENDING


def parse_time(text: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp, or ``None``."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
