"""The workload shrinks: which pods stay (pure), and the three API calls that shrink it.

``survivors(reading, shrink)`` picks the pods of ``shrink.scale`` that stay: one on each of
as many nodes of group ``shrink.spread`` as it can, in node order, then others if it must.
``apply_shrink`` raises their ``pod-deletion-cost``, so the ReplicaSet deletes the rest
(its documented order: lower cost first), scales the Deployment and deletes the others.
"""

from __future__ import annotations

from demo import scenario
from demo.observe import Pod, Reading
from tests.testenv import KubeHTTP
from tests.testenv.kubehttp import MERGE_PATCH

KEEP_COST = "100"


def survivors(r: Reading, shrink: scenario.Shrink = scenario.SHRINK) -> tuple[Pod, ...]:
    """The ``shrink.keep`` running pods of ``shrink.scale`` that stay; see the module."""
    group_of = {n.name: r.group_of(n) for n in r.nodes}
    pods = sorted(
        (p for p in r.pods if p.app == shrink.scale and p.running),
        key=lambda p: (group_of.get(p.node) != shrink.spread, p.node, p.name),
    )
    chosen: list[Pod] = []
    seen: set[str] = set()
    for p in pods:  # first pass: one per node of the spread group
        if group_of.get(p.node) == shrink.spread and p.node not in seen:
            chosen.append(p)
            seen.add(p.node)
    chosen += [p for p in pods if p not in chosen]  # then any other, if need be
    return tuple(sorted(chosen[: shrink.keep]))


def apply_shrink(
    api: KubeHTTP, namespace: str, keep: tuple[Pod, ...], shrink: scenario.Shrink
) -> None:
    """Mark ``keep`` as the pods to keep, scale ``shrink.scale``, delete ``shrink.delete``."""
    for p in keep:
        api.patch(
            f"/api/v1/namespaces/{namespace}/pods/{p.name}",
            {"metadata": {"annotations": {scenario.DELETION_COST: KEEP_COST}}},
            content_type=MERGE_PATCH,
        )
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    api.patch(
        f"{deployments}/{shrink.scale}",
        {"spec": {"replicas": shrink.keep}},
        content_type=MERGE_PATCH,
    )
    for name in shrink.delete:
        api.delete(f"{deployments}/{name}", propagationPolicy="Background")
