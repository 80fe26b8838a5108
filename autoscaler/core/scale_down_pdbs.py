"""PDBs for a scale-down pass: found per pod through an index, and budgets shared by nodes.

``PdbIndex`` files each PDB under the first pair of its ``matchLabels`` (in its namespace),
so a pod is compared only with the PDBs filed under one of its own labels, plus those that
select by expressions alone or select every pod. A null selector selects nothing and is left
out. Its answers are those of ``drainability.matching_pdbs`` over every PDB, sorted by key;
``relevant`` gives the PDBs some pod of a node may match, a superset ``node_drainability``
decides on exactly as on the full list, without comparing every pod with every PDB
(review PERF-1).

``PdbLedger`` counts the disruptions that the nodes chosen so far in a pass spend, so that
together they stay within every PDB's budget (``pods_over_pdb_budget`` of all their pods is
empty).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from autoscaler.core.predicates import label_selector_matches
from autoscaler.core.records import PdbRecord, PodRecord

__all__ = ["PdbIndex", "PdbLedger"]


class PdbIndex:
    """The PDBs of a pass, filed so that each pod meets only those that may select it."""

    def __init__(self, pdbs: Iterable[PdbRecord]) -> None:
        self._keyed: dict[tuple[str, str, str], list[PdbRecord]] = {}
        self._broad: dict[str, list[PdbRecord]] = {}
        for pdb in sorted(pdbs, key=lambda p: p.key):
            selector = pdb.selector
            if selector is None:
                continue
            if selector.match_labels:
                key, value = selector.match_labels[0]
                self._keyed.setdefault((pdb.namespace, key, value), []).append(pdb)
            else:
                self._broad.setdefault(pdb.namespace, []).append(pdb)

    def _filed(self, pod: PodRecord) -> list[PdbRecord]:
        found = list(self._broad.get(pod.namespace, ()))
        for key, value in pod.labels:
            found += self._keyed.get((pod.namespace, key, value), ())
        return found

    def matching(self, pod: PodRecord) -> tuple[PdbRecord, ...]:
        """The PDBs that select ``pod``, by key."""
        labels = dict(pod.labels)
        found = (p for p in self._filed(pod) if label_selector_matches(p.selector, labels))
        return tuple(sorted(found, key=lambda p: p.key))

    def relevant(self, pods: Iterable[PodRecord]) -> tuple[PdbRecord, ...]:
        """The PDBs any of ``pods`` may match (a superset of those that do), by key."""
        found: dict[str, PdbRecord] = {}
        for pod in pods:
            found.update((p.key, p) for p in self._filed(pod))
        return tuple(found[k] for k in sorted(found))


class PdbLedger:
    """Disruptions each PDB still allows after the pods of the nodes chosen so far."""

    def __init__(self, index: PdbIndex) -> None:
        self._index = index
        self._spent: dict[str, int] = {}

    def check(
        self, pods: Sequence[PodRecord]
    ) -> tuple[tuple[PodRecord, PdbRecord] | None, dict[str, int]]:
        """The first pod (by key) whose PDB has no disruption left, or ``None``; and the
        disruptions the pods would spend, by PDB key."""
        wanted: dict[str, int] = {}
        for pod in sorted(pods, key=lambda p: p.key):
            for pdb in self._index.matching(pod):
                used = self._spent.get(pdb.key, 0) + wanted.get(pdb.key, 0)
                if pdb.disruptions_allowed - used < 1:
                    return (pod, pdb), wanted
                wanted[pdb.key] = wanted.get(pdb.key, 0) + 1
        return None, wanted

    def spend(self, wanted: Mapping[str, int]) -> None:
        """Count the disruptions ``check`` found, for a node that is removed."""
        for key, count in wanted.items():
            self._spent[key] = self._spent.get(key, 0) + count
