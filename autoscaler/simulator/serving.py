"""Running the simulator as a server: ``serve`` (a coroutine) and ``run_simulator_cli``.

``vpsie-autoscaler simulator --port 8480 --config world.yaml --seed 7`` is wired as::

    add_simulator_arguments(subparser)  # --host --port --config --seed --clock --clock-factor
    return run_simulator_cli(**simulator_options(args))

``--kubeconfig PATH`` installs the Kubernetes Node bridge (``bridge.py``) as the node hook:
every worker that joins becomes a Node of that cluster, each with the ``--node-label``s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from autoscaler.simulator.app import create_app
from autoscaler.simulator.bridge import BridgeError, open_bridge
from autoscaler.simulator.bridge_nodes import NodeOptions, parse_label
from autoscaler.simulator.clock import SimClock
from autoscaler.simulator.config import SimulatorConfig, load_config
from autoscaler.simulator.hooks import NodeHook

log = logging.getLogger(__name__)
DEFAULT_PORT = 8480


async def serve(
    config: SimulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    clock: SimClock | None = None,
    node_hook: NodeHook | None = None,
    bound: asyncio.Future[int] | None = None,
) -> None:
    """Serve the simulator until cancelled; report the bound port through ``bound``."""
    app = create_app(config, clock=clock, node_hook=node_hook)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        actual = runner.addresses[0][1]
        log.info("simulator listening", extra={"host": host, "port": actual})
        if bound is not None:
            bound.set_result(actual)
        await asyncio.Event().wait()  # serve until cancelled
    finally:
        async with asyncio.timeout(5):
            await runner.cleanup()


def add_simulator_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``vpsie-autoscaler simulator``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free one)")
    parser.add_argument("--config", type=Path, default=None, help="world file (YAML or JSON)")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument(
        "--clock", choices=["real", "scaled", "manual"], default=None, help="clock mode"
    )
    parser.add_argument(
        "--clock-factor", type=float, default=None, help="speed-up of the scaled clock"
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="create a Kubernetes Node (kwok-managed) in this cluster for every worker that joins",
    )
    parser.add_argument(
        "--node-label",
        dest="node_labels",
        action="append",
        type=_label_flag,
        default=None,
        metavar="KEY=VALUE",
        help="extra label on every Node the bridge creates (repeatable; with --kubeconfig)",
    )


def _label_flag(text: str) -> tuple[str, str]:
    try:
        return parse_label(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def simulator_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``run_simulator_cli`` from parsed flags."""
    options = {
        "host": args.host,
        "port": args.port,
        "config": args.config,
        "seed": args.seed,
        "clock": args.clock,
        "clock_factor": args.clock_factor,
    }
    if args.kubeconfig is not None:  # the bridge's flags, only when given
        options["kubeconfig"] = args.kubeconfig
    if args.node_labels:
        options["node_labels"] = args.node_labels
    return options


def configure(
    config: SimulatorConfig,
    *,
    seed: int | None = None,
    clock: Literal["real", "scaled", "manual"] | None = None,
    clock_factor: float | None = None,
) -> SimulatorConfig:
    """``config`` with the command-line overrides applied."""
    clock_update: dict[str, Any] = {}
    if clock is not None:
        clock_update["mode"] = clock
    if clock_factor is not None:
        clock_update["factor"] = clock_factor
    update: dict[str, Any] = {"clock": config.clock.model_copy(update=clock_update)}
    if seed is not None:
        update["seed"] = seed
    return SimulatorConfig.model_validate(config.model_dump() | update)


def run_simulator_cli(
    *,
    port: int = DEFAULT_PORT,
    config: Path | None = None,
    seed: int | None = None,
    host: str = "127.0.0.1",
    clock: Literal["real", "scaled", "manual"] | None = None,
    clock_factor: float | None = None,
    kubeconfig: Path | None = None,
    node_labels: Sequence[tuple[str, str]] = (),
) -> int:
    """Load the world file, then serve until SIGINT or SIGTERM; return the exit code.

    With ``kubeconfig``, workers become Nodes of that cluster (exit code 2 if unreadable).
    """
    settings = configure(load_config(config), seed=seed, clock=clock, clock_factor=clock_factor)
    if node_labels and kubeconfig is None:
        log.warning("--node-label has no effect without --kubeconfig")

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            async with contextlib.AsyncExitStack() as stack:
                hook = None
                if kubeconfig is not None:
                    options = NodeOptions(extra_labels=dict(node_labels))
                    hook = await stack.enter_async_context(open_bridge(kubeconfig, options=options))
                await serve(settings, host=host, port=port, node_hook=hook)
        except asyncio.CancelledError:
            log.info("simulator stopped")

    try:
        asyncio.run(main())
    except BridgeError as err:
        log.error("cannot start the Node bridge: %s", err)
        return 2
    return 0
