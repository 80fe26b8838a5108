"""One pod eviction through the ``policy/v1`` Eviction API (karpenter's semantics).

``evict`` posts an ``Eviction`` to ``pods/{name}/eviction`` with a UID precondition (so a
pod re-created under the same name is never evicted by mistake) and the grace period the
caller chose, under ``asyncio.timeout`` and an aiohttp client deadline. The answer becomes
an :class:`EvictionResult`:

==========================================  ==========  =====================================
answer                                      status      meaning
==========================================  ==========  =====================================
200 / 201                                   EVICTED     the pod is being deleted
404, or 409 (the UID precondition failed)   GONE        that pod is gone already
429 (a PodDisruptionBudget says no)         BLOCKED     retry later (``retry_after`` if sent)
500 "more than one PodDisruptionBudget"     BLOCKED     the API cannot evict it; retry later
==========================================  ==========  =====================================

Any other answer raises the typed error of :mod:`autoscaler.kube.errors` (transport
failures and deadlines as ``errors.Timeout``); the caller decides whether to retry from
``retryable``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from typing import Any

import aiohttp
from kubernetes_asyncio.client import ApiClient, ApiException, CoreV1Api

from autoscaler.core.records import PodRecord
from autoscaler.kube import errors

__all__ = ["MULTIPLE_PDBS", "EvictionResult", "EvictionStatus", "evict", "eviction_body"]

MULTIPLE_PDBS = "more than one PodDisruptionBudget"
"""What the API server says (HTTP 500) when several PDBs select the pod."""


class EvictionStatus(enum.Enum):
    """How the API server answered one eviction."""

    EVICTED = "evicted"
    """Accepted: the pod is being deleted with the grace period asked for."""
    GONE = "gone"
    """The pod (that UID) does not exist any more."""
    BLOCKED = "blocked"
    """Refused for now by a PodDisruptionBudget (or by several of them); retry later."""


@dataclasses.dataclass(frozen=True, slots=True)
class EvictionResult:
    """The answer to one eviction, with the server's message and any ``Retry-After``."""

    status: EvictionStatus
    message: str = ""
    retry_after: float | None = None


def eviction_body(pod: PodRecord, *, grace_seconds: int | None) -> dict[str, Any]:
    """The ``policy/v1`` Eviction for ``pod`` (UID precondition, optional grace period)."""
    options: dict[str, Any] = {"preconditions": {"uid": pod.uid}}
    if grace_seconds is not None:
        options["gracePeriodSeconds"] = max(0, grace_seconds)
    return {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
        "deleteOptions": options,
    }


async def evict(
    api: ApiClient,
    pod: PodRecord,
    *,
    grace_seconds: int | None,
    timeout: float,  # noqa: ASYNC109
) -> EvictionResult:
    """Evict ``pod`` (that UID only) within ``timeout`` seconds; see the module docstring."""
    call: Any = CoreV1Api(api).create_namespaced_pod_eviction
    body = eviction_body(pod, grace_seconds=grace_seconds)
    try:
        async with asyncio.timeout(timeout):
            resp = await call(
                pod.name, pod.namespace, body, _preload_content=False, _request_timeout=timeout
            )
            async with resp:
                raw = await resp.read()
                if 200 <= resp.status < 300:
                    return EvictionResult(EvictionStatus.EVICTED)
                err = errors.from_body(resp.status, raw, dict(resp.headers))
    except ApiException as exc:
        err = errors.from_api_exception(exc)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.Timeout(f"evicting pod {pod.key}: {exc!r}", reason="ClientTimeout") from exc
    return _classify(pod, err)


def _classify(pod: PodRecord, err: errors.KubeError) -> EvictionResult:
    """Turn a refused eviction into a result, or raise it."""
    if isinstance(err, errors.NotFound | errors.Conflict):
        return EvictionResult(EvictionStatus.GONE, str(err))
    if isinstance(err, errors.TooManyRequests):
        return EvictionResult(EvictionStatus.BLOCKED, str(err), err.retry_after)
    if err.status == 500 and MULTIPLE_PDBS in str(err):
        return EvictionResult(EvictionStatus.BLOCKED, str(err))
    raise errors.from_status(
        err.status, f"evicting pod {pod.key}: {err}", reason=err.reason
    ) from err
