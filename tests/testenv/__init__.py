"""A real Kubernetes control plane on 127.0.0.1 for integration and e2e tests (testenv.md).

``ControlPlane`` runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as
plain processes; ``KubeHTTP`` is the small synchronous client the fixtures use. The pytest side
(fixtures ``testenv`` and ``kube_ns``) lives in ``tests.testenv.plugin``.
"""

from tests.testenv.kubehttp import ApiError, KubeHTTP
from tests.testenv.pins import Pins, bin_dir, ensure_built, load_pins
from tests.testenv.plane import ControlPlane, Ports
from tests.testenv.scope import TestNamespace

__all__ = [
    "ApiError",
    "ControlPlane",
    "KubeHTTP",
    "Pins",
    "Ports",
    "TestNamespace",
    "bin_dir",
    "ensure_built",
    "load_pins",
]
