"""``patch_status`` against a fake API: merge patches, re-reads on 409, and no silent drop."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiException

from autoscaler.kube import errors
from autoscaler.kube.status import JSON, merge_patch, patch_status

KEY: Any = {"group": "g", "version": "v", "plural": "things", "namespace": "ns", "name": "a"}


class FakeObjects:
    """One object in memory; ``conflicts`` status patches fail with 409 before anything lands.

    Before each 409 a concurrent writer bumps ``status.other``, as a real race would.
    """

    def __init__(self, *, conflicts: int = 0) -> None:
        self.obj: JSON = {"metadata": {"resourceVersion": "1"}, "status": {"count": 0}}
        self.conflicts = conflicts
        self.patches: list[JSON] = []

    async def get_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> JSON:
        assert kwargs["_request_timeout"] > 0
        return copy.deepcopy(self.obj)

    async def patch_namespaced_custom_object_status(self, *args: Any, **kwargs: Any) -> JSON:
        body = args[5]
        assert kwargs["_content_type"] == "application/merge-patch+json"
        self.patches.append(body)
        if self.conflicts:
            self.conflicts -= 1
            self._bump({"other": self.obj["status"].get("other", 0) + 1})
            raise ApiException(status=409, reason="Conflict")
        assert body["metadata"]["resourceVersion"] == self.obj["metadata"]["resourceVersion"]
        self._bump(body["status"])
        return copy.deepcopy(self.obj)

    def _bump(self, patch: JSON) -> None:
        status = {**self.obj["status"], **patch}
        self.obj["status"] = {k: v for k, v in status.items() if v is not None}
        version = int(self.obj["metadata"]["resourceVersion"]) + 1
        self.obj["metadata"]["resourceVersion"] = str(version)


def add_one(obj: JSON) -> JSON:
    return {**obj["status"], "count": obj["status"]["count"] + 1}


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        pytest.param({"a": 1}, {"a": 1}, {}, id="equal"),
        pytest.param({"a": 1}, {"a": 2}, {"a": 2}, id="changed"),
        pytest.param({"a": 1}, {}, {"a": None}, id="removed"),
        pytest.param({}, {"b": [1]}, {"b": [1]}, id="added"),
        pytest.param({"c": {"x": 1, "y": 2}}, {"c": {"x": 1}}, {"c": {"y": None}}, id="nested"),
        pytest.param({"l": [1, 2]}, {"l": [2]}, {"l": [2]}, id="list-replaced"),
    ],
)
def test_merge_patch(old: JSON, new: JSON, patch: JSON) -> None:
    assert merge_patch(old, new) == patch


async def test_conflict_rereads_and_keeps_the_other_writers_change() -> None:
    api = FakeObjects(conflicts=2)
    result = await patch_status(api, mutate=add_one, **KEY)
    assert (result.written, result.attempts, result.conflicts) == (True, 3, 2)
    assert api.obj["status"] == {"count": 1, "other": 2}
    assert api.patches[-1]["status"] == {"count": 1}  # only what this writer changed


async def test_unchanged_status_sends_no_patch() -> None:
    api = FakeObjects()
    result = await patch_status(api, mutate=lambda obj: obj["status"], **KEY)
    assert not result.written
    assert api.patches == []


async def test_persistent_conflict_raises_instead_of_dropping() -> None:
    api = FakeObjects(conflicts=10)
    with pytest.raises(errors.Conflict, match="still conflicting after 3 attempts"):
        await patch_status(api, mutate=add_one, max_attempts=3, **KEY)


async def test_other_errors_are_typed() -> None:
    class Missing(FakeObjects):
        async def get_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> JSON:
            raise ApiException(status=404, reason="Not Found")

    with pytest.raises(errors.NotFound):
        await patch_status(Missing(), mutate=add_one, **KEY)
