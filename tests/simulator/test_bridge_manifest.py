"""The Node the bridge registers for a worker: labels, sizes, addresses, providerID, flags."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from typing import Any

import pytest

from autoscaler.simulator.bridge_nodes import (
    GROUP_LABEL,
    KWOK_ANNOTATION,
    KubeletFlags,
    NodeOptions,
    NodeTemplate,
    allocatable,
    capacity,
    kubelet_flags,
    label_value,
    lost_conditions,
    node_manifest,
    parse_label,
)
from autoscaler.simulator.hooks import WorkerRecord
from autoscaler.simulator.knobs import BridgeKnobs

NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
IDENTIFIER = "7c1e0000-0000-4000-8000-000000000001"
DC = "d1000000-0000-4000-8000-000000000001"
CLUSTER = "c1000000-0000-4000-8000-000000000007"
KUBELET_ARGS = (
    "--node-labels=autoscaler.vpsie.com/nodegroup=web,foo=bar"
    " --register-with-taints=dedicated=web:NoSchedule"
)
CLOUD_INIT = f"""#cloud-config
runcmd:
  - kubeadm join 10.0.0.1:6443 --token abc.def
write_files:
  - path: /etc/default/kubelet
    content: |
      KUBELET_EXTRA_ARGS="{KUBELET_ARGS}"
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def vke_worker(**overrides: Any) -> WorkerRecord:
    fields: dict[str, Any] = {
        "mode": "vke",
        "hostname": "Demo-Large-Ab12C",
        "identifier": IDENTIFIER,
        "vm_id": 5121,
        "private_ip": "10.8.0.14",
        "default_ip": "198.51.100.7",
        "cpu": 4,
        "ram_mb": 8192,
        "ssd_gb": 160,
        "instance_type": "k8s-4c-8g",
        "dc_name": "New York",
        "dc_identifier": DC,
        "cluster_identifier": CLUSTER,
        "cluster_name": "demo",
        "group_name": "large",
        "group_id": 12,
        "user_data": None,
        "becomes_ready": True,
        "sim_run": "seed-7",
        "bridge": BridgeKnobs(),
    }
    return WorkerRecord(**(fields | overrides))


def vm_worker(**overrides: Any) -> WorkerRecord:
    fields: dict[str, Any] = {
        "mode": "vm",
        "hostname": "va-web-k3m9q2",
        "instance_type": "shared-2c-4g",
        "cpu": 2,
        "ram_mb": 4096,
        "ssd_gb": 80,
        "cluster_identifier": None,
        "cluster_name": None,
        "group_name": None,
        "group_id": None,
        "user_data": b64(CLOUD_INIT),
    }
    return vke_worker(**(fields | overrides))


def manifest(worker: WorkerRecord, options: NodeOptions | None = None) -> dict[str, Any]:
    return node_manifest(worker, options=options or NodeOptions(), now=NOW)


def test_vke_node_has_the_well_known_labels_and_no_group_label() -> None:
    node = manifest(vke_worker())
    assert node["metadata"]["name"] == "demo-large-ab12c"
    assert node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "demo-large-ab12c",
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "k8s-4c-8g",
        "topology.kubernetes.io/region": "New-York",
        "sim-run": "seed-7",
    }


def test_vke_group_label_knob_adds_the_project_group_label() -> None:
    worker = vke_worker(bridge=BridgeKnobs(vke_group_label="ng-large"))
    assert manifest(worker)["metadata"]["labels"][GROUP_LABEL] == "ng-large"
    custom = NodeOptions(group_label_key="example.com/pool")
    assert manifest(worker, custom)["metadata"]["labels"]["example.com/pool"] == "ng-large"


def test_extra_labels_win_over_every_other_label() -> None:
    options = NodeOptions(extra_labels={"testenv/test": "abc", "sim-run": "mine"})
    labels = manifest(vke_worker(), options)["metadata"]["labels"]
    assert (labels["testenv/test"], labels["sim-run"]) == ("abc", "mine")


def test_sim_run_label_key_is_configurable() -> None:
    labels = manifest(vke_worker(), NodeOptions(sim_run_label="example.com/run"))
    assert labels["metadata"]["labels"]["example.com/run"] == "seed-7"
    assert "sim-run" not in labels["metadata"]["labels"]


@pytest.mark.parametrize(
    ("cpu", "ram_mb", "ssd_gb", "expected_capacity", "expected_allocatable"),
    [
        pytest.param(
            4,
            8192,
            160,
            {"cpu": "4", "memory": "8192Mi", "ephemeral-storage": "160Gi", "pods": "110"},
            {"cpu": "3900m", "memory": "7836Mi", "ephemeral-storage": "144Gi", "pods": "110"},
            id="k8s-4c-8g",
        ),
        pytest.param(
            2,
            4096,
            80,
            {"cpu": "2", "memory": "4096Mi", "ephemeral-storage": "80Gi", "pods": "110"},
            {"cpu": "1900m", "memory": "3740Mi", "ephemeral-storage": "72Gi", "pods": "110"},
            id="shared-2c-4g",
        ),
        pytest.param(
            1,
            2048,
            25,
            {"cpu": "1", "memory": "2048Mi", "ephemeral-storage": "25Gi", "pods": "110"},
            {"cpu": "900m", "memory": "1692Mi", "ephemeral-storage": "23040Mi", "pods": "110"},
            id="disk-tenth-in-mebibytes",
        ),
        pytest.param(
            1,
            300,
            1,
            {"cpu": "1", "memory": "300Mi", "ephemeral-storage": "1Gi", "pods": "110"},
            {"cpu": "900m", "memory": "0Mi", "ephemeral-storage": "966367641", "pods": "110"},
            id="reservation-larger-than-memory-clamps-at-zero",
        ),
    ],
)
def test_capacity_and_allocatable_follow_the_node_template(
    cpu: int,
    ram_mb: int,
    ssd_gb: int,
    expected_capacity: dict[str, str],
    expected_allocatable: dict[str, str],
) -> None:
    worker = vke_worker(cpu=cpu, ram_mb=ram_mb, ssd_gb=ssd_gb)
    status = manifest(worker)["status"]
    assert status["capacity"] == expected_capacity
    assert status["allocatable"] == expected_allocatable


def test_a_custom_template_changes_pods_and_reservations() -> None:
    template = NodeTemplate(
        pods=30, reserved_cpu_millis=1000, reserved_memory_mib=1024, reserved_disk_percent=50
    )
    worker = vke_worker()
    assert capacity(worker, template)["pods"] == "30"
    assert allocatable(worker, template) == {
        "cpu": "3",
        "memory": "7168Mi",
        "ephemeral-storage": "80Gi",
        "pods": "30",
    }


def test_addresses_are_internal_external_and_hostname() -> None:
    assert manifest(vke_worker())["status"]["addresses"] == [
        {"type": "InternalIP", "address": "10.8.0.14"},
        {"type": "ExternalIP", "address": "198.51.100.7"},
        {"type": "Hostname", "address": "demo-large-ab12c"},
    ]


def test_missing_ips_are_left_out() -> None:
    worker = vke_worker(private_ip=None, default_ip="")
    assert manifest(worker)["status"]["addresses"] == [
        {"type": "Hostname", "address": "demo-large-ab12c"}
    ]


@pytest.mark.parametrize(
    ("worker", "expected"),
    [
        pytest.param(vke_worker(), f"vpsie://{IDENTIFIER}", id="vke-short"),
        pytest.param(
            vke_worker(bridge=BridgeKnobs(provider_id="long")),
            f"vpsie://{DC}/{CLUSTER}/{IDENTIFIER}",
            id="vke-long",
        ),
        pytest.param(vke_worker(bridge=BridgeKnobs(provider_id="none")), None, id="vke-none"),
        pytest.param(vm_worker(), None, id="vm-always-empty"),
    ],
)
def test_provider_id_per_mode_and_knob(worker: WorkerRecord, expected: str | None) -> None:
    assert manifest(worker)["spec"].get("providerID") == expected


def test_vm_user_data_labels_and_taints_reach_the_node() -> None:
    node = manifest(vm_worker())
    labels = node["metadata"]["labels"]
    assert (labels[GROUP_LABEL], labels["foo"]) == ("web", "bar")
    assert labels["node.kubernetes.io/instance-type"] == "shared-2c-4g"
    assert node["spec"] == {
        "taints": [NOT_READY, {"key": "dedicated", "value": "web", "effect": "NoSchedule"}]
    }


def test_vke_workers_ignore_user_data() -> None:
    node = manifest(vke_worker(user_data=b64(CLOUD_INIT)))
    assert GROUP_LABEL not in node["metadata"]["labels"]
    assert node["spec"]["taints"] == [NOT_READY]


@pytest.mark.parametrize(
    "user_data",
    [
        pytest.param(None, id="absent"),
        pytest.param("not base64!", id="not-base64"),
        pytest.param(b64("#cloud-config\n"), id="no-flags"),
    ],
)
def test_vm_without_usable_flags_gets_only_the_standard_labels(user_data: str | None) -> None:
    node = manifest(vm_worker(user_data=user_data))
    assert GROUP_LABEL not in node["metadata"]["labels"]
    assert node["spec"]["taints"] == [NOT_READY]


@pytest.mark.parametrize(
    ("text", "labels", "taints"),
    [
        pytest.param(
            "--node-labels=a=1,b=2",
            {"a": "1", "b": "2"},
            [],
            id="labels",
        ),
        pytest.param(
            "kubelet --node-labels 'a=1'"
            ' --register-with-taints "gpu:NoExecute,x=y:PreferNoSchedule"',
            {"a": "1"},
            [
                {"key": "gpu", "effect": "NoExecute"},
                {"key": "x", "value": "y", "effect": "PreferNoSchedule"},
            ],
            id="quoted-and-space-separated",
        ),
        pytest.param(
            "--node-labels=a=1,empty= --node-labels=a=2",
            {"a": "2", "empty": ""},
            [],
            id="later-flag-wins-and-empty-value",
        ),
        pytest.param(
            "--register-with-taints=k=v:NoSchedule --register-with-taints=k=w:NoSchedule",
            {},
            [{"key": "k", "value": "w", "effect": "NoSchedule"}],
            id="later-taint-with-same-key-and-effect-wins",
        ),
    ],
)
def test_kubelet_flags_are_parsed(
    text: str, labels: dict[str, str], taints: list[dict[str, str]]
) -> None:
    flags = kubelet_flags(text)
    assert dict(flags.labels) == labels
    assert [dict(t) for t in flags.taints] == taints
    assert flags.problems == ()


def test_malformed_flag_entries_are_reported_and_skipped() -> None:
    flags = kubelet_flags(
        "--node-labels=ok=1,novalue --register-with-taints=a=b:Sometimes,:NoSchedule"
    )
    assert dict(flags.labels) == {"ok": "1"}
    assert flags.taints == ()
    assert len(flags.problems) == 3
    assert all(p.startswith("--") for p in flags.problems)


def test_explicit_flags_replace_those_of_the_user_data() -> None:
    flags = KubeletFlags(labels={"only": "this"})
    node = node_manifest(vm_worker(), options=NodeOptions(), now=NOW, flags=flags)
    assert node["metadata"]["labels"]["only"] == "this"
    assert GROUP_LABEL not in node["metadata"]["labels"]


def test_a_worker_that_becomes_ready_is_left_to_kwok() -> None:
    node = manifest(vke_worker())
    assert node["metadata"]["annotations"] == {KWOK_ANNOTATION: "fake"}
    assert "conditions" not in node["status"]


def test_a_never_ready_worker_has_no_kwok_annotation_and_says_not_ready() -> None:
    node = manifest(vke_worker(becomes_ready=False))
    assert node["metadata"]["annotations"] == {}
    (ready,) = node["status"]["conditions"]
    assert (ready["type"], ready["status"]) == ("Ready", "False")
    assert ready["lastHeartbeatTime"] == "2026-03-01T12:00:00Z"
    assert node["status"]["capacity"]["cpu"] == "4"  # capacity is always set


def test_lost_conditions_are_all_unknown() -> None:
    conditions = lost_conditions(NOW)
    assert [c["type"] for c in conditions] == [
        "Ready",
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
    ]
    assert {c["status"] for c in conditions} == {"Unknown"}
    assert {c["reason"] for c in conditions} == {"NodeStatusUnknown"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("New York", "New-York", id="space"),
        pytest.param("São Paulo (2)", "S-o-Paulo-2", id="non-ascii-and-brackets"),
        pytest.param("x" * 70, "x" * 63, id="too-long"),
        pytest.param("k8s-4c-8g", "k8s-4c-8g", id="already-valid"),
    ],
)
def test_label_values_are_made_valid(text: str, expected: str) -> None:
    assert label_value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a=b", ("a", "b"), id="pair"),
        pytest.param("example.com/x=", ("example.com/x", ""), id="empty-value"),
        pytest.param("a=b=c", ("a", "b=c"), id="value-with-equals"),
    ],
)
def test_parse_label(text: str, expected: tuple[str, str]) -> None:
    assert parse_label(text) == expected


@pytest.mark.parametrize("text", ["novalue", "=v", " =v"])
def test_parse_label_refuses_a_missing_key_or_equals(text: str) -> None:
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_label(text)


def test_the_manifest_does_not_depend_on_the_hostname_case() -> None:
    upper = manifest(vke_worker())
    lower = manifest(dataclasses.replace(vke_worker(), hostname="demo-large-ab12c"))
    assert upper == lower
