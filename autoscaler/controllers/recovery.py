"""Crash recovery of VKE creates whose claim was lost with the process; pure.

A VKE create returns no identifier, and the provider's claims live in memory. So before
each create the VPSieNode records the group's workers (``known-workers``); after a restart
a VPSieNode still Provisioning without an identifier is matched to a worker that

* is listed in its group with an identifier,
* is owned by no other VPSieNode (identifier or hostname),
* was not among the workers the VPSieNode recorded before its create call,

oldest VPSieNode first (by create request time, then name), each worker at most once,
in listing order. A worker that predates every recorded create is never taken: nothing
proves we created it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from autoscaler.vpsie.provider import Worker


@dataclasses.dataclass(frozen=True, slots=True)
class LostCreate:
    """A VPSieNode waiting for its worker, without a claim in this process."""

    key: str
    requested_at: dt.datetime
    known: frozenset[str]


def worker_aliases(worker: Worker) -> frozenset[str]:
    """What names a worker: identifier and lowercased hostname."""
    names = {worker.identifier or "", (worker.hostname or "").lower()}
    return frozenset(n for n in names if n)


def assign(
    lost: Iterable[LostCreate], *, workers: Sequence[Worker], owned: frozenset[str]
) -> Mapping[str, Worker]:
    """Match lost creates to unowned new workers, oldest create first."""
    taken: set[str] = set(owned)
    out: dict[str, Worker] = {}
    for create in sorted(lost, key=lambda c: (c.requested_at, c.key)):
        for worker in workers:
            names = worker_aliases(worker)
            if worker.identifier is None or names & taken or names & create.known:
                continue
            out[create.key] = worker
            taken |= names
            break
    return out


def unowned(workers: Sequence[Worker], *, owned: frozenset[str]) -> list[Worker]:
    """The workers no VPSieNode owns."""
    return [w for w in workers if not worker_aliases(w) & owned]
