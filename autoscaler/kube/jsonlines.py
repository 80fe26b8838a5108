"""Split a streamed HTTP body into JSON lines, with no line-length limit.

aiohttp's ``readline()`` refuses lines over its buffer limit (128 KiB by default; kopf
#275), and a watch event carrying a large object can exceed any fixed limit. Like kopf's
``iter_jsonlines`` (``kopf/_cogs/clients/api.py``) we read 1 MiB chunks and split them
ourselves. A line that spans chunks is collected in a list and joined once, so a long line
costs linear time; blank lines are skipped and a final unterminated line is yielded.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

__all__ = ["CHUNK_SIZE", "ChunkedReader", "LineSplitter", "iter_json_lines"]

CHUNK_SIZE = 1024 * 1024


class ChunkedReader(Protocol):
    """What we need of ``aiohttp.StreamReader``."""

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``n`` bytes."""


class LineSplitter:
    """Turn chunks of bytes into complete, non-blank lines (without the newline)."""

    def __init__(self) -> None:
        self._partial: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add a chunk; return the lines it completes, in order."""
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            if chunk:
                self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(parts[0])
            parts[0] = b"".join(self._partial)
            self._partial.clear()
        tail = parts.pop()
        if tail:
            self._partial.append(tail)
        return [line for line in parts if line and not line.isspace()]

    def flush(self) -> bytes | None:
        """Return the unterminated last line, if any, and forget it."""
        line = b"".join(self._partial)
        self._partial.clear()
        return line if line and not line.isspace() else None


async def iter_json_lines(
    content: ChunkedReader, *, chunk_size: int = CHUNK_SIZE
) -> AsyncGenerator[bytes, None]:
    """Yield each non-blank line of ``content``, however long."""
    splitter = LineSplitter()
    async for chunk in content.iter_chunked(chunk_size):
        for line in splitter.feed(chunk):
            yield line
    last = splitter.flush()
    if last is not None:
        yield last
