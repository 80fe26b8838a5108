"""Projection of selectors and hard scheduling constraints (part of the edge, I10).

Only what decides whether a pod *can* go on a node is kept: required node affinity,
required pod (anti-)affinity and topology spread constraints. Preferred terms are dropped.
Results are shared through an ``Interner``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from autoscaler.core.records import (
    Affinity,
    LabelSelector,
    NodeSelectorTerm,
    PodAffinityTerm,
    Requirement,
    TopologySpread,
)
from autoscaler.kube.bodies import LabelSelectorBody, RequirementBody
from autoscaler.kube.sharing import SHARED, Interner

__all__ = ["affinity_of", "label_selector", "requirements"]

_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_NONE = Affinity()
_intern = sys.intern


def requirements(raw: Iterable[RequirementBody] | None) -> tuple[Requirement, ...]:
    """Return selector requirements as records."""
    return tuple(
        Requirement(
            key=_intern(r.get("key", "")),
            operator=_intern(r.get("operator", "")),
            values=tuple(_intern(v) for v in r.get("values") or ()),
        )
        for r in raw or ()
    )


def label_selector(raw: LabelSelectorBody, shared: Interner = SHARED) -> LabelSelector:
    """Return a shared ``LabelSelector`` record (an empty selector matches everything)."""
    labels = tuple((_intern(k), _intern(v)) for k, v in (raw.get("matchLabels") or {}).items())
    return shared.share(LabelSelector(labels, requirements(raw.get("matchExpressions"))))


def _selector(raw: LabelSelectorBody | None, shared: Interner) -> LabelSelector | None:
    return label_selector(raw, shared) if raw is not None else None


def _pod_terms(raw: Mapping[str, Any] | None, shared: Interner) -> tuple[PodAffinityTerm, ...]:
    return tuple(
        PodAffinityTerm(
            topology_key=_intern(term.get("topologyKey", "")),
            label_selector=_selector(term.get("labelSelector"), shared),
            namespaces=tuple(_intern(n) for n in term.get("namespaces") or ()),
            namespace_selector=_selector(term.get("namespaceSelector"), shared),
        )
        for term in (raw or {}).get(_REQUIRED) or ()
    )


def _node_terms(raw: Mapping[str, Any] | None) -> tuple[NodeSelectorTerm, ...]:
    required = (raw or {}).get(_REQUIRED) or {}
    return tuple(
        NodeSelectorTerm(
            match_expressions=requirements(term.get("matchExpressions")),
            match_fields=requirements(term.get("matchFields")),
        )
        for term in required.get("nodeSelectorTerms") or ()
    )


def _spread(raw: Iterable[Mapping[str, Any]], shared: Interner) -> tuple[TopologySpread, ...]:
    return tuple(
        TopologySpread(
            max_skew=c.get("maxSkew", 1),
            topology_key=_intern(c.get("topologyKey", "")),
            when_unsatisfiable=_intern(c.get("whenUnsatisfiable", "DoNotSchedule")),
            label_selector=_selector(c.get("labelSelector"), shared),
            min_domains=c.get("minDomains"),
        )
        for c in raw
    )


def affinity_of(spec: Mapping[str, Any], shared: Interner = SHARED) -> Affinity | None:
    """Return the pod's hard constraints beyond ``nodeSelector``, or ``None`` if it has none."""
    raw = spec.get("affinity") or {}
    spread = spec.get("topologySpreadConstraints") or ()
    if not raw and not spread:
        return None
    affinity = Affinity(
        node_terms=_node_terms(raw.get("nodeAffinity")),
        pod_affinity=_pod_terms(raw.get("podAffinity"), shared),
        pod_anti_affinity=_pod_terms(raw.get("podAntiAffinity"), shared),
        topology_spread=_spread(spread, shared),
    )
    return None if affinity == _NONE else shared.share(affinity)
