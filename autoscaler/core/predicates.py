"""Node predicates of the scheduler that the planner simulates, one function each.

They follow kube-scheduler's Filter plugins and ``k8s.io/component-helpers``:

- ``TaintToleration``: only ``NoSchedule`` and ``NoExecute`` taints filter; a toleration
  with an empty effect matches every effect, an empty key (with ``Exists``) every key, and
  ``Exists`` ignores the value; an empty operator means ``Equal``.
- ``NodeAffinity``: ``nodeSelector`` (all pairs must match) and required node affinity
  (terms ORed, requirements of a term ANDed; an empty term matches nothing; ``matchFields``
  knows ``metadata.name`` only). Operators: In, NotIn, Exists, DoesNotExist, Gt, Lt.
- ``NodeResourcesFit``: every dimension, the pod count included (``resources_math``).

Inter-pod checks (anti-affinity per hostname, host ports) are in ``interpod``.
"""

from __future__ import annotations

from collections.abc import Mapping

from autoscaler.core.reasons import Reason
from autoscaler.core.records import (
    LabelSelector,
    NodeSelectorTerm,
    Pairs,
    PodRecord,
    Requirement,
    Taint,
    Toleration,
)

__all__ = [
    "FILTERING_EFFECTS",
    "HOSTNAME_LABEL",
    "Mismatch",
    "label_selector_matches",
    "node_affinity_matches",
    "node_mismatch",
    "node_selector_matches",
    "requirement_matches",
    "toleration_matches",
    "untolerated_taint",
]

FILTERING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
HOSTNAME_LABEL = "kubernetes.io/hostname"
NAME_FIELD = "metadata.name"
Mismatch = tuple[Reason, str]
"""A failed predicate: its reason and a detail such as the taint."""


def toleration_matches(toleration: Toleration, taint: Taint) -> bool:
    """Whether ``toleration`` tolerates ``taint`` (``v1.Toleration.ToleratesTaint``)."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return False


def untolerated_taint(
    tolerations: tuple[Toleration, ...], taints: tuple[Taint, ...]
) -> Taint | None:
    """Return the first filtering taint that no toleration tolerates, or ``None``."""
    for taint in taints:
        if taint.effect in FILTERING_EFFECTS and not any(
            toleration_matches(t, taint) for t in tolerations
        ):
            return taint
    return None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def requirement_matches(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy one selector requirement."""
    op, values = requirement.operator, requirement.values
    value = labels.get(requirement.key)
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(values) == 1:
        have, bound = _integer(value), _integer(values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def node_selector_matches(node_selector: Pairs, labels: Mapping[str, str]) -> bool:
    """Whether every ``nodeSelector`` pair is among the node's labels."""
    return all(labels.get(key) == value for key, value in node_selector)


def _term_matches(term: NodeSelectorTerm, labels: Mapping[str, str], node_name: str) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False
    fields = {NAME_FIELD: node_name}
    return all(requirement_matches(r, labels) for r in term.match_expressions) and all(
        r.key == NAME_FIELD and r.operator in ("In", "NotIn") and requirement_matches(r, fields)
        for r in term.match_fields
    )


def node_affinity_matches(
    terms: tuple[NodeSelectorTerm, ...], labels: Mapping[str, str], node_name: str
) -> bool:
    """Whether required node affinity admits the node (no terms: no constraint)."""
    return not terms or any(_term_matches(t, labels, node_name) for t in terms)


def label_selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """Whether a ``LabelSelector`` selects ``labels``; ``None`` selects nothing."""
    if selector is None:
        return False
    return node_selector_matches(selector.match_labels, labels) and all(
        requirement_matches(r, labels) for r in selector.match_expressions
    )


def node_mismatch(
    pod: PodRecord, *, labels: Mapping[str, str], taints: tuple[Taint, ...], node_name: str
) -> Mismatch | None:
    """Return why ``pod`` cannot go on the node by taints or node affinity, or ``None``."""
    taint = untolerated_taint(pod.tolerations, taints)
    if taint is not None:
        return Reason.TAINT_NOT_TOLERATED, f"{taint.key}: {taint.value}"
    if not node_selector_matches(pod.node_selector, labels):
        return Reason.NODE_AFFINITY_MISMATCH, "nodeSelector"
    terms = pod.affinity.node_terms if pod.affinity is not None else ()
    if not node_affinity_matches(terms, labels, node_name):
        return Reason.NODE_AFFINITY_MISMATCH, "required node affinity"
    return None
