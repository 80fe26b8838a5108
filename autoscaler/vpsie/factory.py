"""Wiring: from a ``VPSieClientConfig`` to the HTTP client and the provider of its mode."""

from __future__ import annotations

import random
from collections.abc import Callable

from autoscaler.clock import Clock
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.config import VPSieClientConfig
from autoscaler.vpsie.hostnames import HostnameMinter
from autoscaler.vpsie.http import HttpClient
from autoscaler.vpsie.templates import Reserve
from autoscaler.vpsie.vke import VkeProvider
from autoscaler.vpsie.vm import VmDefaults, VmProvider


def build_client(
    config: VPSieClientConfig, *, clock: Clock, rand: Callable[[], float] = random.random
) -> HttpClient:
    """The HTTP client (enter it with ``async with`` before use)."""
    return HttpClient(
        api_url=config.api_url,
        auth=config.authenticator(clock=clock),
        clock=clock,
        limits=config.limits(),
        rand=rand,
        allow_http=config.allow_http,
    )


def build_provider(
    config: VPSieClientConfig,
    *,
    http: HttpClient,
    clock: Clock,
    rand: random.Random | None = None,
) -> VkeProvider | VmProvider:
    """The provider of ``config.mode`` over ``http``."""
    api = VPSieApi(http, vm_prefix=config.vm_prefix)
    r = config.reserved
    reserve = Reserve(r.cpu_m, r.memory_mi, r.ephemeral_storage_pct, r.pods)
    window, interval = config.unknown_outcome_window_s, config.poll_interval_s
    if config.mode == "vke":
        assert config.cluster_identifier is not None  # checked by the config
        return VkeProvider(
            api=api, cluster=config.cluster_identifier, clock=clock,
            availability=lambda: http.available, reserve=reserve, window=window,
            interval=interval, share=config.poll_share_s,
        )  # fmt: skip
    assert config.account_password is not None  # checked by the config
    defaults = VmDefaults(
        account_password=config.account_password,
        dc_identifier=config.dc_identifier,
        os_identifier=config.os_identifier,
        project_id=config.project_id,
        hostname_prefix=config.hostname_prefix,
        delete_reason=config.delete_reason,
    )
    return VmProvider(
        api=api, defaults=defaults, clock=clock, availability=lambda: http.available,
        reserve=reserve, minter=HostnameMinter(rand=rand), window=window, interval=interval,
        share=config.poll_share_s,
    )  # fmt: skip
