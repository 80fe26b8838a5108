"""The custom resources NodeGroup and VPSieNode as pure, frozen models: the one source of truth.

The CRDs in the chart are generated from these classes (``schema.py``,
``hack/gen-crds.py``); ``nodegroup_from_dict`` and ``vpsienode_from_dict`` parse API objects
with the same rules the API server applies, raising ``InvalidResource``.
"""

from autoscaler.core.resources.common import (
    API_VERSION,
    GROUP,
    VERSION,
    Condition,
    ConditionStatus,
    ObjectMeta,
)
from autoscaler.core.resources.introspect import to_json
from autoscaler.core.resources.meta import FrozenMap
from autoscaler.core.resources.nodegroup import (
    NodeGroup,
    NodeGroupConditionType,
    NodeGroupSpec,
    NodeGroupStatus,
    nodegroup_from_dict,
)
from autoscaler.core.resources.parsing import FieldError, InvalidResource
from autoscaler.core.resources.provider import ProviderMode, ProviderSpec, SecretKeyRef
from autoscaler.core.resources.scaling import AllowedWindow, ScaleDown, ScaleUp, Weekday
from autoscaler.core.resources.template import NodeTemplate, ReservedResources, Taint, TaintEffect
from autoscaler.core.resources.values import Quantity, parse_clock, parse_duration
from autoscaler.core.resources.vpsienode import (
    VPSieNode,
    VPSieNodeConditionType,
    VPSieNodeSpec,
    vpsienode_from_dict,
)
from autoscaler.core.resources.vpsienode_status import Phase, PhaseTimestamps, VPSieNodeStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "AllowedWindow",
    "Condition",
    "ConditionStatus",
    "FieldError",
    "FrozenMap",
    "InvalidResource",
    "NodeGroup",
    "NodeGroupConditionType",
    "NodeGroupSpec",
    "NodeGroupStatus",
    "NodeTemplate",
    "ObjectMeta",
    "Phase",
    "PhaseTimestamps",
    "ProviderMode",
    "ProviderSpec",
    "Quantity",
    "ReservedResources",
    "ScaleDown",
    "ScaleUp",
    "SecretKeyRef",
    "Taint",
    "TaintEffect",
    "VPSieNode",
    "VPSieNodeConditionType",
    "VPSieNodeSpec",
    "VPSieNodeStatus",
    "Weekday",
    "nodegroup_from_dict",
    "parse_clock",
    "parse_duration",
    "to_json",
    "vpsienode_from_dict",
]
