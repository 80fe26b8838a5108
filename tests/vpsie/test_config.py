"""Client configuration: validation, wiring, node templates."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from autoscaler.clock import FakeClock
from autoscaler.vpsie import endpoints as ep
from autoscaler.vpsie.auth import ExchangedToken, StaticToken
from autoscaler.vpsie.config import VPSieClientConfig
from autoscaler.vpsie.factory import build_client, build_provider
from autoscaler.vpsie.http import origin_of
from autoscaler.vpsie.templates import Reserve, node_template
from autoscaler.vpsie.vke import VkeProvider
from autoscaler.vpsie.vm import VmProvider

VKE: dict[str, Any] = {"token": SecretStr("t"), "cluster_identifier": "c-1"}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"cluster_identifier": "c"}, "either token", id="no-credentials"),
        pytest.param(VKE | {"client_id": SecretStr("i")}, "go together", id="half-exchange"),
        pytest.param(
            VKE | {"client_id": SecretStr("i"), "client_secret": SecretStr("s")},
            "either token",
            id="both",
        ),
        pytest.param({"token": SecretStr("t")}, "cluster_identifier", id="vke-without-cluster"),
        pytest.param({"token": SecretStr("t"), "mode": "vm"}, "account_password", id="vm-no-pw"),
        pytest.param(VKE | {"api_url": "http://api.vpsie.com"}, "https", id="plain-http"),
        pytest.param(VKE | {"api_url": "api.vpsie.com"}, "absolute", id="not-a-url"),
        pytest.param(VKE | {"hostname_prefix": "Bad_Prefix"}, "pattern", id="bad-prefix"),
    ],
)
def test_invalid_configs(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        VPSieClientConfig(**fields)


def test_defaults_follow_the_contract() -> None:
    config = VPSieClientConfig(**VKE)
    limits = config.limits()
    assert (config.api_url, config.vm_prefix) == ("https://api.vpsie.com", "/api/v2/vm")
    assert (limits.connect_timeout, limits.total_timeout, limits.max_in_flight) == (5, 30, 4)
    assert (limits.rate, limits.burst) == (2, 10)
    assert (limits.retry.retries, limits.retry.base, limits.retry.cap) == (3, 0.5, 30)
    assert (limits.breaker_threshold, limits.breaker_open_seconds) == (5, 30)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.vpsie.com/apps/v2", "https://api.vpsie.com"),
        ("https://api2.vpsie.com/v2/", "https://api2.vpsie.com"),
        ("https://user:pw@api.vpsie.com:8443/x?y=1", "https://api.vpsie.com:8443"),
    ],
)
def test_base_url_keeps_scheme_and_host_only(url: str, origin: str) -> None:
    assert str(origin_of(url)) == origin


def test_authenticator_follows_the_credentials() -> None:
    clock = FakeClock()
    static = VPSieClientConfig(**VKE).authenticator(clock=clock)
    exchange = VPSieClientConfig(
        client_id=SecretStr("i"), client_secret=SecretStr("s"), cluster_identifier="c"
    ).authenticator(clock=clock)
    assert isinstance(static(ep_send), StaticToken)
    assert isinstance(exchange(ep_send), ExchangedToken)


async def ep_send(request: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


def test_factory_builds_the_provider_of_the_mode() -> None:
    clock = FakeClock()
    vke = VPSieClientConfig(**VKE, allow_http=True, api_url="http://127.0.0.1:1")
    vm = VPSieClientConfig(
        mode="vm", token=SecretStr("t"), account_password=SecretStr("p"), project_id=1
    )
    assert isinstance(
        build_provider(vke, http=build_client(vke, clock=clock), clock=clock), VkeProvider
    )
    assert isinstance(
        build_provider(vm, http=build_client(vm, clock=clock), clock=clock), VmProvider
    )


@pytest.mark.parametrize(
    ("cpu", "ram", "disk", "capacity", "allocatable"),
    [
        pytest.param(
            4, 8192, 160,
            {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "160Gi", "pods": "110"},
            {"cpu": "3900m", "memory": "7836Mi", "ephemeral-storage": "144Gi", "pods": "110"},
            id="4cpu-8gb",
        ),
        pytest.param(
            1, 256, 0,
            {"cpu": "1", "memory": "256Mi", "ephemeral-storage": "0", "pods": "110"},
            {"cpu": "900m", "memory": "0", "ephemeral-storage": "0", "pods": "110"},
            id="tiny-never-negative",
        ),
    ],
)  # fmt: skip
def test_node_template(
    cpu: int, ram: int, disk: int, capacity: dict[str, str], allocatable: dict[str, str]
) -> None:
    template = node_template(cpu=cpu, ram_mb=ram, disk_gb=disk, reserve=Reserve())
    assert template.quantities() == {"capacity": capacity, "allocatable": allocatable}


def test_paths_are_percent_encoded_and_never_empty() -> None:
    assert ep.get_vm("a/b c", vm_prefix="/api/v2/vm").path == "/api/v2/vm/a%2Fb%20c"
    with pytest.raises(ValueError, match="empty"):
        ep.get_cluster(" ")
    with pytest.raises(ValueError, match="reason"):
        ep.delete_vm("vm", vm_prefix="/v", password=SecretStr("p"), reason=" ")
