"""A request to the VPSie API as a plain value, built without I/O (in the manner of lightkube).

``endpoints.py`` builds one per endpoint; ``http.HttpClient`` only sends them. The body is
excluded from ``repr`` (it may hold the account password or user data), and ``ids`` carries
the identifiers that may be logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Method = Literal["GET", "POST", "DELETE"]


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One call: method, concrete path, its template (for logs) and an optional body.

    ``idempotent`` calls may be retried (§7); ``endpoint`` is the contract's row (``"K4"``).
    At most one of ``json`` and ``form`` is set; a DELETE sends its ``json`` body too.
    """

    method: Method
    path: str
    template: str
    endpoint: str
    idempotent: bool
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = field(default=None, repr=False)
    form: Mapping[str, str] | None = field(default=None, repr=False)
    ids: Mapping[str, str | int] = field(default_factory=dict)
    authenticated: bool = True

    def __post_init__(self) -> None:
        if self.json is not None and self.form is not None:
            raise ValueError("a request has a JSON body or a form body, not both")
