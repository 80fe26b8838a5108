"""Integration fixtures: the project's CRDs, installed once per run from the generated YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from autoscaler.core.resources.common import GROUP, VERSION
from autoscaler.core.resources.schema import RESOURCES, crd_name, kind_info
from tests.testenv import ApiError, ControlPlane
from tests.testenv.kubehttp import JSON

CRD_DIR = Path(__file__).resolve().parents[2] / "charts" / "vpsie-autoscaler" / "crds"
CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISH_TIMEOUT = 60.0


def _condition_true(crd: JSON, kind: str) -> bool:
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _install(testenv: ControlPlane, manifest: JSON) -> None:
    """Create the CRD; if it exists already, replace it with this version."""
    name = manifest["metadata"]["name"]
    try:
        testenv.admin.post(CRD_API, manifest)
    except ApiError as err:
        if err.status != 409:
            raise
        current = testenv.admin.get(f"{CRD_API}/{name}")
        manifest = {**manifest, "metadata": {**manifest["metadata"]}}
        manifest["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        testenv.admin.put(f"{CRD_API}/{name}", manifest)
    testenv.admin.wait_for(
        f"{CRD_API}/{name}",
        lambda crd: _condition_true(crd, "Established") and _condition_true(crd, "NamesAccepted"),
        timeout=ESTABLISH_TIMEOUT,
        what=f"CRD {name} Established",
        check=testenv.check_alive,
    )


@pytest.fixture(scope="session")
def crds(testenv: ControlPlane) -> dict[str, JSON]:
    """Install the chart's CRDs (the committed YAML) and wait until they are served.

    Returns the manifests by CRD name. Installed once per run and never changed by tests.
    """
    manifests = {}
    for cls in RESOURCES:
        name = crd_name(cls)
        manifest = yaml.safe_load((CRD_DIR / f"{name}.yaml").read_text())
        _install(testenv, manifest)
        manifests[name] = manifest
    plurals = {kind_info(cls).plural for cls in RESOURCES}
    testenv.admin.wait_for(
        f"/apis/{GROUP}/{VERSION}",
        lambda doc: plurals <= {r["name"] for r in doc.get("resources", [])},
        timeout=ESTABLISH_TIMEOUT,
        what="discovery lists the project's resources",
        check=testenv.check_alive,
    )
    return manifests
