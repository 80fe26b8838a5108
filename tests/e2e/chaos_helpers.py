"""The chaos e2e's daemons, kept as a Deployment would keep them, and who led when.

``Crew`` starts daemons with one set of settings, SIGKILLs them (noting when), and restarts a
daemon that exited on its own, as the kubelet restarts a pod, but only one that exited 1
after saying it lost its lease; any other exit fails the test. ``Crew.wait_until`` polls a
probe like ``E2E.wait_until`` and does that supervision on every poll, so a leader that gives
up during an API-server outage is replaced rather than reported as a crash.

``leaderships`` reads each daemon's JSON log for the spans in which its leader scope ran:
from ``leading`` to ``leader scope stopped``, or to the SIGKILL. ``overlapping`` names two
spans that overlap (two daemons acting at once, invariant 6), ``calls_outside`` a VPSie call
that arrived while no daemon led (a follower or a dead leader acting).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tests.e2e.daemons import E2EDaemon
from tests.e2e.harness import E2E, POLL, WAIT
from tests.e2e.invariants import JSON
from tests.e2e.simproc import SimulatorError
from tests.testenv import ApiError

LEASE_NAME = "vpsie-autoscaler"  # KubeSettings.lease_name's default
LEADING = "leading"  # autoscaler.app: the leader scope starts
SCOPE_STOPPED = "leader scope stopped"  # autoscaler.app: the leader scope has ended
LOST_LEASE_EXIT = "lost leadership: exiting so that the pod restarts as a follower"
EXIT_LOST_LEASE = 1

Probe = Callable[[], list[str]]


def now() -> dt.datetime:
    """The wall clock (UTC): what the daemons' logs and the simulator's call log stamp."""
    return dt.datetime.now(dt.UTC)


def parse_time(stamp: str) -> dt.datetime:
    """An RFC 3339 time (``Z`` or an offset) as an aware datetime."""
    return dt.datetime.fromisoformat(stamp)


def log_records(daemon: E2EDaemon) -> list[JSON]:
    """The daemon's JSON log lines; a line still being written is skipped."""
    if not daemon.log_path.exists():
        return []
    records = []
    for line in daemon.log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


@dataclass(frozen=True)
class Leadership:
    """One span in which a daemon's leader scope ran; ``ended`` is None while it runs."""

    daemon: str
    identity: str
    began: dt.datetime
    ended: dt.datetime | None
    how: str  # "stopped" (its log says so), "killed" (SIGKILL), "exited", or "leading"

    def __str__(self) -> str:
        end = self.ended.isoformat(timespec="milliseconds") if self.ended else "now"
        return (
            f"{self.daemon} ({self.identity}) led"
            f" {self.began.isoformat(timespec='milliseconds')} .. {end} ({self.how})"
        )


def leaderships(daemon: E2EDaemon, *, ended_at: dt.datetime | None) -> list[Leadership]:
    """The daemon's leadership spans; ``ended_at`` closes one still open in a dead daemon
    (when it was SIGKILLed, or when its exit was noticed)."""
    spans: list[Leadership] = []
    opened: tuple[str, dt.datetime] | None = None
    for record in log_records(daemon):
        if record.get("msg") == LEADING:
            opened = (str(record.get("identity")), parse_time(record["ts"]))
        elif record.get("msg") == SCOPE_STOPPED and opened is not None:
            spans.append(Leadership(daemon.name, *opened, parse_time(record["ts"]), "stopped"))
            opened = None
    if opened is not None:
        if daemon.alive():
            spans.append(Leadership(daemon.name, *opened, None, "leading"))
        else:
            how = "killed" if daemon.killed else "exited"
            spans.append(Leadership(daemon.name, *opened, ended_at or now(), how))
    return spans


def overlapping(spans: Iterable[Leadership]) -> list[str]:
    """Every two spans of different daemons that overlap in time."""
    ordered = sorted(spans, key=lambda s: s.began)
    return [
        f"two daemons led at once: {a} and {b}"
        for i, a in enumerate(ordered)
        for b in ordered[i + 1 :]
        if a.daemon != b.daemon and (a.ended is None or b.began < a.ended)
    ]


def calls_outside(
    calls: Iterable[JSON], spans: Iterable[Leadership], *, slack: dt.timedelta
) -> list[str]:
    """VPSie calls that arrived at the simulator while no daemon led (give or take ``slack``:
    a request sent just before the leader scope stopped is read a moment later)."""
    windows = [(s.began - slack, (s.ended + slack) if s.ended else None) for s in spans]
    return [
        f"VPSie call {c['seq']} {c['method']} {c['path']} arrived at {c['at']}, when no daemon led"
        for c in calls
        if not any(
            lo <= parse_time(c["at"]) and (hi is None or parse_time(c["at"]) <= hi)
            for lo, hi in windows
        )
    ]


class Crew:
    """The daemons of one e2e world, all with ``settings``; see the module docstring."""

    def __init__(self, e2e: E2E, settings: Mapping[tuple[str, str], str]) -> None:
        self.e2e = e2e
        self.settings = dict(settings)
        self.ended_at: dict[str, dt.datetime] = {}  # daemon name -> SIGKILLed / exit noticed
        self.replaced: list[tuple[str, str]] = []  # (exited daemon, its replacement)

    def start(self) -> E2EDaemon:
        """Start one more daemon and wait until it is ready (informers synced)."""
        return self.e2e.start_daemon(self.settings)

    def alive(self) -> list[E2EDaemon]:
        """The daemons that run."""
        return [d for d in self.e2e.daemons if d.alive()]

    def sigkill(self, daemon: E2EDaemon) -> None:
        """SIGKILL ``daemon`` (no cleanup, its Lease not released) and note when."""
        daemon.sigkill()
        self.ended_at[daemon.name] = now()

    def spans(self) -> list[Leadership]:
        """Every daemon's leadership spans, oldest first."""
        spans = [
            s for d in self.e2e.daemons for s in leaderships(d, ended_at=self.ended_at.get(d.name))
        ]
        return sorted(spans, key=lambda s: s.began)

    def leading(self, daemon: E2EDaemon) -> str | None:
        """The identity under which a live ``daemon`` leads now (its log says so), or None."""
        spans = leaderships(daemon, ended_at=None)
        return spans[-1].identity if spans and spans[-1].ended is None else None

    def replace_exited(self) -> None:
        """Restart each daemon that exited on its own after losing its lease; fail on any
        other exit (a crash)."""
        for daemon in list(self.e2e.daemons):
            if daemon.killed or daemon.alive() or daemon.name in self.ended_at:
                continue
            self.ended_at[daemon.name] = now()
            code = daemon.proc.returncode if daemon.proc else None
            said = any(r.get("msg") == LOST_LEASE_EXIT for r in log_records(daemon))
            crash = f"{daemon.name} exited {code} without having lost its lease"
            assert said, f"{crash}:\n{daemon.tail(60)}"
            assert code == EXIT_LOST_LEASE, f"{crash}:\n{daemon.tail(60)}"
            self.replaced.append((daemon.name, self.start().name))

    def lease(self) -> JSON:
        """The leader-election Lease in the test's namespace."""
        path = f"/apis/coordination.k8s.io/v1/namespaces/{self.e2e.ns.name}/leases/{LEASE_NAME}"
        return self.e2e.api.get(path)

    def leader_since(
        self, since: dt.datetime, *, among: Callable[[], Iterable[E2EDaemon]] | None = None
    ) -> Probe:
        """Probe: a live daemon (of ``among()`` if given) leads, and the Lease names it with a
        renewal written after ``since``."""

        def probe() -> list[str]:
            spec = self.lease().get("spec") or {}
            holder, renewed = spec.get("holderIdentity"), spec.get("renewTime")
            candidates = list(among() if among else self.alive())
            leaders = [d.name for d in candidates if d.alive() and self.leading(d) == holder]
            missing = [] if leaders else [f"the Lease names {holder!r}, no candidate leading"]
            if renewed is None or parse_time(renewed) <= since:
                missing.append(f"the Lease was last renewed {renewed}, not since {since}")
            return missing

        return probe

    def leader(self) -> E2EDaemon:
        """The one live daemon that leads."""
        leaders = [d for d in self.alive() if self.leading(d)]
        assert len(leaders) == 1, f"want one live leader, have {[d.name for d in leaders]}"
        return leaders[0]

    def wait_until(self, probe: Probe, *, what: str, timeout: float = WAIT) -> float:
        """``E2E.wait_until`` that replaces daemons that gave their lease up on every poll."""
        began = time.monotonic()
        missing: list[str] = ["(never probed)"]
        while True:
            self.replace_exited()  # before the check, which fails on a daemon that exited
            self.e2e.testenv.check_alive()
            if self.e2e.sim is not None:
                self.e2e.sim.check_alive()
            try:
                missing = probe()
            except (ApiError, OSError, SimulatorError) as err:  # slow or restarting: again
                missing = [f"read failed: {err}"]
            if not missing:
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                shown = "\n  ".join(missing[:20])
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}:\n  {shown}"
                )
            time.sleep(POLL)
