"""The Node a simulated worker registers as (contract §6 and §8 "Kubernetes Node hook"); pure.

``node_manifest(worker, options=..., now=...)`` builds the whole Node, status included:

* name: the hostname, lowercased; labels ``kubernetes.io/{hostname,os,arch}``,
  ``node.kubernetes.io/instance-type`` (plan nickname or offer name),
  ``topology.kubernetes.io/region`` (the DC name, made a valid label value), the ``sim-run``
  label, then the extra labels of ``NodeOptions`` (test isolation), which win over all others;
* vm: the ``--node-labels=`` and ``--register-with-taints=`` flags found in the decoded
  ``userData`` become labels and taints, as a kubelet started by cloud-init would apply them;
* vke: the node-group label only when the ``vke_group_label`` knob is set: key
  ``NodeOptions.group_label_key``, value the knob's text (the project's NodeGroup name);
* ``spec.providerID`` as ``WorkerRecord.provider_id()`` says (vm: none); ``spec.taints``
  starts with ``node.kubernetes.io/not-ready:NoSchedule``, as a kubelet registers it;
* ``status.capacity`` = cpu, ram Mi, ssd Gi, 110 pods, and ``status.allocatable`` = capacity
  minus ``NodeTemplate``'s reservation (100m CPU, 356Mi, 10 % of the disk), always both,
  because kwok fills in 1k CPUs and 1Ti otherwise;
* addresses ``InternalIP`` = private IP, ``ExternalIP`` = default IP, ``Hostname``;
* the annotation ``kwok.x-k8s.io/node=fake`` when the worker ``becomes_ready``, so kwok makes
  the Node Ready and renews its Lease; otherwise a ``Ready=False`` condition, and it stays so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autoscaler.simulator.hooks import WorkerRecord

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_MANAGED = "fake"
GROUP_LABEL = "autoscaler.vpsie.com/nodegroup"
SIM_RUN_LABEL = "sim-run"
TAINT_EFFECTS = frozenset({"NoSchedule", "PreferNoSchedule", "NoExecute"})
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
"""What a kubelet registers every Node with; the node lifecycle controller removes it once
the Node is Ready, so nothing is scheduled there before (and the autoscaler has a moment to
apply its group's taints)."""
_FLAG = re.compile(
    r"--(node-labels|register-with-taints)(?:=|\s+)(?:\"([^\"]*)\"|'([^']*)'|([^\s\"']+))"
)
_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_VALUE_MAX = 63
_BINARY_SUFFIXES = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))


@dataclass(frozen=True, slots=True)
class NodeTemplate:
    """Pods per Node and what is reserved from capacity (§6; configurable)."""

    pods: int = 110
    reserved_cpu_millis: int = 100
    reserved_memory_mib: int = 356  # 256Mi kube/system reserved plus 100Mi eviction threshold
    reserved_disk_percent: int = 10


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """What the bridge adds to every Node besides the worker's own data."""

    extra_labels: Mapping[str, str] = field(default_factory=dict)
    group_label_key: str = GROUP_LABEL
    sim_run_label: str = SIM_RUN_LABEL
    template: NodeTemplate = field(default_factory=NodeTemplate)


@dataclass(frozen=True, slots=True)
class KubeletFlags:
    """Labels and taints from ``--node-labels=`` / ``--register-with-taints=``, and bad entries."""

    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Mapping[str, str], ...] = ()
    problems: tuple[str, ...] = ()


def label_value(text: str) -> str:
    """``text`` as a valid label value: runs of other characters become ``-`` ("New-York")."""
    cleaned = _LABEL_VALUE_BAD.sub("-", text)[:_LABEL_VALUE_MAX]
    return cleaned.strip("-_.")


def parse_label(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as a pair; ``ValueError`` without ``=`` or with an empty key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _parse_taint(text: str) -> dict[str, str]:
    spec, sep, effect = text.rpartition(":")
    if not sep or effect not in TAINT_EFFECTS:
        raise ValueError(f"taint {text!r}: expected KEY[=VALUE]:{'|'.join(sorted(TAINT_EFFECTS))}")
    key, _, value = spec.partition("=")
    if not key:
        raise ValueError(f"taint {text!r}: empty key")
    return (
        {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}
    )


def kubelet_flags(text: str | None) -> KubeletFlags:
    """Collect every ``--node-labels`` and ``--register-with-taints`` flag in ``text``.

    Values may be quoted; later flags win (per label key, per taint key and effect).
    """
    labels: dict[str, str] = {}
    taints: dict[tuple[str, str], dict[str, str]] = {}
    problems: list[str] = []
    for match in _FLAG.finditer(text or ""):
        flag, value = match.group(1), next(g for g in match.groups()[1:] if g is not None)
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            try:
                if flag == "node-labels":
                    key, val = parse_label(entry)
                    labels[key] = val
                else:
                    taint = _parse_taint(entry)
                    taints[taint["key"], taint["effect"]] = taint
            except ValueError as err:
                problems.append(f"--{flag}: {err}")
    return KubeletFlags(labels, tuple(taints.values()), tuple(problems))


def _quantity(amount: int) -> str:
    """Bytes with the largest binary suffix that divides them exactly."""
    for suffix, size in _BINARY_SUFFIXES:
        if amount and amount % size == 0:
            return f"{amount // size}{suffix}"
    return str(amount)


def _cpu(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def capacity(worker: WorkerRecord, template: NodeTemplate) -> dict[str, str]:
    """``status.capacity``: cpu, ram Mi, ssd Gi and the pod count."""
    return {
        "cpu": str(worker.cpu),
        "memory": f"{worker.ram_mb}Mi",
        "ephemeral-storage": f"{worker.ssd_gb}Gi",
        "pods": str(template.pods),
    }


def allocatable(worker: WorkerRecord, template: NodeTemplate) -> dict[str, str]:
    """``status.allocatable``: capacity minus the reservation, never below zero."""
    disk = worker.ssd_gb * 2**30
    return {
        "cpu": _cpu(max(worker.cpu * 1000 - template.reserved_cpu_millis, 0)),
        "memory": f"{max(worker.ram_mb - template.reserved_memory_mib, 0)}Mi",
        "ephemeral-storage": _quantity(disk * (100 - template.reserved_disk_percent) // 100),
        "pods": str(template.pods),
    }


def node_labels(
    worker: WorkerRecord, *, options: NodeOptions, flags: KubeletFlags
) -> dict[str, str]:
    """Well-known labels < kubelet ``--node-labels`` < group label < sim-run < extra labels."""
    labels = {
        "kubernetes.io/hostname": worker.node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": label_value(worker.instance_type),
        "topology.kubernetes.io/region": label_value(worker.dc_name),
        **flags.labels,
    }
    if worker.mode == "vke" and worker.bridge.vke_group_label:
        labels[options.group_label_key] = label_value(worker.bridge.vke_group_label)
    labels[options.sim_run_label] = label_value(worker.sim_run)
    return labels | dict(options.extra_labels)


def addresses(worker: WorkerRecord) -> list[dict[str, str]]:
    """``InternalIP`` (private IP), ``ExternalIP`` (default IP) and ``Hostname``, when known."""
    found = [("InternalIP", worker.private_ip), ("ExternalIP", worker.default_ip)]
    listed = [{"type": kind, "address": ip} for kind, ip in found if ip]
    return [*listed, {"type": "Hostname", "address": worker.node_name}]


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_ready_conditions(now: dt.datetime) -> list[dict[str, str]]:
    """A kubelet that registered but never got ready: ``Ready=False``."""
    stamp = _stamp(now)
    return [
        {
            "type": "Ready",
            "status": "False",
            "reason": "KubeletNotReady",
            "message": "container runtime network not ready",
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
    ]


def lost_conditions(now: dt.datetime) -> list[dict[str, str]]:
    """What the node-lifecycle controller writes when a kubelet stops reporting."""
    return [
        {
            "type": kind,
            "status": "Unknown",
            "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.",
            "lastTransitionTime": _stamp(now),
        }
        for kind in NODE_CONDITIONS
    ]


def node_status(
    worker: WorkerRecord, *, template: NodeTemplate, now: dt.datetime
) -> dict[str, Any]:
    """``status``: capacity, allocatable, addresses, node info; conditions if never Ready."""
    status: dict[str, Any] = {
        "capacity": capacity(worker, template),
        "allocatable": allocatable(worker, template),
        "addresses": addresses(worker),
        "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux"},
    }
    if not worker.becomes_ready:
        status["conditions"] = not_ready_conditions(now)
    return status


def node_manifest(
    worker: WorkerRecord,
    *,
    options: NodeOptions,
    now: dt.datetime,
    flags: KubeletFlags | None = None,
) -> dict[str, Any]:
    """The Node to create for ``worker``; ``flags`` default to those of its ``userData`` (vm)."""
    if flags is None:
        flags = worker_flags(worker)
    spec: dict[str, Any] = {}
    if (provider_id := worker.provider_id()) is not None:
        spec["providerID"] = provider_id
    spec["taints"] = [dict(NOT_READY_TAINT), *(dict(t) for t in flags.taints)]
    annotations = {KWOK_ANNOTATION: KWOK_MANAGED} if worker.becomes_ready else {}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": worker.node_name,
            "labels": node_labels(worker, options=options, flags=flags),
            "annotations": annotations,
        },
        "spec": spec,
        "status": node_status(worker, template=options.template, now=now),
    }


def worker_flags(worker: WorkerRecord) -> KubeletFlags:
    """The kubelet flags of a vm worker's ``userData``; none for VKE workers."""
    return kubelet_flags(worker.user_data_text()) if worker.mode == "vm" else KubeletFlags()
