"""A background poller that keeps the ``History`` the invariants need while a test runs.

Every ``interval`` seconds it reads the VPSieNodes and NodeGroups of the test's namespace
and the simulator's state; it remembers which VPSieNode named which worker (so an
ownership that came and went is not lost) and flags any group that *grew* while at or
above its ``maxNodes`` (lowering ``maxNodes`` below the current size is allowed; adding
more is not). Read errors (a restarting component) are counted, never raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tests.e2e.invariants import (
    DEAD,
    JSON,
    History,
    SimGroup,
    counted,
    members,
    workers,
)

INTERVAL = 0.5


@dataclass(frozen=True)
class Reading:
    """What one poll reads."""

    nodegroups: list[JSON]
    vpsienodes: list[JSON]
    sim: JSON | None


class Recorder:
    """Polls ``read()`` on a daemon thread until ``stop()``; ``history`` holds what it saw."""

    def __init__(
        self,
        read: Callable[[], Reading],
        groups: Mapping[str, SimGroup],
        *,
        interval: float = INTERVAL,
    ) -> None:
        self._read = read
        self._groups = groups  # shared with the harness: NodeGroups register as they are made
        self._interval = interval
        self.history = History()
        self.errors = 0
        self.last_error = ""
        self.polls = 0
        self._sizes: dict[str, int] = {}
        self._live: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-recorder", daemon=True)

    def start(self) -> Recorder:
        """Start polling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def poll_now(self) -> None:
        """One poll on the caller's thread (the final check wants the latest reading)."""
        self._poll()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll()
            self._stop.wait(self._interval)

    def _poll(self) -> None:
        try:
            reading = self._read()
        except Exception as err:  # a component restarting or slow: try again next round
            with self._lock:
                self.errors += 1
                self.last_error = repr(err)
            return
        with self._lock:
            self.polls += 1
            self.history.observe(reading.vpsienodes)
            self._check_growth(reading)

    def _check_growth(self, reading: Reading) -> None:
        stamp = time.strftime("%H:%M:%S")
        for group in reading.nodegroups:
            name, spec = group["metadata"]["name"], group["spec"]
            hi = int(spec["maxNodes"])
            size = len([vn for vn in members(reading.vpsienodes, name) if counted(vn)])
            before = self._sizes.get(name, 0)
            if size > hi and size > before:
                self.history.bound_violations.append(
                    f"{stamp}: NodeGroup {name} grew from {before} to {size} VPSieNodes,"
                    f" above maxNodes {hi}"
                )
            self._sizes[name] = size
            if reading.sim is None or name not in self._groups:
                continue
            live = [
                w
                for w in workers(reading.sim, [self._groups[name]])
                if w["state"] not in DEAD and w["state"] != "deleting"
            ]
            before = self._live.get(name, 0)
            if len(live) > hi and len(live) > before:
                self.history.bound_violations.append(
                    f"{stamp}: VPSie group of {name} grew from {before} to {len(live)} workers,"
                    f" above maxNodes {hi}"
                )
            self._live[name] = len(live)

    def snapshot_history(self) -> History:
        """A copy of the history, consistent under the lock."""
        with self._lock:
            h = self.history
            return History(
                owners={k: set(v) for k, v in h.owners.items()},
                owned={k: set(v) for k, v in h.owned.items()},
                names=dict(h.names),
                phases={k: list(v) for k, v in h.phases.items()},
                bound_violations=list(h.bound_violations),
            )
