"""Fault rules (contract §8 "Fault injection"): which calls they hit, and what they do.

A rule selects calls with ``route``: ``"*"``, a route id (``"K4"``), a method (``"POST"``),
a path template (``"/apps/v2/k8s/offers"``, ``"{vm}/{identifier}"``) or both
(``"DELETE {vm}"``), or a list of these. Each rule counts the calls it matches; it is
*armed* on a call when that call's 1-based ordinal is in ``calls`` (all calls if unset),
at most ``times`` times. An armed rule adds its ``latency``, merges its ``knobs`` override
(e.g. ``{"provision": {"stuck_pending_rate": 1}}`` for the VMs that call creates) and
draws its faults in this order: ``unauthorized`` (401), ``rate_limit`` bucket, ``429_rate``,
``error_5xx_rate``, ``hang_rate``, ``error200_rate``, ``quota_rate`` (K4 and V4 only).
The first fault that fires, over all rules in order, answers the call.

Examples: the 3rd K4 call fails with 503 -
``{"route": "K4", "calls": [3], "error_5xx_rate": 1, "error_5xx_codes": [503]}``;
a one-shot quota error on the next create - ``{"route": ["K4", "V4"], "quota_rate": 1,
"times": 1}``; a forced 401 on the next call - ``{"unauthorized_rate": 1, "times": 1}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_Rate = Field(0.0, ge=0, le=1)
Code5xx = Literal[500, 502, 503, 504]
_ALL_5XX: list[Code5xx] = [500, 502, 503, 504]


class Bucket(BaseModel):
    """A token bucket per API token: ``rate`` tokens per simulated second, ``burst`` at most."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class FaultRule(BaseModel):
    """One fault rule; see the module docstring for how rules combine."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    route: str | list[str] = "*"
    calls: list[int] | None = Field(None, description="1-based ordinals of matching calls")
    times: int | None = Field(None, ge=0, description="arm the rule at most this many times")

    latency: float = Field(0.0, ge=0)
    latency_jitter: float = Field(0.0, ge=0)
    latency_distribution: Literal["uniform", "exponential"] = "uniform"

    unauthorized_rate: float = _Rate

    rate_limit: Bucket | None = None
    rate_429: float = Field(0.0, ge=0, le=1, alias="429_rate")
    retry_after: Literal["seconds", "http-date", "absent"] = "seconds"
    retry_after_seconds: int = Field(1, ge=0, description="Retry-After of a 429_rate hit")

    error_5xx_rate: float = _Rate
    error_5xx_codes: list[Code5xx] = Field(default_factory=lambda: list(_ALL_5XX), min_length=1)
    html_502: bool = False

    hang_rate: float = _Rate
    hang_mode: Literal["never", "slow", "drop", "commit_then_hang"] = "never"
    hang_seconds: float = Field(60.0, ge=0, description="how long 'slow' waits (loop seconds)")

    error200_rate: float = _Rate
    error200_message: str = "Internal server error"

    quota_rate: float = _Rate

    knobs: dict[str, Any] = Field(default_factory=dict, description="partial Knobs override")

    def selectors(self) -> list[str]:
        """The route selectors as a list."""
        return [self.route] if isinstance(self.route, str) else list(self.route)
