"""What one new node of a group offers and costs, from VPSie, cached for a while.

Both come from calls (the group's size or plan, and the offers with their prices) that
change rarely, so each group's answer is kept ``ttl`` seconds. A failed lookup is cached
too, for a shorter time, so a VPSie outage does not add a call to every decision.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from autoscaler.clock import Clock
from autoscaler.vpsie.errors import VPSieError
from autoscaler.vpsie.provider import GroupSpec, Provider
from autoscaler.vpsie.templates import NodeTemplate

log = logging.getLogger(__name__)


class Catalogue:
    """Node templates and monthly prices per group spec, cached."""

    def __init__(
        self, provider: Provider, *, clock: Clock, ttl: float = 600.0, error_ttl: float = 30.0
    ) -> None:
        self._provider = provider
        self._clock = clock
        self._ttl = ttl
        self._error_ttl = error_ttl
        self._templates: dict[GroupSpec, tuple[float, NodeTemplate | None]] = {}
        self._prices: dict[str, tuple[float, Decimal | None]] = {}

    def _fresh(self, stamp: float, ok: bool) -> bool:
        age = self._clock.monotonic() - stamp
        return age < (self._ttl if ok else self._error_ttl)

    async def template(self, spec: GroupSpec) -> NodeTemplate | None:
        """What a new worker of ``spec`` offers; ``None`` when VPSie cannot say."""
        cached = self._templates.get(spec)
        if cached is not None and self._fresh(cached[0], cached[1] is not None):
            return cached[1]
        try:
            found: NodeTemplate | None = await self._provider.node_template(spec)
        except VPSieError as err:
            log.info("node template unknown", extra={"nodegroup": spec.name, "error": str(err)})
            found = None
        self._templates[spec] = (self._clock.monotonic(), found)
        return found

    async def price(self, spec: GroupSpec) -> Decimal | None:
        """The monthly price of one worker of ``spec``; ``None`` when unknown."""
        cached = self._prices.get(spec.name)
        if cached is not None and self._fresh(cached[0], True):
            return cached[1]
        try:
            price = (await self._provider.price(spec)).monthly
        except VPSieError as err:
            log.info("price unknown", extra={"nodegroup": spec.name, "error": str(err)})
            price = None
        self._prices[spec.name] = (self._clock.monotonic(), price)
        return price
