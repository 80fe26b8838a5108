"""Per-test isolation on the shared plane: a namespace and labelled Nodes (testenv.md §6)."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from tests.testenv.kubehttp import JSON, ApiError
from tests.testenv.objects import TEST_LABEL
from tests.testenv.plane import ControlPlane

CLEANUP_TIMEOUT = 30.0


def test_hash(nodeid: str) -> str:
    """A short stable hash of a pytest node id (DNS-label safe)."""
    return hashlib.sha1(nodeid.encode()).hexdigest()[:10]


class TestNamespace(str):
    """The test's namespace name (a ``str``), plus helpers for the test's cluster-scoped Nodes.

    Every Node made through :meth:`make_node` carries ``testenv.autoscaler.vpsie.com/test=<hash>``
    so teardown can delete exactly this test's Nodes; select Nodes by :attr:`node_labels`.
    """

    __test__ = False  # not a test class, despite the name
    test_hash: str
    plane: ControlPlane

    def __new__(cls, plane: ControlPlane, nodeid: str) -> TestNamespace:
        h = test_hash(nodeid)
        self = super().__new__(cls, f"t-{h}")
        self.test_hash, self.plane = h, plane
        return self

    @property
    def name(self) -> str:
        """The namespace name, ``t-<hash>``."""
        return str(self)

    @property
    def node_labels(self) -> dict[str, str]:
        """The label every Node of this test carries."""
        return {TEST_LABEL: self.test_hash}

    @property
    def node_selector(self) -> str:
        """``labelSelector`` for this test's Nodes."""
        return f"{TEST_LABEL}={self.test_hash}"

    def node_name(self, suffix: str) -> str:
        """A cluster-unique Node name for this test: ``n-<hash>-<suffix>``."""
        return f"n-{self.test_hash}-{suffix}"

    def make_node(self, name: str, *, labels: Mapping[str, str] | None = None, **kw: Any) -> JSON:
        """:meth:`ControlPlane.make_node` with this test's label added."""
        return self.plane.make_node(name, labels={**(labels or {}), **self.node_labels}, **kw)

    def create(self) -> None:
        """Create the namespace (labelled with the test hash)."""
        self.plane.admin.post(
            "/api/v1/namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": self.name, "labels": self.node_labels},
            },
        )

    def cleanup(self) -> None:
        """Delete the pods (kwok confirms) and namespace, then this test's Nodes and Leases."""
        api = self.plane.admin
        pods_path = f"/api/v1/namespaces/{self.name}/pods"
        api.delete(pods_path)  # deletecollection: quicker than waiting for the namespace controller
        api.delete(f"/api/v1/namespaces/{self.name}")
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        while api.get(pods_path).get("items"):
            if time.monotonic() > deadline:  # force what kwok did not confirm
                for pod in api.get(pods_path)["items"]:
                    api.delete(f"{pods_path}/{pod['metadata']['name']}", gracePeriodSeconds="0")
                break
            time.sleep(0.2)
        nodes = api.get("/api/v1/nodes", labelSelector=self.node_selector)["items"]
        for node in nodes:
            name = node["metadata"]["name"]
            api.delete(f"/api/v1/nodes/{name}")
            with contextlib.suppress(ApiError):
                api.delete(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}")
