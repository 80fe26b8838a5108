"""``Simulation``: the world plus everything that acts on it (clock, faults, tokens, hooks).

``settle()`` moves the world to the clock's present and delivers the hook events that
causes; the request pipeline calls it before and after every handler, the admin API after
every clock advance, and a background ticker (real and scaled clocks only) once a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from autoscaler.simulator.auth import TokenStore
from autoscaler.simulator.calls import CallLog
from autoscaler.simulator.clock import SimClock
from autoscaler.simulator.config import SimulatorConfig
from autoscaler.simulator.faults import FaultEngine
from autoscaler.simulator.hooks import HookEvent, HookRunner, NodeHook
from autoscaler.simulator.knobs import Knobs, merge_knobs
from autoscaler.simulator.lifecycle import advance, hook_event, jittered, kill
from autoscaler.simulator.provisioning import build_world
from autoscaler.simulator.rng import RngStreams
from autoscaler.simulator.routing import Router
from autoscaler.simulator.rules import FaultRule
from autoscaler.simulator.world import World


class Simulation:
    """One simulated VPSie account; ``reset`` starts it again from its configuration."""

    def __init__(
        self, config: SimulatorConfig, *, clock: SimClock, hook: NodeHook, router: Router
    ) -> None:
        self.config = config
        self.clock = clock
        self.router = router
        self.hooks = HookRunner(hook)
        self.calls = CallLog()
        self.stopping = asyncio.Event()
        self._begin(config.seed)

    def _begin(self, seed: int) -> None:
        self.seed = seed
        self.rngs = RngStreams(seed)
        self.knobs: Knobs = self.config.knobs
        self.faults = FaultEngine(self.config.faults, self.rngs)
        self.tokens = TokenStore(self.config.auth)
        self.world: World = build_world(
            self.config, rngs=self.rngs, knobs=self.knobs, stamp=self.clock.stamp
        )

    async def settle(self) -> None:
        """Apply the transitions due now and deliver their hook events."""
        self.hooks.enqueue(advance(self.world, self.clock.now()))
        await self.hooks.flush()

    async def reset(self, seed: int | None = None) -> None:
        """Back to the configured state (clock at t=0), with ``seed`` or the configured one.

        Registered workers are reported deleted first, so a bridge removes their Nodes.
        """
        events = [
            hook_event(self.world, m, "deleted")
            for m in self.world.machines.values()
            if m.live and m.registered
        ]
        self.hooks.enqueue(events)
        await self.hooks.flush()
        self.hooks.delivered = self.hooks.errors = 0
        self.clock.restart()
        self._begin(self.config.seed if seed is None else seed)
        self.calls.reset()
        await self.settle()

    def set_faults(self, rules: list[FaultRule], knobs: Mapping[str, Any]) -> None:
        """Replace the rules, and set the knobs to the configured ones with ``knobs`` merged.

        Raises ``ValueError`` when the knobs, or a rule's knob override, are invalid.
        """
        new_knobs = merge_knobs(self.config.knobs, [knobs])
        for i, rule in enumerate(rules):
            try:
                merge_knobs(new_knobs, [rule.knobs])
            except ValueError as err:
                raise ValueError(f"rules[{i}].knobs: {err}") from err
        self.knobs = new_knobs
        self.faults = FaultEngine(rules, self.rngs)

    def clear_faults(self) -> None:
        """No rules, and the configured knobs."""
        self.set_faults([], {})

    def kill(self, identifier: str) -> list[HookEvent] | None:
        """Lose a live machine out of band (None if there is no such machine)."""
        machine = self.world.machines.get(identifier)
        if machine is None or not machine.live:
            return None
        delay = jittered(self.rngs.stream("kill"), self.knobs.provision.delete_delay)
        return kill(self.world, machine, now=self.clock.now(), delay=delay)
