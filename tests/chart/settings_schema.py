"""The ``settings`` part of the chart's values.schema.json, derived from the settings model.

The chart renders ``settings.<group>.<name>`` into ``VPSIE_AUTOSCALER_<GROUP>__<NAME>``, so
the schema of that map is the settings model's, minus what the chart sets itself
(``CHART_MANAGED``). ``tests/chart/test_values_schema.py`` fails when the committed schema
differs; ``make chart-schema`` (``python -m tests.chart.settings_schema``) rewrites it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from autoscaler.settings import Settings

CHART = Path(__file__).resolve().parents[2] / "charts" / "vpsie-autoscaler"
SCHEMA_PATH = CHART / "values.schema.json"

CHART_MANAGED: dict[str, tuple[str, ...]] = {
    # in-cluster configuration, the release namespace and leaderElection.*
    "kube": ("kubeconfig", "context", "namespace", "lease_name", "leader_election"),
    # vpsie.mode/url/clusterIdentifier, and the credentials from the Secret
    "vpsie": (
        "mode",
        "url",
        "cluster_identifier",
        "token",
        "client_id",
        "client_secret",
        "account_password",
    ),
    # the container's ports, probes, Service and NetworkPolicy use 8080 and 8081
    "server": ("host", "metrics_port", "probes_port"),
}
_DROPPED_KEYS = ("title",)


def _field_schema(schema: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in schema.items() if k not in _DROPPED_KEYS}
    branches = out.pop("anyOf", None)
    if branches is not None:  # ``X | None``: the chart omits a setting rather than nulling it
        (kept,) = [b for b in branches if b.get("type") != "null"]
        out = {**kept, **out}
    if out.get("default", 0) is None:
        del out["default"]
    return dict(sorted(out.items()))


def _group_schema(name: str, model: type[BaseModel]) -> dict[str, Any]:
    fields = model.model_json_schema()["properties"]
    managed = CHART_MANAGED.get(name, ())
    return {
        "type": "object",
        "description": (model.__doc__ or "").strip(),
        "additionalProperties": False,
        "properties": {f: _field_schema(s) for f, s in fields.items() if f not in managed},
    }


def settings_schema() -> dict[str, Any]:
    """The schema of the chart's ``settings`` value."""
    groups = {}
    for name, field in Settings.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            groups[name] = _group_schema(name, model)
    return {
        "type": "object",
        "description": "daemon settings as {group: {name: value}} (docs/configuration.md);"
        " each becomes VPSIE_AUTOSCALER_<GROUP>__<NAME>",
        "additionalProperties": False,
        "properties": groups,
    }


def render(schema: dict[str, Any]) -> str:
    """The file text of a values schema (two-space JSON, final newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Rewrite the ``settings`` property of the committed values.schema.json."""
    schema = json.loads(SCHEMA_PATH.read_text())
    schema["properties"]["settings"] = settings_schema()
    SCHEMA_PATH.write_text(render(schema))
    print(f"{SCHEMA_PATH}: settings schema written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
