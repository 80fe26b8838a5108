"""No secret ever reaches a log line, a repr or an exception text (vpsie-api.md §7)."""

from __future__ import annotations

import base64
import logging
import random
import traceback

import pytest
from pydantic import SecretStr

from autoscaler.clock import LoopClock
from autoscaler.observability.logs import JsonFormatter
from autoscaler.vpsie import endpoints as ep
from autoscaler.vpsie import errors
from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.auth import Authenticator, ExchangedToken, Send, exchange_request
from autoscaler.vpsie.config import VPSieClientConfig
from autoscaler.vpsie.hostnames import HostnameMinter
from autoscaler.vpsie.provider import VmGroupSpec
from autoscaler.vpsie.redact import REDACTED, redact_body, redact_headers
from autoscaler.vpsie.types import VmCreate
from autoscaler.vpsie.vm import VmDefaults, VmProvider
from tests.vpsie.conftest import connect
from tests.vpsie.scripted import HTML_502, Reply, ScriptedVPSie, fail, ok

pytestmark = pytest.mark.looptime

CLIENT_ID = "cid-Secret-1111"
CLIENT_SECRET = "csecret-2222"
TOKEN = "xtoken-3333"
PASSWORD = "acct-pw-4444"
USER_DATA = "#cloud-config join-token-5555"
INITIAL_PASSWORD = "initpw-6666"
SECRETS = [
    CLIENT_ID, CLIENT_SECRET, TOKEN, PASSWORD, USER_DATA, INITIAL_PASSWORD,
    base64.b64encode(USER_DATA.encode()).decode(),
]  # fmt: skip


def exchange(send: Send) -> Authenticator:
    return ExchangedToken(
        client_id=SecretStr(CLIENT_ID), client_secret=SecretStr(CLIENT_SECRET),
        clock=LoopClock(), send=send,
    )  # fmt: skip


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


async def test_no_secret_in_logs_reprs_or_errors(
    server: ScriptedVPSie, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    vm = {"identifier": "vm-1", "hostname": "va-web-abcd1234", "initial_password": INITIAL_PASSWORD}
    server.on("POST", "/apps/v2/auth/from/api", Reply(json={"accessToken": {"token": TOKEN}}))
    server.on("GET", "/api/v2/vm", fail("Please authenticate", status=401))
    server.always("POST", "/apps/v2/auth/from/api", Reply(json={"accessToken": {"token": TOKEN}}))
    server.always("GET", "/api/v2/vm", ok([vm]))
    server.always("GET", "/apps/v2/vm/pending", ok([]))
    server.on("POST", "/api/v2/vm", HTML_502)
    server.always("DELETE", "/api/v2/vm", fail("You entered the wrong password"))
    seen: list[object] = []
    async with connect(server, auth=exchange) as http:
        defaults = VmDefaults(
            account_password=SecretStr(PASSWORD), dc_identifier="dc", os_identifier="os",
            project_id=1, hostname_prefix="va",
        )  # fmt: skip
        provider = VmProvider(
            api=VPSieApi(http), defaults=defaults, clock=LoopClock(), window=20,
            minter=HostnameMinter(rand=random.Random(1)),
        )  # fmt: skip
        spec = VmGroupSpec(name="web", plan_identifier="p", user_data=SecretStr(USER_DATA))
        intent = provider.prepare_create(spec)
        with pytest.raises(errors.UnknownOutcome) as unknown:
            await provider.create_worker(spec, intent=intent)
        with pytest.raises(errors.BadAccountPassword) as password:
            await provider.delete_worker(spec, hostname="va-web-abcd1234", identifier=None)
        seen += [unknown.value, password.value, spec, defaults, provider, http]
    texts = [JsonFormatter().format(r) for r in caplog.records] + [
        str(r.__dict__) for r in caplog.records
    ]
    for obj in seen:
        texts += [repr(obj), str(obj)]
        if isinstance(obj, BaseException):
            texts.append("".join(traceback.format_exception(obj)))
    assert server.calls("GET", "/api/v2/vm")  # the scenario did reach the API
    assert [leak for t in texts for leak in leaks(t)] == []


def test_requests_and_config_hide_secrets() -> None:
    config = VPSieClientConfig(
        mode="vm", client_id=SecretStr(CLIENT_ID), client_secret=SecretStr(CLIENT_SECRET),
        account_password=SecretStr(PASSWORD),
    )  # fmt: skip
    create = VmCreate("p", "os", "dc", "va-web-abcd1234", 1, user_data=SecretStr(USER_DATA))
    objects: list[object] = [
        config,
        create,
        ep.create_vm(create, vm_prefix="/api/v2/vm"),
        ep.delete_vm("vm", vm_prefix="/api/v2/vm", password=SecretStr(PASSWORD), reason="r"),
        exchange_request(
            encoding="form", client_id=SecretStr(CLIENT_ID), secret=SecretStr(CLIENT_SECRET)
        ),
    ]
    assert [leak for o in objects for leak in leaks(repr(o) + str(o))] == []
    assert leaks(config.model_dump_json()) == []


def test_redaction_helpers() -> None:
    headers = redact_headers(
        {"Vpsie-Auth": TOKEN, "authorization": f"Bearer {TOKEN}", "Accept": "x"}
    )
    assert headers == {"Vpsie-Auth": REDACTED, "authorization": REDACTED, "Accept": "x"}
    body = {
        "vmIdentifier": "vm-1",
        "password": PASSWORD,
        "deleteStatistic": {"reason": "r"},
        "nested": [{"userData": USER_DATA, "initial_password": INITIAL_PASSWORD}],
        "token": {"access": {"token": TOKEN}},
        "clientSecret": CLIENT_SECRET,
    }
    redacted = redact_body(body)
    assert leaks(repr(redacted)) == []
    assert redacted["vmIdentifier"] == "vm-1"
    assert redacted["deleteStatistic"] == {"reason": "r"}
