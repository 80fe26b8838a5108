"""``recovery.assign``: lost VKE creates find their workers, oldest first, never an older one."""

from __future__ import annotations

import datetime as dt

from autoscaler.controllers.recovery import LostCreate, assign, unowned
from autoscaler.vpsie.provider import Worker, WorkerState

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def worker(n: int, *, identifier: bool = True) -> Worker:
    return Worker(
        "web", f"id-{n}" if identifier else None, f"Web-{n}", None, None, WorkerState.RUNNING
    )


def lost(key: str, at: int, *known: int) -> LostCreate:
    names = frozenset(a for n in known for a in (f"id-{n}", f"web-{n}"))
    return LostCreate(key, T0 + dt.timedelta(seconds=at), names)


def test_each_lost_create_gets_a_worker_that_appeared_after_it_oldest_first() -> None:
    workers = [worker(1), worker(2), worker(3)]
    got = assign([lost("b", 20, 1, 2), lost("a", 10, 1)], workers=workers, owned=frozenset())
    assert {k: w.identifier for k, w in got.items()} == {"a": "id-2", "b": "id-3"}


def test_workers_that_predate_the_create_are_never_taken() -> None:
    got = assign([lost("a", 10, 1, 2)], workers=[worker(1), worker(2)], owned=frozenset())
    assert got == {}


def test_owned_and_unidentified_workers_are_skipped() -> None:
    workers = [worker(1), worker(2, identifier=False), worker(3)]
    got = assign([lost("a", 10)], workers=workers, owned=frozenset({"id-1"}))
    assert got["a"].identifier == "id-3"


def test_unowned_matches_hostnames_case_insensitively() -> None:
    assert unowned([worker(1), worker(2)], owned=frozenset({"web-1"})) == [worker(2)]
