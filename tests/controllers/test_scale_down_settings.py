"""Scale-down settings reach the planner's budgets and the drain's limits."""

from __future__ import annotations

from autoscaler.controllers.scale_down_settings import drain_settings_of, scale_down_policy_of
from autoscaler.settings import ScalingSettings


def test_budgets_and_drain_limits_come_from_the_settings() -> None:
    settings = ScalingSettings(
        max_empty_bulk_delete=4,
        max_drain_parallelism=2,
        max_graceful_termination_s=90,
        max_pod_eviction_time_s=30,
        drain_timeout_s=240,
    )
    policy = scale_down_policy_of(settings)
    drain = drain_settings_of(settings)
    assert (policy.max_empty_bulk_delete, policy.max_drain_parallelism) == (4, 2)
    assert (
        drain.max_graceful_termination_s,
        drain.pod_eviction_timeout_s,
        drain.drain_timeout_s,
    ) == (90, 30, 240)


def test_defaults_match_cluster_autoscaler() -> None:
    drain = drain_settings_of(ScalingSettings())
    policy = scale_down_policy_of(ScalingSettings())
    assert (drain.max_graceful_termination_s, drain.pod_eviction_timeout_s) == (600, 120)
    assert (policy.max_empty_bulk_delete, policy.max_drain_parallelism) == (10, 1)
