"""From a NodeGroup to the provider's ``GroupSpec`` (vm user data read from its Secret)."""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr

from autoscaler.core.resources import NodeGroup, ProviderMode
from autoscaler.kube import errors
from autoscaler.vpsie.provider import GroupSpec, VkeGroupSpec, VmGroupSpec


class GroupSpecError(Exception):
    """The NodeGroup cannot be served by this autoscaler's VPSie configuration."""


class SecretReader(Protocol):
    """Reads one key of a Secret (``KubeObjects`` does)."""

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        """The decoded value."""


def check_group(group: NodeGroup, *, mode: str, cluster: str | None) -> None:
    """Raise ``GroupSpecError`` when the group's mode or cluster is not the configured one."""
    provider = group.spec.provider
    if provider.mode != mode:
        raise GroupSpecError(
            f"provider.mode is {provider.mode} but the autoscaler runs in {mode} mode"
        )
    if provider.mode == ProviderMode.VKE and provider.cluster_identifier != cluster:
        raise GroupSpecError(
            f"provider.clusterIdentifier {provider.cluster_identifier} is not the configured"
            f" cluster {cluster}"
        )


async def group_spec(
    group: NodeGroup, *, mode: str, cluster: str | None, secrets: SecretReader
) -> GroupSpec:
    """The provider's view of ``group``; raises ``GroupSpecError`` on a mismatch."""
    check_group(group, mode=mode, cluster=cluster)
    name, provider = group.metadata.name, group.spec.provider
    if provider.mode == ProviderMode.VKE:
        return VkeGroupSpec(
            name=name, group_id=provider.node_group_id, group_name=provider.node_group_name
        )
    assert provider.plan_identifier is not None  # required by the CRD in vm mode
    user_data = None
    ref = provider.user_data_secret_ref
    if ref is not None:
        namespace = group.metadata.namespace
        try:
            user_data = SecretStr(await secrets.read_secret_key(namespace, ref.name, ref.key))
        except (errors.NotFound, errors.Forbidden) as err:
            raise GroupSpecError(f"user data: secret {ref.name} key {ref.key}: {err}") from err
    return VmGroupSpec(
        name=name,
        plan_identifier=provider.plan_identifier,
        dc_identifier=provider.datacenter_identifier,
        os_identifier=provider.os_identifier,
        project_id=provider.project_id,
        hostname_prefix=provider.hostname_prefix,
        user_data=user_data,
        ssh_key_identifier=provider.ssh_key_identifier,
    )
