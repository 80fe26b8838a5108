"""``NodeGroup.spec.provider``: how a group's nodes are made on VPSie, in ``vke`` or ``vm`` mode.

One flat object: the mode says which fields apply, and CEL rules require exactly those
(vpsie-api.md §1, §7). Fields of the other mode are rejected rather than silently ignored.
"""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar

from autoscaler.core.resources import formats
from autoscaler.core.resources.meta import Rule, prop


class ProviderMode(enum.StrEnum):
    """How nodes are provisioned: a VPSie managed-Kubernetes worker, or a plain VM."""

    VKE = "vke"
    VM = "vm"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SecretKeyRef:
    """A key of a Secret in the NodeGroup's namespace."""

    name: str = prop("Name of the Secret.", max_length=253, rules=(formats.DNS_SUBDOMAIN,))
    key: str = prop("Key within the Secret.", max_length=253, rules=(formats.SECRET_KEY,))


VKE_FIELDS = ("clusterIdentifier", "nodeGroupId", "nodeGroupName")
VM_FIELDS = (
    "datacenterIdentifier",
    "planIdentifier",
    "osIdentifier",
    "projectId",
    "hostnamePrefix",
    "userDataSecretRef",
    "sshKeyIdentifier",
)
VM_REQUIRED = VM_FIELDS[:-1]


def _attr(json_field: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in json_field)


def _required_in(mode: ProviderMode, json_field: str) -> Rule:
    attr = _attr(json_field)
    return Rule(
        cel=f"self.mode != '{mode}' || has(self.{json_field})",
        message=f"{json_field} is required when mode is {mode}",
        check=lambda p: p.mode != mode or getattr(p, attr) is not None,
        field_path=f".{json_field}",
        reason="FieldValueRequired",
    )


def _only_in(mode: ProviderMode, json_fields: tuple[str, ...]) -> Rule:
    attrs = [_attr(f) for f in json_fields]
    listed = ", ".join(json_fields[:-1]) + f" and {json_fields[-1]}"

    def check(p: Any) -> bool:
        return p.mode == mode or all(getattr(p, a) is None for a in attrs)

    return Rule(
        cel=f"self.mode == '{mode}' || !({' || '.join(f'has(self.{f})' for f in json_fields)})",
        message=f"{listed} are only used when mode is {mode}",
        check=check,
        reason="FieldValueForbidden",
    )


_IDENT = {"max_length": 64, "min_length": 1, "rules": (formats.IDENTIFIER,)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSpec:
    """Where and how the group's nodes are created on VPSie."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        _required_in(ProviderMode.VKE, "clusterIdentifier"),
        Rule(
            cel="self.mode != 'vke' || has(self.nodeGroupId) != has(self.nodeGroupName)",
            message="exactly one of nodeGroupId or nodeGroupName is required when mode is vke",
            check=lambda p: (
                p.mode != ProviderMode.VKE
                or (p.node_group_id is None) != (p.node_group_name is None)
            ),
        ),
        *(_required_in(ProviderMode.VM, f) for f in VM_REQUIRED),
        _only_in(ProviderMode.VKE, VKE_FIELDS),
        _only_in(ProviderMode.VM, VM_FIELDS),
    )

    mode: ProviderMode = prop(
        "Provisioning mode. vke adds workers to a node group of a VPSie managed Kubernetes"
        " cluster; vm creates plain VPSie VMs whose user data joins a self-managed cluster."
        " Immutable: create a new NodeGroup to change it.",
        default=ProviderMode.VKE,
        immutable=True,
    )
    cluster_identifier: str | None = prop(
        "vke: identifier (UUID) of the VPSie managed Kubernetes cluster.", default=None, **_IDENT
    )
    node_group_id: int | None = prop(
        "vke: numeric id of the VPSie node group this NodeGroup scales. Give this or"
        " nodeGroupName, not both.",
        default=None,
        minimum=1,
        int64=True,
    )
    node_group_name: str | None = prop(
        "vke: name of the VPSie node group, resolved to its id at start-up. Give this or"
        " nodeGroupId, not both.",
        default=None,
        min_length=1,
        max_length=128,
    )
    datacenter_identifier: str | None = prop(
        "vm: identifier of the VPSie datacenter the VMs are created in.", default=None, **_IDENT
    )
    plan_identifier: str | None = prop(
        "vm: identifier of the VPSie plan (size and price) of every VM.", default=None, **_IDENT
    )
    os_identifier: str | None = prop(
        "vm: identifier of the VPSie OS image the VMs boot.", default=None, **_IDENT
    )
    project_id: int | None = prop(
        "vm: numeric id of the VPSie project the VMs belong to.",
        default=None,
        minimum=1,
        int64=True,
    )
    hostname_prefix: str | None = prop(
        "vm: prefix of VM hostnames, which are <prefix>-<group>-<8 random characters>; also"
        " how the autoscaler recognises its VMs.",
        default=None,
        max_length=20,
        rules=(formats.HOSTNAME_PREFIX,),
    )
    user_data_secret_ref: SecretKeyRef | None = prop(
        "vm: Secret key holding the cloud-init user data that joins a new VM to the cluster"
        " (for example a kubeadm join command). Never logged.",
        default=None,
    )
    ssh_key_identifier: str | None = prop(
        "vm: optional identifier of a VPSie SSH key installed on every VM.",
        default=None,
        **_IDENT,
    )
