"""Small Markdown writers shared by the generated pages: tables, code spans, anchors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_NOT_IN_SLUG = re.compile(r"[^\w\- ]")


def code(text: object) -> str:
    """``text`` as a code span (backticks inside are not expected and are refused)."""
    value = str(text)
    if "`" in value:
        raise ValueError(f"backtick in a code span: {value!r}")
    return f"`{value}`"


def cell(text: str) -> str:
    """Text made safe for one table cell: no line breaks, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A pipe table; every row must have as many cells as ``header``."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells, header {len(header)}: {row!r}")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to ``-``."""
    return _NOT_IN_SLUG.sub("", heading.strip().lower()).replace(" ", "-")


def generated_notice(source: str) -> str:
    """The comment that opens a generated page, naming its source and how to regenerate."""
    return (
        f"<!-- Generated from {source} by `make docs` (python -m autoscaler.docs_gen)."
        " Do not edit by hand: tests/test_docs.py fails when this file is stale. -->\n"
    )
