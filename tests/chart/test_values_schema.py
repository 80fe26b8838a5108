"""values.schema.json knows every daemon setting the chart passes through, and nothing else."""

from __future__ import annotations

import json

from autoscaler.settings import Settings
from tests.chart.helm import Helm, env_of
from tests.chart.settings_schema import CHART_MANAGED, SCHEMA_PATH, render, settings_schema


def test_values_schema_settings_match_the_settings_model() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed["properties"]["settings"] == settings_schema(), (
        "values.schema.json is stale: run `make chart-schema`"
    )
    assert SCHEMA_PATH.read_text() == render(committed), (
        "not formatted as `make chart-schema` writes it"
    )


def test_the_schema_is_strict() -> None:
    def objects(schema: dict[str, object], path: str) -> list[str]:
        loose = []
        if schema.get("type") == "object" and "properties" in schema:
            if schema.get("additionalProperties") is not False:
                loose.append(path)
            for name, sub in schema["properties"].items():  # type: ignore[attr-defined]
                loose += objects(sub, f"{path}.{name}")
        return loose

    assert objects(json.loads(SCHEMA_PATH.read_text()), "values") == []


def test_every_setting_the_chart_manages_is_rendered(helm: Helm) -> None:
    env = env_of(helm.template({"vpsie": {"mode": "vm", "clusterIdentifier": "c1"}}))
    in_cluster = {("kube", "kubeconfig"), ("kube", "context")}
    credentials = {("vpsie", "client_id"), ("vpsie", "client_secret")}  # auth: clientCredentials
    for group, names in CHART_MANAGED.items():
        assert group in Settings.model_fields
        for name in names:
            if (group, name) in in_cluster | credentials:
                continue
            assert f"VPSIE_AUTOSCALER_{group}__{name}".upper() in env, (group, name)
