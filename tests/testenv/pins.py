"""Pinned versions (``hack/testenv.env``) and the cached binary directory built from them.

``hack/testenv.env`` is the one file naming the versions (testenv.md §2); this module parses it the
way ``sh`` would for plain ``KEY=VALUE`` lines, finds the build cache and, when the binaries are
missing, runs ``hack/testenv-build.sh`` instead of skipping (testenv.md §6).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = REPO_ROOT / "hack" / "testenv.env"
BUILD_SCRIPT = REPO_ROOT / "hack" / "testenv-build.sh"


class BuildFailed(RuntimeError):
    """``hack/testenv-build.sh`` failed; the message holds the tail of ``build.log``."""


@dataclass(frozen=True)
class Pins:
    """The pinned versions and fallback choices of the test environment."""

    k8s: str
    etcd: str
    kwok: str
    helm: str
    prometheus: str
    etcd_source: str
    kwok_impl: str

    def header(self) -> str:
        """One line for the pytest report header."""
        return (
            f"testenv: kubernetes {self.k8s}, etcd {self.etcd} (ETCD_SOURCE={self.etcd_source}), "
            f"kwok {self.kwok} (KWOK_IMPL={self.kwok_impl}), helm {self.helm}, "
            f"prometheus {self.prometheus}"
        )


def parse_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """Parse ``KEY=VALUE  # comment`` lines; blank and comment lines are ignored."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_pins(path: Path = ENV_FILE) -> Pins:
    """Read the pins from ``hack/testenv.env``."""
    v = parse_env_file(path)
    return Pins(
        k8s=v["K8S_VERSION"],
        etcd=v["ETCD_VERSION"],
        kwok=v["KWOK_VERSION"],
        helm=v["HELM_VERSION"],
        prometheus=v["PROMETHEUS_VERSION"],
        etcd_source=v.get("ETCD_SOURCE", "go"),
        kwok_impl=v.get("KWOK_IMPL", "kwok"),
    )


def cache_dir() -> Path:
    """``$TESTENV_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/vpsie-autoscaler-testenv``."""
    if explicit := os.environ.get("TESTENV_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vpsie-autoscaler-testenv"


def bin_dir(pins: Pins) -> Path:
    """The directory ``hack/testenv-build.sh`` builds for these pins."""
    return cache_dir() / f"k8s-{pins.k8s}-etcd-{pins.etcd}-kwok-{pins.kwok}"


def build_log_tail(lines: int = 60) -> str:
    """The last ``lines`` lines of ``build.log`` (empty when there is none)."""
    log = cache_dir() / "build.log"
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def ensure_built(pins: Pins) -> Path:
    """Return the binary directory, running the build script first if it is not complete.

    A cold build took 8.5 min on two cores (est. up to 30); a warning says so before it starts.
    Raises :class:`BuildFailed` with the tail of ``build.log`` when the build fails.
    """
    target = bin_dir(pins)
    if (target / ".complete").exists():
        return target
    print(
        f"\ntestenv: {target} is not built; running {BUILD_SCRIPT.name} "
        f"(a cold build takes ~10 min on 2 cores, log: {cache_dir() / 'build.log'})",
        file=sys.stderr,
        flush=True,
    )
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not (target / ".complete").exists():
        raise BuildFailed(
            f"{BUILD_SCRIPT} exited {proc.returncode}; "
            f"last lines of {cache_dir() / 'build.log'}:\n{build_log_tail()}"
        )
    return target
