#!/usr/bin/env python3
"""Write the chart's CRDs from the resource models: ``python hack/gen-crds.py [--check]``.

``--check`` writes nothing and exits 1 when a committed file differs from the models
(``tests/core/test_crd_generation.py`` does the same check in the test suite).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoscaler.core.resources.schema import RESOURCES, crd_name, render  # noqa: E402

CRD_DIR = ROOT / "charts" / "vpsie-autoscaler" / "crds"


def main(argv: list[str] | None = None) -> int:
    """Regenerate every CRD file, or with ``--check`` report the ones that drifted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for cls in RESOURCES:
        path = CRD_DIR / f"{crd_name(cls)}.yaml"
        text = render(cls)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            CRD_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in stale:
        verb = "differs from the models" if args.check else "written"
        print(f"{path.relative_to(ROOT)}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
