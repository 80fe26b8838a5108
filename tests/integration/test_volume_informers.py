"""The daemon's ``pvcs`` and ``pvs`` informers against the real API server feed ``volume_facts``.

A local PV pinned by node affinity and a claim pre-bound to it (``spec.volumeName`` and the PV's
``claimRef``) are created; the controller manager's PV binder marks both Bound. The informers
come from ``build_informers``, so this also checks the daemon's wiring. When the PV disappears
the claim drops out of the facts, which the drain rule reports as ``VolumeUnknown`` (MED-2).
Every wait is on an informer event under a deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from autoscaler.app import build_informers
from autoscaler.clock import LoopClock
from autoscaler.core.drainability import VolumeState
from autoscaler.core.records import PvcRecord, PvKind, PvRecord
from autoscaler.core.volumes import volume_facts
from autoscaler.kube.client import api_client, load_configuration
from autoscaler.kube.informer import Informer, wait_for_all_synced
from autoscaler.kube.store import DeletedFinalStateUnknown
from autoscaler.settings import Settings
from tests.integration.informer_helpers import Changes
from tests.testenv import ControlPlane, TestNamespace

WAIT = 30.0
CLAIM = "data"


class Notify:
    """An event handler that only wakes the test's waits."""

    def __init__(self, changes: Changes) -> None:
        self.changes = changes

    def on_add(self, obj: Any) -> None:
        self.changes.notify()

    def on_update(self, old: Any, new: Any) -> None:
        self.changes.notify()

    def on_delete(self, obj: Any | DeletedFinalStateUnknown[Any]) -> None:
        self.changes.notify()


def local_pv(name: str, namespace: str) -> dict[str, Any]:
    """A ``local`` PV pinned to one (absent) node and pre-bound to ``namespace/data``."""
    pinned = {"key": "kubernetes.io/hostname", "operator": "In", "values": [f"{name}-node"]}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "local": {"path": "/mnt/disks/data"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [pinned]}]}},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": namespace, "name": CLAIM},
        },
    }  # fmt: skip


def claim(volume: str) -> dict[str, Any]:
    """A claim of no storage class naming ``volume``."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "",
            "volumeName": volume,
        },
    }


async def test_bound_local_volume_then_pv_cache_miss_drops_the_claim(
    testenv: ControlPlane, kube_ns: TestNamespace
) -> None:
    admin = testenv.admin
    pv_name = f"pv-{kube_ns}"
    pv_path = f"/api/v1/persistentvolumes/{pv_name}"
    key = f"{kube_ns}/{CLAIM}"
    settings = Settings(kube={"namespace": kube_ns.name, "request_timeout_s": 15})
    cfg = await load_configuration(kubeconfig=testenv.admin_kubeconfig, context=None)
    changes = Changes()
    await asyncio.to_thread(admin.post, "/api/v1/persistentvolumes", local_pv(pv_name, kube_ns))
    try:
        await asyncio.to_thread(
            admin.post, f"/api/v1/namespaces/{kube_ns}/persistentvolumeclaims", claim(pv_name)
        )
        async with api_client(cfg) as api, asyncio.TaskGroup() as group:
            informers = build_informers(api, settings, clock=LoopClock())
            pvcs: Informer[PvcRecord] = informers["pvcs"]
            pvs: Informer[PvRecord] = informers["pvs"]
            for informer in (pvcs, pvs):
                informer.add_handler(Notify(changes))
            tasks = [group.create_task(informer.run()) for informer in (pvcs, pvs)]
            try:
                async with asyncio.timeout(WAIT):
                    await wait_for_all_synced([pvcs, pvs])

                def facts() -> dict[str, VolumeState]:
                    return volume_facts(pvcs.store, {pv.name: pv for pv in pvs.store})

                def bound() -> bool:
                    record = pvcs.store.get(key)
                    return record is not None and record.phase == "Bound"

                await changes.wait_until(bound, within=WAIT, what="the PV binder to bind the claim")
                pv = pvs.store.get(pv_name)
                assert pv is not None
                assert (pv.kind, pv.claim) == (PvKind.LOCAL, key)
                assert facts()[key] is VolumeState.BOUND_LOCAL

                # Delete the PV; pv-protection holds a bound PV, so drop its finalizer too.
                await asyncio.to_thread(admin.delete, pv_path)
                await asyncio.to_thread(admin.patch, pv_path, {"metadata": {"finalizers": None}})
                await changes.wait_until(
                    lambda: pvs.store.get(pv_name) is None, within=WAIT, what="the PV to go"
                )
                record = pvcs.store.get(key)
                assert record is not None
                assert record.volume_name == pv_name
                assert key not in facts()  # the pod rule reports VolumeUnknown
            finally:
                for task in tasks:
                    task.cancel()
    finally:
        await asyncio.to_thread(admin.delete, pv_path)
        if await asyncio.to_thread(admin.exists, pv_path):
            await asyncio.to_thread(admin.patch, pv_path, {"metadata": {"finalizers": None}})
