"""The chart's CRDs are exactly what the models generate, and the schema is complete and bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoscaler.core.resources.schema import RESOURCES, crd, crd_name, render
from tests.core.resource_objects import walk_schema

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "charts" / "vpsie-autoscaler" / "crds"
BY_NAME = pytest.mark.parametrize("cls", RESOURCES, ids=lambda c: c.__name__)


def root(cls: type) -> dict[str, Any]:
    schema: dict[str, Any] = crd(cls)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@BY_NAME
def test_committed_crd_matches_the_models(cls: type) -> None:
    path = CRD_DIR / f"{crd_name(cls)}.yaml"
    assert path.exists(), f"{path} is missing: run hack/gen-crds.py"
    assert path.read_text() == render(cls), f"{path} is stale: run hack/gen-crds.py"


@BY_NAME
def test_generation_is_deterministic(cls: type) -> None:
    assert render(cls) == render(cls)


def test_chart_crd_directory_holds_only_generated_files() -> None:
    expected = {f"{crd_name(cls)}.yaml" for cls in RESOURCES}
    assert {p.name for p in CRD_DIR.iterdir()} == expected


@BY_NAME
def test_every_property_has_a_description(cls: type) -> None:
    undocumented = [
        path
        for path, schema in walk_schema(root(cls))
        # metadata is the built-in ObjectMeta: kubectl explain documents it from the server
        if path != ".metadata" and not schema.get("description")
    ]
    assert undocumented == []


@BY_NAME
def test_cel_rules_have_messages_and_bounded_inputs(cls: type) -> None:
    """Each rule reads back as a sentence, and its strings and lists have size limits.

    Bounded inputs keep the API server's CEL cost estimate within budget.
    """
    problems = []
    for path, schema in walk_schema(root(cls)):
        for rule in schema.get("x-kubernetes-validations", []):
            if not rule.get("message"):
                problems.append(f"{path}: rule {rule['rule']!r} has no message")
        if path in (".apiVersion", ".kind"):  # standard fields, set by the API server
            continue
        unbounded = not {"enum", "format", "maxLength"} & set(schema)
        if schema.get("type") == "string" and unbounded:
            problems.append(f"{path}: string without maxLength")
        if schema.get("type") == "array" and "maxItems" not in schema:
            problems.append(f"{path}: list without maxItems")
    assert problems == []


@pytest.mark.parametrize(
    ("cls_name", "columns"),
    [
        pytest.param("NodeGroup", ["Min", "Max", "Current", "Ready", "Upcoming", "Mode", "Age"]),
        pytest.param("VPSieNode", ["Group", "Phase", "Hostname", "Node", "Age"]),
    ],
)
def test_printer_columns_follow_upstream(cls_name: str, columns: list[str]) -> None:
    (cls,) = [c for c in RESOURCES if c.__name__ == cls_name]
    version = crd(cls)["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == columns
    assert version["subresources"] == {"status": {}}


def test_names_and_defaults_of_nodegroup() -> None:
    (nodegroup,) = [c for c in RESOURCES if c.__name__ == "NodeGroup"]
    names = crd(nodegroup)["spec"]["names"]
    assert (names["plural"], names["shortNames"], names["categories"]) == (
        "nodegroups",
        ["ng"],
        ["vpsie"],
    )
    scale_down = root(nodegroup)["properties"]["spec"]["properties"]["scaleDown"]
    assert scale_down["default"] == {}
    defaults = {k: v.get("default") for k, v in scale_down["properties"].items()}
    assert defaults == {
        "allowedWindows": None,
        "delayAfterAdd": "10m",
        "enabled": True,
        "unneededTime": "10m",
        "utilizationThreshold": 0.5,
    }
