"""Projection of PersistentVolumeClaims and PersistentVolumes into slim records."""

from __future__ import annotations

from typing import Any

import pytest

from autoscaler.core.records import PvcRecord, PvKind, PvRecord
from autoscaler.kube.projection import project_pv, project_pvc

PINNED = {
    "required": {
        "nodeSelectorTerms": [
            {
                "matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}
                ]
            }
        ]
    }
}


def raw_pvc(spec: dict[str, Any] | None = None, phase: str | None = "Bound") -> Any:
    return {
        "metadata": {
            "namespace": "shop",
            "name": "data-db-0",
            "uid": "c-1",
            "resourceVersion": "7",
            "managedFields": [{}],
        },
        "spec": {"accessModes": ["ReadWriteOnce"], **(spec or {})},
        "status": {"phase": phase} if phase else {},
    }


def raw_pv(spec: dict[str, Any], *, claim: dict[str, Any] | None = None) -> Any:
    ref = {"claimRef": claim} if claim is not None else {}
    return {
        "metadata": {
            "name": "pv-1",
            "uid": "v-1",
            "resourceVersion": "9",
            "annotations": {"a": "b"},
        },
        "spec": {"capacity": {"storage": "1Gi"}, **ref, **spec},
        "status": {"phase": "Bound"},
    }


def test_pvc_record_keeps_identity_volume_phase_and_class() -> None:
    record = project_pvc(raw_pvc({"volumeName": "pv-1", "storageClassName": "fast"}))
    assert record == PvcRecord(
        namespace="shop",
        name="data-db-0",
        uid="c-1",
        resource_version="7",
        volume_name="pv-1",
        phase="Bound",
        storage_class="fast",
    )
    assert record.key == "shop/data-db-0"


def test_pending_pvc_has_no_volume_name_and_no_class() -> None:
    record = project_pvc(raw_pvc({"volumeName": "", "storageClassName": ""}, phase="Pending"))
    assert (record.volume_name, record.storage_class, record.phase) == (None, None, "Pending")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"metadata": None, "spec": None, "status": None}, id="nulls"),
        pytest.param({"metadata": [], "spec": "x", "status": 3}, id="wrong-types"),
        pytest.param({"spec": {"volumeName": 5, "storageClassName": ["x"]}}, id="odd-fields"),
    ],
)
def test_pvc_projection_tolerates_missing_and_odd_fields(body: Any) -> None:
    record = project_pvc(body)
    assert (record.key, record.volume_name, record.phase, record.storage_class) == (
        "",
        None,
        "",
        None,
    )


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        pytest.param({"csi": {"driver": "vpsie", "volumeHandle": "h"}}, PvKind.NETWORK, id="csi"),
        pytest.param({"nfs": {"server": "s", "path": "/"}}, PvKind.NETWORK, id="nfs"),
        pytest.param({"hostPath": {"path": "/data"}}, PvKind.HOST_PATH, id="host-path"),
        pytest.param(
            {"hostPath": {"path": "/d"}, "nodeAffinity": PINNED},
            PvKind.HOST_PATH,
            id="host-path-pinned",
        ),
        pytest.param({"local": {"path": "/mnt"}, "nodeAffinity": PINNED}, PvKind.LOCAL, id="local"),
        pytest.param({"local": {"path": "/mnt"}}, PvKind.LOCAL, id="local-without-affinity"),
        pytest.param(
            {"csi": {"driver": "d", "volumeHandle": "h"}, "nodeAffinity": PINNED},
            PvKind.LOCAL,
            id="csi-pinned-by-node-affinity",
        ),
        pytest.param(
            {"csi": {"driver": "d", "volumeHandle": "h"}, "nodeAffinity": {}},
            PvKind.NETWORK,
            id="empty-node-affinity",
        ),
        pytest.param({"nodeAffinity": "odd"}, PvKind.NETWORK, id="odd-node-affinity"),
    ],
)
def test_pv_kind_says_where_the_data_lives(spec: dict[str, Any], kind: PvKind) -> None:
    record = project_pv(raw_pv(spec))
    assert record.kind is kind
    assert record.is_local is (kind is not PvKind.NETWORK)


def test_pv_record_keeps_identity_claim_and_phase() -> None:
    record = project_pv(
        raw_pv({"hostPath": {"path": "/d"}}, claim={"namespace": "shop", "name": "data-db-0"})
    )
    assert record == PvRecord(
        name="pv-1",
        uid="v-1",
        resource_version="9",
        claim="shop/data-db-0",
        kind=PvKind.HOST_PATH,
        phase="Bound",
    )
    assert (record.key, record.namespace) == ("pv-1", "")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"metadata": None, "spec": None, "status": None}, id="nulls"),
        pytest.param({"metadata": "x", "spec": [], "status": []}, id="wrong-types"),
        pytest.param({"spec": {"claimRef": "shop/x"}}, id="claim-ref-not-an-object"),
        pytest.param({"spec": {"claimRef": {"namespace": "shop"}}}, id="claim-ref-without-name"),
    ],
)
def test_pv_projection_tolerates_missing_and_odd_fields(body: Any) -> None:
    record = project_pv(body)
    assert (record.key, record.claim, record.kind, record.phase) == ("", None, PvKind.NETWORK, "")
