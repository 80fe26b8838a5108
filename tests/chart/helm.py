"""helm, built from its Go module like the control plane (testenv.md §7), and chart rendering.

``helm_binary()`` returns the cached binary and builds it first when it is missing (``hack/
testenv-build.sh tools helm``, about a minute on warm Go caches), so a missing tool fails or
builds, never skips. ``Helm`` runs it with private config and cache directories, so nothing
of a user's own helm setup (repositories, plugins, a kubeconfig) leaks into a test.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.testenv.pins import BUILD_SCRIPT, REPO_ROOT, cache_dir, load_pins

CHART = REPO_ROOT / "charts" / "vpsie-autoscaler"
CI_VALUES = CHART / "ci" / "default-values.yaml"
RELEASE = "vpsie-autoscaler"
NAMESPACE = "vpsie-system"
JSON = dict[str, Any]


class HelmBuildFailed(RuntimeError):
    """The helm build failed; the message holds the tail of the build log."""


def helm_binary() -> Path:
    """The cached helm of ``HELM_VERSION``; built first if it is not there yet."""
    directory = cache_dir() / "tools" / f"helm-{load_pins().helm}"
    if not (directory / ".complete").exists():
        proc = subprocess.run(
            ["bash", str(BUILD_SCRIPT), "tools", "helm"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not (directory / ".complete").exists():
            raise HelmBuildFailed(f"building helm failed ({proc.returncode}):\n{proc.stderr}")
    return directory / "helm"


class HelmFailed(AssertionError):
    """helm exited non-zero; ``stderr`` says why."""

    def __init__(self, args: Sequence[str], stderr: str) -> None:
        super().__init__(f"helm {' '.join(args)} failed:\n{stderr}")
        self.stderr = stderr


@dataclass(frozen=True)
class Helm:
    """A helm binary with private config, cache and data directories under ``home``."""

    binary: Path
    home: Path

    def env(self, kubeconfig: Path | None = None) -> dict[str, str]:
        """The environment helm runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        env |= {
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
            "KUBECONFIG": str(kubeconfig or self.home / "no-kubeconfig"),
        }
        return env

    def run(self, *args: str, kubeconfig: Path | None = None, timeout: float = 120) -> str:
        """Run ``helm args``; its stdout, or ``HelmFailed`` with its stderr."""
        proc = subprocess.run(
            [str(self.binary), *args],
            env=self.env(kubeconfig),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise HelmFailed(args, proc.stderr)
        return proc.stdout

    def values_file(self, values: Mapping[str, Any]) -> Path:
        """``values`` written to a file (JSON is YAML) named after their content."""
        text = json.dumps(values, sort_keys=True)
        path = self.home / f"values-{hashlib.sha1(text.encode()).hexdigest()[:12]}.yaml"
        path.write_text(text)
        return path

    def template(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        extra: Sequence[str] = (),
        chart: Path = CHART,
    ) -> list[JSON]:
        """The objects ``helm template`` renders with the CI values and ``values`` over them."""
        args = ["template", release, str(chart), "-n", namespace, "-f", str(CI_VALUES)]
        if values:
            args += ["-f", str(self.values_file(values))]
        out = self.run(*args, *extra)
        return [doc for doc in yaml.safe_load_all(out) if doc]


def find(objects: Sequence[JSON], kind: str, name: str | None = None) -> list[JSON]:
    """The objects of ``kind`` (named ``name`` if given)."""
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: Sequence[JSON], kind: str) -> JSON:
    """The only object of ``kind``."""
    (found,) = find(objects, kind)
    return found


def container(objects: Sequence[JSON]) -> JSON:
    """The daemon's container in the Deployment."""
    (c,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    found: JSON = c
    return found


def env_of(objects: Sequence[JSON]) -> dict[str, JSON]:
    """The container's env entries by name."""
    return {e["name"]: e for e in container(objects)["env"]}
