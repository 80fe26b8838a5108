"""Volume facts for the drain rules, computed from cached PVCs and PVs (review MED-2).

The scale-down planner never asks the API server about a claim: it reads the informer caches
and turns them into a ``VolumeFacts`` mapping with ``volume_facts``. What the caches cannot
answer is left out of the mapping on purpose, so the pod rule blocks the node with
``VolumeUnknown`` and the next pass looks again; a cache miss is never read as "unsafe" or
as "safe".

Only PVs are consulted for where data lives: ``spec.local``, ``spec.hostPath`` and required
node affinity are all on the PV (``PvRecord.kind``), so StorageClasses are not needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from autoscaler.core.drainability import VolumeState
from autoscaler.core.records import PvcRecord, PvRecord

__all__ = ["volume_facts"]

BOUND = "Bound"


def _state(pvc: PvcRecord, pvs: Mapping[str, PvRecord]) -> VolumeState | None:
    """The state of one claim, or ``None`` when the caches cannot tell."""
    if pvc.volume_name is None:
        # A claim that says it is Bound but names no volume is inconsistent: unknown.
        return None if pvc.phase == BOUND else VolumeState.UNBOUND
    pv = pvs.get(pvc.volume_name)
    if pv is None:
        return None  # the PV is not (or no longer) in the cache
    return VolumeState.BOUND_LOCAL if pv.is_local else VolumeState.BOUND_NETWORK


def volume_facts(pvcs: Iterable[PvcRecord], pvs: Mapping[str, PvRecord]) -> dict[str, VolumeState]:
    """Return ``namespace/claim`` → ``VolumeState`` for every claim the caches can answer.

    ``pvs`` maps a PV's name to its record (an informer store keyed by name works as is).
    A claim with a volume name is ``BOUND_LOCAL`` when that PV is ``local``, ``hostPath`` or
    pinned by node affinity, else ``BOUND_NETWORK``. A claim with no volume name (``Pending``)
    is ``UNBOUND``. A claim whose volume is not in ``pvs``, or that reports ``Bound`` without
    naming a volume, is left out: the drain rule then blocks with ``VolumeUnknown``.
    """
    facts: dict[str, VolumeState] = {}
    for pvc in pvcs:
        state = _state(pvc, pvs)
        if state is not None:
            facts[pvc.key] = state
    return facts
