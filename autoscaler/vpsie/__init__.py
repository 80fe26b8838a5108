"""The VPSie adapter: HTTP client, typed errors, response models and the two providers.

``HttpClient`` (``http``) sends ``ApiRequest``s built by ``endpoints`` with auth, pacing,
breaker and retries; ``VPSieApi`` (``api``) offers one typed method per endpoint; the
``VkeProvider`` and ``VmProvider`` implement the ``Provider`` protocol the controllers use.
This package must not import ``autoscaler.kube`` or ``autoscaler.simulator``.
"""

from autoscaler.vpsie.api import VPSieApi
from autoscaler.vpsie.config import ReservedResources, VPSieClientConfig
from autoscaler.vpsie.errors import (
    ApiError,
    AuthError,
    BadAccountPassword,
    CircuitOpen,
    ConnectError,
    Malformed,
    NotDeletable,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServerError,
    TransportError,
    UnknownOutcome,
    VPSieError,
)
from autoscaler.vpsie.factory import build_client, build_provider
from autoscaler.vpsie.http import ClientLimits, HttpClient
from autoscaler.vpsie.provider import (
    CreateHandle,
    CreateIntent,
    GroupSpec,
    GroupStatus,
    Provider,
    Resolution,
    Resolved,
    VkeGroupSpec,
    VmGroupSpec,
    Worker,
    WorkerState,
)
from autoscaler.vpsie.templates import NodeTemplate
from autoscaler.vpsie.vke import VkeProvider
from autoscaler.vpsie.vm import VmDefaults, VmProvider

__all__ = [
    "ApiError",
    "AuthError",
    "BadAccountPassword",
    "CircuitOpen",
    "ClientLimits",
    "ConnectError",
    "CreateHandle",
    "CreateIntent",
    "GroupSpec",
    "GroupStatus",
    "HttpClient",
    "Malformed",
    "NodeTemplate",
    "NotDeletable",
    "NotFound",
    "Provider",
    "QuotaExceeded",
    "RateLimited",
    "ReservedResources",
    "Resolution",
    "Resolved",
    "ServerError",
    "TransportError",
    "UnknownOutcome",
    "VPSieApi",
    "VPSieClientConfig",
    "VPSieError",
    "VkeGroupSpec",
    "VkeProvider",
    "VmDefaults",
    "VmGroupSpec",
    "VmProvider",
    "Worker",
    "WorkerState",
    "build_client",
    "build_provider",
]
