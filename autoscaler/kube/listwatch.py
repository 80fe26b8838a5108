"""How a reflector reaches the API: the ``ListWatchSource`` seam and its production adapter.

``KubeListWatch`` calls a kubernetes_asyncio generated list method (for example
``CoreV1Api(api).list_pod_for_all_namespaces``) with ``_preload_content=False``, so it gets
the raw aiohttp response: list pages are parsed once with orjson, watch bodies are split
into lines by ``iter_json_lines`` (kube-semantics §3). kubernetes_asyncio does *not* check
the status of an unpreloaded response, so this module does, mapping every non-2xx answer
and every transport failure to ``autoscaler.kube.errors`` once. Each request has a client
deadline. Tests point the same adapter at a scripted aiohttp server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson

from autoscaler.kube import errors
from autoscaler.kube.jsonlines import iter_json_lines

__all__ = ["KubeListWatch", "ListPage", "ListWatchSource", "WatchStream"]

RawObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a list: raw items, the list's resourceVersion and the continue token."""

    items: list[RawObject]
    resource_version: str
    continue_token: str | None


class WatchStream(Protocol):
    """An open watch: raw JSON lines until the server ends the stream; close it when done."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Return the iterator over raw lines (the stream itself)."""

    async def __anext__(self) -> bytes:
        """Return the next raw line; ``StopAsyncIteration`` when the server ends the watch."""

    async def aclose(self) -> None:
        """Release the connection (also when the stream is not exhausted)."""


class ListWatchSource(Protocol):
    """The two calls a reflector makes; both raise ``errors.KubeError`` subclasses."""

    async def list_page(
        self, *, resource_version: str, limit: int | None, continue_token: str | None
    ) -> ListPage:
        """Fetch one page (``limit``/``continue_token`` ``None`` for an unpaged list)."""

    async def open_watch(self, *, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Start a watch with bookmarks from ``resource_version``; return once it is open."""


def _error_from_transport(err: BaseException) -> errors.KubeError:
    if isinstance(err, aiohttp.ClientConnectorError) and isinstance(
        err.os_error, ConnectionRefusedError
    ):
        mapped = errors.Timeout(f"connection refused: {err}", reason="ConnectionRefused")
    elif isinstance(err, TimeoutError):
        mapped = errors.Timeout(f"client deadline exceeded: {err!r}", reason="ClientTimeout")
    else:
        mapped = errors.Timeout(f"transport failure: {err!r}", reason="Transport")
    mapped.__cause__ = err
    return mapped


async def _raise_for_status(resp: aiohttp.ClientResponse) -> None:
    if 200 <= resp.status < 300:
        return
    body = await resp.read()
    raise errors.from_body(resp.status, body, dict(resp.headers))


class _ResponseLines:
    """A ``WatchStream`` over an aiohttp response; transport failures become typed errors."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self._lines = iter_json_lines(resp.content)

    def __aiter__(self) -> _ResponseLines:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await anext(self._lines)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _error_from_transport(err) from err

    async def aclose(self) -> None:
        try:
            await self._lines.aclose()
        finally:
            self._resp.close()


class KubeListWatch:
    """``ListWatchSource`` over a kubernetes_asyncio generated ``list_*`` method.

    ``list_method`` is the bound method, with any positional arguments already applied
    (``functools.partial(custom.list_cluster_custom_object, group, version, plural)``).
    """

    def __init__(
        self,
        list_method: Callable[..., Awaitable[Any]],
        *,
        request_timeout: float = 60.0,
        watch_grace: float = 30.0,
    ) -> None:
        self._call = list_method
        self._request_timeout = request_timeout
        self._watch_grace = watch_grace

    async def list_page(
        self, *, resource_version: str, limit: int | None, continue_token: str | None
    ) -> ListPage:
        """Fetch one page under a client deadline of ``request_timeout`` seconds."""
        kwargs: dict[str, Any] = {"resource_version": resource_version or None}
        if limit:
            kwargs["limit"] = limit
        if continue_token:
            kwargs["_continue"] = continue_token
        try:
            async with asyncio.timeout(self._request_timeout):
                resp = await self._call(
                    **kwargs,
                    _preload_content=False,
                    _request_timeout=aiohttp.ClientTimeout(total=self._request_timeout),
                )
                async with resp:
                    await _raise_for_status(resp)
                    body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _error_from_transport(err) from err
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise errors.ServerError(f"list answer is not JSON: {err}", reason="Malformed") from err
        if not isinstance(doc, dict):
            raise errors.ServerError("list answer is not a List object", reason="Malformed")
        meta, items = doc.get("metadata"), doc.get("items")
        if not isinstance(meta, dict | None) or not isinstance(items, list | None):
            raise errors.ServerError("list answer is not a List object", reason="Malformed")
        meta = meta or {}
        return ListPage(
            items=items or [],
            resource_version=meta.get("resourceVersion", ""),
            continue_token=meta.get("continue") or None,
        )

    async def open_watch(self, *, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Open a watch; the response must start within ``request_timeout`` seconds.

        The whole stream gets a client deadline of ``timeout_seconds + watch_grace``, in
        case the server does not end it as asked.
        """
        try:
            async with asyncio.timeout(self._request_timeout):
                resp = await self._call(
                    watch=True,
                    allow_watch_bookmarks=True,
                    resource_version=resource_version or None,
                    timeout_seconds=timeout_seconds,
                    _preload_content=False,
                    _request_timeout=aiohttp.ClientTimeout(
                        total=timeout_seconds + self._watch_grace,
                        sock_connect=self._request_timeout,
                    ),
                )
                try:
                    await _raise_for_status(resp)
                except BaseException:
                    resp.close()
                    raise
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _error_from_transport(err) from err
        return _ResponseLines(resp)
