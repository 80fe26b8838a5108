"""Structured logging: one JSON object per line, with per-object fields.

Use ``logging.getLogger(__name__)`` and pass fields through ``extra`` (or a
``FieldsAdapter``): ``log.info("tainted node", extra={"node": name, "reason": r})``.
Messages are constant strings; variable parts go into fields, so nothing is
formatted unless a record is emitted.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single line of JSON."""
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class FieldsAdapter(logging.LoggerAdapter[logging.Logger]):
    """A logger adapter that adds fixed fields (``node=``, ``nodegroup=``) to every record."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Merge the adapter's fields under the call's own ``extra``."""
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def configure_logging(*, level: int, fmt: str, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stderr) as JSON (or text) at ``level``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The client libraries are chatty at DEBUG; keep them at WARNING unless asked.
    for noisy in ("aiohttp.access", "kubernetes_asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
