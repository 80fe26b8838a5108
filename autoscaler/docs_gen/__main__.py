"""Write the generated docs: ``python -m autoscaler.docs_gen [--check] [--root DIR]``.

``--check`` writes nothing and exits 1 when a committed page differs from what the models
generate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autoscaler.docs_gen import PAGES

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    """Regenerate every page, or with ``--check`` report the ones that are stale."""
    parser = argparse.ArgumentParser(prog="python -m autoscaler.docs_gen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    if not (args.root / "pyproject.toml").is_file():
        parser.error(f"{args.root} is not the repository root (no pyproject.toml)")
    stale = []
    for relative, render in PAGES.items():
        path = args.root / relative
        text = render()
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(relative)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    verb = "is stale" if args.check else "written"
    for relative in stale:
        print(f"{relative}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
