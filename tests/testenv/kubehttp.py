"""A tiny synchronous Kubernetes REST client for fixtures (urllib + the test CA, no event loop).

Fixture code runs outside the event loop, so it uses blocking urllib. Errors carry the HTTP status
and the decoded ``Status`` body, which the integration tests assert on (403, 409, 429, ...).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
POLL_INTERVAL = 0.2


class ApiError(RuntimeError):
    """A non-2xx answer: ``status`` is the HTTP code, ``body`` the decoded ``Status`` object."""

    def __init__(self, method: str, path: str, status: int, body: JSON) -> None:
        super().__init__(f"{method} {path} -> {status}: {body.get('message', body)}")
        self.status = status
        self.body = body

    @property
    def reason(self) -> str:
        """The ``Status.reason`` (``Conflict``, ``Forbidden``, ``TooManyRequests``, ...)."""
        return str(self.body.get("reason", ""))


class KubeHTTP:
    """Blocking JSON calls against one API server as one bearer-token user."""

    def __init__(self, server: str, *, token: str | None, ca_file: Path | None) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.ssl = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None

    def request(
        self,
        method: str,
        path: str,
        body: JSON | list[JSON] | None = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> JSON:
        """Send one request; return the decoded JSON body or raise :class:`ApiError`."""
        url = self.server + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = {"message": raw.decode(errors="replace")}
            raise ApiError(method, path, err.code, decoded) from None
        return json.loads(raw) if raw.strip().startswith((b"{", b"[")) else {"text": raw.decode()}

    def get(self, path: str, **params: str) -> JSON:
        """GET ``path`` with optional query parameters."""
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: JSON) -> JSON:
        """POST (create) ``body`` at ``path``."""
        return self.request("POST", path, body)

    def put(self, path: str, body: JSON) -> JSON:
        """PUT (replace) ``body`` at ``path``."""
        return self.request("PUT", path, body)

    def patch(self, path: str, body: JSON | list[JSON], *, content_type: str = MERGE_PATCH) -> JSON:
        """PATCH ``path``; a JSON merge patch unless ``content_type`` says otherwise."""
        return self.request("PATCH", path, body, content_type=content_type)

    def delete(self, path: str, *, missing_ok: bool = True, **params: str) -> JSON:
        """DELETE ``path``; a 404 is ignored when ``missing_ok``."""
        try:
            return self.request("DELETE", path, params=params or None)
        except ApiError as err:
            if missing_ok and err.status == 404:
                return err.body
            raise

    def exists(self, path: str) -> bool:
        """True unless GET ``path`` answers 404."""
        try:
            self.get(path)
        except ApiError as err:
            if err.status == 404:
                return False
            raise
        return True

    def wait_for(
        self,
        path: str,
        predicate: Callable[[JSON], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
        check: Callable[[], None] | None = None,
    ) -> JSON:
        """Poll GET ``path`` until ``predicate(obj)`` holds; a 404 counts as not yet.

        ``check`` runs on every round (the plane passes a liveness check, so a dead component
        fails fast instead of waiting out the deadline). Raises ``TimeoutError`` with the last
        object seen.
        """
        deadline = time.monotonic() + timeout
        last: JSON | str = "(never read)"
        while True:
            if check is not None:
                check()
            try:
                obj = self.get(path)
                if predicate(obj):
                    return obj
                last = obj
            except ApiError as err:
                if err.status != 404:
                    raise
                last = "404 Not Found"
            if time.monotonic() > deadline:
                shown = json.dumps(last)[-1500:] if isinstance(last, dict) else last
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what or path}: {shown}"
                )
            time.sleep(POLL_INTERVAL)

    def wait_gone(
        self, path: str, *, timeout: float = 30.0, check: Callable[[], None] | None = None
    ) -> None:
        """Poll until GET ``path`` answers 404 (the object is fully deleted)."""
        deadline = time.monotonic() + timeout
        while self.exists(path):
            if check is not None:
                check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {path} to be deleted")
            time.sleep(POLL_INTERVAL)


def condition(obj: JSON, kind: str) -> str | None:
    """The status (``"True"``/``"False"``/``"Unknown"``) of condition ``kind``, or None."""
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None
