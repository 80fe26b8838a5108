"""The package layering of architecture §4 holds: import-linter contracts and a purity check."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "autoscaler" / "core"
FORBIDDEN_IN_CORE = {
    "asyncio",
    "aiohttp",
    "kubernetes_asyncio",
    "prometheus_client",
    "orjson",
    "time",
    "uvloop",
    "random",
    "socket",
}


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _violations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        elif isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
            names = [f"clock read .{node.attr}()"]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n in FORBIDDEN_IN_CORE or "(" in n]
    return found


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    assert _violations(ast.parse(path.read_text(), str(path))) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("import asyncio", ["line 1: asyncio"], id="asyncio"),
        pytest.param("from time import monotonic", ["line 1: time"], id="time"),
        pytest.param(
            "import datetime\nx = datetime.datetime.now()", ["line 2: clock read .now()"], id="now"
        ),
        pytest.param("from dataclasses import dataclass", [], id="allowed"),
    ],
)
def test_purity_check_finds_forbidden_imports(source: str, expected: list[str]) -> None:
    assert _violations(ast.parse(source)) == expected
