"""Small typed writes of custom objects, Nodes, Secrets and Events over kubernetes_asyncio.

Every call runs with ``_preload_content=False`` (raw JSON through orjson, no model
classes), under ``asyncio.timeout`` and an aiohttp client deadline, and maps every failure
once: non-2xx answers through ``errors.from_body``, ``ApiException`` through
``errors.from_api_exception``, transport failures and deadlines to ``errors.Timeout``.
Patches are JSON merge patches; a caller that replaces a list (finalizers, taints) puts
``metadata.resourceVersion`` in the patch, so a concurrent change answers 409 instead of
being overwritten. Status goes through ``status.patch_status`` only (single writer, 409
retried on fresh data).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from kubernetes_asyncio.client import ApiClient, ApiException, CoreV1Api, CustomObjectsApi

from autoscaler.kube import errors
from autoscaler.kube.status import MERGE_PATCH, Mutate, StatusPatchResult, custom_objects
from autoscaler.kube.status import patch_status as _patch_status

JSON = dict[str, Any]


class KubeObjects:
    """The write (and point-read) calls the controllers make, each with a deadline."""

    def __init__(self, api: ApiClient, *, group: str, version: str, request_timeout: float):
        self._custom = CustomObjectsApi(api)
        self._status_api = custom_objects(api)
        self._core = CoreV1Api(api)
        self._group = group
        self._version = version
        self._timeout = request_timeout

    async def _call(
        self, what: str, call: Callable[..., Awaitable[Any]], *args: Any, **extra: Any
    ) -> JSON:
        """Send one request; return its JSON body (``{}`` when empty)."""
        try:
            async with asyncio.timeout(self._timeout):
                resp = await call(
                    *args, _preload_content=False, _request_timeout=self._timeout, **extra
                )
                async with resp:
                    body = await resp.read()
                    if not 200 <= resp.status < 300:
                        raise errors.from_body(resp.status, body, dict(resp.headers))
        except ApiException as exc:
            raise errors.from_api_exception(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.Timeout(f"{what}: {exc!r}", reason="ClientTimeout") from exc
        parsed = orjson.loads(body) if body else {}
        return parsed if isinstance(parsed, dict) else {}

    def _cr(self, plural: str, namespace: str) -> tuple[str, str, str, str]:
        return (self._group, self._version, namespace, plural)

    async def create(self, plural: str, namespace: str, body: JSON) -> JSON:
        """Create a custom object; ``AlreadyExists`` if the name is taken."""
        call = self._custom.create_namespaced_custom_object
        return await self._call(f"creating {plural}", call, *self._cr(plural, namespace), body)

    async def get(self, plural: str, namespace: str, name: str) -> JSON | None:
        """Read a custom object; ``None`` if there is none."""
        call = self._custom.get_namespaced_custom_object
        try:
            return await self._call(
                f"reading {plural} {name}", call, *self._cr(plural, namespace), name
            )
        except errors.NotFound:
            return None

    async def patch(self, plural: str, namespace: str, name: str, patch: JSON) -> JSON:
        """Merge-patch a custom object's metadata or spec."""
        call: Any = self._custom.patch_namespaced_custom_object

        return await self._call(
            f"patching {plural} {name}",
            call,
            *self._cr(plural, namespace),
            name,
            patch,
            _content_type=MERGE_PATCH,
        )

    async def delete(self, plural: str, namespace: str, name: str, *, uid: str = "") -> bool:
        """Delete a custom object (only that ``uid`` when given); ``False`` if already gone."""
        body: JSON = {"preconditions": {"uid": uid}} if uid else {}
        call: Any = self._custom.delete_namespaced_custom_object

        try:
            await self._call(
                f"deleting {plural} {name}", call, *self._cr(plural, namespace), name, body=body
            )
        except errors.NotFound:
            return False
        except errors.Conflict:
            return False  # the uid precondition failed: that object is gone already
        return True

    async def remove_finalizer(
        self, plural: str, namespace: str, name: str, finalizer: str, *, attempts: int = 5
    ) -> bool:
        """Drop ``finalizer`` with a resourceVersion precondition, re-reading on 409."""
        for _ in range(attempts):
            current = await self.get(plural, namespace, name)
            if current is None:
                return False
            meta = current.get("metadata") or {}
            finalizers = list(meta.get("finalizers") or [])
            if finalizer not in finalizers:
                return False
            rest = [f for f in finalizers if f != finalizer]
            patch = {"metadata": {"resourceVersion": meta["resourceVersion"], "finalizers": rest}}
            try:
                await self.patch(plural, namespace, name, patch)
            except errors.Conflict:
                continue
            except errors.NotFound:
                return False
            return True
        raise errors.Conflict(f"removing the finalizer of {plural} {name}: conflicts", status=409)

    async def patch_status(
        self, plural: str, namespace: str, name: str, mutate: Mutate
    ) -> StatusPatchResult:
        """Write status through ``status.patch_status`` (fresh read, 409 retried)."""
        return await _patch_status(
            self._status_api,
            group=self._group,
            version=self._version,
            plural=plural,
            namespace=namespace,
            name=name,
            mutate=mutate,
            request_timeout=self._timeout,
        )

    async def patch_node(self, name: str, patch: JSON) -> JSON:
        """Merge-patch a Node (labels, taints, providerID)."""
        call: Any = self._core.patch_node

        return await self._call(
            f"patching node {name}", call, name, patch, _content_type=MERGE_PATCH
        )

    async def get_node(self, name: str) -> JSON | None:
        """Read a Node; ``None`` if there is none."""
        try:
            return await self._call(f"reading node {name}", self._core.read_node, name)
        except errors.NotFound:
            return None

    async def delete_node(self, name: str, *, uid: str = "") -> bool:
        """Delete a Node (only that ``uid`` when given); ``False`` if already gone."""
        body: JSON = {"preconditions": {"uid": uid}} if uid else {}
        call: Any = self._core.delete_node

        try:
            await self._call(f"deleting node {name}", call, name, body=body)
        except (errors.NotFound, errors.Conflict):
            return False
        return True

    async def list_pods_on_node(self, name: str) -> list[JSON]:
        """Every pod bound to Node ``name``, as the API server has them now (not a cache)."""
        call: Any = self._core.list_pod_for_all_namespaces
        found = await self._call(
            f"listing pods of node {name}", call, field_selector=f"spec.nodeName={name}"
        )
        items = found.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret, decoded; ``NotFound`` names the Secret and key, never the value."""
        secret = await self._call(
            f"reading secret {namespace}/{name}", self._core.read_namespaced_secret, name, namespace
        )
        raw = (secret.get("data") or {}).get(key)
        if raw is None:
            raise errors.NotFound(f"secret {namespace}/{name} has no key {key}", status=404)
        return base64.b64decode(raw).decode()

    async def create_event(self, namespace: str, body: JSON) -> JSON:
        """Create a core/v1 Event."""
        call = self._core.create_namespaced_event
        return await self._call("creating an event", call, namespace, body)

    async def patch_event(self, namespace: str, name: str, patch: JSON) -> JSON:
        """Merge-patch a core/v1 Event (count and lastTimestamp of a repeat)."""
        call: Any = self._core.patch_namespaced_event

        return await self._call(
            f"patching event {name}", call, name, namespace, patch, _content_type=MERGE_PATCH
        )
