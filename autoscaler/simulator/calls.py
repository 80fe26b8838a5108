"""The call log: counters per (method, route template, status) and an ordered, redacted log.

An entry is added when a call arrives and completed when its status is known; a call that
hangs is completed with status 0 as soon as it starts to hang, so a test can see it while
it hangs. Secret fields (§7) are replaced by ``"<redacted>"`` wherever they appear.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "<redacted>"
SECRET_FIELDS = frozenset(
    {
        "password",
        "vmpassword",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "userdata",
        "scriptcontent",
        "initial_password",
    }
)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret field (at any depth) replaced."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SECRET_FIELDS else redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class CallLog:
    """Every VPSie call the simulator answered, in arrival order."""

    def __init__(self, *, capacity: int = 10_000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.counters: Counter[tuple[str, str, int]] = Counter()
        self._seq = 0
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; checked whenever a call starts or finishes."""
        while not predicate():
            self._changed.clear()
            await self._changed.wait()

    def reset(self) -> None:
        """Forget every call and counter (sequence numbers go on, so ``since`` stays valid)."""
        self.entries.clear()
        self.counters.clear()

    def start(self, **fields: Any) -> dict[str, Any]:
        """Add an entry for an arriving call; ``body`` is redacted here."""
        self._seq += 1
        entry = {"seq": self._seq, **fields, "status": None, "fault": None}
        entry["body"] = redact(entry.get("body"))
        self.entries.append(entry)
        self._changed.set()
        return entry

    def finish(
        self, entry: dict[str, Any], status: int, *, fault: str | None = None, refused: bool = False
    ) -> None:
        """Record the status of a call (0 for one that hangs or is dropped); ``refused``: an
        HTTP 200 whose body says ``"error": true`` (nothing was done)."""
        if entry["status"] is not None:
            return
        entry["status"] = status
        entry["fault"] = fault
        entry["refused"] = refused
        self.counters[(entry["method"], entry["route"], status)] += 1
        self._changed.set()

    def since(self, seq: int) -> list[dict[str, Any]]:
        """Entries after sequence number ``seq``."""
        return [e for e in self.entries if e["seq"] > seq]

    def counter_rows(self) -> list[dict[str, Any]]:
        """The counters as a sorted list of ``{method, route, status, count}``."""
        return [
            {"method": m, "route": r, "status": s, "count": n}
            for (m, r, s), n in sorted(self.counters.items())
        ]
