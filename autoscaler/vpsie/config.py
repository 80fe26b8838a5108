"""``VPSieClientConfig``: everything the VPSie client and providers need, validated and frozen.

The application's settings map onto it (see ``autoscaler.settings``); secrets are
``SecretStr`` and never appear in ``repr``. ``limits()`` and ``authenticator()`` turn it into
the pieces ``http.HttpClient`` takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from autoscaler.clock import Clock
from autoscaler.settings import VPSieSettings
from autoscaler.vpsie.auth import Authenticator, ExchangedToken, Send, StaticToken
from autoscaler.vpsie.http import ClientLimits, origin_of
from autoscaler.vpsie.retry import RetryPolicy

AuthFactory = Callable[[Send], Authenticator]


class ReservedResources(BaseModel):
    """What a node template keeps back from capacity (vpsie-api.md §6)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_m: int = Field(100, ge=0, description="reserved CPU in millicores")
    memory_mi: int = Field(356, ge=0, description="reserved memory in MiB (256 + 100 eviction)")
    ephemeral_storage_pct: int = Field(10, ge=0, le=100, description="reserved disk, percent")
    pods: int = Field(110, ge=1, description="pods per node")


class VPSieClientConfig(BaseModel):
    """Connection, credentials, pacing and mode-specific defaults of the VPSie client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["vke", "vm"] = "vke"
    api_url: str = "https://api.vpsie.com"
    vm_prefix: str = "/api/v2/vm"
    allow_http: bool = Field(False, description="permit http:// (simulator and tests only)")
    token: SecretStr | None = None
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    account_password: SecretStr | None = None
    cluster_identifier: str | None = None
    dc_identifier: str | None = None
    os_identifier: str | None = None
    project_id: int | None = None
    hostname_prefix: str = Field("vpsie", pattern=r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$")
    delete_reason: str = Field("scaled down by vpsie-autoscaler", min_length=1)
    connect_timeout_s: float = Field(5.0, gt=0)
    request_timeout_s: float = Field(30.0, gt=0)
    max_in_flight: int = Field(4, ge=1)
    rate_per_s: float = Field(2.0, gt=0)
    burst: int = Field(10, ge=1)
    max_retries: int = Field(3, ge=0, le=10)
    backoff_base_s: float = Field(0.5, gt=0)
    backoff_cap_s: float = Field(30.0, gt=0)
    breaker_failures: int = Field(5, ge=1)
    breaker_open_s: float = Field(30.0, gt=0)
    breaker_close_after: int = Field(2, ge=1)
    unknown_outcome_window_s: float = Field(180.0, gt=0)
    poll_interval_s: float = Field(10.0, gt=0)
    poll_share_s: float = Field(1.0, ge=0)
    reserved: ReservedResources = ReservedResources()

    @model_validator(mode="after")
    def _consistent(self) -> VPSieClientConfig:
        origin = origin_of(self.api_url)
        if origin.scheme != "https" and not self.allow_http:
            raise ValueError("api_url must be https (allow_http is for the simulator only)")
        exchange = self.client_id is not None or self.client_secret is not None
        if exchange and (self.client_id is None or self.client_secret is None):
            raise ValueError("client_id and client_secret go together")
        if (self.token is None) == (not exchange):
            raise ValueError("give either token or client_id + client_secret")
        if self.mode == "vke" and not self.cluster_identifier:
            raise ValueError("vke mode needs cluster_identifier")
        if self.mode == "vm" and self.account_password is None:
            raise ValueError("vm mode needs account_password (VPSie asks for it on VM deletes)")
        return self

    @classmethod
    def from_settings(cls, settings: VPSieSettings) -> VPSieClientConfig:
        """Build the client config from the daemon's ``vpsie`` settings group."""
        values = settings.model_dump()
        reserved = ReservedResources(
            cpu_m=values.pop("reserved_cpu_m"),
            memory_mi=values.pop("reserved_memory_mi"),
            ephemeral_storage_pct=values.pop("reserved_ephemeral_storage_pct"),
            pods=values.pop("max_pods"),
        )
        return cls(api_url=values.pop("url"), reserved=reserved, **values)

    def limits(self) -> ClientLimits:
        """Timeouts, pacing, retry and breaker settings for ``HttpClient``."""
        return ClientLimits(
            connect_timeout=self.connect_timeout_s,
            total_timeout=self.request_timeout_s,
            max_in_flight=self.max_in_flight,
            rate=self.rate_per_s,
            burst=self.burst,
            retry=RetryPolicy(
                retries=self.max_retries, base=self.backoff_base_s, cap=self.backoff_cap_s
            ),
            breaker_threshold=self.breaker_failures,
            breaker_open_seconds=self.breaker_open_s,
            breaker_close_after=self.breaker_close_after,
        )

    def authenticator(self, *, clock: Clock) -> AuthFactory:
        """A factory ``HttpClient`` calls with its unauthenticated ``send``."""
        token, client_id, secret = self.token, self.client_id, self.client_secret
        if token is not None:
            return lambda send: StaticToken(token)
        assert client_id is not None
        assert secret is not None
        return lambda send: ExchangedToken(
            client_id=client_id, client_secret=secret, clock=clock, send=send
        )
