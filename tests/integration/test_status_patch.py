"""``patch_status`` on the real API server: a 409 is retried and no update is lost (CRITICAL-1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiException

from autoscaler.kube.client import api_client, load_configuration
from autoscaler.kube.status import (
    JSON,
    CustomObjectsApiLike,
    StatusPatchResult,
    custom_objects,
    patch_status,
)
from tests.core.resource_objects import nodegroup
from tests.testenv import ControlPlane, TestNamespace

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds")]

GROUP, VERSION, PLURAL = "autoscaler.vpsie.com", "v1alpha1", "nodegroups"
WRITES_PER_WRITER = 10


class CountingApi:
    """A ``CustomObjectsApi`` that counts 409 answers to status patches.

    With a ``barrier``, its first read waits until the other writer has read too, so both
    compute a change from the same resourceVersion and at least one 409 is certain.
    """

    def __init__(self, inner: CustomObjectsApiLike, barrier: asyncio.Barrier | None = None) -> None:
        self.inner = inner
        self.barrier = barrier
        self.conflicts = 0

    async def get_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> Any:
        obj = await self.inner.get_namespaced_custom_object(*args, **kwargs)
        barrier, self.barrier = self.barrier, None
        if barrier is not None:
            await barrier.wait()
        return obj

    async def patch_namespaced_custom_object_status(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self.inner.patch_namespaced_custom_object_status(*args, **kwargs)
        except ApiException as exc:
            if exc.status == 409:
                self.conflicts += 1
            raise


@pytest.fixture
async def objects(testenv: ControlPlane) -> AsyncIterator[CustomObjectsApiLike]:
    cfg = await load_configuration(kubeconfig=testenv.admin_kubeconfig, context=None)
    async with api_client(cfg) as client:
        yield custom_objects(client)


def increment(field: str) -> Any:
    """A ``mutate`` adding one to ``status.<field>``."""

    def mutate(obj: JSON) -> JSON:
        status = dict(obj.get("status") or {})
        status[field] = status.get(field, 0) + 1
        return status

    return mutate


async def write(api: Any, ns: str, field: str, times: int) -> list[StatusPatchResult]:
    results = []
    for _ in range(times):
        result = await patch_status(
            api,
            group=GROUP,
            version=VERSION,
            plural=PLURAL,
            namespace=ns,
            name="web",
            mutate=increment(field),
            max_attempts=20,  # generous: this test is about never losing a write
        )
        results.append(result)
    return results


async def test_status_patch_conflict_is_retried_not_lost(
    testenv: ControlPlane, kube_ns: TestNamespace, objects: CustomObjectsApiLike
):
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{kube_ns}/{PLURAL}/web"
    created = await asyncio.to_thread(
        testenv.admin.post,
        f"/apis/{GROUP}/{VERSION}/namespaces/{kube_ns}/{PLURAL}",
        {**nodegroup(namespace=kube_ns)},
    )
    barrier = asyncio.Barrier(2)
    first, second = CountingApi(objects, barrier), CountingApi(objects, barrier)

    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(write(first, kube_ns, "currentNodes", WRITES_PER_WRITER))
        b = tg.create_task(write(second, kube_ns, "readyNodes", WRITES_PER_WRITER))

    final = await asyncio.to_thread(testenv.admin.get, path)
    assert final["status"]["currentNodes"] == WRITES_PER_WRITER
    assert final["status"]["readyNodes"] == WRITES_PER_WRITER
    results = a.result() + b.result()
    assert all(r.written for r in results)
    conflicts = first.conflicts + second.conflicts
    assert conflicts >= 1
    assert sum(r.conflicts for r in results) == conflicts
    # status went through the subresource: the spec and its generation are untouched
    assert final["metadata"]["generation"] == created["metadata"]["generation"]
    assert final["spec"] == created["spec"]


async def test_status_patch_writes_nothing_when_status_is_unchanged(
    testenv: ControlPlane, kube_ns: TestNamespace, objects: CustomObjectsApiLike
):
    await asyncio.to_thread(
        testenv.admin.post,
        f"/apis/{GROUP}/{VERSION}/namespaces/{kube_ns}/{PLURAL}",
        {**nodegroup(namespace=kube_ns)},
    )
    kwargs: Any = {"group": GROUP, "version": VERSION, "plural": PLURAL, "namespace": kube_ns}
    first = await patch_status(objects, name="web", mutate=increment("targetNodes"), **kwargs)
    same = await patch_status(objects, name="web", mutate=lambda obj: obj["status"], **kwargs)
    skipped = await patch_status(objects, name="web", mutate=lambda obj: None, **kwargs)

    assert first.written
    assert not same.written
    assert not skipped.written
    version = first.object["metadata"]["resourceVersion"]
    assert same.object["metadata"]["resourceVersion"] == version
    assert skipped.object["metadata"]["resourceVersion"] == version


async def test_status_patch_removes_fields_the_mutation_drops(
    testenv: ControlPlane, kube_ns: TestNamespace, objects: CustomObjectsApiLike
):
    await asyncio.to_thread(
        testenv.admin.post,
        f"/apis/{GROUP}/{VERSION}/namespaces/{kube_ns}/{PLURAL}",
        {**nodegroup(namespace=kube_ns)},
    )
    kwargs: Any = {"group": GROUP, "version": VERSION, "plural": PLURAL, "namespace": kube_ns}
    await patch_status(
        objects,
        name="web",
        mutate=lambda o: {"lastError": "boom", "targetNodes": 2},
        **kwargs,
    )
    result = await patch_status(objects, name="web", mutate=lambda o: {"targetNodes": 3}, **kwargs)
    assert result.object["status"] == {"targetNodes": 3}
