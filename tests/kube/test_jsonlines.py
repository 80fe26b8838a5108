"""The JSON-line splitter: any chunking gives the same lines, and lines have no length limit."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoscaler.kube.jsonlines import CHUNK_SIZE, LineSplitter, iter_json_lines


class Chunks:
    """A ``ChunkedReader`` serving a body in fixed pieces, recording the size asked for."""

    def __init__(self, body: bytes, piece: int) -> None:
        self.body, self.piece = body, piece
        self.asked: list[int] = []

    async def _chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.piece):
            yield self.body[start : start + self.piece]

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        self.asked.append(n)
        return self._chunks()


async def lines_of(body: bytes, piece: int) -> list[bytes]:
    return [line async for line in iter_json_lines(Chunks(body, piece))]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"a":1}\n{"b":2}\n', [b'{"a":1}', b'{"b":2}'], id="two-lines"),
        pytest.param(b'{"a":1}\n{"b":2}', [b'{"a":1}', b'{"b":2}'], id="unterminated-last"),
        pytest.param(b'\n\n{"a":1}\n \n\r\n', [b'{"a":1}'], id="blank-lines-skipped"),
        pytest.param(b"", [], id="empty-body"),
    ],
)
async def test_lines_are_split(body: bytes, expected: list[bytes]) -> None:
    for piece in (1, 3, len(body) or 1):
        assert await lines_of(body, piece) == expected


async def test_reads_one_mebibyte_chunks() -> None:
    reader = Chunks(b"{}\n", 1)
    assert [line async for line in iter_json_lines(reader)] == [b"{}"]
    assert reader.asked == [CHUNK_SIZE] == [1024 * 1024]


async def test_a_two_mebibyte_line_is_parsed() -> None:
    event = {"type": "ADDED", "object": {"metadata": {"name": "big"}, "data": "x" * 2**21}}
    body = b'{"type":"BOOKMARK"}\n' + orjson.dumps(event) + b'\n{"type":"DELETED"}\n'
    lines = await lines_of(body, 64 * 1024)  # the line spans 33 chunks
    assert len(lines) == 3
    assert len(lines[1]) > 2 * 1024 * 1024
    assert orjson.loads(lines[1]) == event


@given(
    lines=st.lists(st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b"x"))),
    cuts=st.lists(st.integers(min_value=0, max_value=2000)),
)
def test_any_chunking_gives_the_same_lines(lines: list[bytes], cuts: list[int]) -> None:
    body = b"".join(line + b"\n" for line in lines)
    splitter = LineSplitter()
    got: list[bytes] = []
    bounds = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        got += splitter.feed(body[start:end])
    assert splitter.flush() is None
    assert got == [line for line in lines if not line.isspace()]
