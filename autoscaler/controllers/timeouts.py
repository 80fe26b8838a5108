"""Pure time decisions of the phase machine: request times and the two timeouts."""

from __future__ import annotations

import datetime as dt

from autoscaler.controllers.records import VPSieNodeRecord


def requested_at(rec: VPSieNodeRecord) -> dt.datetime | None:
    """When the create was requested (entry into Provisioning); ``None`` if it never was."""
    if rec.resource is None or rec.resource.status.timestamps is None:
        return None
    return rec.resource.status.timestamps.provisioning


def joining_since(rec: VPSieNodeRecord) -> dt.datetime | None:
    """When the worker was identified (entry into Joining)."""
    if rec.resource is None or rec.resource.status.timestamps is None:
        return None
    return rec.resource.status.timestamps.joining


def _elapsed(since: dt.datetime | None, now: dt.datetime) -> float:
    return 0.0 if since is None else (now - since).total_seconds()


def provisioning_expired(rec: VPSieNodeRecord, *, now: dt.datetime, timeout: float) -> bool:
    """Whether the worker was not identified within ``timeout`` of the create request."""
    return _elapsed(requested_at(rec), now) > timeout


def joining_expired(rec: VPSieNodeRecord, *, now: dt.datetime, timeout: float) -> bool:
    """Whether the Node was not Ready within ``timeout`` of the worker's identification."""
    return _elapsed(joining_since(rec), now) > timeout


def within(rec: VPSieNodeRecord, *, now: dt.datetime, seconds: float) -> bool:
    """Whether the create was requested less than ``seconds`` ago."""
    since = requested_at(rec)
    return since is not None and _elapsed(since, now) < seconds
