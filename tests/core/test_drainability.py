"""Scale-down's pod rules: outcomes, reasons, their order, strict annotations, PDB budgets."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.core.drainability import (
    DO_NOT_DISRUPT,
    REPLICATED_KINDS,
    RULES,
    SAFE_TO_EVICT,
    SAFE_TO_EVICT_LOCAL_VOLUMES,
    BlockReason,
    NodeDrain,
    Outcome,
    PodDisposition,
    VolumeState,
    matching_pdbs,
    node_drainability,
    pod_disposition,
    pods_over_pdb_budget,
)
from autoscaler.core.records import MIRROR_ANNOTATION, LabelSelector, PdbRecord, PodRecord
from tests.core.factories import NOW, pdb, placed_pod, req, selector

VOLUMES = {
    "default/data": VolumeState.BOUND_NETWORK,
    "default/pinned": VolumeState.BOUND_LOCAL,
    "default/later": VolumeState.UNBOUND,
}
MIRROR = {MIRROR_ANNOTATION: "checksum"}
NOT_SAFE = {SAFE_TO_EVICT: "false"}
SAFE = {SAFE_TO_EVICT: "true"}
ON_COMPLETION = {SAFE_TO_EVICT: "on-completion"}
KARPENTER = {DO_NOT_DISRUPT: "true"}
WEB = selector(app="web")


def decide(
    pod: PodRecord,
    pdbs: tuple[PdbRecord, ...] = (),
    volumes: dict[str, VolumeState] | None = None,
    now: dt.datetime = NOW,
) -> PodDisposition:
    return pod_disposition(pod, pdbs=pdbs, volumes=VOLUMES if volumes is None else volumes, now=now)


def web(name: str = "web-1", **kw: Any) -> PodRecord:
    """A running ReplicaSet pod labelled ``app=web`` unless told otherwise."""
    kw.setdefault("labels", {"app": "web"})
    return placed_pod(name, **kw)


CASES = [
    pytest.param(web(), (), Outcome.MOVE, None, "default", id="replicated-pod-moves"),
    pytest.param(web(annotations=MIRROR), (), Outcome.SKIP, None, "mirror", id="mirror-skipped"),
    pytest.param(
        web(deleting_since=NOW - dt.timedelta(seconds=61), grace_seconds=30),
        (),
        Outcome.SKIP,
        None,
        "long-terminating",
        id="deleting-past-grace-plus-30s-skipped",
    ),
    pytest.param(
        web(owner=None, deleting_since=NOW - dt.timedelta(seconds=60), grace_seconds=30),
        (),
        Outcome.BLOCK,
        BlockReason.NOT_REPLICATED,
        "replicated",
        id="deleting-exactly-grace-plus-30s-is-not-yet-long-terminating",
    ),
    pytest.param(
        web(owner=("DaemonSet", "agent")), (), Outcome.SKIP, None, "daemonset", id="daemonset"
    ),
    pytest.param(web(phase="Succeeded"), (), Outcome.SKIP, None, "terminal", id="succeeded"),
    pytest.param(web(phase="Failed", owner=None), (), Outcome.SKIP, None, "terminal", id="failed"),
    pytest.param(
        web(owner=None, annotations=SAFE, local_volumes=["cache"]),
        (),
        Outcome.MOVE,
        None,
        "safe-to-evict",
        id="safe-to-evict-true-moves",
    ),
    pytest.param(
        web(annotations=ON_COMPLETION),
        (),
        Outcome.WAIT,
        BlockReason.WAIT_FOR_COMPLETION,
        "on-completion",
        id="on-completion-waits",
    ),
    pytest.param(
        web(owner=None),
        (),
        Outcome.BLOCK,
        BlockReason.NOT_REPLICATED,
        "replicated",
        id="no-controller",
    ),
    pytest.param(
        web(owner=("VirtualMachineInstance", "vm")),
        (),
        Outcome.BLOCK,
        BlockReason.NOT_REPLICATED,
        "replicated",
        id="custom-controller-kind",
    ),
    pytest.param(
        web(namespace="kube-system"),
        (),
        Outcome.BLOCK,
        BlockReason.UNMOVABLE_KUBE_SYSTEM_POD,
        "system",
        id="kube-system-without-pdb",
    ),
    pytest.param(
        web(namespace="kube-system"),
        (pdb("dns", WEB, namespace="kube-system"),),
        Outcome.MOVE,
        None,
        "default",
        id="kube-system-with-pdb-moves",
    ),
    pytest.param(
        web(namespace="kube-system"),
        (pdb("dns", WEB),),
        Outcome.BLOCK,
        BlockReason.UNMOVABLE_KUBE_SYSTEM_POD,
        "system",
        id="kube-system-pdb-of-another-namespace-does-not-count",
    ),
    pytest.param(
        web(annotations=NOT_SAFE),
        (),
        Outcome.BLOCK,
        BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
        "not-safe-to-evict",
        id="safe-to-evict-false",
    ),
    pytest.param(
        web(annotations=KARPENTER),
        (),
        Outcome.BLOCK,
        BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
        "not-safe-to-evict",
        id="karpenter-do-not-disrupt-true",
    ),
    pytest.param(
        web(annotations={DO_NOT_DISRUPT: "30m"}),
        (),
        Outcome.BLOCK,
        BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
        "not-safe-to-evict",
        id="karpenter-do-not-disrupt-duration",
    ),
    pytest.param(
        web(annotations={DO_NOT_DISRUPT: "false"}),
        (),
        Outcome.MOVE,
        None,
        "default",
        id="karpenter-do-not-disrupt-false-moves",
    ),
    pytest.param(
        web(local_volumes=["cache"]),
        (),
        Outcome.BLOCK,
        BlockReason.LOCAL_STORAGE_REQUESTED,
        "local-storage",
        id="emptydir-on-disk-or-hostpath",
    ),
    pytest.param(
        web(local_volumes=["cache"], annotations={SAFE_TO_EVICT_LOCAL_VOLUMES: "cache"}),
        (),
        Outcome.MOVE,
        None,
        "default",
        id="local-volume-listed-as-safe",
    ),
    pytest.param(
        web(local_volumes=["cache"], annotations={SAFE_TO_EVICT_LOCAL_VOLUMES: ""}),
        (),
        Outcome.BLOCK,
        BlockReason.LOCAL_STORAGE_REQUESTED,
        "local-storage",
        id="empty-safe-local-volumes-lists-nothing",
    ),
    pytest.param(
        web(pvc_claims=["missing"]),
        (),
        Outcome.BLOCK,
        BlockReason.VOLUME_UNKNOWN,
        "volumes",
        id="claim-not-in-caches",
    ),
    pytest.param(
        web(pvc_claims=["pinned"]),
        (),
        Outcome.BLOCK,
        BlockReason.LOCAL_STORAGE_REQUESTED,
        "volumes",
        id="claim-bound-to-local-volume",
    ),
    pytest.param(
        web(pvc_claims=["data"]), (), Outcome.MOVE, None, "default", id="claim-on-network-volume"
    ),
    pytest.param(
        web(pvc_claims=["later"]), (), Outcome.MOVE, None, "default", id="claim-not-bound-yet"
    ),
    pytest.param(
        web(),
        (pdb("web", WEB, allowed=0),),
        Outcome.BLOCK,
        BlockReason.NOT_ENOUGH_PDB,
        "pdb",
        id="pdb-allows-no-disruption",
    ),
    pytest.param(
        web(),
        (pdb("web", WEB, allowed=-1),),
        Outcome.BLOCK,
        BlockReason.NOT_ENOUGH_PDB,
        "pdb",
        id="pdb-allows-negative-disruptions",
    ),
    pytest.param(
        web(), (pdb("web", WEB, allowed=1),), Outcome.MOVE, None, "default", id="pdb-allows-one"
    ),
    pytest.param(
        web(),
        (pdb("web", WEB), pdb("all")),
        Outcome.BLOCK,
        BlockReason.MULTIPLE_PDBS,
        "pdb",
        id="two-pdbs-select-the-pod",
    ),
    pytest.param(
        web(),
        (pdb("none", None, allowed=0),),
        Outcome.MOVE,
        None,
        "default",
        id="null-pdb-selector-selects-nothing",
    ),
    pytest.param(
        web(),
        (pdb("all", LabelSelector(), allowed=0),),
        Outcome.BLOCK,
        BlockReason.NOT_ENOUGH_PDB,
        "pdb",
        id="empty-pdb-selector-selects-the-whole-namespace",
    ),
    pytest.param(
        web(),
        (pdb("db", selector(app="db"), allowed=0),),
        Outcome.MOVE,
        None,
        "default",
        id="pdb-selecting-other-labels",
    ),
    pytest.param(
        web(),
        (pdb("web", WEB, namespace="other", allowed=0),),
        Outcome.MOVE,
        None,
        "default",
        id="pdb-of-another-namespace",
    ),
    pytest.param(
        web(annotations={SAFE_TO_EVICT: "maybe"}),
        (),
        Outcome.BLOCK,
        BlockReason.MALFORMED_ANNOTATION,
        "safe-to-evict",
        id="malformed-safe-to-evict",
    ),
]


@pytest.mark.parametrize(("pod", "pdbs", "outcome", "reason", "rule"), CASES)
def test_rule_decides(pod, pdbs, outcome, reason, rule):
    got = decide(pod, pdbs)
    assert (got.outcome, got.reason, got.rule) == (outcome, reason, rule)
    assert pod.key in got.message


def test_table_covers_every_reason_and_outcome():
    outcomes = {case.values[2] for case in CASES}
    reasons = {case.values[3] for case in CASES} - {None}
    rules = {case.values[4] for case in CASES}
    assert outcomes == set(Outcome)
    assert reasons == set(BlockReason)
    assert rules == {*RULES, "default"}


def test_rules_run_in_ca_order_with_terminal_first():
    assert RULES == (
        "mirror",
        "long-terminating",
        "daemonset",
        "terminal",
        "safe-to-evict",
        "on-completion",
        "replicated",
        "system",
        "not-safe-to-evict",
        "local-storage",
        "volumes",
        "pdb",
    )


@pytest.mark.parametrize("kind", sorted(REPLICATED_KINDS - {"DaemonSet"}))
def test_replicated_kinds_move(kind):
    assert decide(web(owner=(kind, "owner"))).outcome is Outcome.MOVE


@pytest.mark.parametrize(
    ("pod", "pdbs", "expected"),
    [
        pytest.param(
            web(owner=None, annotations={**MIRROR, **NOT_SAFE}),
            (),
            (Outcome.SKIP, "mirror"),
            id="mirror-before-not-safe-to-evict",
        ),
        pytest.param(
            web(annotations={**MIRROR, SAFE_TO_EVICT: "maybe"}),
            (),
            (Outcome.SKIP, "mirror"),
            id="mirror-before-malformed-annotation",
        ),
        pytest.param(
            web(owner=None, deleting_since=NOW - dt.timedelta(hours=1), annotations=NOT_SAFE),
            (),
            (Outcome.SKIP, "long-terminating"),
            id="long-terminating-before-blocking-rules",
        ),
        pytest.param(
            web(owner=("DaemonSet", "agent"), namespace="kube-system", local_volumes=["logs"]),
            (),
            (Outcome.SKIP, "daemonset"),
            id="daemonset-before-system-and-local-storage",
        ),
        pytest.param(
            web(phase="Succeeded", annotations=SAFE),
            (pdb("web", WEB, allowed=0),),
            (Outcome.SKIP, "terminal"),
            id="terminal-before-safe-to-evict-and-its-pdb",
        ),
        pytest.param(
            web(phase="Succeeded", annotations={SAFE_TO_EVICT: "maybe"}),
            (),
            (Outcome.SKIP, "terminal"),
            id="terminal-before-malformed-safe-to-evict",
        ),
        pytest.param(
            web(phase="Succeeded", annotations=ON_COMPLETION),
            (),
            (Outcome.SKIP, "terminal"),
            id="terminal-before-on-completion",
        ),
        pytest.param(
            web(owner=None, namespace="kube-system", local_volumes=["cache"], annotations=SAFE),
            (),
            (Outcome.MOVE, "safe-to-evict"),
            id="safe-to-evict-hides-replicated-system-and-local-storage",
        ),
        pytest.param(
            web(pvc_claims=["pinned"], annotations=SAFE),
            (),
            (Outcome.MOVE, "safe-to-evict"),
            id="safe-to-evict-hides-a-local-volume-claim",
        ),
        pytest.param(
            web(local_volumes=["cache"], annotations={**SAFE, SAFE_TO_EVICT_LOCAL_VOLUMES: "A"}),
            (),
            (Outcome.MOVE, "safe-to-evict"),
            id="safe-to-evict-hides-a-malformed-local-volume-list",
        ),
        pytest.param(
            web(owner=None, annotations=ON_COMPLETION),
            (),
            (Outcome.WAIT, "on-completion"),
            id="on-completion-before-replicated",
        ),
        pytest.param(
            web(owner=None, annotations=NOT_SAFE, local_volumes=["cache"]),
            (),
            (Outcome.BLOCK, "replicated"),
            id="replicated-before-not-safe-to-evict",
        ),
        pytest.param(
            web(namespace="kube-system", annotations=NOT_SAFE),
            (),
            (Outcome.BLOCK, "system"),
            id="system-before-not-safe-to-evict",
        ),
        pytest.param(
            web(annotations=KARPENTER, local_volumes=["cache"]),
            (),
            (Outcome.BLOCK, "not-safe-to-evict"),
            id="not-safe-to-evict-before-local-storage",
        ),
        pytest.param(
            web(local_volumes=["cache"], pvc_claims=["missing"]),
            (),
            (Outcome.BLOCK, "local-storage"),
            id="local-storage-before-volumes",
        ),
        pytest.param(
            web(pvc_claims=["missing"]),
            (pdb("web", WEB, allowed=0),),
            (Outcome.BLOCK, "volumes"),
            id="volumes-before-pdb",
        ),
    ],
)
def test_first_deciding_rule_wins(pod, pdbs, expected):
    got = decide(pod, pdbs)
    assert (got.outcome, got.rule) == expected


@pytest.mark.parametrize(
    ("pod", "pdbs", "reason", "rule"),
    [
        pytest.param(
            web(annotations=SAFE),
            (pdb("web", WEB, allowed=0),),
            BlockReason.NOT_ENOUGH_PDB,
            "pdb",
            id="spent-pdb",
        ),
        pytest.param(
            web(annotations=SAFE),
            (pdb("web", WEB), pdb("all")),
            BlockReason.MULTIPLE_PDBS,
            "pdb",
            id="two-pdbs",
        ),
        pytest.param(
            web(annotations={**SAFE, **KARPENTER}),
            (),
            BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION,
            "not-safe-to-evict",
            id="karpenter-do-not-disrupt",
        ),
        pytest.param(
            web(annotations={**SAFE, DO_NOT_DISRUPT: "soon"}),
            (),
            BlockReason.MALFORMED_ANNOTATION,
            "not-safe-to-evict",
            id="malformed-do-not-disrupt",
        ),
        pytest.param(
            web(annotations=SAFE, pvc_claims=["missing"]),
            (),
            BlockReason.VOLUME_UNKNOWN,
            "volumes",
            id="claim-not-in-caches",
        ),
    ],
)
def test_safe_to_evict_still_blocks_on(pod, pdbs, reason, rule):
    got = decide(pod, pdbs)
    assert (got.outcome, got.reason, got.rule) == (Outcome.BLOCK, reason, rule)


def test_safe_to_evict_with_budget_left_moves():
    got = decide(web(owner=None, annotations=SAFE), (pdb("web", WEB, allowed=1),))
    assert (got.outcome, got.rule) == (Outcome.MOVE, "safe-to-evict")
    assert "checked again when it is evicted" in got.message


def test_pvc_cache_miss_blocks_with_reason():
    pod = web(pvc_claims=["data", "fresh"])
    missed = decide(pod)
    assert (missed.outcome, missed.reason) == (Outcome.BLOCK, BlockReason.VOLUME_UNKNOWN)
    assert "default/fresh" in missed.message
    assert "next pass" in missed.message
    # the same pod once the caches hold the claim: the miss was not a verdict on the volume
    synced = decide(pod, volumes={**VOLUMES, "default/fresh": VolumeState.BOUND_NETWORK})
    assert synced.outcome is Outcome.MOVE


def test_claims_are_looked_up_in_the_pods_namespace():
    pod = web(namespace="team", pvc_claims=["data"])
    assert decide(pod).reason is BlockReason.VOLUME_UNKNOWN
    assert decide(pod, volumes={"team/data": VolumeState.BOUND_NETWORK}).outcome is Outcome.MOVE


def test_only_unlisted_local_volumes_block():
    pod = web(
        local_volumes=["cache", "scratch", "tmp"],
        annotations={SAFE_TO_EVICT_LOCAL_VOLUMES: "cache,tmp,not-a-volume-of-this-pod"},
    )
    got = decide(pod)
    assert got.reason is BlockReason.LOCAL_STORAGE_REQUESTED
    assert got.message.endswith(": scratch")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("30m", id="minutes"),
        pytest.param("1h30m", id="compound"),
        pytest.param("1.5h", id="fraction"),
        pytest.param(".5s", id="leading-dot"),
        pytest.param("500ms", id="milliseconds"),
        pytest.param("10µs", id="micro-sign"),
        pytest.param("+5m", id="plus-sign"),
        pytest.param("2562047h", id="near-go-maximum"),
    ],
)
def test_do_not_disrupt_durations_block(value):
    got = decide(web(annotations={DO_NOT_DISRUPT: value}))
    assert (got.outcome, got.reason) == (Outcome.BLOCK, BlockReason.NOT_SAFE_TO_EVICT_ANNOTATION)
    assert "start time" in got.message


TOO_LONG = "<too long: 2000 characters>"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        pytest.param(SAFE_TO_EVICT, "True", '"True"', id="safe-to-evict-capitalised"),
        pytest.param(SAFE_TO_EVICT, "yes", '"yes"', id="safe-to-evict-synonym"),
        pytest.param(SAFE_TO_EVICT, "", '""', id="safe-to-evict-empty"),
        pytest.param(SAFE_TO_EVICT, " true", '" true"', id="safe-to-evict-space"),
        pytest.param(SAFE_TO_EVICT, TOO_LONG, "2000 characters", id="safe-to-evict-too-long"),
        pytest.param(DO_NOT_DISRUPT, "True", '"True"', id="do-not-disrupt-capitalised"),
        pytest.param(DO_NOT_DISRUPT, "0s", '"0s"', id="do-not-disrupt-zero"),
        pytest.param(DO_NOT_DISRUPT, "0", '"0"', id="do-not-disrupt-bare-zero"),
        pytest.param(DO_NOT_DISRUPT, "-5m", '"-5m"', id="do-not-disrupt-negative"),
        pytest.param(DO_NOT_DISRUPT, "0.5ns", '"0.5ns"', id="do-not-disrupt-under-1ns"),
        pytest.param(DO_NOT_DISRUPT, "5", '"5"', id="do-not-disrupt-no-unit"),
        pytest.param(DO_NOT_DISRUPT, "5d", '"5d"', id="do-not-disrupt-days"),
        pytest.param(DO_NOT_DISRUPT, "1.2.3h", '"1.2.3h"', id="do-not-disrupt-two-dots"),
        pytest.param(DO_NOT_DISRUPT, "3000000h", '"3000000h"', id="do-not-disrupt-overflow"),
        pytest.param(DO_NOT_DISRUPT, "forever", '"forever"', id="do-not-disrupt-word"),
        pytest.param(DO_NOT_DISRUPT, TOO_LONG, "2000 characters", id="do-not-disrupt-too-long"),
        pytest.param(SAFE_TO_EVICT_LOCAL_VOLUMES, "a, b", '"a, b"', id="volumes-space"),
        pytest.param(SAFE_TO_EVICT_LOCAL_VOLUMES, "a,,b", '"a,,b"', id="volumes-empty-item"),
        pytest.param(SAFE_TO_EVICT_LOCAL_VOLUMES, "a,", '"a,"', id="volumes-trailing-comma"),
        pytest.param(SAFE_TO_EVICT_LOCAL_VOLUMES, "Cache", '"Cache"', id="volumes-uppercase"),
        pytest.param(SAFE_TO_EVICT_LOCAL_VOLUMES, "-x", '"-x"', id="volumes-leading-dash"),
        pytest.param(
            SAFE_TO_EVICT_LOCAL_VOLUMES, TOO_LONG, "2000 characters", id="volumes-too-long"
        ),
    ],
)
def test_malformed_annotation_blocks_and_names_key_and_value(key, value, shown):
    got = decide(web(local_volumes=["a", "b"], annotations={key: value}))
    assert (got.outcome, got.reason) == (Outcome.BLOCK, BlockReason.MALFORMED_ANNOTATION)
    assert key in got.message
    assert shown in got.message


def test_malformed_value_is_cut_in_the_message():
    got = decide(web(annotations={SAFE_TO_EVICT: "x" * 1000}))
    assert got.reason is BlockReason.MALFORMED_ANNOTATION
    assert "x" * 80 + '..."' in got.message
    assert "x" * 81 not in got.message


def test_value_over_the_length_limit_is_malformed_even_if_it_parses():
    names = ",".join(f"v{i}" for i in range(300))  # valid names, 1389 characters
    got = decide(web(local_volumes=["v1"], annotations={SAFE_TO_EVICT_LOCAL_VOLUMES: names}))
    assert got.reason is BlockReason.MALFORMED_ANNOTATION
    assert f"{len(names)} characters long" in got.message


def test_long_terminating_uses_the_pods_grace_period():
    since = NOW - dt.timedelta(seconds=100)
    assert decide(web(deleting_since=since, grace_seconds=69)).rule == "long-terminating"
    assert decide(web(deleting_since=since, grace_seconds=70)).rule == "default"


def test_matching_pdbs_reuse_label_selector_semantics():
    expr = LabelSelector(match_expressions=(req("tier", "In", "front", "edge"),))
    pdbs = (pdb("expr", expr), pdb("null", None), pdb("all"), pdb("other", namespace="x"))
    pod = web(labels={"app": "web", "tier": "edge"})
    assert [p.name for p in matching_pdbs(pod, pdbs)] == ["expr", "all"]


# Several pods of one node ---------------------------------------------------------------


def pods_of(n: int, **kw: Any) -> list[PodRecord]:
    return [web(f"web-{i}", **kw) for i in range(n)]


def drain(pods: list[PodRecord], pdbs: tuple[PdbRecord, ...] = ()) -> NodeDrain:
    return node_drainability(pods, pdbs=pdbs, volumes=VOLUMES, now=NOW)


def test_pods_of_a_node_share_the_pdb_budget():
    pods = pods_of(3)
    result = drain(pods, (pdb("web", WEB, allowed=2),))
    assert [p.name for p in result.movable] == ["web-0", "web-1"]
    assert result.blocking_pod == pods[2]
    assert result.reason is BlockReason.NOT_ENOUGH_PDB
    assert result.blocking is not None
    assert result.blocking.rule == "pdb"
    assert "default/web" in result.blocking.message


def test_pdb_budget_goes_to_pods_in_key_order_whatever_the_input_order():
    pods = pods_of(3)
    forward = drain(pods, (pdb("web", WEB, allowed=2),))
    backward = drain(pods[::-1], (pdb("web", WEB, allowed=2),))
    assert forward.blocking_pod == backward.blocking_pod == pods[2]
    assert [d.outcome for d in backward.dispositions] == [
        Outcome.BLOCK,
        Outcome.MOVE,
        Outcome.MOVE,
    ]


def test_budget_is_per_pdb_and_per_namespace():
    pods = [*pods_of(2), web("db-0", labels={"app": "db"}), web("web-x", namespace="team")]
    pdbs = (pdb("web", WEB), pdb("db", selector(app="db")), pdb("web", WEB, namespace="team"))
    over = pods_over_pdb_budget(pods, pdbs=pdbs)
    assert over == {"default/web-1": pdbs[0]}


def test_a_pod_spends_every_pdb_that_selects_it():
    pods = [web("a", labels={"app": "web", "tier": "x"}), web("b", labels={"app": "web"})]
    pdbs = (pdb("web", WEB, allowed=5), pdb("tier", selector(tier="x"), allowed=1))
    assert pods_over_pdb_budget(pods, pdbs=pdbs) == {}
    tight = (pdb("web", WEB, allowed=1), pdbs[1])
    assert pods_over_pdb_budget(pods, pdbs=tight) == {"default/b": tight[0]}


def test_pods_that_do_not_move_spend_no_budget():
    waiting = web("web-0", annotations=ON_COMPLETION)
    skipped = web("web-1", phase="Succeeded")
    moving = web("web-2")
    result = drain([waiting, skipped, moving], (pdb("web", WEB, allowed=1),))
    assert result.movable == (moving,)
    assert result.blocking_pod == waiting
    assert result.reason is BlockReason.WAIT_FOR_COMPLETION


def test_a_block_is_reported_before_a_wait():
    waiting = web("web-0", annotations=ON_COMPLETION)
    blocking = web("web-1", owner=None)
    result = drain([waiting, blocking])
    assert result.blocking_pod == blocking
    assert result.reason is BlockReason.NOT_REPLICATED


def test_empty_node_and_skipped_pods_leave_nothing_to_move():
    assert drain([]) == NodeDrain(movable=(), blocking_pod=None, blocking=None, dispositions=())
    only_skipped = drain([web(annotations=MIRROR), web("ds", owner=("DaemonSet", "x"))])
    assert not only_skipped.blocked
    assert only_skipped.movable == ()


def test_dispositions_are_immutable():
    result = drain(pods_of(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.movable = ()  # type: ignore[misc]
    assert isinstance(result.dispositions, tuple)


# Properties ----------------------------------------------------------------------------

ANNOTATION_VALUES = {
    SAFE_TO_EVICT: ["true", "false", "on-completion", "maybe", TOO_LONG],
    DO_NOT_DISRUPT: ["true", "false", "30m", "0s", "later"],
    SAFE_TO_EVICT_LOCAL_VOLUMES: ["cache", "cache,tmp", "", "Cache"],
    MIRROR_ANNOTATION: ["checksum"],
}
OWNERS = [None, ("ReplicaSet", "rs"), ("Job", "j"), ("DaemonSet", "ds"), ("Rollout", "r")]
LABELS = [{}, {"app": "web"}, {"app": "db"}, {"app": "web", "tier": "x"}]
SELECTORS = [None, LabelSelector(), WEB, selector(app="db"), selector(tier="x")]
NAMESPACES = ["default", "kube-system"]


@st.composite
def annotation_sets(draw: st.DrawFn) -> dict[str, str]:
    keys = draw(st.lists(st.sampled_from(sorted(ANNOTATION_VALUES)), unique=True, max_size=3))
    return {k: draw(st.sampled_from(ANNOTATION_VALUES[k])) for k in keys}


@st.composite
def node_pods(draw: st.DrawFn) -> list[PodRecord]:
    count = draw(st.integers(0, 6))
    pods = []
    for i in range(count):
        deleting = draw(st.sampled_from([None, 10, 100]))
        pods.append(
            placed_pod(
                f"p{i}",
                namespace=draw(st.sampled_from(NAMESPACES)),
                owner=draw(st.sampled_from(OWNERS)),
                phase=draw(st.sampled_from(["Running", "Running", "Succeeded", "Failed"])),
                labels=draw(st.sampled_from(LABELS)),
                annotations=draw(annotation_sets()),
                local_volumes=draw(st.lists(st.sampled_from(["cache", "tmp"]), unique=True)),
                pvc_claims=draw(st.lists(st.sampled_from(["data", "pinned", "missing"]))),
                deleting_since=None if deleting is None else NOW - dt.timedelta(seconds=deleting),
            )
        )
    return pods


@st.composite
def pdb_sets(draw: st.DrawFn) -> tuple[PdbRecord, ...]:
    count = draw(st.integers(0, 3))
    return tuple(
        pdb(
            f"pdb-{i}",
            draw(st.sampled_from(SELECTORS)),
            namespace=draw(st.sampled_from(NAMESPACES)),
            allowed=draw(st.integers(-1, 3)),
        )
        for i in range(count)
    )


@settings(max_examples=300, deadline=None)
@given(node_pods(), pdb_sets())
def test_disposition_is_deterministic(pods, pdbs):
    for pod in pods:
        assert decide(pod, pdbs) == decide(pod, pdbs)
    assert drain(pods, pdbs) == drain(list(pods), tuple(pdbs))


@settings(max_examples=300, deadline=None)
@given(node_pods(), pdb_sets())
def test_a_pod_is_never_both_moved_and_blocking(pods, pdbs):
    result = drain(pods, pdbs)
    assert len(result.dispositions) == len(pods)
    for pod, disposition in zip(pods, result.dispositions, strict=True):
        assert (disposition.reason is None) == (not disposition.outcome.keeps_node)
        assert disposition.rule in {*RULES, "default"}
        assert (pod in result.movable) == (disposition.outcome is Outcome.MOVE)
    assert result.blocking_pod not in result.movable


@settings(max_examples=300, deadline=None)
@given(node_pods(), pdb_sets())
def test_node_blocks_iff_some_pod_blocks(pods, pdbs):
    result = drain(pods, pdbs)
    keeping = [d for d in result.dispositions if d.outcome.keeps_node]
    assert result.blocked == bool(keeping)
    if keeping:
        assert result.blocking in keeping
        assert result.blocking_pod is not None
    # the node level only adds budget blocks to what each pod's rules decided alone
    for pod, at_node in zip(pods, result.dispositions, strict=True):
        alone = decide(pod, pdbs)
        assert at_node == alone or (
            alone.outcome is Outcome.MOVE and at_node.reason is BlockReason.NOT_ENOUGH_PDB
        )


@settings(max_examples=300, deadline=None)
@given(node_pods(), pdb_sets())
def test_moved_pods_never_overspend_a_pdb(pods, pdbs):
    result = drain(pods, pdbs)
    for budget in pdbs:
        spenders = [p for p in result.movable if budget in matching_pdbs(p, pdbs)]
        assert len(spenders) <= max(budget.disruptions_allowed, 0)
    reversed_result = drain(pods[::-1], pdbs)
    assert {p.key for p in reversed_result.movable} == {p.key for p in result.movable}
