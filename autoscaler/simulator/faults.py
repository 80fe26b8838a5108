"""The fault engine: applies the ``FaultRule``s (see ``rules.py``) to each call.

``decide`` is sync and draws from the route's own fault stream (``faults/<route id>``), and
only when a rate lies strictly between 0 and 1, so rates of 0 and 1 cost no draws.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from autoscaler.simulator.rng import RngStreams
from autoscaler.simulator.routing import Route
from autoscaler.simulator.rules import FaultRule

CREATE_ROUTES = frozenset({"K4", "V4"})


@dataclass(frozen=True, slots=True)
class Fault:
    """What answers a call instead of its handler (or, for hangs, around it)."""

    kind: Literal["unauthorized", "rate_limited", "error_5xx", "hang", "error200", "quota"]
    code: int = 0
    html: bool = False
    retry_after: int = 0
    retry_style: str = "seconds"
    hang_mode: str = "never"
    hang_seconds: float = 0.0
    message: str = ""

    def label(self) -> str:
        """A short label for the call log."""
        if self.kind == "error_5xx":
            return f"error_5xx:{self.code}"
        if self.kind == "hang":
            return f"hang:{self.hang_mode}"
        return self.kind


@dataclass(slots=True)
class Decision:
    """The faults for one call: extra latency, at most one fault, and knob overrides."""

    latency: float = 0.0
    fault: Fault | None = None
    overrides: list[dict[str, Any]] = field(default_factory=list)


def _hit(rng: random.Random, rate: float) -> bool:
    if rate >= 1:
        return True
    return rate > 0 and rng.random() < rate


class FaultEngine:
    """The current rules, with their call counters and token buckets."""

    def __init__(self, rules: list[FaultRule], rngs: RngStreams) -> None:
        self.rules = list(rules)
        self._rngs = rngs
        self._matched = [0] * len(rules)
        self._armed = [0] * len(rules)
        self._buckets: dict[tuple[int, str], tuple[float, float]] = {}

    def decide(self, route: Route, *, token: str | None, now: float) -> Decision:
        """Count the call against every matching rule and draw its faults."""
        decision = Decision()
        rng = self._rngs.stream(f"faults/{route.id}")
        for index, rule in enumerate(self.rules):
            if not any(route.matches(s) for s in rule.selectors()):
                continue
            self._matched[index] += 1
            if rule.calls is not None and self._matched[index] not in rule.calls:
                continue
            if rule.times is not None and self._armed[index] >= rule.times:
                continue
            self._armed[index] += 1
            decision.latency += _latency(rng, rule)
            if rule.knobs:
                decision.overrides.append(rule.knobs)
            if decision.fault is None:
                decision.fault = self._draw(
                    rng, rule, index=index, route=route, token=token or "", now=now
                )
        return decision

    def _draw(
        self,
        rng: random.Random,
        rule: FaultRule,
        *,
        index: int,
        route: Route,
        token: str,
        now: float,
    ) -> Fault | None:
        if _hit(rng, rule.unauthorized_rate):
            return Fault("unauthorized", code=401)
        if rule.rate_limit is not None:
            wait = self._take((index, token), rule, now)
            if wait is not None:
                return Fault(
                    "rate_limited", code=429, retry_after=wait, retry_style=rule.retry_after
                )
        if _hit(rng, rule.rate_429):
            return Fault(
                "rate_limited",
                code=429,
                retry_after=rule.retry_after_seconds,
                retry_style=rule.retry_after,
            )
        if _hit(rng, rule.error_5xx_rate):
            codes = rule.error_5xx_codes
            code = codes[0] if len(codes) == 1 else rng.choice(codes)
            return Fault("error_5xx", code=code, html=rule.html_502)
        if _hit(rng, rule.hang_rate):
            return Fault("hang", hang_mode=rule.hang_mode, hang_seconds=rule.hang_seconds)
        if _hit(rng, rule.error200_rate):
            return Fault("error200", code=200, message=rule.error200_message)
        if route.id in CREATE_ROUTES and _hit(rng, rule.quota_rate):
            return Fault("quota")
        return None

    def _take(self, key: tuple[int, str], rule: FaultRule, now: float) -> int | None:
        """Take a token from the bucket; if empty, the whole seconds until one is back."""
        assert rule.rate_limit is not None
        rate, burst = rule.rate_limit.rate, rule.rate_limit.burst
        tokens, last = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / rate))


def _latency(rng: random.Random, rule: FaultRule) -> float:
    if rule.latency_jitter <= 0:
        return rule.latency
    if rule.latency_distribution == "exponential":
        return rule.latency + rng.expovariate(1 / rule.latency_jitter)
    return rule.latency + rng.random() * rule.latency_jitter
