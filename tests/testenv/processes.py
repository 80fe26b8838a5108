"""Component processes: free loopback ports, process groups, logs and teardown (testenv.md §5)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE_SECONDS = 5.0
PR_SET_PDEATHSIG = 1
ADDRESS_IN_USE = "address already in use"


class ComponentDied(RuntimeError):
    """A component exited while the plane was starting or running."""

    def __init__(self, name: str, returncode: int | None, tail: str) -> None:
        super().__init__(f"{name} exited with {returncode}; last log lines:\n{tail}")
        self.name = name
        self.port_conflict = ADDRESS_IN_USE in tail.lower()


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free TCP ports on 127.0.0.1 (all held open while choosing)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def tail_file(path: Path, lines: int = 100) -> str:
    """The last ``lines`` lines of a text file, or a note if it does not exist."""
    if not path.exists():
        return f"(no {path.name})"
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 256 * 1024))
        data = fh.read().decode(errors="replace")
    return "\n".join(data.splitlines()[-lines:])


@dataclass
class Component:
    """One plane process: fixed argv and environment, its own process group and log file."""

    name: str
    argv: list[str]
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """``$D/logs/<name>.log``; restarts append to it."""
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        """Start the process as the leader of a new session (and so of a process group)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"=== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509 -- one prctl call, no locks
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=self.log_dir.parent,
                start_new_session=True,
            )
        with (self.log_dir.parent / "pids").open("a") as pids:
            pids.write(f"{self.proc.pid} {self.name}\n")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Raise :class:`ComponentDied` with the log tail if the process has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise ComponentDied(self.name, self.proc.returncode, tail_file(self.log_path, 40))

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is not None:
            return  # already reaped: its pid may be reused, so signal nothing
        _signal_group(proc.pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_GRACE_SECONDS)


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, from the main thread: SIGKILL the child when its parent dies (even by SIGKILL).

    The kernel ties this to the *thread* that forked, so it is skipped off the main thread
    (a worker thread's exit would otherwise kill a component restarted from it).
    """
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal a process group we created; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
