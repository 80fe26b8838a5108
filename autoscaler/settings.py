"""Settings: nested groups read from the environment and an optional config file.

Environment variables use the prefix ``VPSIE_AUTOSCALER_`` and ``__`` between a group
and its field, e.g. ``VPSIE_AUTOSCALER_QUEUE__WORKERS=4``. A YAML or JSON config file
(``--config`` or ``VPSIE_AUTOSCALER_CONFIG_FILE``) gives the same keys as a mapping;
the environment wins over the file, and command-line flags win over both.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "VPSIE_AUTOSCALER_"
EXPANDER_NAMES = ("priority", "least-waste", "price", "most-pods", "least-nodes")


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubeSettings(_Group):
    """How to reach the Kubernetes API server."""

    kubeconfig: Path | None = Field(
        None, description="kubeconfig file; unset means in-cluster config, else ~/.kube/config"
    )
    context: str | None = Field(None, description="kubeconfig context to use")
    namespace: str = Field("vpsie-system", description="namespace of NodeGroups and the Lease")
    request_timeout_s: float = Field(30.0, gt=0, description="deadline of one API request")
    lease_name: str = Field("vpsie-autoscaler", min_length=1, description="leader-election Lease")
    lease_duration_s: float = Field(15.0, gt=0, description="leader lease duration")
    renew_deadline_s: float = Field(10.0, gt=0, description="leader gives up after this")
    retry_period_s: float = Field(2.0, gt=0, description="interval between lease attempts")
    leader_election: bool = Field(True, description="elect a leader; off only for one replica")

    @model_validator(mode="after")
    def _lease_timings(self) -> KubeSettings:
        if not self.lease_duration_s > self.renew_deadline_s:
            raise ValueError("lease_duration_s must be greater than renew_deadline_s")
        if not self.renew_deadline_s > self.retry_period_s * 1.2:
            raise ValueError("renew_deadline_s must be greater than 1.2 x retry_period_s")
        return self


class VPSieSettings(_Group):
    """How to reach the VPSie API, and the provisioning mode."""

    mode: Literal["vke", "vm"] = Field(
        "vke", description="vke: VPSie managed Kubernetes node groups; vm: plain VPSie VMs"
    )
    url: str = Field("https://api.vpsie.com", description="VPSie API base URL (scheme and host)")
    vm_prefix: str = Field("/api/v2/vm", description="path prefix of the VM routes")
    allow_http: bool = Field(False, description="permit a plain-http URL (simulator only)")
    token: SecretStr | None = Field(None, description="API token (from a Secret; never logged)")
    client_id: SecretStr | None = Field(None, description="OAuth client id, instead of a token")
    client_secret: SecretStr | None = Field(None, description="OAuth client secret")
    account_password: SecretStr | None = Field(
        None, description="VPSie account password; vm mode needs it to delete VMs"
    )
    cluster_identifier: str | None = Field(None, description="VKE cluster UUID (vke mode)")
    dc_identifier: str | None = Field(None, description="default datacenter UUID (vm mode)")
    os_identifier: str | None = Field(None, description="default OS image UUID (vm mode)")
    project_id: int | None = Field(None, ge=0, description="numeric VPSie project id (vm mode)")
    hostname_prefix: str = Field(
        "vpsie", pattern=r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$", description="VM name prefix"
    )
    delete_reason: str = Field(
        "scaled down by vpsie-autoscaler", min_length=1, description="reason sent on VM deletes"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="deadline of a TCP/TLS connect")
    request_timeout_s: float = Field(30.0, gt=0, description="deadline of one VPSie request")
    max_retries: int = Field(3, ge=0, le=10, description="retries of idempotent calls")
    max_in_flight: int = Field(4, ge=1, description="concurrent VPSie requests")
    rate_per_s: float = Field(2.0, gt=0, description="client-side request rate")
    burst: int = Field(10, ge=1, description="client-side request burst")
    backoff_base_s: float = Field(0.5, gt=0, description="first retry backoff")
    backoff_cap_s: float = Field(30.0, gt=0, description="retry backoff cap")
    breaker_failures: int = Field(5, ge=1, description="consecutive failures that open the breaker")
    breaker_open_s: float = Field(30.0, gt=0, description="how long the breaker stays open")
    breaker_close_after: int = Field(2, ge=1, description="probe successes that close it")
    unknown_outcome_window_s: float = Field(
        180.0, gt=0, description="how long to look for a create whose answer was lost"
    )
    poll_interval_s: float = Field(10.0, gt=0, description="interval of provisioning polls")
    poll_share_s: float = Field(
        1.0,
        ge=0,
        description="how long one polled listing answers every node being provisioned; 0 = none",
    )
    reserved_cpu_m: int = Field(100, ge=0, description="CPU kept back from node capacity (m)")
    reserved_memory_mi: int = Field(356, ge=0, description="memory kept back (MiB)")
    reserved_ephemeral_storage_pct: int = Field(
        10, ge=0, le=100, description="disk kept back (percent)"
    )
    max_pods: int = Field(110, ge=1, description="pods per node in node templates")


class ScalingSettings(_Group):
    """Cluster-wide scaling policy."""

    scan_interval_s: float = Field(
        10.0,
        gt=0,
        description="interval of the scale-down pass (and of scale-up re-checks while pods"
        " stay pending)",
    )
    batch_idle_s: float = Field(1.0, gt=0, description="scale-up batcher idle window")
    batch_max_s: float = Field(10.0, gt=0, description="scale-up batcher maximum window")
    batch_eager_s: float = Field(
        1.0,
        ge=0,
        description="while a batch window stays open, create every this many seconds the new"
        " nodes that are full or for a pod pending this long; 0 = only when the window closes",
    )
    max_nodes_total: int = Field(0, ge=0, description="cluster-wide node limit; 0 = none")
    max_cores_total: int = Field(0, ge=0, description="cluster-wide CPU core limit; 0 = none")
    max_memory_total_gib: int = Field(
        0, ge=0, description="cluster-wide memory limit in GiB of node capacity; 0 = none"
    )
    max_monthly_cost: float = Field(
        0.0, ge=0, description="cluster-wide monthly cost limit of managed nodes; 0 = none"
    )
    max_nodes_per_scale_up: int = Field(
        1000, ge=1, description="new nodes in one scale-up decision, over all groups"
    )
    expanders: str = Field(
        "priority,least-waste,price",
        description="expander chain, comma-separated: priority, least-waste, price,"
        " most-pods, least-nodes",
    )
    expendable_pods_priority_cutoff: int = Field(
        -10, description="pods with a lower priority never trigger a scale-up"
    )
    scale_down_enabled: bool = Field(
        True, description="remove unneeded nodes (off: scale-down only explains what it keeps)"
    )
    scale_down_delay_after_failure_s: float = Field(
        180.0,
        gt=0,
        description="a node whose drain failed is not tried again for this long, doubling"
        " with each failure in a row up to 30 minutes",
    )
    max_empty_bulk_delete: int = Field(10, ge=1, description="parallel deletions of empty nodes")
    max_drain_parallelism: int = Field(1, ge=1, description="nodes drained at once")
    max_graceful_termination_s: int = Field(600, ge=0, le=3600, description="grace cap on evict")
    max_pod_eviction_time_s: float = Field(
        120.0, gt=0, description="how long one pod's refused evictions are retried in a drain"
    )
    drain_timeout_s: float = Field(
        600.0, gt=0, description="longest drain of one node before it is given up and restored"
    )
    dry_run: bool = Field(False, description="decide and explain, but change nothing")

    @model_validator(mode="after")
    def _batch_windows(self) -> ScalingSettings:
        if self.batch_idle_s > self.batch_max_s:
            raise ValueError("batch_idle_s must not exceed batch_max_s")
        names = self.expander_chain
        unknown = [n for n in names if n not in EXPANDER_NAMES]
        if unknown or not names:
            raise ValueError(
                f"expanders: unknown {', '.join(unknown) or '(empty)'};"
                f" choose from {', '.join(EXPANDER_NAMES)}"
            )
        if len(set(names)) != len(names):
            raise ValueError("expanders: a name is listed twice")
        return self

    @property
    def expander_chain(self) -> tuple[str, ...]:
        """The expander names in order."""
        return tuple(n.strip() for n in self.expanders.split(",") if n.strip())


class LifecycleSettings(_Group):
    """NodeGroup and VPSieNode lifecycle: timeouts, polling, back-off and garbage collection."""

    provisioning_timeout_s: float = Field(
        900.0, gt=0, description="from the create request until VPSie lists the worker (Failed)"
    )
    joining_timeout_s: float = Field(
        900.0, gt=0, description="from the listed worker until its Node is Ready (Failed)"
    )
    poll_interval_s: float = Field(
        10.0, gt=0, description="how often a node on its way (or being deleted) is checked"
    )
    gc_interval_s: float = Field(
        300.0, gt=0, description="interval of the garbage collector and recovery pass"
    )
    backoff_base_s: float = Field(
        300.0, gt=0, description="first back-off of a group after a failed provisioning"
    )
    backoff_max_s: float = Field(1800.0, gt=0, description="longest back-off of a group")
    failed_kept: int = Field(
        4, ge=1, le=16, description="Failed VPSieNodes kept per group (they drive the back-off)"
    )

    @model_validator(mode="after")
    def _backoff(self) -> LifecycleSettings:
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError("backoff_base_s must not exceed backoff_max_s")
        return self


class QueueSettings(_Group):
    """Work queues and their workers."""

    workers: int = Field(2, ge=1, le=64, description="reconcile workers per controller")
    drain_workers: int = Field(4, ge=1, le=64, description="drain worker pool size")
    base_delay_s: float = Field(0.005, gt=0, description="per-item retry backoff start")
    max_delay_s: float = Field(1000.0, gt=0, description="per-item retry backoff cap")
    bucket_qps: float = Field(10.0, gt=0, description="overall retry rate")
    bucket_burst: int = Field(100, ge=1, description="overall retry burst")


class WatchSettings(_Group):
    """List/watch behaviour of the informers."""

    page_size: int | None = Field(
        None,
        ge=1,
        le=10000,
        description="force this list page size; unset pages first lists by 500 and lets "
        "the watch cache serve relists whole (client-go's default; setting it makes relists "
        "after an API server restart go to etcd)",
    )
    min_timeout_s: int = Field(300, ge=1, description="lower bound of watch timeoutSeconds")
    max_timeout_s: int = Field(600, ge=1, description="upper bound of watch timeoutSeconds")
    inactivity_timeout_s: float = Field(70.0, gt=0, description="silence that means a dead watch")
    resync_s: float = Field(
        0.0, ge=0, description="periodic resync of handlers, at least 1 s; 0 = off"
    )

    @model_validator(mode="after")
    def _timeouts(self) -> WatchSettings:
        if self.min_timeout_s > self.max_timeout_s:
            raise ValueError("min_timeout_s must not exceed max_timeout_s")
        if 0 < self.resync_s < 1:
            raise ValueError("resync_s must be 0 (off) or at least 1")
        return self


class ServerSettings(_Group):
    """HTTP endpoints and shutdown."""

    host: str = Field("0.0.0.0", description="address the HTTP servers bind to")
    metrics_port: int = Field(8080, ge=0, le=65535, description="/metrics port (0 = any free)")
    probes_port: int = Field(8081, ge=0, le=65535, description="/healthz, /readyz port")
    shutdown_timeout_s: float = Field(10.0, gt=0, description="deadline of a graceful stop")


class LoggingSettings(_Group):
    """Log output."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")
    format: Literal["json", "text"] = Field("json", description="one JSON object per line, or text")

    @property
    def level_number(self) -> int:
        """The numeric logging level."""
        return logging.getLevelNamesMapping()[self.level]


class Settings(BaseSettings):
    """All settings of the daemon."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        yaml_file=None,
    )

    config_file: Path | None = Field(None, description="YAML/JSON file with these settings")
    kube: KubeSettings = KubeSettings()
    vpsie: VPSieSettings = VPSieSettings()
    scaling: ScalingSettings = ScalingSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    queue: QueueSettings = QueueSettings()
    watch: WatchSettings = WatchSettings()
    server: ServerSettings = ServerSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order: explicit arguments (flags), environment, then the config file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file_from(init_settings(), env_settings())
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


def _config_file_from(*layers: dict[str, Any]) -> Path | None:
    for layer in layers:
        value = layer.get("config_file")
        if value:
            return Path(value)
    return None
