"""The scale-down planner's policy and the drain's limits, from the daemon's settings."""

from __future__ import annotations

from autoscaler.controllers.drain_pods import DrainSettings
from autoscaler.core.scale_down_plan import ScaleDownPolicy
from autoscaler.settings import ScalingSettings

__all__ = ["drain_settings_of", "scale_down_policy_of"]


def scale_down_policy_of(settings: ScalingSettings) -> ScaleDownPolicy:
    """Budgets of one scale-down pass (the candidate weights and node checks keep their
    documented defaults)."""
    return ScaleDownPolicy(
        max_empty_bulk_delete=settings.max_empty_bulk_delete,
        max_drain_parallelism=settings.max_drain_parallelism,
    )


def drain_settings_of(settings: ScalingSettings) -> DrainSettings:
    """The drain's grace cap, per-pod eviction deadline and overall timeout."""
    return DrainSettings(
        max_graceful_termination_s=settings.max_graceful_termination_s,
        pod_eviction_timeout_s=settings.max_pod_eviction_time_s,
        drain_timeout_s=settings.drain_timeout_s,
    )
