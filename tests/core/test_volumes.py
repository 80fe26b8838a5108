"""``volume_facts``: cached PVCs and PVs → the claim states the drain rules read (MED-2)."""

from __future__ import annotations

import pytest

from autoscaler.core.drainability import BlockReason, Outcome, VolumeState, pod_disposition
from autoscaler.core.records import PvcRecord, PvKind, PvRecord
from autoscaler.core.volumes import volume_facts
from tests.core.factories import NOW, placed_pod

NET, LOCAL, UNBOUND = VolumeState.BOUND_NETWORK, VolumeState.BOUND_LOCAL, VolumeState.UNBOUND


def pvc(name: str, volume: str | None = None, *, phase: str | None = None) -> PvcRecord:
    return PvcRecord(
        namespace="shop",
        name=name,
        uid=f"uid-{name}",
        resource_version="1",
        volume_name=volume,
        phase=phase or ("Bound" if volume else "Pending"),
        storage_class=None,
    )


def pv(name: str, kind: PvKind) -> PvRecord:
    return PvRecord(
        name=name, uid=f"uid-{name}", resource_version="1", claim=None, kind=kind, phase="Bound"
    )


PVS = {
    p.name: p
    for p in (
        pv("net", PvKind.NETWORK),
        pv("local", PvKind.LOCAL),
        pv("host", PvKind.HOST_PATH),
    )
}


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        pytest.param([pvc("a", "net")], {"shop/a": NET}, id="bound-to-network-volume"),
        pytest.param([pvc("a", "local")], {"shop/a": LOCAL}, id="bound-to-local-or-pinned-volume"),
        pytest.param([pvc("a", "host")], {"shop/a": LOCAL}, id="bound-to-host-path-volume"),
        pytest.param([pvc("a")], {"shop/a": UNBOUND}, id="pending-claim-is-unbound"),
        pytest.param([pvc("a", "gone")], {}, id="volume-not-in-cache-is-left-out"),
        pytest.param(
            [pvc("a", "gone", phase="Lost")], {}, id="lost-claim-whose-volume-is-gone-is-left-out"
        ),
        pytest.param(
            [pvc("a", "net", phase="Pending")], {"shop/a": NET}, id="volume-named-but-not-yet-bound"
        ),
        pytest.param([pvc("a", phase="Bound")], {}, id="bound-without-volume-name-is-left-out"),
        pytest.param(
            [pvc("a", "net"), pvc("b", "local"), pvc("c"), pvc("d", "gone")],
            {"shop/a": NET, "shop/b": LOCAL, "shop/c": UNBOUND},
            id="mixed",
        ),
        pytest.param([], {}, id="no-claims"),
    ],
)
def test_volume_facts(claims: list[PvcRecord], expected: dict[str, VolumeState]) -> None:
    assert volume_facts(claims, PVS) == expected


@pytest.mark.parametrize(
    ("claim", "outcome", "reason"),
    [
        pytest.param(
            pvc("data", "gone"), Outcome.BLOCK, BlockReason.VOLUME_UNKNOWN, id="cache-miss"
        ),
        pytest.param(
            pvc("data", "local"), Outcome.BLOCK, BlockReason.LOCAL_STORAGE_REQUESTED, id="local"
        ),
        pytest.param(pvc("data", "net"), Outcome.MOVE, None, id="network"),
        pytest.param(pvc("data"), Outcome.MOVE, None, id="unbound"),
    ],
)
def test_facts_drive_the_pod_rule(
    claim: PvcRecord, outcome: Outcome, reason: BlockReason | None
) -> None:
    """A PV cache miss blocks with ``VolumeUnknown`` (a reason), never an "unsafe" verdict."""
    pod = placed_pod("web-1", namespace="shop", pvc_claims=["data"])
    got = pod_disposition(pod, pdbs=(), volumes=volume_facts([claim], PVS), now=NOW)
    assert (got.outcome, got.reason) == (outcome, reason)
