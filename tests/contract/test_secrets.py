"""No secret leaves the client or the simulator through logs, exception texts or reprs (§7).

A whole vm-mode cycle runs against a simulator configured with distinctive secrets: plans
and prices, a create carrying ``userData``, the VM running, a quota refusal, an unknown
outcome (HTML 502), a 401, a delete with a wrong account password, the delete with the
right one. Everything logged (DEBUG and up, client and simulator loggers included), every
exception raised (with its chain), the reprs of the values handed around and the
simulator's call log are then searched for each secret value.
"""

from __future__ import annotations

import base64
import logging
import traceback
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from autoscaler.simulator import SimulatorConfig
from autoscaler.vpsie import (
    AuthError,
    BadAccountPassword,
    QuotaExceeded,
    UnknownOutcome,
    VmDefaults,
    VPSieError,
    WorkerState,
)
from autoscaler.vpsie import endpoints as ep
from autoscaler.vpsie.vm_catalogue import vm_create
from tests.contract import DC, OS, PROJECT, Contract, vm_group
from tests.simulator import manual_config

pytestmark = [pytest.mark.looptime(end=3600), pytest.mark.usefixtures("hangs_fail")]

API_TOKEN = "tok-7f3a91-contract-static-api-token"
CLIENT_ID = "contract-client"
CLIENT_SECRET = "cs-91bd44-contract-client-secret"
ACCOUNT_PASSWORD = "pw-4c2e18-contract-account-password"
WRONG_PASSWORD = "pw-000000-contract-wrong-password"
JOIN_TOKEN = "q9w8e7.r6t5y4u3i2o1p0a9"
USER_DATA = f"#cloud-config\nruncmd:\n  - kubeadm join 10.8.0.1:6443 --token {JOIN_TOKEN}\n"
CONFIG = manual_config(
    auth={
        "tokens": [API_TOKEN],
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
    },
    knobs={"account_password": ACCOUNT_PASSWORD},
)
WEB = vm_group("web", user_data=SecretStr(USER_DATA))


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def exception_text(err: BaseException) -> str:
    return "\n".join([str(err), repr(err), *traceback.format_exception(err)])


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(vars(record))]
    if record.exc_info:
        parts += traceback.format_exception(*record.exc_info)
    return "\n".join(parts)


@pytest.mark.parametrize("sim_config", [CONFIG], ids=["distinct-secrets"])
@pytest.mark.parametrize("auth", ["static-token", "client-credentials"])
async def test_a_vm_cycle_leaks_no_secret(
    contract: Contract,
    caplog: pytest.LogCaptureFixture,
    sim_config: SimulatorConfig,
    auth: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("autoscaler.vpsie", "autoscaler.simulator"):
        caplog.set_level(logging.DEBUG, logger=name)
    credentials: dict[str, Any] = (
        {"token": SecretStr(API_TOKEN)}
        if auth == "static-token"
        else {"client_id": SecretStr(CLIENT_ID), "client_secret": SecretStr(CLIENT_SECRET)}
    )
    config = contract.config("vm", account_password=SecretStr(ACCOUNT_PASSWORD), **credentials)
    errors: list[VPSieError] = []
    shown: list[object] = [config, WEB]

    async with contract.connect(config) as c:
        provider = c.vm
        shown += [await provider.node_template(WEB), await provider.price(WEB)]
        intent = provider.prepare_create(WEB)
        handle = await provider.create_worker(WEB, intent=intent)
        await contract.advance(40)
        answer = await provider.resolve(handle)
        assert answer.worker is not None
        assert answer.worker.state is WorkerState.RUNNING
        worker = answer.worker
        shown += [intent, handle, answer, await provider.list_groups([WEB])]
        listed = await contract.sim.get(c.config.vm_prefix, headers={"Vpsie-Auth": API_TOKEN})
        initial_passwords = [v["initial_password"] for v in listed.data]

        await contract.set_faults(knobs={"quota": {"max_vms": 1}})
        with pytest.raises(QuotaExceeded) as quota:
            await provider.create_worker(WEB, intent=provider.prepare_create(WEB))
        errors.append(quota.value)

        html_502 = {"route": "V4", "error_5xx_rate": 1, "error_5xx_codes": [502],
                    "html_502": True}  # fmt: skip
        await contract.set_faults(html_502)
        with pytest.raises(UnknownOutcome) as unknown:
            await provider.create_worker(WEB, intent=provider.prepare_create(WEB))
        errors.append(unknown.value)

        await contract.set_faults({"route": "V1", "unauthorized_rate": 1, "times": 1})
        if auth == "static-token":
            with pytest.raises(AuthError) as refused:
                await provider.list_groups([WEB])
            errors.append(refused.value)
        else:
            await provider.list_groups([WEB])  # one re-exchange
        await contract.set_faults()

        wrong = contract.config("vm", account_password=SecretStr(WRONG_PASSWORD), **credentials)
        async with contract.connect(wrong) as w:
            with pytest.raises(BadAccountPassword) as bad:
                await w.vm.delete_worker(WEB, hostname=worker.hostname,
                                         identifier=worker.identifier)  # fmt: skip
            errors.append(bad.value)

        assert await provider.delete_worker(
            WEB, hostname=worker.hostname, identifier=worker.identifier
        )
        await contract.advance(10)
        [status] = await provider.list_groups([WEB])
        assert status.workers == ()

    defaults = VmDefaults(SecretStr(ACCOUNT_PASSWORD), DC, OS, PROJECT, "va")
    create = vm_create(WEB, defaults, hostname=intent.hostname or "")
    shown += [
        create,
        ep.create_vm(create, vm_prefix=c.config.vm_prefix),
        ep.delete_vm(
            "vm-1", vm_prefix="/api/v2/vm", password=SecretStr(ACCOUNT_PASSWORD), reason="r"
        ),
    ]
    exchanged = list(contract.sim.simulation.tokens._issued)  # the tokens C1 handed out
    secrets = [
        API_TOKEN, CLIENT_SECRET, ACCOUNT_PASSWORD, WRONG_PASSWORD, USER_DATA, JOIN_TOKEN,
        base64.b64encode(USER_DATA.encode()).decode(), *initial_passwords, *exchanged,
    ]  # fmt: skip
    assert len(initial_passwords) >= 2  # the new VM and the mirrored VKE worker
    assert (auth == "client-credentials") == bool(exchanged)

    records = caplog.records
    assert any(r.name == "autoscaler.vpsie.http" and r.levelno == logging.DEBUG for r in records)
    assert any(r.levelno >= logging.WARNING for r in records)  # the failures were logged
    assert [(r.name, leaks(record_text(r), secrets)) for r in records] == [
        (r.name, []) for r in records
    ]
    assert [leaks(exception_text(e), secrets) for e in errors] == [[]] * len(errors)
    assert [leaks(repr(v) + str(v), secrets) for v in shown] == [[]] * len(shown)
    calls = (await contract.sim.get("/__sim/calls", auth=False)).raw.decode()
    state = orjson.dumps(await contract.state()).decode()
    assert leaks(calls, secrets) == []
    assert leaks(state, secrets) == []
