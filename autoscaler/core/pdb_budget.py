"""Pod disruption budgets: which select a pod, and how far a set of evictions spends them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from autoscaler.core.predicates import label_selector_matches
from autoscaler.core.records import PdbRecord, PodRecord

__all__ = ["by_namespace", "matching_pdbs", "over_budget", "pods_over_pdb_budget"]


def matching_pdbs(pod: PodRecord, pdbs: Iterable[PdbRecord]) -> tuple[PdbRecord, ...]:
    """The PDBs of ``pod``'s namespace whose selector selects it (policy/v1 semantics)."""
    labels = dict(pod.labels)
    return tuple(
        p
        for p in pdbs
        if p.namespace == pod.namespace and label_selector_matches(p.selector, labels)
    )


def by_namespace(pdbs: Iterable[PdbRecord]) -> dict[str, list[PdbRecord]]:
    """The PDBs grouped by namespace."""
    index: dict[str, list[PdbRecord]] = {}
    for pdb in pdbs:
        index.setdefault(pdb.namespace, []).append(pdb)
    return index


def over_budget(
    pods: Iterable[PodRecord], index: Mapping[str, Sequence[PdbRecord]]
) -> dict[str, PdbRecord]:
    """``pods_over_pdb_budget`` over PDBs already grouped by namespace."""
    remaining: dict[str, int] = {}
    over: dict[str, PdbRecord] = {}
    for pod in sorted(pods, key=lambda p: p.key):
        selecting = matching_pdbs(pod, index.get(pod.namespace, ()))
        for pdb in selecting:
            remaining.setdefault(pdb.key, pdb.disruptions_allowed)
        spent = next((p for p in selecting if remaining[p.key] < 1), None)
        if spent is not None:
            over[pod.key] = spent
            continue
        for pdb in selecting:
            remaining[pdb.key] -= 1
    return over


def pods_over_pdb_budget(
    pods: Iterable[PodRecord], *, pdbs: Sequence[PdbRecord]
) -> dict[str, PdbRecord]:
    """Return, by pod key, the pods to evict that their PDBs' budgets cannot cover.

    Each pod spends one disruption of every PDB that selects it; pods are served in key
    order, so the answer does not depend on the order given. A pod that finds a PDB spent
    spends nothing and is returned with that PDB. Pass the pods of every node removed
    together when several are.
    """
    return over_budget(pods, by_namespace(pdbs))
