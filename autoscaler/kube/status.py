"""Status writes that never lose an update (review CRITICAL-1).

Status is written only through the **status subresource**, as a JSON merge patch carrying
``metadata.resourceVersion``: the API server applies it only to the version the change was
computed from and answers 409 otherwise. On 409 ``patch_status`` re-reads the object and
calls ``mutate`` again on the fresh copy, so a concurrent writer's change is kept and ours
is re-applied on top of it; after ``max_attempts`` conflicts it raises ``errors.Conflict``
(the caller requeues) rather than dropping the change.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

import aiohttp
from kubernetes_asyncio.client import ApiClient, ApiException, CustomObjectsApi

from autoscaler.kube import errors

JSON = dict[str, Any]
Mutate = Callable[[JSON], JSON | None]
MERGE_PATCH = "application/merge-patch+json"


class CustomObjectsApiLike(Protocol):
    """The two calls of kubernetes_asyncio's ``CustomObjectsApi`` that status writes use."""

    def get_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        *,
        _request_timeout: float,
    ) -> Awaitable[Any]:
        """Read one object."""

    def patch_namespaced_custom_object_status(  # noqa: PLR0917 - kubernetes_asyncio's shape
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        body: Any,
        *,
        _content_type: str,
        _request_timeout: float,
    ) -> Awaitable[Any]:
        """Patch the status subresource of one object."""


def custom_objects(client: ApiClient) -> CustomObjectsApiLike:
    """kubernetes_asyncio's ``CustomObjectsApi`` over ``client``, typed for ``patch_status``.

    The generated client accepts ``_content_type`` (without it a dict body would be sent as
    a JSON Patch); its type stubs do not list it, hence the cast.
    """
    return cast(CustomObjectsApiLike, CustomObjectsApi(client))


@dataclasses.dataclass(frozen=True, slots=True)
class StatusPatchResult:
    """The object after the call, whether a patch was written, and how many 409s it took."""

    object: JSON
    written: bool
    attempts: int
    conflicts: int


def merge_patch(old: JSON, new: JSON) -> JSON:
    """The JSON merge patch (RFC 7386) turning ``old`` into ``new``; ``{}`` if equal."""
    patch: JSON = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(before, dict) and isinstance(value, dict):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif key not in old or before != value:
            patch[key] = value
    return patch


async def _call(what: str, request: Awaitable[Any]) -> Any:
    try:
        return await request
    except ApiException as exc:
        raise errors.from_api_exception(exc) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.Timeout(f"{what}: {exc!r}") from exc


async def patch_status(
    api: CustomObjectsApiLike,
    *,
    group: str,
    version: str,
    plural: str,
    namespace: str,
    name: str,
    mutate: Mutate,
    max_attempts: int = 5,
    request_timeout: float = 10.0,
    retry_delay: float = 0.01,
) -> StatusPatchResult:
    """Set the status of one custom object to ``mutate(current object)``, retrying on 409.

    ``mutate`` gets a private deep copy of the freshly read object and returns the whole
    new ``status`` (``None``, or a status equal to the current one, writes nothing). It may
    run several times and must be a pure function of the object it is given.
    """
    where = f"{plural}.{group} {namespace}/{name}"
    args = (group, version, namespace, plural, name)
    conflicts = 0
    for attempt in range(1, max_attempts + 1):
        current: JSON = await _call(
            f"reading {where}",
            api.get_namespaced_custom_object(*args, _request_timeout=request_timeout),
        )
        status = mutate(copy.deepcopy(current))
        patch = None if status is None else merge_patch(current.get("status") or {}, status)
        if not patch:
            return StatusPatchResult(current, written=False, attempts=attempt, conflicts=conflicts)
        body = {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]}}
        body["status"] = patch
        try:
            updated: JSON = await _call(
                f"patching the status of {where}",
                api.patch_namespaced_custom_object_status(
                    *args,
                    body,
                    _content_type=MERGE_PATCH,
                    _request_timeout=request_timeout,
                ),
            )
        except errors.Conflict:
            conflicts += 1
            await asyncio.sleep(retry_delay * attempt)
            continue
        return StatusPatchResult(updated, written=True, attempts=attempt, conflicts=conflicts)
    raise errors.Conflict(
        f"patching the status of {where}: still conflicting after {max_attempts} attempts",
        status=409,
        reason="Conflict",
    )
