"""Process lifecycle: signals that begin a graceful stop, and the deadline that ends it.

The first SIGTERM/SIGINT sets ``stop``; from then on the process has
``shutdown_timeout_s`` to finish. If the graceful path has not finished by then (a
shielded cleanup stuck on a hanging server, say), the backstop logs and exits the
process with code 0, as a stop that was asked for. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop(Exception):
    """Raised inside the process TaskGroup to unwind it after a stop signal."""


class StopSignal:
    """Turns SIGTERM/SIGINT into an event, and arms the shutdown deadline on the first one."""

    def __init__(
        self,
        *,
        shutdown_timeout_s: float,
        exit_now: Callable[[int], object] = os._exit,
    ) -> None:
        self.stop = asyncio.Event()
        self._timeout = shutdown_timeout_s
        self._exit_now = exit_now
        self._backstop: asyncio.TimerHandle | None = None

    def install(self) -> None:
        """Register the signal handlers on the running loop."""
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)

    def uninstall(self) -> None:
        """Remove the handlers and disarm the backstop (the graceful path finished)."""
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        if self._backstop is not None:
            self._backstop.cancel()

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.stop.is_set():
            log.warning("second signal: exiting at once", extra={"signal": sig.name})
            self._flush_and_exit()
            return
        log.info("stop requested: shutting down", extra={"signal": sig.name})
        self.stop.set()
        loop = asyncio.get_running_loop()
        self._backstop = loop.call_later(self._timeout, self._deadline_passed)

    def _deadline_passed(self) -> None:
        log.error(
            "graceful shutdown exceeded its deadline: exiting",
            extra={"deadline_s": self._timeout},
        )
        self._flush_and_exit()

    def _flush_and_exit(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        self._exit_now(0)

    async def wait_then_unwind(self) -> None:
        """Wait for the stop signal, then raise ``GracefulStop`` to unwind the TaskGroup."""
        await self.stop.wait()
        raise GracefulStop
