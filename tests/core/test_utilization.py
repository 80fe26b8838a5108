"""Requests utilization as CA computes it, and the first-seen times of unneeded nodes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from autoscaler.core.records import PodRecord
from autoscaler.core.utilization import Utilization, requests_utilization, unneeded_since
from tests.core.factories import NOW, daemonset_pod, mirror_pod, node, pod

EARLIER = NOW - dt.timedelta(minutes=7)


@pytest.mark.parametrize(
    ("pods", "cpu", "memory"),
    [
        pytest.param([], 0.0, 0.0, id="empty-node"),
        pytest.param(
            [pod(node_name="n", cpu_m=1000, memory="4Gi")] * 2, 0.5, 0.5, id="requests-summed"
        ),
        pytest.param([pod(node_name="n", cpu_m=3000, memory="2Gi")], 0.75, 0.125, id="cpu-bound"),
        pytest.param([pod(node_name="n", cpu_m=400, memory="12Gi")], 0.1, 0.75, id="memory-bound"),
        pytest.param(
            [pod(node_name="n", cpu_m=1000, memory="4Gi"), daemonset_pod("ds", cpu_m=2000)],
            0.25,
            0.25,
            id="daemonset-pods-left-out",
        ),
        pytest.param(
            [pod(node_name="n", cpu_m=1000, memory="4Gi"), mirror_pod("etcd", cpu_m=2000)],
            0.25,
            0.25,
            id="mirror-pods-left-out",
        ),
        pytest.param(
            [
                pod(node_name="n", cpu_m=1000, memory="4Gi"),
                pod(node_name="n", cpu_m=2000, phase="Succeeded"),
                pod(node_name="n", cpu_m=2000, phase="Failed"),
            ],
            0.25,
            0.25,
            id="finished-pods-left-out",
        ),
        pytest.param(
            [pod(node_name="n", cpu_m=6000, memory="20Gi")], 1.5, 1.25, id="overcommitted"
        ),
    ],
)
def test_requests_utilization(pods: list[PodRecord], cpu: float, memory: float) -> None:
    used = requests_utilization(node("n", cpu_m=4000, memory="16Gi"), pods)
    assert (used.cpu, used.memory, used.value) == (cpu, memory, max(cpu, memory))


@pytest.mark.parametrize(
    ("cpu_m", "memory", "expected"),
    [
        pytest.param(0, "16Gi", Utilization(cpu=1.0, memory=0.0625), id="no-allocatable-cpu"),
        pytest.param(4000, 0, Utilization(cpu=0.25, memory=1.0), id="no-allocatable-memory"),
        pytest.param(0, 0, Utilization(cpu=1.0, memory=1.0), id="nothing-allocatable"),
    ],
)
def test_requests_utilization_without_allocatable_is_full(
    cpu_m: int, memory: int | str, expected: Utilization
) -> None:
    pods = [pod(node_name="n", cpu_m=1000, memory="1Gi")]
    assert requests_utilization(node("n", cpu_m=cpu_m, memory=memory), pods) == expected


def test_empty_node_without_allocatable_is_never_underutilized() -> None:
    assert requests_utilization(node("n", cpu_m=0, memory=0), []).value == 1.0


def test_utilization_is_frozen() -> None:
    used = Utilization(cpu=0.1, memory=0.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        used.cpu = 0.9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("previous", "utilization", "thresholds", "expected"),
    [
        pytest.param({}, {"a": 0.2}, {"a": 0.5}, {"a": NOW}, id="newly-unneeded-starts-now"),
        pytest.param(
            {"a": EARLIER}, {"a": 0.2}, {"a": 0.5}, {"a": EARLIER}, id="keeps-first-seen-time"
        ),
        pytest.param({"a": EARLIER}, {"a": 0.5}, {"a": 0.5}, {}, id="at-threshold-dropped"),
        pytest.param({"a": EARLIER}, {"a": 0.9}, {"a": 0.5}, {}, id="over-threshold-dropped"),
        pytest.param({"a": EARLIER}, {}, {"a": 0.5}, {}, id="gone-node-dropped"),
        pytest.param({"a": EARLIER}, {"a": 0.1}, {}, {}, id="node-without-threshold-dropped"),
        pytest.param({"a": EARLIER}, {"a": math.nan}, {"a": 0.5}, {}, id="nan-dropped"),
        pytest.param(
            {"a": EARLIER, "b": EARLIER},
            {"a": 0.1, "b": 0.6, "c": 0.3},
            {"a": 0.5, "b": 0.7, "c": 0.2},
            {"a": EARLIER, "b": EARLIER},
            id="per-node-thresholds",
        ),
    ],
)
def test_unneeded_since(
    previous: dict[str, dt.datetime],
    utilization: dict[str, float],
    thresholds: dict[str, float],
    expected: dict[str, dt.datetime],
) -> None:
    before = dict(previous)
    assert unneeded_since(previous, utilization, thresholds, NOW) == expected
    assert previous == before
