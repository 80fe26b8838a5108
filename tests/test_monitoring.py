"""The observability assets: alert rules, their runbooks and the Grafana dashboard.

``charts/vpsie-autoscaler/files/alerts.yaml`` (Prometheus rules), ``alerts_test.yaml`` (their
promtool unit tests) and ``dashboard.json`` (Grafana) are checked here for what a reader of
them relies on:

* every metric their PromQL names is exported by a **running daemon**, and every label they
  select or group by exists on that metric (the e2e tests at the end; see ``daemon_metrics``);
* promtool accepts the rules and passes their unit tests; the dashboard's queries parse;
* every alert has a severity, a summary, a description and a runbook in ``docs/runbooks/``,
  and every runbook belongs to an alert; runbooks and ``docs/monitoring.md`` name only
  exported metrics and link only to files that exist.

promtool is built from its Go module by ``make tools`` (testenv.md §7); these tests fail, never
skip, when it is missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from autoscaler.docs_gen.markdown import slug
from autoscaler.observability.controller_metrics import ControllerMetricsProvider
from autoscaler.observability.leader_metrics import LeaderElectionMetrics
from autoscaler.observability.lifecycle_metrics import LifecycleMetrics
from autoscaler.observability.registry import new_registry
from autoscaler.observability.scale_down_metrics import ScaleDownMetrics
from autoscaler.observability.scale_up_metrics import ScaleUpMetrics
from autoscaler.observability.usage_metrics import UsageMetrics
from autoscaler.observability.vpsie_metrics import VPSieMetrics
from autoscaler.observability.workqueue_metrics import WorkqueueMetricsProvider
from tests.e2e.harness import E2E
from tests.e2e.test_scale_down import FAST
from tests.e2e.test_scale_up import POOL, template_labels, world
from tests.integration.conftest import crds
from tests.testenv.pins import cache_dir, load_pins
from tests.testenv.scope import TestNamespace

__all__ = ["crds"]  # the integration tier's CRD fixture, which the daemon needs

ROOT = Path(__file__).resolve().parent.parent
FILES = ROOT / "charts" / "vpsie-autoscaler" / "files"
ALERTS = FILES / "alerts.yaml"
ALERT_TESTS = FILES / "alerts_test.yaml"
DASHBOARD = FILES / "dashboard.json"
RUNBOOKS = ROOT / "docs" / "runbooks"
MONITORING = ROOT / "docs" / "monitoring.md"
RUNBOOK_URL = "docs/runbooks/{alert}.md"
SEVERITIES = {"critical", "warning", "info"}
TARGET_LABELS = {"job", "instance"}  # added by every scrape; the rules join on them


# --- PromQL: the metric and label names an expression uses ------------------------------------

#: PromQL's functions and aggregation operators (Prometheus 3): an identifier followed by ``(``
#: must be one of these; anything else is a typo promtool would reject in a rule.
# fmt: off
FUNCTIONS = frozenset({
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "double_exponential_smoothing", "exp", "first_over_time", "floor",
    "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
    "histogram_stddev", "histogram_stdvar", "histogram_sum", "hour", "idelta", "increase", "info",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
    "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn",
    "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt",
    "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp",
    "vector", "year", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio", "start", "end"
})
# fmt: on
LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "atan2", "bool", "offset", "inf", "nan"})
_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*(?![\w.]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],:@])
    """,
    re.VERBOSE,
)
#: Grafana's interval macros; any other ``$`` outside a string is an error.
_GRAFANA_INTERVAL = re.compile(
    r"\$__(?:rate_interval|interval|range)\b|\$\{__(?:rate_interval|interval|range)\}"
)


@dataclasses.dataclass
class Usage:
    """What one expression names: metrics (with the labels matched on each) and the labels
    of its ``by``/``without``/``on``/``ignoring``/``group_*`` lists."""

    metrics: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    grouping: set[str] = dataclasses.field(default_factory=set)


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) of every token but blanks and comments; fails on anything else."""
    expr = _GRAFANA_INTERVAL.sub("5m", expr)
    out, pos = [], 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"cannot tokenize {expr[pos : pos + 20]!r} in {expr!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group()))
        pos = match.end()
    return out


def promql_usage(expr: str) -> Usage:
    """The metric names an expression selects and the labels it matches or groups by.

    Strings, numbers and durations are skipped; ``name(`` is a function (checked against
    ``FUNCTIONS``); identifiers inside ``{...}`` before a matcher operator are label names of
    the selector's metric; identifiers in the list after ``by``, ``without``, ``on``,
    ``ignoring``, ``group_left`` and ``group_right`` are grouping labels; ``and``/``or``/...
    are operators; everything else is a metric name.
    """
    toks = tokens(expr)
    usage = Usage()
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if text == "[":  # a range or subquery: durations, numbers and ':' only
            while toks[i][1] != "]":
                i += 1
        elif kind == "ident" and text in LABEL_LIST_KEYWORDS:
            if nxt == "(":
                i += 2
                while toks[i][1] != ")":
                    if toks[i][0] == "ident":
                        usage.grouping.add(toks[i][1])
                    i += 1
        elif kind == "ident" and text.lower() in KEYWORDS:
            pass
        elif kind == "ident" and (nxt == "(" or nxt in {"by", "without"}):
            if text not in FUNCTIONS:
                raise ValueError(f"unknown function {text}() in {expr!r}")
        elif kind == "ident" or text == "{":
            name = text if kind == "ident" else ""
            labels = usage.metrics.setdefault(name, set()) if name else set()
            if kind == "ident" and nxt == "{":
                i += 1
            if toks[i][1] == "{":
                while toks[i][1] != "}":
                    if toks[i][0] == "ident" and toks[i + 1][1] in {"=", "!=", "=~", "!~"}:
                        labels.add(toks[i][1])
                    i += 1
        i += 1
    return usage


@pytest.mark.parametrize(
    ("expr", "metrics", "grouping"),
    [
        ("up", {"up": set()}, set()),
        (
            'sum by (nodegroup, reason) (increase(a_total{reason=~"failed|timeout"}[1h])) >= 2',
            {"a_total": {"reason"}},
            {"nodegroup", "reason"},
        ),
        (
            "histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le)) > 1e3",
            {"x_bucket": set()},
            {"le"},
        ),
        (
            "a and on (job, instance) b * ignoring(x) group_left (y) c offset 1h30m",
            {"a": set(), "b": set(), "c": set()},
            {"job", "instance", "x", "y"},
        ),
        (
            'rate(q_count{outcome!~"2..", job=~"$job"}[$__rate_interval]) / 2 # by (z)',
            {"q_count": {"outcome", "job"}},
            set(),
        ),
        ("max_over_time(g[30m:1m]) > bool inf", {"g": set()}, set()),
        (
            "label_replace(m, \"by\", 'sum', \"on\", `(.*)`) unless absent(n{a='b'})",
            {"m": set(), "n": {"a"}},
            set(),
        ),
        ("(sum(rate(c[10m])) or vector(0)) == 0", {"c": set()}, set()),
    ],
)
def test_promql_usage_finds_metric_and_label_names(
    expr: str, metrics: dict[str, set[str]], grouping: set[str]
) -> None:
    usage = promql_usage(expr)
    assert usage.metrics == metrics
    assert usage.grouping == grouping


@pytest.mark.parametrize("expr", ["rat(x[5m])", "x{a=$b}", 'sum(x) by (a) + y{"unclosed'])
def test_promql_usage_refuses_what_it_cannot_read(expr: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        promql_usage(expr)


# --- the assets ---------------------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of alerts.yaml."""
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_names() -> list[str]:
    return [rule["alert"] for rule in alert_rules()]


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def dashboard_panels() -> list[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    panels = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels") or [])
    return panels


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard query: panel targets and query variables."""
    queries = [
        (f"panel {p['title']!r} target {t['refId']}", t["expr"])
        for p in dashboard_panels()
        for t in p.get("targets") or []
    ]
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["definition"])
            assert match, f"variable {var['name']}: only label_values(<selector>, <label>)"
            selector, label = match.groups()
            queries.append((f"variable {var['name']}", f"group by ({label}) ({selector})"))
    return queries


def all_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every alert and dashboard query."""
    alerts = [(f"alert {r['alert']}", r["expr"]) for r in alert_rules()]
    return alerts + [(f"dashboard {where}", expr) for where, expr in dashboard_queries()]


def promtool() -> Path:
    """The promtool ``make tools`` builds (``hack/testenv-build.sh tools``), or fail."""
    directory = cache_dir() / "tools" / f"promtool-{load_pins().prometheus}"
    binary = directory / "promtool"
    if not (directory / ".complete").exists() or not binary.exists():
        pytest.fail(f"promtool is not built ({binary}): run `make tools`", pytrace=False)
    return binary


def run_promtool(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [str(promtool()), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


# --- alert rules: promtool, conventions, runbooks ------------------------------------------------


def test_promtool_checks_the_alert_rules() -> None:
    output = run_promtool("check", "rules", ALERTS.name, cwd=FILES)
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    assert "SUCCESS" in run_promtool("test", "rules", ALERT_TESTS.name, cwd=FILES)


def test_every_alert_is_shown_firing_and_silent_in_the_unit_tests() -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text(encoding="utf-8"))
    assert tests["rule_files"] == [ALERTS.name]
    checks = [c for t in tests["tests"] for c in t.get("alert_rule_test") or []]
    firing = {c["alertname"] for c in checks if c["exp_alerts"]}
    silent = {c["alertname"] for c in checks if not c["exp_alerts"]}
    assert set(alert_names()) - firing == set(), "alerts never shown firing"
    assert set(alert_names()) - silent == set(), "alerts never shown not firing"
    assert (firing | silent) - set(alert_names()) == set(), "tests of alerts that do not exist"


def test_every_alert_has_severity_summary_description_and_runbook_url() -> None:
    names = alert_names()
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in alert_rules():
        assert re.fullmatch(r"VPSieAutoscaler[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, rule["alert"]
        assert annotations["runbook_url"] == RUNBOOK_URL.format(alert=rule["alert"])
        assert "for" in rule or rule["labels"]["severity"] == "info", f"{rule['alert']}: no for"


def test_every_alert_has_a_runbook_and_every_runbook_an_alert() -> None:
    runbooks = {path.stem for path in RUNBOOKS.glob("*.md")}
    assert set(alert_names()) - runbooks == set(), "alerts without a runbook"
    assert runbooks - set(alert_names()) == set(), "runbooks of no alert"
    assert {p.name for p in RUNBOOKS.iterdir()} == {f"{name}.md" for name in runbooks}


@pytest.mark.parametrize("alert", alert_names())
def test_runbook_starts_with_its_alert_and_says_what_to_do(alert: str) -> None:
    text = (RUNBOOKS / f"{alert}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {alert}\n")
    for heading in ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation"):
        assert f"\n{heading}\n" in text, f"{alert}: no {heading}"
    rule = next(r for r in alert_rules() if r["alert"] == alert)
    assert f"`{rule['labels']['severity']}`" in text.split("## Impact")[0], "severity not named"


def test_monitoring_page_lists_every_alert_with_its_runbook() -> None:
    text = MONITORING.read_text(encoding="utf-8")
    for rule in alert_rules():
        row = (
            f"| [`{rule['alert']}`](runbooks/{rule['alert']}.md) | `{rule['labels']['severity']}` |"
        )
        assert row in text, f"docs/monitoring.md has no row {row}"


def markdown_pages() -> list[Path]:
    return [MONITORING, *sorted(RUNBOOKS.glob("*.md"))]


def _anchors(path: Path) -> set[str]:
    prose = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(line.lstrip("#")) for line in prose.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    prose = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", prose):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        assert path.exists(), f"{page.name}: {target}: no such file"
        if anchor:
            assert anchor in _anchors(path), f"{page.name}: {target}: no such heading"


# --- dashboard ----------------------------------------------------------------------------------


def test_dashboard_is_grafana_json_with_a_datasource_variable() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert board["uid"] == "vpsie-autoscaler"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard_panels()]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    source = {"type": "prometheus", "uid": "${datasource}"}
    for panel in dashboard_panels():
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == source, panel["title"]
        assert panel.get("description"), f"panel {panel['title']!r} has no description"
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == source, panel["title"]
            assert 'job=~"$job"' in target["expr"], f"{panel['title']}: not filtered by $job"
    for var in variables.values():
        if var["type"] == "query":
            assert var["datasource"] == source, var["name"]


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """promtool checks each query as a recording rule (Grafana's macros replaced)."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": _GRAFANA_INTERVAL.sub("5m", expr)}
        for i, (_, expr) in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard_rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run_promtool(
        "check", "rules", path.name, cwd=tmp_path
    )


def test_every_expression_names_a_metric() -> None:
    for where, expr in all_expressions():
        assert set(promql_usage(expr).metrics) - {""}, f"{where}: no metric in {expr!r}"


# --- against a running daemon -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Exposition:
    """What a running daemon's ``/metrics`` says, and the text itself."""

    text: str
    series: dict[str, str]  # sample name a query may select -> its family's name
    histograms: set[str]  # families a page may name without a suffix
    labels: dict[str, set[str]]  # family -> label names of its samples (or declared ones)


SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def declared_labels() -> dict[str, set[str]]:
    """Label names the daemon's metric classes declare, by family (for families that have
    no sample yet in the scrape; see ``daemon_metrics``)."""
    registry = new_registry(process_metrics=False)
    for cls in (ScaleUpMetrics, ScaleDownMetrics, UsageMetrics, VPSieMetrics):
        cls(registry)
    LifecycleMetrics(registry)
    LeaderElectionMetrics(registry)
    WorkqueueMetricsProvider(registry)
    ControllerMetricsProvider(registry)
    return _labelnames(registry)


def _labelnames(registry: CollectorRegistry) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for collector in list(registry._collector_to_names):  # no public accessor
        names = getattr(collector, "_labelnames", None)
        if names is None:
            continue
        for family in collector.collect():
            out[family.name] = set(names)
    return out


def parse_exposition(text: str) -> Exposition:
    series: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    histograms = set()
    for family in text_string_to_metric_families(text):
        if family.type in {"histogram", "gaugehistogram", "summary"}:
            histograms.add(family.name)
        for suffix in SAMPLE_SUFFIXES[family.type]:
            series[family.name + suffix] = family.name
        labels[family.name] = {k for s in family.samples for k in s.labels} - {"le", "quantile"}
    return Exposition(text=text, series=series, histograms=histograms, labels=labels)


@pytest.fixture(scope="module")
def daemon_metrics(
    testenv: Any, crds: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Exposition]:
    """``/metrics`` of a daemon that led a scale-up and a scale-down on the real plane.

    The daemon runs as a process (``python -m autoscaler run``) against the control plane and
    the VPSie simulator, as the e2e tests run it: one pending pod makes a NodeGroup grow by a
    node, and when the Deployment goes to zero that node is removed again. The page is read
    after that, from the leader.

    prometheus_client writes ``# HELP``/``# TYPE`` for every registered family, also a
    labelled one with no child yet (``failed_scale_ups_total`` before any failure); the
    families a metric name may belong to are read from those lines, so a name that appears
    only after some event still counts as exported. The leader-only families (``vpsienodes``,
    ``controller_runtime_*``, the work queues) need the leader, hence the scenario. Label
    names come from the samples; for a family without samples yet (no drain ran), from the
    label names the daemon's metric classes declare, after checking that those agree with
    every family that does have samples.
    """
    ns = TestNamespace(testenv, "tests/test_monitoring.py::daemon_metrics")
    ns.create()
    harness = E2E(testenv, ns, tmp_path_factory.mktemp("monitoring"))
    problems: list[str] = []
    try:
        harness.start_simulator_in(world())
        harness.start_daemon()
        harness.apply_nodegroup(
            "web", min_nodes=0, max_nodes=2, labels=template_labels(harness), group_name="large"
        )
        harness.patch_nodegroup("web", {"scaleDown": FAST})
        harness.create_deployment("app", replicas=1, cpu="500m", memory="256Mi", node_selector=POOL)
        harness.wait_until(harness.pods_running("app", 1, group="web"), what="the pod running")
        harness.api.patch(
            f"/apis/apps/v1/namespaces/{ns.name}/deployments/app", {"spec": {"replicas": 0}}
        )

        def removed() -> list[str]:
            done = harness.daemon_metric("vpsie_autoscaler_scaled_down_nodes_total") or 0
            return [] if done >= 1 else ["no node removed yet"]

        harness.wait_until(removed, what="the empty node removed")
        status, text = harness.daemon.get(harness.daemon.metrics_port, "/metrics")
        assert status == 200, text[:300]
    except Exception as err:
        logs = [f"--- {d.name} ---\n{d.tail(60)}" for d in harness.daemons]
        if harness.sim is not None:
            logs.append(f"--- simulator ---\n{harness.sim.tail(30)}")
        harness.close()
        ns.cleanup()
        raise AssertionError(f"the scenario failed: {err}\n" + "\n".join(logs)) from err
    try:
        yield parse_exposition(text)
    finally:
        problems = harness.close()
        ns.cleanup()
    assert not problems, "; ".join(problems)


@pytest.fixture(scope="module")
def family_labels(daemon_metrics: Exposition) -> dict[str, set[str]]:
    """Label names per family: the scrape's, else the declared ones (they must agree)."""
    declared = declared_labels()
    for family, seen in daemon_metrics.labels.items():
        if seen and family in declared:
            assert seen == declared[family], (
                f"{family}: scraped {seen}, declared {declared[family]}"
            )
    return {
        family: seen or declared.get(family, set())
        for family, seen in daemon_metrics.labels.items()
    }


@pytest.mark.e2e
@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_every_metric_name_in_the_queries_is_exported_by_the_daemon(
    daemon_metrics: Exposition, source: str
) -> None:
    missing = {
        f"{name} ({where})"
        for where, expr in all_expressions()
        if where.startswith("alert" if source == "alerts" else "dashboard")
        for name in promql_usage(expr).metrics
        if name and name not in daemon_metrics.series
    }
    assert missing == set(), f"not exported by the daemon: {sorted(missing)}"


@pytest.mark.e2e
def test_every_label_in_the_queries_exists_on_its_metric(
    daemon_metrics: Exposition, family_labels: dict[str, set[str]]
) -> None:
    """A matcher's label is one of its metric's labels; a grouping label is one of the labels
    of some metric of the same expression (or ``le`` of a histogram, or a target label)."""
    problems = []
    for where, expr in all_expressions():
        usage = promql_usage(expr)
        available = set(TARGET_LABELS)
        for name, matched in usage.metrics.items():
            family = daemon_metrics.series.get(name)
            if family is None:
                continue  # reported by the test above
            have = family_labels[family] | TARGET_LABELS
            available |= have | ({"le"} if name.endswith("_bucket") else set())
            problems += [f"{where}: {name} has no label {label}" for label in matched - have]
        problems += [
            f"{where}: no metric has label {label}" for label in usage.grouping - available
        ]
    assert problems == []


@pytest.mark.e2e
def test_runbooks_and_the_monitoring_page_name_only_exported_metrics(
    daemon_metrics: Exposition,
) -> None:
    """Names as a query selects them, or a histogram's family name (its ``_bucket`` etc.)."""
    known_prefixes = ("vpsie_autoscaler_", "workqueue_", "controller_runtime_", "process_")
    prefixes = "|".join(known_prefixes)
    pattern = re.compile(rf"\b((?:{prefixes})\w+|leader_election_master_status)")
    missing = {
        f"{name} ({page.name})"
        for page in markdown_pages()
        for name in pattern.findall(page.read_text(encoding="utf-8"))
        if name not in daemon_metrics.series and name not in daemon_metrics.histograms
    }
    assert missing == set()


def _value(value: float) -> str:
    """A sample value in promtool's series notation."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(value)


@pytest.mark.e2e
def test_a_healthy_daemons_metrics_fire_no_alert_and_a_lost_leader_does(
    daemon_metrics: Exposition, tmp_path: Path
) -> None:
    """The scraped page, held for an hour as a Prometheus would see it, fires nothing; the same
    page with the leader's status at 0 fires VPSieAutoscalerNoLeader for the daemon's lease."""
    target = {"job": "vpsie-autoscaler", "instance": "10.0.0.1:8080"}
    healthy, leaderless, lease = [], [], ""
    for family in text_string_to_metric_families(daemon_metrics.text):
        for sample in family.samples:
            labels = {**sample.labels, **target}
            selector = (
                "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())) + "}"
            )
            value = float(sample.value)
            healthy.append({"series": sample.name + selector, "values": f"{_value(value)}x60"})
            if sample.name == "leader_election_master_status":
                assert value == 1.0, "the scraped daemon is not the leader"
                lease, value = sample.labels["name"], 0.0
            leaderless.append({"series": sample.name + selector, "values": f"{_value(value)}x60"})
    assert lease, "no leader_election_master_status sample"
    no_alerts = [{"eval_time": "60m", "alertname": a, "exp_alerts": []} for a in alert_names()]
    tests = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "healthy",
                "interval": "1m",
                "input_series": healthy,
                "alert_rule_test": no_alerts,
            },
            {
                "name": "leader lost",
                "interval": "1m",
                "input_series": leaderless,
                "promql_expr_test": [
                    {
                        "expr": next(
                            r["expr"]
                            for r in alert_rules()
                            if r["alert"] == "VPSieAutoscalerNoLeader"
                        ),
                        "eval_time": "60m",
                        "exp_samples": [{"labels": f"{{name={json.dumps(lease)}}}", "value": 0}],
                    }
                ],
            },
        ],
    }
    (tmp_path / "replay_test.yaml").write_text(yaml.safe_dump(tests))
    assert "SUCCESS" in run_promtool("test", "rules", "replay_test.yaml", cwd=tmp_path)
