"""Access to ``coordination.k8s.io/v1`` Leases for leader election.

``LeaseRecord`` is the slim, frozen projection of a Lease that the elector reads and writes;
``LeaseClient`` is the seam it talks through. ``KubeLeaseClient`` is the production client over
kubernetes_asyncio's ``CoordinationV1Api``; every ``ApiException`` leaves it as a typed
``autoscaler.kube.errors.KubeError``. Writes replace the whole Lease spec, optimistically
guarded by the record's ``resource_version`` (a stale one fails with ``errors.Conflict``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol, cast

import aiohttp
from kubernetes_asyncio.client import (
    ApiClient,
    ApiException,
    CoordinationV1Api,
    V1Lease,
    V1LeaseSpec,
)

from autoscaler.kube import errors

_MICRO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclasses.dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The part of a Lease that leader election uses (``holder_identity`` "" means nobody)."""

    name: str
    namespace: str
    holder_identity: str = ""
    lease_duration_seconds: int | None = None
    acquire_time: dt.datetime | None = None
    renew_time: dt.datetime | None = None
    lease_transitions: int = 0
    resource_version: str = ""


class LeaseClient(Protocol):
    """Reads and writes Leases; errors are ``autoscaler.kube.errors.KubeError`` subclasses."""

    async def get(self, name: str, namespace: str) -> LeaseRecord | None:
        """Return the Lease, or ``None`` if it does not exist."""

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create the Lease; ``errors.AlreadyExists`` if the name is taken."""

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace the Lease at ``record.resource_version``; ``errors.Conflict`` if stale."""


def format_micro_time(moment: dt.datetime) -> str:
    """Format a timezone-aware time as a Kubernetes ``MicroTime`` (UTC, six fractional digits)."""
    return moment.astimezone(dt.UTC).strftime(_MICRO_TIME_FORMAT)


def lease_body(record: LeaseRecord) -> dict[str, Any]:
    """Build the JSON body of a Lease create or replace from a record."""
    metadata: dict[str, Any] = {"name": record.name, "namespace": record.namespace}
    if record.resource_version:
        metadata["resourceVersion"] = record.resource_version
    spec: dict[str, Any] = {
        "holderIdentity": record.holder_identity,
        "leaseTransitions": record.lease_transitions,
    }
    if record.lease_duration_seconds is not None:
        spec["leaseDurationSeconds"] = record.lease_duration_seconds
    if record.acquire_time is not None:
        spec["acquireTime"] = format_micro_time(record.acquire_time)
    if record.renew_time is not None:
        spec["renewTime"] = format_micro_time(record.renew_time)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": spec,
    }


def record_from_lease(lease: V1Lease) -> LeaseRecord:
    """Project a kubernetes_asyncio ``V1Lease`` into a ``LeaseRecord``."""
    meta = lease.metadata
    spec: V1LeaseSpec | None = lease.spec  # absent in a Lease created without one
    spec = spec or V1LeaseSpec()
    return LeaseRecord(
        name=meta.name,
        namespace=meta.namespace,
        holder_identity=spec.holder_identity or "",
        lease_duration_seconds=spec.lease_duration_seconds,
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        lease_transitions=spec.lease_transitions or 0,
        resource_version=meta.resource_version or "",
    )


class KubeLeaseClient:
    """``LeaseClient`` over kubernetes_asyncio; the caller owns (and closes) ``api_client``."""

    def __init__(self, api_client: ApiClient, *, request_timeout: float = 10.0) -> None:
        self._api = CoordinationV1Api(api_client)
        self._request_timeout = request_timeout

    async def get(self, name: str, namespace: str) -> LeaseRecord | None:
        """Read the Lease; ``None`` on 404."""
        try:
            lease = await self._api.read_namespaced_lease(
                name, namespace, _request_timeout=self._request_timeout
            )
        except ApiException as exc:
            err = errors.from_api_exception(exc)
            if isinstance(err, errors.NotFound):
                return None
            raise err from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.Timeout(f"reading lease {namespace}/{name}: {exc!r}") from exc
        return record_from_lease(lease)

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create the Lease (``record.resource_version`` is ignored)."""
        # A plain dict body: we format MicroTime ourselves (six fractional digits, "Z").
        body: Any = lease_body(dataclasses.replace(record, resource_version=""))
        try:
            lease = await self._api.create_namespaced_lease(
                record.namespace, body, _request_timeout=self._request_timeout
            )
        except ApiException as exc:
            raise errors.from_api_exception(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.Timeout(f"creating lease {_key(record)}: {exc!r}") from exc
        return record_from_lease(lease)

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace the Lease, guarded by ``record.resource_version``."""
        try:
            lease = await self._api.replace_namespaced_lease(
                record.name,
                record.namespace,
                cast(Any, lease_body(record)),
                _request_timeout=self._request_timeout,
            )
        except ApiException as exc:
            raise errors.from_api_exception(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.Timeout(f"updating lease {_key(record)}: {exc!r}") from exc
        return record_from_lease(lease)


def _key(record: LeaseRecord) -> str:
    return f"{record.namespace}/{record.name}"
