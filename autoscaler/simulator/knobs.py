"""World knobs of the simulator (contract §8): delays, fates, quotas, response shapes.

``Knobs`` holds the behaviour of the simulated VPSie account. A fault rule (``faults.py``)
can override any part of it for the calls it matches, with a partial mapping merged onto
the current knobs (``merge_knobs``). A ``Delay`` is written as a number of seconds or as
``{"seconds": s, "jitter": j}``; the jitter is drawn uniformly from ``[0, j]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Rate = float  # a probability in [0, 1]


class _Knob(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Delay(_Knob):
    """A delay in simulated seconds, plus a uniform jitter in ``[0, jitter]``."""

    seconds: float = Field(0.0, ge=0)
    jitter: float = Field(0.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"seconds": value}
        return value


def _delay(seconds: float) -> Any:
    return Field(default_factory=lambda: Delay(seconds=seconds))


class ProvisionKnobs(_Knob):
    """Stage delays of §5.1 (each after the previous stage) and provisioning fates."""

    pending_delay: Delay = _delay(0)
    list_delay: Delay = _delay(20)
    boot_delay: Delay = _delay(20)
    join_delay: Delay = _delay(20)
    ready_delay: Delay = _delay(15)
    delete_delay: Delay = _delay(10)
    stuck_pending_rate: Rate = Field(0.0, ge=0, le=1)
    fail_provision_rate: Rate = Field(0.0, ge=0, le=1)


class JoinKnobs(_Knob):
    """How workers join Kubernetes: extra delay, and workers that never join."""

    slow_join: Delay = _delay(0)
    never_join_rate: Rate = Field(0.0, ge=0, le=1)
    never_join_mode: Literal["no_node", "not_ready"] = "no_node"


class QuotaKnobs(_Knob):
    """Account limits; with a cluster's or group's own ``max_workers``, the lower one holds."""

    max_vms: int | None = Field(50, ge=0)
    max_workers: int | None = Field(None, ge=0, description="per cluster")
    max_workers_per_group: int | None = Field(None, ge=0)


class ShapeKnobs(_Knob):
    """Variants of the response shapes that only A or I evidence supports."""

    add_slave_returns: Literal["true", "object"] = "true"
    nodes_missing_identifier: bool = False
    vm_prefixes: Literal["both", "api", "apps"] = "both"
    hostname_case: Literal["lower", "upper"] = "lower"
    mirror_workers: bool = Field(True, description="list VKE workers as VMs in V1")
    count_when_listed: bool = Field(False, description="K4 raises nodes_count only when listed")
    price_as_string: bool = False
    numeric_flags_ignored: bool = Field(False, description="as live VPSie: only '0'/'1' count")


class AuthKnobs(_Knob):
    """C1: token lifetime (simulated seconds) and the body encodings it accepts."""

    token_ttl: float = Field(3600.0, gt=0)
    exchange_encodings: Literal["both", "form", "json"] = Field(
        "both", description="the other encoding gets 415, to test the client's fallback"
    )


class BridgeKnobs(_Knob):
    """Options for the Kubernetes Node hook; handed to it in every ``WorkerRecord``."""

    vke_group_label: str | None = None
    provider_id: Literal["short", "long", "none"] = "short"
    leave_node_behind: bool = False


class Knobs(_Knob):
    """Every world knob of §8 except the per-call faults (see ``FaultRule``)."""

    business_error_status: Literal[200, 400] = 200
    account_password: str = "sim-password"
    auth: AuthKnobs = Field(default_factory=AuthKnobs)
    provision: ProvisionKnobs = Field(default_factory=ProvisionKnobs)
    join: JoinKnobs = Field(default_factory=JoinKnobs)
    quota: QuotaKnobs = Field(default_factory=QuotaKnobs)
    shape: ShapeKnobs = Field(default_factory=ShapeKnobs)
    bridge: BridgeKnobs = Field(default_factory=BridgeKnobs)


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            out[key] = _deep_merge(current, value)
        else:
            out[key] = value
    return out


def merge_knobs(base: Knobs, overrides: Iterable[Mapping[str, Any]]) -> Knobs:
    """Return ``base`` with each partial mapping of ``overrides`` merged on, in order."""
    layers = [o for o in overrides if o]
    if not layers:
        return base
    data = base.model_dump()
    for layer in layers:
        data = _deep_merge(data, layer)
    return Knobs.model_validate(data)
