"""``node_patch`` and ``without_taints``: what a managed Node gets, and nothing more."""

from __future__ import annotations

from autoscaler.controllers.nodes import node_patch, provider_identifier, without_taints
from autoscaler.core.records import NodeRecord, Resources, Taint
from autoscaler.core.resources import NodeTemplate, TaintEffect
from autoscaler.core.resources import Taint as TemplateTaint
from autoscaler.core.resources.meta import FrozenMap

TEMPLATE = NodeTemplate(
    labels=FrozenMap({"team": "web"}),
    taints=(TemplateTaint(key="dedicated", value="web", effect=TaintEffect.NO_SCHEDULE),),
)


def node(
    *,
    labels: dict[str, str] | None = None,
    taints: tuple[Taint, ...] = (),
    provider_id: str | None = None,
) -> NodeRecord:
    return NodeRecord(
        name="n1",
        uid="u1",
        resource_version="7",
        labels=tuple(sorted((labels or {}).items())),
        taints=taints,
        allocatable=Resources(),
        capacity=Resources(),
        unschedulable=False,
        ready=True,
        created=None,
        provider_id=provider_id,
        annotations=(),
    )


def test_a_new_node_gets_labels_taints_and_provider_id() -> None:
    patch = node_patch(
        node(taints=(Taint("node.kubernetes.io/not-ready", "", "NoSchedule"),)),
        template=TEMPLATE,
        group="web",
        vpsienode="web-1",
        identifier="abc",
    )
    assert patch == {
        "metadata": {
            "labels": {
                "team": "web",
                "autoscaler.vpsie.com/managed": "true",
                "autoscaler.vpsie.com/nodegroup": "web",
                "autoscaler.vpsie.com/vpsienode": "web-1",
            },
            "resourceVersion": "7",
        },
        "spec": {
            "taints": [
                {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                {"key": "dedicated", "value": "web", "effect": "NoSchedule"},
            ],
            "providerID": "vpsie://abc",
        },
    }


def test_a_complete_node_needs_no_patch_and_keeps_its_provider_id() -> None:
    labels = {
        "team": "web",
        "autoscaler.vpsie.com/managed": "true",
        "autoscaler.vpsie.com/nodegroup": "web",
        "autoscaler.vpsie.com/vpsienode": "web-1",
    }
    done = node(
        labels=labels,
        taints=(Taint("dedicated", "web", "NoSchedule"),),
        provider_id="vpsie://x/y/other",
    )
    assert (
        node_patch(done, template=TEMPLATE, group="web", vpsienode="web-1", identifier="abc")
        is None
    )


def test_without_taints_drops_only_the_named_keys() -> None:
    n = node(
        taints=(
            Taint("autoscaler.vpsie.com/deletion-candidate", "", "NoSchedule"),
            Taint("keep", "", "NoExecute"),
        )
    )
    assert without_taints(n, ["autoscaler.vpsie.com/deletion-candidate"]) == {
        "metadata": {"resourceVersion": "7"},
        "spec": {"taints": [{"key": "keep", "effect": "NoExecute"}]},
    }
    assert without_taints(n, ["absent"]) is None


def test_provider_ids_are_parsed_leniently() -> None:
    assert provider_identifier("vpsie://abc") == "abc"
    assert provider_identifier("vpsie://dc/cluster/node-1") == "node-1"
    assert provider_identifier(None) is None
