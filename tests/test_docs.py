"""The user docs: generated pages are current, examples parse, and every name and link is real.

``docs/configuration.md`` and ``docs/nodegroup.md`` are generated from the models
(``make docs``); the hand-written pages (README, troubleshooting) are checked for the names
they use: metrics, environment variables, relative links and the NodeGroups they show.
"""

from __future__ import annotations

import difflib
import enum
import itertools
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from pydantic_settings import EnvSettingsSource

from autoscaler.controllers.keys import Reason as EventReason
from autoscaler.core.drain_outcomes import BlockReason
from autoscaler.core.node_eligibility import KeptReason
from autoscaler.core.reasons import CA_WORDING, Reason
from autoscaler.core.resources import (
    NodeGroup,
    NodeGroupConditionType,
    Phase,
    VPSieNode,
    VPSieNodeConditionType,
    nodegroup_from_dict,
)
from autoscaler.core.resources.introspect import model_fields
from autoscaler.core.resources.provider import VM_REQUIRED
from autoscaler.docs_gen import PAGES, REGENERATE
from autoscaler.docs_gen.__main__ import main as docs_main
from autoscaler.docs_gen.markdown import slug
from autoscaler.docs_gen.resource_fields import NOT_WRITTEN, sections
from autoscaler.docs_gen.settings_fields import (
    CROSS_FIELD_RULES,
    NOT_READ,
    SHADOWED,
    env_name,
    groups,
)
from autoscaler.kube import errors as kube_errors
from autoscaler.observability.controller_metrics import ControllerMetricsProvider
from autoscaler.observability.leader_metrics import LeaderElectionMetrics
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.observability.registry import new_registry
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.observability.usage_metrics import UsageMetrics
from autoscaler.observability.vpsie_metrics import VPSieMetrics
from autoscaler.observability.workqueue_metrics import WorkqueueMetricsProvider
from autoscaler.settings import Settings
from autoscaler.vpsie import errors as vpsie_errors
from autoscaler.vpsie.config import VPSieClientConfig

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "autoscaler"
PAGES_CHECKED = (
    "README.md",
    "docs/configuration.md",
    "docs/nodegroup.md",
    "docs/troubleshooting.md",
)
SETTINGS = [(g, name) for g, model in groups() for name in model.model_fields]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_METRIC = re.compile(
    r"\b(vpsie_autoscaler_\w+|workqueue_\w+|controller_runtime_\w+|leader_election_master_status)"
)
_ENV = re.compile(r"\bVPSIE_AUTOSCALER_[A-Z0-9_]+")
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def code_blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def daemon_sources() -> dict[Path, str]:
    """The daemon's code, without the settings model itself and this doc generator."""
    return {
        path: path.read_text(encoding="utf-8")
        for path in SOURCES.rglob("*.py")
        if path.name != "settings.py" and "docs_gen" not in path.parts
    }


# --- generated pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("relative", sorted(PAGES))
def test_generated_page_is_current(relative: str) -> None:
    path = ROOT / relative
    assert path.is_file(), f"{relative} is missing: run {REGENERATE}"
    committed, generated = path.read_text(encoding="utf-8"), PAGES[relative]()
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            f"{relative} (committed)",
            f"{relative} (generated)",
        )
        shown = "".join(itertools.islice(diff, 40))
        pytest.fail(f"{relative} is stale: run {REGENERATE}\n{shown}")


@pytest.mark.parametrize("relative", sorted(PAGES))
def test_generation_is_deterministic(relative: str) -> None:
    assert PAGES[relative]() == PAGES[relative]()


def test_generator_writes_then_check_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "docs").mkdir()

    assert docs_main(["--check", "--root", str(tmp_path)]) == 1
    assert docs_main(["--root", str(tmp_path)]) == 0
    assert docs_main(["--check", "--root", str(tmp_path)]) == 0
    for relative, render in PAGES.items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == render()
    assert "docs/configuration.md: is stale" in capsys.readouterr().out


# --- configuration reference -------------------------------------------------------------------


@pytest.mark.parametrize(("group", "name"), SETTINGS, ids=[f"{g}.{n}" for g, n in SETTINGS])
def test_every_setting_has_a_row_with_its_variable(group: str, name: str) -> None:
    assert f"| `{name}` | `{env_name(group, name)}` |" in read("docs/configuration.md")


@pytest.mark.parametrize(("group", "name"), SETTINGS, ids=[f"{g}.{n}" for g, n in SETTINGS])
def test_documented_variable_reaches_its_setting(
    group: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env_name(group, name), "x")
    assert EnvSettingsSource(Settings)()[group][name] == "x"


def test_config_file_variable_is_the_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPSIE_AUTOSCALER_CONFIG_FILE", "/etc/vpsie-autoscaler/config.yaml")
    assert EnvSettingsSource(Settings)()["config_file"] == "/etc/vpsie-autoscaler/config.yaml"


@pytest.mark.parametrize("relative", PAGES_CHECKED)
def test_pages_name_only_real_variables(relative: str) -> None:
    known = {env_name(g, n) for g, n in SETTINGS} | {"VPSIE_AUTOSCALER_CONFIG_FILE"}
    assert set(_ENV.findall(read(relative))) - known == set()


def test_every_cross_field_rule_is_documented() -> None:
    models: list[type[BaseModel]] = [m for _, m in groups()] + [Settings, VPSieClientConfig]
    validators = {
        f"{m.__name__}.{name}"
        for m in models
        for name in m.__pydantic_decorators__.model_validators
    }
    assert validators == set(CROSS_FIELD_RULES)


def test_settings_marked_unused_are_the_ones_the_daemon_never_names() -> None:
    """A setting the daemon's code never reads as an attribute or a key is not read by it.

    (The ``vpsie`` group reaches the client through ``VPSieClientConfig.from_settings``,
    whose fields are read the same way.)
    """
    code = "\n".join(daemon_sources().values())
    unread = {f"{g}.{n}" for g, n in SETTINGS if not re.search(rf'\.{n}\b|"{n}"', code)}
    assert unread == NOT_READ, "update NOT_READ in autoscaler/docs_gen/settings_fields.py"


def test_shadowed_settings_are_required_by_every_vm_nodegroup() -> None:
    assert set(SHADOWED.values()) <= set(VM_REQUIRED)


# --- NodeGroup reference -----------------------------------------------------------------------


def test_nodegroup_page_has_a_section_and_a_row_for_every_field() -> None:
    text = read("docs/nodegroup.md")
    documented = {s.cls for s in sections(NodeGroup)}
    for root in (NodeGroup, VPSieNode):
        for section in sections(root, skip=frozenset(documented if root is VPSieNode else ())):
            assert f"### {section.heading}\n" in text
            for field in model_fields(section.cls):
                assert f"| `{field.json}` |" in text


def _status_fields() -> list[tuple[str, str]]:
    found = []
    for root in (NodeGroup, VPSieNode):
        for section in sections(root):
            if section.path == "status":
                found += [(root.__name__, f.json) for f in model_fields(section.cls)]
    return found


@pytest.mark.parametrize(("kind", "field"), _status_fields(), ids=str)
def test_status_fields_marked_not_written_are_the_ones_no_controller_writes(
    kind: str, field: str
) -> None:
    controllers = "\n".join(
        t for p, t in daemon_sources().items() if p.parent.name == "controllers"
    )
    written = f'"{field}"' in controllers
    assert written != (f"{kind}.status.{field}" in NOT_WRITTEN), (
        "update NOT_WRITTEN in autoscaler/docs_gen/resource_fields.py"
    )


def test_drained_condition_is_not_set_yet_as_the_page_says() -> None:
    controllers = "\n".join(
        t for p, t in daemon_sources().items() if p.parent.name == "controllers"
    )
    assert "VPSieNodeConditionType.DRAINED" not in controllers
    assert '"Drained"' not in controllers
    prose = " ".join(read("docs/nodegroup.md").split())
    assert "`Drained`, which the autoscaler does not set yet" in prose


# --- examples ----------------------------------------------------------------------------------


def _yaml_documents(relative: str) -> list[Any]:
    blocks = code_blocks(read(relative), "yaml")
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if doc is not None]


def _nodegroups(relative: str) -> list[dict[str, Any]]:
    return [d for d in _yaml_documents(relative) if d.get("kind") == "NodeGroup"]


EXAMPLES = [
    pytest.param(relative, i, id=f"{relative}-{i}")
    for relative in PAGES_CHECKED
    for i in range(len(_nodegroups(relative)))
]


@pytest.mark.parametrize(("relative", "index"), EXAMPLES)
def test_nodegroup_example_parses(relative: str, index: int) -> None:
    obj = _nodegroups(relative)[index]
    group = nodegroup_from_dict(obj)
    assert group.metadata.namespace == "vpsie-system"


def test_nodegroup_examples_cover_both_modes() -> None:
    modes = {nodegroup_from_dict(o).spec.provider.mode for o in _nodegroups("docs/nodegroup.md")}
    assert {str(m) for m in modes} == {"vke", "vm"}


def test_vm_example_secret_holds_the_user_data_it_references() -> None:
    docs = _yaml_documents("docs/nodegroup.md")
    secrets = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d["stringData"]
        for d in docs
        if d.get("kind") == "Secret"
    }
    for obj in _nodegroups("docs/nodegroup.md"):
        group = nodegroup_from_dict(obj)
        ref = group.spec.provider.user_data_secret_ref
        if ref is not None:
            data = secrets[(group.metadata.namespace, ref.name)]
            assert data[ref.key].startswith("#cloud-config")


def test_config_file_example_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("VPSIE_AUTOSCALER_"):
            monkeypatch.delenv(var)
    files = [d for d in _yaml_documents("docs/configuration.md") if "env" not in d]
    assert files
    for values in files:
        settings = Settings(**values)
        for group, fields in values.items():
            for name, value in fields.items():
                assert getattr(getattr(settings, group), name) == value


def test_env_example_names_real_variables() -> None:
    known = {env_name(g, n) for g, n in SETTINGS}
    fragments = [d for d in _yaml_documents("docs/configuration.md") if "env" in d]
    assert fragments
    assert {e["name"] for d in fragments for e in d["env"]} <= known


# --- names and links of the hand-written pages -------------------------------------------------


def _exported_metric_names() -> set[str]:
    registry = new_registry(process_metrics=False)
    ScaleUpMetrics(registry)
    ScaleDownMetrics(registry)
    LifecycleMetrics(registry).watch_phases(list)
    UsageMetrics(registry)
    VPSieMetrics(registry).track_breaker(lambda: ("closed", 0), ["closed"])
    LeaderElectionMetrics(registry)
    WorkqueueMetricsProvider(registry)
    ControllerMetricsProvider(registry)
    names = set()
    for family in registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("count", "sum", "bucket")}
    return names


@pytest.mark.parametrize("relative", PAGES_CHECKED)
def test_pages_name_only_exported_metrics(relative: str) -> None:
    assert set(_METRIC.findall(read(relative))) - _exported_metric_names() == set()


def test_troubleshooting_explains_every_not_triggered_reason() -> None:
    text = read("docs/troubleshooting.md")
    missing = [
        phrase
        for reason, phrase in CA_WORDING.items()
        if reason is not Reason.INSUFFICIENT_RESOURCES and f"`{phrase}" not in text
    ]
    assert missing == []
    assert "`Insufficient cpu`" in text


def test_troubleshooting_names_only_real_reasons() -> None:
    """Backticked CamelCase names are Event, condition or error reasons the code has."""
    enums: tuple[type[enum.StrEnum], ...] = (Reason, EventReason, KeptReason, BlockReason)
    enums += (Phase, NodeGroupConditionType, VPSieNodeConditionType)
    known = {m.value for e in enums for m in e} | {"Unschedulable"}  # the scheduler's reason
    for module in (vpsie_errors, kube_errors):
        known |= {n for n, v in vars(module).items() if isinstance(v, type)}
    names = set(re.findall(r"`([A-Z][A-Za-z]+)`", read("docs/troubleshooting.md")))
    assert names - known == set()


def test_nodegroup_condition_reasons_are_the_ones_the_controller_writes() -> None:
    text = read("docs/nodegroup.md")
    table = text.split("### NodeGroup conditions\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `")]
    status_code = (SOURCES / "controllers" / "nodegroup_status.py").read_text(encoding="utf-8")
    assert {r[0].strip("| `") for r in rows} == {str(c) for c in NodeGroupConditionType}
    for row in rows:
        for reason in re.findall(r"`([A-Z][A-Za-z]+)`", row[2]):
            assert reason in {m.value for m in EventReason} or f'"{reason}"' in status_code


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    prose = _FENCE.sub("", text)
    anchors = set(re.findall(r'<a id="([^"]+)">', prose))
    seen: dict[str, int] = {}
    for line in prose.splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            count = seen.get(base, 0)
            anchors.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return anchors


LINKS = [
    pytest.param(relative, target, id=f"{relative}->{target}")
    for relative in PAGES_CHECKED
    for target in sorted(set(_LINK.findall(_CODE_SPAN.sub("", _FENCE.sub("", read(relative))))))
    if not target.startswith(("http://", "https://"))
]


@pytest.mark.parametrize(("relative", "target"), LINKS)
def test_relative_link_resolves(relative: str, target: str) -> None:
    file, _, anchor = target.partition("#")
    page = ROOT / relative
    path = (page.parent / file).resolve() if file else page
    assert path.is_file(), f"{relative}: {target}: no such file"
    if anchor:
        assert anchor in _anchors(path), f"{relative}: {target}: no such heading"
