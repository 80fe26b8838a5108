"""The chart renders what a secure, highly available install needs, and refuses bad values.

Every test renders with ``helm template`` (the CI values, plus the values under test) and
asserts on the objects; ``helm lint --strict`` runs on the same value sets.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from autoscaler.core.resources.schema import RESOURCES, crd_name, render
from autoscaler.settings import Settings
from tests.chart.helm import (
    CHART,
    CI_VALUES,
    NAMESPACE,
    RELEASE,
    Helm,
    HelmFailed,
    container,
    env_of,
    find,
    one,
)

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "VPSIE_AUTOSCALER_"
VM = {"vpsie": {"mode": "vm", "clusterIdentifier": ""}}
CLIENT = {"vpsie": {"auth": "clientCredentials"}}
MONITORING = {
    "metrics": {
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True},
    }
}
VALUE_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param({**VM, **CLIENT}, id="vm-mode-client-credentials"),
    pytest.param(MONITORING, id="monitoring"),
    pytest.param(
        {
            "replicaCount": 1,
            "leaderElection": {"enabled": False},
            "networkPolicy": {"enabled": False},
        },
        id="one-replica-no-leader-election",
    ),
    pytest.param(
        {"priorityClass": {"create": True}, "podAntiAffinity": "hard", "rbac": {"create": True}},
        id="own-priority-class-hard-anti-affinity",
    ),
]


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("values", VALUE_SETS)
def test_chart_lints_strict(helm: Helm, values: dict[str, Any]) -> None:
    args = ["lint", "--strict", str(CHART), "-f", str(CI_VALUES)]
    out = helm.run(*args, "-f", str(helm.values_file(values)))
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("values", VALUE_SETS)
def test_every_namespaced_object_is_in_the_release_namespace(
    helm: Helm, values: dict[str, Any]
) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "PriorityClass"}
    for obj in helm.template(values, namespace="autoscaling"):
        expected = None if obj["kind"] in cluster_scoped else "autoscaling"
        assert obj["metadata"].get("namespace") == expected, obj["kind"]


def test_defaults_render_the_daemon_and_its_protection(helm: Helm) -> None:
    kinds = sorted(o["kind"] for o in helm.template())
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]


def test_two_replicas_elect_a_leader_in_the_release_namespace(helm: Helm) -> None:
    objects = helm.template(namespace="autoscaling")
    assert one(objects, "Deployment")["spec"]["replicas"] == 2
    env = env_of(objects)
    assert env[f"{PREFIX}KUBE__LEADER_ELECTION"]["value"] == "true"
    assert env[f"{PREFIX}KUBE__LEASE_NAME"]["value"] == "vpsie-autoscaler"
    assert env[f"{PREFIX}KUBE__NAMESPACE"]["value"] == "autoscaling"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_the_pod_runs_restricted(helm: Helm) -> None:
    objects = helm.template()
    pod = pod_spec(objects)
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    ctx = container(objects)["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] == 65532
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["privileged"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]
    assert not any("hostPath" in v for v in pod["volumes"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({}, {"VPSIE__TOKEN": "token"}, id="token"),
        pytest.param(
            CLIENT,
            {"VPSIE__CLIENT_ID": "clientId", "VPSIE__CLIENT_SECRET": "clientSecret"},
            id="client-credentials",
        ),
        pytest.param(
            VM, {"VPSIE__TOKEN": "token", "VPSIE__ACCOUNT_PASSWORD": "accountPassword"}, id="vm"
        ),
        pytest.param(
            {"vpsie": {"existingSecret": "creds", "secretKeys": {"token": "api-token"}}},
            {"VPSIE__TOKEN": "api-token"},
            id="own-secret-and-key",
        ),
    ],
)
def test_credentials_come_from_the_secret(
    helm: Helm, values: dict[str, Any], expected: dict[str, str]
) -> None:
    env = env_of(helm.template(values))
    secret = values.get("vpsie", {}).get("existingSecret", "vpsie-credentials")
    credentials = ("TOKEN", "CLIENT_ID", "CLIENT_SECRET", "ACCOUNT_PASSWORD")
    present = {n.removeprefix(PREFIX) for n in env if n.endswith(credentials)}
    assert present == set(expected)
    for name, key in expected.items():
        entry = env[PREFIX + name]
        assert "value" not in entry
        assert entry["valueFrom"] == {"secretKeyRef": {"name": secret, "key": key}}


def test_settings_become_environment_variables(helm: Helm) -> None:
    settings = {
        "scaling": {"max_nodes_total": 50, "expanders": "least-waste,price", "dry_run": True},
        "queue": {"base_delay_s": 0.25, "workers": 4},
        "lifecycle": {"provisioning_timeout_s": 1200},
        "logging": {"level": "DEBUG"},
    }
    env = env_of(helm.template({"settings": settings}))
    assert {n: e["value"] for n, e in env.items() if n.startswith(PREFIX + "SCALING")} == {
        f"{PREFIX}SCALING__MAX_NODES_TOTAL": "50",
        f"{PREFIX}SCALING__EXPANDERS": "least-waste,price",
        f"{PREFIX}SCALING__DRY_RUN": "true",
    }
    assert env[f"{PREFIX}QUEUE__BASE_DELAY_S"]["value"] == "0.25"
    assert env[f"{PREFIX}QUEUE__WORKERS"]["value"] == "4"
    assert env[f"{PREFIX}LIFECYCLE__PROVISIONING_TIMEOUT_S"]["value"] == "1200"
    assert env[f"{PREFIX}LOGGING__LEVEL"]["value"] == "DEBUG"


def test_the_rendered_environment_is_a_valid_configuration(helm: Helm) -> None:
    """The daemon's own settings parser accepts what the chart renders."""
    settings = {
        "scaling": {"max_monthly_cost": 2500, "batch_idle_s": 0.5},
        "watch": {"page_size": 500},
    }
    env = env_of(helm.template({"settings": settings}))
    values = {n: e["value"] for n, e in env.items() if n.startswith(PREFIX) and "value" in e}
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith(PREFIX)]:
            mp.delenv(name)
        for name, value in values.items():
            mp.setenv(name, value)
        parsed = Settings()
    assert parsed.kube.namespace == NAMESPACE
    assert parsed.scaling.max_monthly_cost == 2500
    assert parsed.watch.page_size == 500
    assert (parsed.server.metrics_port, parsed.server.probes_port) == (8080, 8081)


def test_probes_and_ports(helm: Helm) -> None:
    objects = helm.template()
    c = container(objects)
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"metrics": 8080, "probes": 8081}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    service = one(objects, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert c["resources"]["requests"]
    assert c["resources"]["limits"]["memory"]


def test_the_image_tag_defaults_to_the_app_version(helm: Helm) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert container(helm.template())["image"] == f"vpsie-autoscaler:{chart['appVersion']}"
    custom = {"image": {"repository": "registry.example/vpsie-autoscaler", "tag": "1.2.3"}}
    assert container(helm.template(custom))["image"] == "registry.example/vpsie-autoscaler:1.2.3"


def test_the_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]
    assert chart["kubeVersion"] == ">=1.28.0-0"


@pytest.mark.parametrize(("mode", "required"), [("soft", False), ("hard", True), ("none", None)])
def test_replicas_avoid_sharing_a_node(helm: Helm, mode: str, required: bool | None) -> None:
    objects = helm.template({"podAntiAffinity": mode})
    spec = pod_spec(objects)
    if required is None:
        assert "affinity" not in spec
        return
    anti = spec["affinity"]["podAntiAffinity"]
    key = ("required" if required else "preferred") + "DuringSchedulingIgnoredDuringExecution"
    (term,) = anti[key]
    term = term if required else term["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    selector = one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert term["labelSelector"]["matchLabels"] == selector


def test_termination_grace_outlasts_the_shutdown_timeout(helm: Helm) -> None:
    assert pod_spec(helm.template())["terminationGracePeriodSeconds"] == 30
    longer = {
        "settings": {"server": {"shutdown_timeout_s": 50}},
        "terminationGracePeriodSeconds": 60,
    }
    assert pod_spec(helm.template(longer))["terminationGracePeriodSeconds"] == 60


def test_the_disruption_budget_keeps_one_replica(helm: Helm) -> None:
    objects = helm.template()
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    selector = one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    single = {"replicaCount": 1, "leaderElection": {"enabled": False}}
    assert not find(helm.template(single), "PodDisruptionBudget"), "it would block every drain"


def test_the_network_policy_allows_probes_metrics_dns_and_https_only(helm: Helm) -> None:
    objects = helm.template()
    spec = one(objects, "NetworkPolicy")["spec"]
    assert (
        spec["podSelector"]["matchLabels"]
        == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    )
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    ingress = sorted(p["port"] for rule in spec["ingress"] for p in rule["ports"])
    assert ingress == [8080, 8081]
    egress = sorted((p["port"], p["protocol"]) for rule in spec["egress"] for p in rule["ports"])
    assert egress == [(53, "TCP"), (53, "UDP"), (443, "TCP"), (6443, "TCP")]
    assert not any("to" in rule for rule in spec["egress"])
    scrapers = [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]
    spec = one(helm.template({"networkPolicy": {"metricsFrom": scrapers}}), "NetworkPolicy")["spec"]
    (metrics,) = [r for r in spec["ingress"] if r["ports"][0]["port"] == 8080]
    assert metrics["from"] == scrapers


def test_priority_class_is_system_cluster_critical_or_the_chart_s_own(helm: Helm) -> None:
    assert pod_spec(helm.template())["priorityClassName"] == "system-cluster-critical"
    objects = helm.template({"priorityClass": {"create": True, "value": 5000}})
    pc = one(objects, "PriorityClass")
    assert pc["value"] == 5000
    assert pod_spec(objects)["priorityClassName"] == pc["metadata"]["name"]
    assert "priorityClassName" not in pod_spec(helm.template({"priorityClassName": ""}))


RULES = """\
# a comment that is not carried over
groups:
  - name: example
    rules:
      - alert: Example
        expr: vpsie_autoscaler_build_info == 0
        labels: {severity: info}
        annotations:
          summary: "{{ $labels.instance }} is an example"
"""
DASHBOARD = '{\n  "title": "example",\n  "panels": []\n}\n'


@pytest.fixture
def chart_with_files(tmp_path: Path) -> Path:
    """A copy of the chart whose files/ hold a small rules file and dashboard.

    The real files/alerts.yaml and files/dashboard.json belong to the monitoring assets and
    are tested with them (tests/test_monitoring.py); here only their embedding is.
    """
    copy = tmp_path / "vpsie-autoscaler"
    shutil.copytree(CHART, copy, ignore=shutil.ignore_patterns("files"))
    (copy / "files").mkdir()
    (copy / "files" / "alerts.yaml").write_text(RULES)
    (copy / "files" / "dashboard.json").write_text(DASHBOARD)
    return copy


def test_monitoring_objects_embed_the_chart_s_files(helm: Helm, chart_with_files: Path) -> None:
    objects = helm.template(MONITORING, chart=chart_with_files)
    monitor = one(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items()
        <= one(objects, "Service")["metadata"]["labels"].items()
    )
    rule = one(objects, "PrometheusRule")
    assert rule["spec"] == {"groups": yaml.safe_load(RULES)["groups"]}
    assert rule["metadata"]["namespace"] == NAMESPACE
    dashboard = one(objects, "ConfigMap")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"] == {"vpsie-autoscaler.json": DASHBOARD.rstrip("\n")}
    assert not find(helm.template(chart=chart_with_files), "PrometheusRule"), "off by default"


def test_the_chart_ships_its_alert_rules_and_dashboard(helm: Helm) -> None:
    objects = helm.template(MONITORING)
    rules = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    assert one(objects, "PrometheusRule")["spec"] == {"groups": rules["groups"]}
    text = (CHART / "files" / "dashboard.json").read_text()
    assert one(objects, "ConfigMap")["data"] == {"vpsie-autoscaler.json": text.rstrip("\n")}


def test_monitoring_objects_need_their_files(helm: Helm, chart_with_files: Path) -> None:
    (chart_with_files / "files" / "alerts.yaml").unlink()
    with pytest.raises(HelmFailed) as err:
        helm.template({"metrics": {"prometheusRule": {"enabled": True}}}, chart=chart_with_files)
    assert "metrics.prometheusRule.enabled: the chart has no files/alerts.yaml" in err.value.stderr
    (chart_with_files / "files" / "alerts.yaml").write_text("rules: []\n")
    with pytest.raises(HelmFailed) as err:
        helm.template({"metrics": {"prometheusRule": {"enabled": True}}}, chart=chart_with_files)
    assert "files/alerts.yaml is not a Prometheus rules file with groups" in err.value.stderr


def test_chart_crds_are_the_generated_ones(helm: Helm) -> None:
    rendered = helm.template(extra=["--include-crds"])
    crds = {c["metadata"]["name"]: c for c in find(rendered, "CustomResourceDefinition")}
    assert crds == {crd_name(cls): yaml.safe_load(render(cls)) for cls in RESOURCES}


def test_the_chart_refuses_kubernetes_older_than_1_28(helm: Helm) -> None:
    helm.template(extra=["--kube-version", "1.28.0"])
    with pytest.raises(HelmFailed) as err:
        helm.template(extra=["--kube-version", "1.27.9"])
    assert "chart requires kubeVersion: >=1.28.0-0" in err.value.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"replicaCount": 0}, "at '/replicaCount': minimum: got 0, want 1", id="replicas"
        ),
        pytest.param(
            {"vpsie": {"mode": "k3s"}},
            "at '/vpsie/mode': value must be one of 'vke', 'vm'",
            id="mode",
        ),
        pytest.param(
            {"vpsie": {"auth": "password"}},
            "at '/vpsie/auth': value must be one of 'token', 'clientCredentials'",
            id="auth",
        ),
        pytest.param(
            {"vpsie": {"existingSecret": ""}},
            "at '/vpsie/existingSecret': minLength",
            id="no-secret",
        ),
        pytest.param(
            {"replicas": 3}, "additional properties 'replicas' not allowed", id="unknown-key"
        ),
        pytest.param(
            {"settings": {"queue": {"workers": 0}}},
            "at '/settings/queue/workers': minimum: got 0, want 1",
            id="setting-out-of-range",
        ),
        pytest.param(
            {"settings": {"scaling": {"max_nodes": 5}}},
            "at '/settings/scaling': additional properties 'max_nodes' not allowed",
            id="unknown-setting",
        ),
        pytest.param(
            {"settings": {"kube": {"namespace": "other"}}},
            "at '/settings/kube': additional properties 'namespace' not allowed",
            id="setting-the-chart-sets",
        ),
        pytest.param(
            {"settings": {"vpsie": {"token": "secret!"}}},
            "at '/settings/vpsie': additional properties 'token' not allowed",
            id="credential-in-values",
        ),
        pytest.param(
            {"settings": {"logging": {"level": "TRACE"}}},
            "at '/settings/logging/level': value must be one of",
            id="setting-enum",
        ),
        pytest.param(
            {"settings": {"lifecycle": {"poll_interval_s": 0}}},
            "at '/settings/lifecycle/poll_interval_s': exclusiveMinimum",
            id="setting-exclusive-minimum",
        ),
        pytest.param(
            {"podAntiAffinity": "always"},
            "at '/podAntiAffinity': value must be one of",
            id="anti-affinity",
        ),
        pytest.param(
            {"networkPolicy": {"egressPorts": [70000]}},
            "at '/networkPolicy/egressPorts/0': maximum",
            id="port",
        ),
        pytest.param(
            {"leaderElection": {"leaseName": "Not_A_Name"}},
            "at '/leaderElection/leaseName': ",
            id="lease-name",
        ),
    ],
)
def test_the_schema_rejects_bad_values(helm: Helm, values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmFailed) as err:
        helm.template(values)
    assert "values don't meet the specifications of the schema" in err.value.stderr
    assert message in err.value.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"leaderElection": {"enabled": False}},
            "leaderElection.enabled=false with replicaCount=2: every replica would act",
            id="two-actors",
        ),
        pytest.param(
            {"vpsie": {"clusterIdentifier": ""}},
            "vpsie.clusterIdentifier is required in vke mode",
            id="no-cluster",
        ),
        pytest.param(
            {"settings": {"server": {"shutdown_timeout_s": 30}}},
            "terminationGracePeriodSeconds (30) must be longer than"
            " settings.server.shutdown_timeout_s (30)",
            id="grace-too-short",
        ),
        pytest.param(
            {"serviceAccount": {"create": False}},
            "serviceAccount.name is required when serviceAccount.create is false",
            id="no-service-account",
        ),
    ],
)
def test_inconsistent_values_stop_the_render(
    helm: Helm, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmFailed) as err:
        helm.template(values)
    assert message in err.value.stderr


def test_release_name_and_namespace_shape_the_names(helm: Helm) -> None:
    objects = helm.template(release="as", namespace="team-a")
    assert one(objects, "Deployment")["metadata"]["name"] == "as-vpsie-autoscaler"
    assert one(objects, "ClusterRole")["metadata"]["name"] == "as-vpsie-autoscaler-team-a"
    default = helm.template(release=RELEASE)
    assert one(default, "ServiceAccount")["metadata"]["name"] == "vpsie-autoscaler"
