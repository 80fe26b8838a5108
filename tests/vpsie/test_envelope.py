"""Every response shape of vpsie-api.md §3 maps once onto data or a typed error."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from autoscaler.vpsie import errors
from autoscaler.vpsie.envelope import Envelope, parse_response

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def parse(status: int, body: bytes | object, **headers: str) -> Envelope:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return parse_response(status=status, body=raw, headers=headers, now=NOW)


@pytest.mark.parametrize(
    ("status", "body", "data", "total"),
    [
        pytest.param(200, {"error": False, "data": [1, 2], "total": 2}, [1, 2], 2, id="list"),
        pytest.param(200, {"error": False, "data": True}, True, None, id="data-true"),
        pytest.param(200, {"error": 0, "data": {"a": 1}}, {"a": 1}, None, id="error-zero"),
        pytest.param(200, {"error": "false", "data": 1}, 1, None, id="error-string-false"),
        pytest.param(200, {"data": [], "total": "3"}, [], 3, id="no-error-key-string-total"),
        pytest.param(204, b"", None, None, id="no-content"),
        pytest.param(200, b"  ", None, None, id="empty-200"),
        pytest.param(201, [1], [1], None, id="bare-list"),
        pytest.param(200, True, True, None, id="bare-true"),
    ],
)
def test_success_shapes(status: int, body: object, data: object, total: int | None) -> None:
    envelope = parse(status, body)
    assert (envelope.data, envelope.total) == (data, total)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(200, {"error": True, "message": "Odd"}, errors.ApiError, id="200-error"),
        pytest.param(400, {"error": True, "message": "Odd"}, errors.ApiError, id="400-error"),
        pytest.param(200, {"error": "true", "message": "x"}, errors.ApiError, id="error-string"),
        pytest.param(200, {"error": 1, "message": "VM not found"}, errors.NotFound, id="nf-200"),
        pytest.param(404, {"error": True, "message": "Gone"}, errors.NotFound, id="404"),
        pytest.param(404, b"Not Found", errors.NotFound, id="404-text"),
        pytest.param(
            401, {"error": True, "message": "Please authenticate"}, errors.AuthError, id="401"
        ),
        pytest.param(401, b"", errors.AuthError, id="401-empty"),
        pytest.param(
            200, {"error": True, "message": "Please authenticate"}, errors.AuthError, id="auth-200"
        ),
        pytest.param(
            200,
            {"error": True, "message": "Worker nodes count exceeds the allowed limit"},
            errors.QuotaExceeded,
            id="worker-quota",
        ),
        pytest.param(
            200,
            {"error": True, "message": "You entered the wrong password"},
            errors.BadAccountPassword,
            id="wrong-password",
        ),
        pytest.param(502, b"<html>Bad Gateway</html>", errors.ServerError, id="html-502"),
        pytest.param(
            500, {"error": True, "message": "Plan not found"}, errors.ServerError, id="500"
        ),
        pytest.param(503, b"", errors.ServerError, id="503-empty"),
        pytest.param(200, b"<html>", errors.Malformed, id="html-200"),
        pytest.param(200, b"{", errors.Malformed, id="truncated-json"),
        pytest.param(418, b"teapot", errors.ApiError, id="418-text"),
        pytest.param(302, b"", errors.ApiError, id="redirect"),
        pytest.param(400, [1, 2], errors.ApiError, id="400-bare-list"),
        pytest.param(429, b"", errors.RateLimited, id="429"),
    ],
)
def test_error_shapes(status: int, body: object, expected: type[errors.VPSieError]) -> None:
    with pytest.raises(expected) as info:
        parse(status, body)
    assert type(info.value) is expected
    assert info.value.status == status


@pytest.mark.parametrize(
    "message",
    [
        "Worker nodes count exceeds the allowed limit",
        "Quota exceeded for VMs",
        "Your plan does not allow more nodes",
        "Maximum number of servers",
        "VM limit reached",
        "Your subscription does not allow this",
    ],
)
def test_quota_patterns(message: str) -> None:
    err = errors.classify_message(message, status=200, code=None)
    assert isinstance(err, errors.QuotaExceeded)
    assert not err.retryable


def test_error_keeps_code_and_message() -> None:
    with pytest.raises(errors.ApiError) as info:
        parse(200, {"error": True, "code": 1234, "message": "Group web has same selected Size"})
    assert (info.value.code, info.value.message) == (1234, "Group web has same selected Size")


def test_retry_after_is_read_from_429() -> None:
    with pytest.raises(errors.RateLimited) as info:
        parse(
            429,
            {"error": True, "code": 429, "message": "Too many requests"},
            **{"retry-after": "12"},
        )
    assert info.value.retry_after == 12
    assert info.value.message == "Too many requests"


def test_oversized_body_is_never_parsed() -> None:
    with pytest.raises(errors.Malformed):
        parse_response(status=200, body=b"", headers={}, now=NOW, oversized=True)
    with pytest.raises(errors.ServerError):
        parse_response(status=503, body=b"", headers={}, now=NOW, oversized=True)


@pytest.mark.parametrize(
    ("cls", "retryable", "breaker", "ambiguous"),
    [
        pytest.param(errors.NotFound, False, False, False, id="not-found"),
        pytest.param(errors.QuotaExceeded, False, False, False, id="quota"),
        pytest.param(errors.AuthError, False, False, False, id="auth"),
        pytest.param(errors.BadAccountPassword, False, False, False, id="password"),
        pytest.param(errors.RateLimited, True, False, False, id="rate-limited"),
        pytest.param(errors.ServerError, True, True, True, id="server"),
        pytest.param(errors.TransportError, True, True, True, id="transport"),
        pytest.param(errors.ConnectError, True, True, False, id="connect"),
        pytest.param(errors.Malformed, False, False, True, id="malformed"),
        pytest.param(errors.UnknownOutcome, False, False, False, id="unknown"),
        pytest.param(errors.ApiError, False, False, False, id="api"),
    ],
)
def test_error_classification(
    cls: type[errors.VPSieError], retryable: bool, breaker: bool, ambiguous: bool
) -> None:
    err = cls("x")
    assert (err.retryable, err.breaker, err.ambiguous) == (retryable, breaker, ambiguous)
    assert isinstance(err, errors.VPSieError)
