"""HTTP status and Status bodies map once onto the typed error tree."""

from __future__ import annotations

import orjson
import pytest
from kubernetes_asyncio.client import ApiException

from autoscaler.kube import errors


def status_body(code: int, reason: str, message: str = "", **details: object) -> bytes:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    body |= {"reason": reason, "message": message or reason}
    if details:
        body["details"] = details
    return orjson.dumps(body)


@pytest.mark.parametrize(
    ("status", "reason", "expected", "retryable"),
    [
        pytest.param(400, "BadRequest", errors.Invalid, False, id="400-invalid"),
        pytest.param(401, "Unauthorized", errors.Unauthorized, False, id="401"),
        pytest.param(403, "Forbidden", errors.Forbidden, False, id="403"),
        pytest.param(404, "NotFound", errors.NotFound, False, id="404"),
        pytest.param(409, "Conflict", errors.Conflict, True, id="409-conflict"),
        pytest.param(409, "AlreadyExists", errors.AlreadyExists, False, id="409-already-exists"),
        pytest.param(410, "Expired", errors.Gone, True, id="410"),
        pytest.param(422, "Invalid", errors.Invalid, False, id="422"),
        pytest.param(429, "TooManyRequests", errors.TooManyRequests, True, id="429"),
        pytest.param(500, "InternalError", errors.ServerError, True, id="500"),
        pytest.param(503, "ServiceUnavailable", errors.ServerError, True, id="503"),
        pytest.param(504, "Timeout", errors.Timeout, True, id="504"),
        pytest.param(418, "Teapot", errors.KubeError, False, id="unknown-4xx-is-terminal"),
    ],
)
def test_status_maps_to_type(
    status: int, reason: str, expected: type[errors.KubeError], retryable: bool
) -> None:
    err = errors.from_body(status, status_body(status, reason, "why"))
    assert type(err) is expected
    assert err.retryable is retryable
    assert (err.status, err.reason, str(err)) == (status, reason, "why")


def test_too_many_requests_carries_retry_after_from_header() -> None:
    err = errors.from_body(429, status_body(429, "TooManyRequests"), {"Retry-After": "7"})
    assert isinstance(err, errors.TooManyRequests)
    assert err.retry_after == 7.0


def test_too_many_requests_carries_retry_after_from_details() -> None:
    err = errors.from_body(429, status_body(429, "TooManyRequests", retryAfterSeconds=3))
    assert isinstance(err, errors.TooManyRequests)
    assert err.retry_after == 3.0


def test_eviction_refused_by_pdb_is_too_many_requests_without_delay() -> None:
    body = status_body(
        429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."
    )
    err = errors.from_body(429, body)
    assert isinstance(err, errors.TooManyRequests)
    assert err.retry_after is None
    assert "disruption budget" in str(err)


def test_resource_version_too_large_is_recognised_by_cause() -> None:
    body = status_body(
        504, "Timeout", "Too large resource version", causes=[{"reason": "ResourceVersionTooLarge"}]
    )
    assert isinstance(errors.from_body(504, body), errors.ResourceVersionTooLarge)


def test_watch_error_event_object_maps_like_a_response() -> None:
    event_object = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    err = errors.from_status_object(event_object)
    assert isinstance(err, errors.Gone)
    assert str(err) == "too old"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>bad gateway</html>", id="html"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[1, 2]", id="json-not-a-status"),
    ],
)
def test_non_status_bodies_still_map_by_code(body: bytes) -> None:
    err = errors.from_body(502, body)
    assert isinstance(err, errors.ServerError)
    assert err.status == 502


def test_api_exception_is_mapped_and_chained() -> None:
    exc = ApiException(status=409, reason="Conflict")
    exc.body = status_body(409, "Conflict", "the object has been modified")
    err = errors.from_api_exception(exc)
    assert isinstance(err, errors.Conflict)
    assert err.__cause__ is exc


def test_api_exception_without_status_is_a_timeout() -> None:
    err = errors.from_api_exception(ApiException(reason="connection reset"))
    assert isinstance(err, errors.Timeout)
    assert err.retryable
