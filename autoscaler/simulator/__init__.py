"""The VPSie API simulator (contract §8): an aiohttp app serving every route of §4.

Sibling of ``autoscaler.kube`` and ``autoscaler.vpsie``, and independent of both.

    app = create_app(SimulatorConfig(clock={"mode": "manual"}), node_hook=my_hook)
    await serve(load_config(path), host="127.0.0.1", port=8480)

Modules: ``config``/``catalogue``/``knobs``/``rules`` (what can be configured), ``world``,
``provisioning`` and ``lifecycle`` (state and its lazy transitions), ``faults``,
``pipeline`` and the ``routes_*`` modules (serving calls), ``admin`` (``/__sim/``),
``hooks`` (the Node hook interface), ``serving`` (running it as a server).
"""

from autoscaler.simulator.app import create_app
from autoscaler.simulator.clock import SimClock
from autoscaler.simulator.config import SimulatorConfig, load_config
from autoscaler.simulator.hooks import NodeHook, NoopHook, WorkerRecord
from autoscaler.simulator.knobs import Knobs
from autoscaler.simulator.rules import FaultRule
from autoscaler.simulator.serving import add_simulator_arguments, run_simulator_cli, serve

__all__ = [
    "FaultRule",
    "Knobs",
    "NodeHook",
    "NoopHook",
    "SimClock",
    "SimulatorConfig",
    "WorkerRecord",
    "add_simulator_arguments",
    "create_app",
    "load_config",
    "run_simulator_cli",
    "serve",
]
