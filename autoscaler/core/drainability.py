"""Which pods keep a node, which must move and which are skipped (scale-down, architecture §6).

``pod_disposition`` runs the rules named in ``RULES`` in order; the first rule that decides
wins, and a pod that no rule decides must move. The outcomes:

- ``SKIP``: not moved, no obstacle: mirror pods, pods still deleting after their grace period
  + 30 s, DaemonSet pods (they go with the node), finished pods (Succeeded or Failed).
- ``MOVE``: evicted through the Eviction API and placed elsewhere by the simulation.
- ``BLOCK``: the node is kept; ``reason`` says why.
- ``WAIT``: ``safe-to-evict: "on-completion"``: the node is kept until the pod finishes.

The order is Cluster Autoscaler's ``rules.Default()`` (reference-behaviour §2.3)::

    mirror, long-terminating, daemonset, terminal, safe-to-evict, on-completion,
    replicated, system, not-safe-to-evict, local-storage, volumes, pdb

with these differences, each on the safe side:

- ``terminal`` runs before ``safe-to-evict`` (CA: after). In CA both only say "drainable",
  so their order decides nothing there; here a finished pod is skipped, never moved nor
  held by a PDB, whatever its annotations say.
- CA's ``replicacount`` rule (controller missing, fewer replicas than
  ``--min-replica-count``) is not run: it needs the controllers, which we do not cache.
- ``safe-to-evict: "true"`` moves the pod past ``replicated``, ``system``, CA's ``"false"``,
  ``local-storage`` and a claim bound to a local volume, as in CA. Three checks still apply
  to it: Karpenter's ``do-not-disrupt`` (another tool's explicit "no"), a claim the caches do
  not know (we cannot tell what it holds) and the PDBs. CA evicts such a pod and fails at
  eviction time when the budget is spent; we simulate, so a pod whose PDB allows no
  disruption blocks up front with ``NotEnoughPdb``. The Eviction API checks the budget again
  when the pod is evicted.
- ``not-safe-to-evict`` also reads ``karpenter.sh/do-not-disrupt``. ``"true"`` blocks, and so
  does any valid duration: Karpenter counts it from the pod's start time, which
  ``PodRecord`` does not carry, and Karpenter too blocks while that time is unknown.
  ``"false"`` does not block (as for the node-level key).
- ``volumes`` is ours (review MED-2): every PVC claim is looked up in a ``VolumeFacts``
  mapping built from the informer caches. A claim missing from it (the PVC or its PV is not
  in the caches) blocks with ``VolumeUnknown``, and the next pass looks again; a claim bound
  to a local or node-pinned volume blocks with ``LocalStorageRequested``.
- ``pdb`` also blocks a pod that more than one PDB selects (``MultiplePdbs``): the Eviction
  API refuses to evict it.

Annotation values are parsed strictly (review SEC-1): exact lowercase words, a Go duration,
a comma-separated list of volume names. A value that does not parse, an over-long one and
the projection's ``<too long: N characters>`` marker block with ``MalformedAnnotation`` at the
rule that reads the key; the message names the key and the value for the warning Event.

PDBs follow policy/v1: a PDB selects pods of its own namespace; a null selector selects
none and an empty selector every pod of the namespace (the Eviction API agrees since
kubernetes/kubernetes#119732). ``disruptions_allowed`` is taken as the budget of a healthy
pod: the record has no readiness, so the Eviction API's leniency towards unready pods is not
counted on. Pods of one node share a budget: ``pods_over_pdb_budget``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from autoscaler.core.annotation_text import MAX_VALUE_LENGTH, describe_value, quote_value
from autoscaler.core.drain_outcomes import (
    BlockReason,
    NodeDrain,
    Outcome,
    PodDisposition,
    VolumeFacts,
    VolumeState,
)
from autoscaler.core.pdb_budget import (
    by_namespace,
    matching_pdbs,
    over_budget,
    pods_over_pdb_budget,
)
from autoscaler.core.pod_annotation_values import (
    DURATION_WORDS,
    SAFE_TO_EVICT_WORDS,
    VOLUMES_WORDS,
    go_duration_ns,
    listed_volumes,
)
from autoscaler.core.records import PdbRecord, PodRecord, lookup, object_key

__all__ = [
    "DEFAULT_RULE",
    "DO_NOT_DISRUPT",
    "KUBE_SYSTEM",
    "LONG_TERMINATING_EXTRA",
    "MAX_VALUE_LENGTH",
    "REPLICATED_KINDS",
    "RULES",
    "SAFE_TO_EVICT",
    "SAFE_TO_EVICT_LOCAL_VOLUMES",
    "BlockReason",
    "NodeDrain",
    "Outcome",
    "PodDisposition",
    "VolumeFacts",
    "VolumeState",
    "matching_pdbs",
    "node_drainability",
    "pod_disposition",
    "pods_over_pdb_budget",
]

SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
SAFE_TO_EVICT_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
KUBE_SYSTEM = "kube-system"
LONG_TERMINATING_EXTRA = dt.timedelta(seconds=30)
"""CA's ``PodLongTerminatingExtraThreshold``: headroom past the grace period."""
REPLICATED_KINDS = frozenset(
    {"ReplicaSet", "StatefulSet", "Job", "ReplicationController", "DaemonSet"}
)
"""Controller kinds that recreate an evicted pod: CA's list plus DaemonSet. Matched by kind
alone (the record keeps no API group); any other controller kind counts as not replicated,
as with CA's default ``--skip-nodes-with-custom-controller-pods``."""


@dataclass(frozen=True, slots=True)
class _Verdict:
    outcome: Outcome
    message: str
    reason: BlockReason | None = None
    rule: str | None = None
    """Set when a rule decides through another rule's check (``safe-to-evict``)."""


@dataclass(frozen=True, slots=True)
class _Facts:
    pdbs: tuple[PdbRecord, ...]
    """The PDBs that select the pod."""
    volumes: VolumeFacts
    at: dt.datetime


_Check = Callable[[PodRecord, _Facts], _Verdict | None]


def _malformed(pod: PodRecord, key: str, value: str, expected: str) -> _Verdict:
    message = (
        f"pod {pod.key}: annotation {key} {describe_value(value)}; expected {expected};"
        " the node is kept until the value is fixed or removed"
    )
    return _Verdict(Outcome.BLOCK, message, BlockReason.MALFORMED_ANNOTATION)


def _block(reason: BlockReason, message: str) -> _Verdict:
    return _Verdict(Outcome.BLOCK, message, reason)


# Rules ---------------------------------------------------------------------------------


def _mirror(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if pod.is_mirror:
        return _Verdict(Outcome.SKIP, f"pod {pod.key} is a mirror pod (kubelet-managed)")
    return None


def _long_terminating(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    since = pod.deletion_timestamp
    if since is None:
        return None
    grace = dt.timedelta(seconds=pod.termination_grace_seconds)
    if since + grace + LONG_TERMINATING_EXTRA < facts.at:
        return _Verdict(
            Outcome.SKIP,
            f"pod {pod.key} has been terminating since {since.isoformat()},"
            f" past its grace period of {pod.termination_grace_seconds}s + 30s",
        )
    return None


def _daemonset(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if pod.is_daemonset:
        return _Verdict(Outcome.SKIP, f"pod {pod.key} is a DaemonSet pod: it goes with the node")
    return None


def _terminal(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if pod.phase in ("Succeeded", "Failed"):
        return _Verdict(Outcome.SKIP, f"pod {pod.key} has finished ({pod.phase})")
    return None


def _safe_to_evict(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    value = lookup(pod.annotations, SAFE_TO_EVICT)
    if value is None or value in ("false", "on-completion"):
        return None
    if value != "true":
        return _malformed(pod, SAFE_TO_EVICT, value, SAFE_TO_EVICT_WORDS)
    for name, check in _STILL_CHECKED_WHEN_SAFE_TO_EVICT:
        verdict = check(pod, facts)
        if verdict is not None:
            return replace(verdict, rule=name)
    return _Verdict(
        Outcome.MOVE,
        f'pod {pod.key} is annotated {SAFE_TO_EVICT}="true"; its PDB budget is checked'
        " again when it is evicted",
    )


def _on_completion(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if lookup(pod.annotations, SAFE_TO_EVICT) == "on-completion":
        return _Verdict(
            Outcome.WAIT,
            f'pod {pod.key} is annotated {SAFE_TO_EVICT}="on-completion":'
            " the node is kept until it completes",
            BlockReason.WAIT_FOR_COMPLETION,
        )
    return None


def _replicated(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    kind = pod.owner_kind
    if kind in REPLICATED_KINDS:
        return None
    owner = f"its controller is a {kind}" if kind else "it has no controller"
    return _block(BlockReason.NOT_REPLICATED, f"pod {pod.key} is not replicated: {owner}")


def _system(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if pod.namespace == KUBE_SYSTEM and not facts.pdbs:
        return _block(
            BlockReason.UNMOVABLE_KUBE_SYSTEM_POD,
            f"pod {pod.key} is a non-DaemonSet, non-mirror kube-system pod that no PDB selects",
        )
    return None


def _do_not_disrupt(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    value = lookup(pod.annotations, DO_NOT_DISRUPT)
    if value is None or value == "false":
        return None
    if value == "true":
        return _block(
            BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
            f'pod {pod.key} is annotated {DO_NOT_DISRUPT}="true"',
        )
    ns = go_duration_ns(value)
    if ns is None or ns <= 0:
        return _malformed(pod, DO_NOT_DISRUPT, value, DURATION_WORDS)
    return _block(
        BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
        f"pod {pod.key} is annotated {DO_NOT_DISRUPT}={quote_value(value)}, a duration counted"
        " from the pod's start time, which is not read: it blocks while the annotation stays",
    )


def _not_safe_to_evict(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if lookup(pod.annotations, SAFE_TO_EVICT) == "false":
        return _block(
            BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
            f'pod {pod.key} is annotated {SAFE_TO_EVICT}="false"',
        )
    return _do_not_disrupt(pod, facts)


def _local_storage(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    value = lookup(pod.annotations, SAFE_TO_EVICT_LOCAL_VOLUMES)
    listed: frozenset[str] = frozenset()
    if value is not None:
        parsed = listed_volumes(value) if len(value) <= MAX_VALUE_LENGTH else None
        if parsed is None:
            return _malformed(pod, SAFE_TO_EVICT_LOCAL_VOLUMES, value, VOLUMES_WORDS)
        listed = parsed
    blocking = [name for name in pod.local_volumes if name not in listed]
    if blocking:
        return _block(
            BlockReason.LOCAL_STORAGE_REQUESTED,
            f"pod {pod.key} has local storage (emptyDir on disk or hostPath):"
            f" {', '.join(blocking)}",
        )
    return None


def _claims(pod: PodRecord, facts: _Facts, *, local_too: bool) -> _Verdict | None:
    for claim in pod.pvc_claims:
        key = object_key(pod.namespace, claim)
        state = facts.volumes.get(key)
        if state is None:
            return _block(
                BlockReason.VOLUME_UNKNOWN,
                f"pod {pod.key}: claim {key} or its volume is not in the caches;"
                " checked again on the next pass",
            )
        if local_too and state is VolumeState.BOUND_LOCAL:
            return _block(
                BlockReason.LOCAL_STORAGE_REQUESTED,
                f"pod {pod.key}: claim {key} is bound to a volume on this node",
            )
    return None


def _volumes(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    return _claims(pod, facts, local_too=True)


def _unknown_volumes(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    return _claims(pod, facts, local_too=False)


def _pdb(pod: PodRecord, facts: _Facts) -> _Verdict | None:
    if len(facts.pdbs) > 1:
        names = ", ".join(sorted(p.name for p in facts.pdbs))
        return _block(
            BlockReason.MULTIPLE_PDBS,
            f"pod {pod.key} is selected by {len(facts.pdbs)} PDBs ({names});"
            " the Eviction API refuses to evict it",
        )
    for pdb in facts.pdbs:
        if pdb.disruptions_allowed < 1:
            return _block(
                BlockReason.NOT_ENOUGH_PDB,
                f"not enough pod disruption budget to move {pod.key}:"
                f" PDB {pdb.key} allows {pdb.disruptions_allowed} disruptions",
            )
    return None


_STILL_CHECKED_WHEN_SAFE_TO_EVICT: tuple[tuple[str, _Check], ...] = (
    ("not-safe-to-evict", _do_not_disrupt),
    ("volumes", _unknown_volumes),
    ("pdb", _pdb),
)
"""What ``safe-to-evict: "true"`` does not hide, with the name of the rule it belongs to."""

_RULES: tuple[tuple[str, _Check], ...] = (
    ("mirror", _mirror),
    ("long-terminating", _long_terminating),
    ("daemonset", _daemonset),
    ("terminal", _terminal),
    ("safe-to-evict", _safe_to_evict),
    ("on-completion", _on_completion),
    ("replicated", _replicated),
    ("system", _system),
    ("not-safe-to-evict", _not_safe_to_evict),
    ("local-storage", _local_storage),
    ("volumes", _volumes),
    ("pdb", _pdb),
)
RULES: tuple[str, ...] = tuple(name for name, _ in _RULES)
"""The rule names, in the order they run."""
DEFAULT_RULE = "default"
"""The ``rule`` of a pod that no rule decided: it moves."""


# Entry points --------------------------------------------------------------------------


def _decide(pod: PodRecord, facts: _Facts) -> PodDisposition:
    for name, check in _RULES:
        verdict = check(pod, facts)
        if verdict is not None:
            return PodDisposition(
                verdict.outcome, verdict.reason, verdict.message, verdict.rule or name
            )
    return PodDisposition(
        Outcome.MOVE, None, f"no rule keeps pod {pod.key}: it moves", DEFAULT_RULE
    )


def pod_disposition(
    pod: PodRecord,
    *,
    pdbs: Sequence[PdbRecord],
    volumes: VolumeFacts,
    now: dt.datetime,
) -> PodDisposition:
    """Decide whether ``pod`` is skipped, moved, waited for or keeps its node, at ``now``.

    ``pdbs`` may hold the PDBs of every namespace. The budget is judged for this pod alone;
    ``node_drainability`` also shares it between the pods of a node.
    """
    return _decide(pod, _Facts(matching_pdbs(pod, pdbs), volumes, now))


def _over_budget_disposition(pod: PodRecord, pdb: PdbRecord) -> PodDisposition:
    message = (
        f"not enough pod disruption budget to move {pod.key}: PDB {pdb.key} allows"
        f" {pdb.disruptions_allowed} disruptions, spent on other pods of this node"
    )
    return PodDisposition(Outcome.BLOCK, BlockReason.NOT_ENOUGH_PDB, message, "pdb")


def node_drainability(
    pods_on_node: Sequence[PodRecord],
    *,
    pdbs: Sequence[PdbRecord],
    volumes: VolumeFacts,
    now: dt.datetime,
) -> NodeDrain:
    """Decide every pod of one node at ``now``, and whether one of them keeps the node.

    Pods that would move share their PDBs' budgets (``pods_over_pdb_budget``): those the
    budget cannot cover block with ``NotEnoughPdb``. A ``BLOCK`` is reported before a
    ``WAIT``, since it outlasts the pod's completion.
    """
    index = by_namespace(pdbs)
    decided = [
        _decide(pod, _Facts(matching_pdbs(pod, index.get(pod.namespace, ())), volumes, now))
        for pod in pods_on_node
    ]
    moving = [
        pod for pod, d in zip(pods_on_node, decided, strict=True) if d.outcome is Outcome.MOVE
    ]
    over = over_budget(moving, index)
    dispositions = tuple(
        _over_budget_disposition(pod, over[pod.key]) if pod.key in over else d
        for pod, d in zip(pods_on_node, decided, strict=True)
    )
    pairs = list(zip(pods_on_node, dispositions, strict=True))
    blocker = next((pd for pd in pairs if pd[1].outcome is Outcome.BLOCK), None)
    if blocker is None:
        blocker = next((pd for pd in pairs if pd[1].outcome is Outcome.WAIT), None)
    return NodeDrain(
        movable=tuple(pod for pod, d in pairs if d.outcome is Outcome.MOVE),
        blocking_pod=blocker[0] if blocker is not None else None,
        blocking=blocker[1] if blocker is not None else None,
        dispositions=dispositions,
    )
