"""``KubernetesNodeHook``: the simulator's workers as Nodes of a real (test or demo) cluster.

The Node hook of contract §8, over kubernetes_asyncio (never ``autoscaler.kube``: the
simulator stands apart from the code it tests). The caller owns the ``ApiClient``;
``open_bridge(kubeconfig, ...)`` makes one from a kubeconfig for the command line.

* ``on_registered``: create the Node of ``bridge_nodes.node_manifest``; one that exists
  already (a leftover of an earlier run with the same seed) is deleted and created anew,
  because kwok 0.8 adopts only Nodes that arrive with its annotation, never by an update;
* ``on_ready``: kwok makes an annotated Node Ready by itself, so only check that the Node
  exists, and create it if a failed ``on_registered`` left none;
* ``on_lost``: drop the kwok annotation and write ``Ready=Unknown`` as the node-lifecycle
  controller would; the Node goes NotReady (and KCM taints it unreachable);
* ``on_deleted``: delete the Node, unless the ``leave_node_behind`` knob keeps it.

Every call has ``_request_timeout`` and runs under ``asyncio.timeout``. A failed call is
logged with its context and raised as ``BridgeError``; the simulator's hook runner counts
it and carries on. 404 on delete and 409 on create are expected and handled.

kwok 0.8 keeps a Node it once managed in its books until the Node is deleted: after
``on_lost`` it still renews the Lease, and a heartbeat it scheduled earlier (10 to 20 min
ahead) can mark a left-behind lost Node Ready again. Lost Nodes that are deleted after
``delete_delay`` (the default) are not affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client import ApiClient, ApiException, CoreV1Api

from autoscaler.simulator.bridge_nodes import (
    KWOK_ANNOTATION,
    NodeOptions,
    lost_conditions,
    node_manifest,
    worker_flags,
)
from autoscaler.simulator.hooks import WorkerRecord

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_REQUEST_TIMEOUT = 10.0
KUBECONFIG_TIMEOUT = 30.0
CREATE_ATTEMPTS = 2  # create; on 409, replace the leftover once


class BridgeError(Exception):
    """A Kubernetes call for a worker's Node failed; ``status`` is the HTTP code, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class KubernetesNodeHook:
    """A ``NodeHook`` writing Nodes through ``api_client`` (owned and closed by the caller)."""

    def __init__(
        self,
        api_client: ApiClient,
        *,
        options: NodeOptions | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._core = CoreV1Api(api_client)
        self.options = options or NodeOptions()
        self._timeout = request_timeout
        self._now = now

    async def on_registered(self, worker: WorkerRecord) -> None:
        """Create the worker's Node, replacing a leftover Node of that name."""
        await self._ensure(worker)

    async def on_ready(self, worker: WorkerRecord) -> None:
        """kwok makes the Node Ready; recreate it only if it is missing."""
        try:
            await self._call(
                "reading", worker, lambda: self._core.read_node(worker.node_name, **self._kw())
            )
        except BridgeError as err:
            if err.status != 404:
                raise
            log.warning("Node missing when Ready; creating it", extra=_context(worker))
            await self._ensure(worker)

    async def on_lost(self, worker: WorkerRecord) -> None:
        """Take the Node from kwok and mark it ``Ready=Unknown``."""
        unmanage = {"metadata": {"annotations": {KWOK_ANNOTATION: None}}}
        status = {"status": {"conditions": lost_conditions(self._now())}}
        try:
            await self._call(
                "unmanaging",
                worker,
                lambda: self._core.patch_node(worker.node_name, unmanage, **self._kw()),
            )
            await self._call(
                "marking NotReady",
                worker,
                lambda: self._core.patch_node_status(worker.node_name, status, **self._kw()),
            )
        except BridgeError as err:
            if err.status != 404:
                raise
            log.info("lost worker has no Node", extra=_context(worker))

    async def on_deleted(self, worker: WorkerRecord) -> None:
        """Delete the Node (a missing one is fine), unless ``leave_node_behind``."""
        if worker.bridge.leave_node_behind:
            log.info("leaving the Node behind", extra=_context(worker))
            return
        deleted = await self._delete(worker)
        log.info("Node deleted" if deleted else "Node already gone", extra=_context(worker))

    # --- internals ----------------------------------------------------------------------
    async def _ensure(self, worker: WorkerRecord) -> None:
        flags = worker_flags(worker)
        for problem in flags.problems:
            log.warning("ignoring a userData kubelet flag: %s", problem, extra=_context(worker))
        # A plain dict body: the Node is built as JSON, not as kubernetes_asyncio models.
        body: Any = node_manifest(worker, options=self.options, now=self._now(), flags=flags)
        for attempt in range(CREATE_ATTEMPTS):
            try:
                await self._call(
                    "creating", worker, lambda: self._core.create_node(body, **self._kw())
                )
            except BridgeError as err:
                if err.status != 409 or attempt + 1 == CREATE_ATTEMPTS:
                    raise
                # A leftover of an earlier run. Patching it would not do: kwok 0.8 only adopts
                # a Node that arrives with its annotation, so replace the Node.
                log.info("replacing a leftover Node of the same name", extra=_context(worker))
                await self._delete(worker)
            else:
                log.info("Node created", extra=_context(worker))
                return

    async def _delete(self, worker: WorkerRecord) -> bool:
        """Delete the Node; False if there was none."""
        try:
            await self._call(
                "deleting", worker, lambda: self._core.delete_node(worker.node_name, **self._kw())
            )
        except BridgeError as err:
            if err.status != 404:
                raise
            return False
        return True

    def _kw(self) -> dict[str, Any]:
        return {"_request_timeout": self._timeout}

    async def _call(self, doing: str, worker: WorkerRecord, call: Callable[[], Awaitable[T]]) -> T:
        """Run one API call under a deadline; failures become ``BridgeError``."""
        what = f"{doing} Node {worker.node_name} of worker {worker.identifier}"
        try:
            async with asyncio.timeout(self._timeout):
                return await call()
        except ApiException as err:
            status = int(err.status) if err.status else None
            if status not in (404, 409):
                log.warning("%s failed: %s %s", what, status, err.reason, extra=_context(worker))
            raise BridgeError(f"{what}: HTTP {status} {err.reason}", status=status) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("%s failed: %r", what, err, extra=_context(worker))
            raise BridgeError(f"{what}: {err!r}") from err


def _context(worker: WorkerRecord) -> dict[str, Any]:
    return {"node": worker.node_name, "identifier": worker.identifier, "mode": worker.mode}


@contextlib.asynccontextmanager
async def open_bridge(
    kubeconfig: Path,
    *,
    options: NodeOptions | None = None,
    context: str | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> AsyncIterator[KubernetesNodeHook]:
    """A ``KubernetesNodeHook`` for the cluster of ``kubeconfig``, closed on exit.

    Raises ``BridgeError`` when the kubeconfig cannot be read (it is read from disk: call
    this at start-up, not on a busy loop).
    """
    cfg = client.Configuration()
    try:
        async with asyncio.timeout(KUBECONFIG_TIMEOUT):
            await config.load_kube_config(
                config_file=str(kubeconfig), context=context, client_configuration=cfg
            )
    except (config.ConfigException, OSError, TimeoutError) as err:
        raise BridgeError(f"loading kubeconfig {kubeconfig}: {err}") from err
    async with ApiClient(configuration=cfg) as api:
        yield KubernetesNodeHook(api, options=options, request_timeout=request_timeout)
