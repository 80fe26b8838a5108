"""Simulated scheduler predicates: taints, selectors, node affinity, inter-pod, unsupported."""

from __future__ import annotations

import pytest

from autoscaler.core.interpod import (
    HostPort,
    Peer,
    peer_of,
    peers_conflict,
    ports_conflict,
    term_selects,
    unsupported_constraint,
)
from autoscaler.core.predicates import (
    label_selector_matches,
    node_affinity_matches,
    node_mismatch,
    node_selector_matches,
    requirement_matches,
    toleration_matches,
    untolerated_taint,
)
from autoscaler.core.reasons import Reason
from autoscaler.core.records import LabelSelector, PodAffinityTerm, TopologySpread
from autoscaler.core.resources_math import fits, max_copies, shortfall
from tests.core.factories import (
    anti,
    exists,
    pod,
    req,
    resources,
    selector,
    taint,
    term,
    toleration,
)

GPU = taint("nvidia.com/gpu", "true", "NoSchedule")


@pytest.mark.parametrize(
    ("tol", "node_taint", "expected"),
    [
        pytest.param(exists(), GPU, True, id="exists-without-key-tolerates-everything"),
        pytest.param(
            exists(effect="NoExecute"), GPU, False, id="exists-without-key-but-other-effect"
        ),
        pytest.param(exists("nvidia.com/gpu"), GPU, True, id="exists-with-key-ignores-value"),
        pytest.param(exists("other"), GPU, False, id="exists-with-other-key"),
        pytest.param(toleration("nvidia.com/gpu", "true"), GPU, True, id="equal-key-and-value"),
        pytest.param(toleration("nvidia.com/gpu", "false"), GPU, False, id="equal-wrong-value"),
        pytest.param(
            toleration("nvidia.com/gpu", "true", effect="NoSchedule"),
            GPU,
            True,
            id="equal-same-effect",
        ),
        pytest.param(
            toleration("nvidia.com/gpu", "true", effect="NoExecute"),
            GPU,
            False,
            id="equal-other-effect",
        ),
        pytest.param(
            toleration("nvidia.com/gpu", "true", operator=""),
            GPU,
            True,
            id="empty-operator-means-equal",
        ),
        pytest.param(
            toleration("nvidia.com/gpu", "true", operator="Bogus"),
            GPU,
            False,
            id="unknown-operator",
        ),
    ],
)
def test_toleration_matches_taint(tol, node_taint, expected):
    assert toleration_matches(tol, node_taint) is expected


@pytest.mark.parametrize(
    ("tolerations", "taints", "expected"),
    [
        pytest.param((), (), None, id="no-taints"),
        pytest.param(
            (), (taint("a", effect="PreferNoSchedule"),), None, id="prefer-no-schedule-is-soft"
        ),
        pytest.param(
            (),
            (taint("a", effect="NoExecute"),),
            taint("a", effect="NoExecute"),
            id="no-execute-filters",
        ),
        pytest.param(
            (exists("a"),), (taint("a"), taint("b")), taint("b"), id="first-untolerated-is-named"
        ),
        pytest.param((exists(),), (taint("a"), taint("b")), None, id="exists-tolerates-all"),
    ],
)
def test_untolerated_taint(tolerations, taints, expected):
    assert untolerated_taint(tolerations, taints) == expected


LABELS = {"zone": "a", "cores": "8", "disk": "ssd"}


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        pytest.param(req("zone", "In", "a", "b"), True, id="in"),
        pytest.param(req("zone", "In", "b"), False, id="in-other-value"),
        pytest.param(req("missing", "In", "a"), False, id="in-missing-key"),
        pytest.param(req("zone", "NotIn", "b"), True, id="not-in"),
        pytest.param(req("zone", "NotIn", "a"), False, id="not-in-listed"),
        pytest.param(req("missing", "NotIn", "a"), True, id="not-in-missing-key-matches"),
        pytest.param(req("disk", "Exists"), True, id="exists"),
        pytest.param(req("missing", "Exists"), False, id="exists-missing"),
        pytest.param(req("missing", "DoesNotExist"), True, id="does-not-exist"),
        pytest.param(req("disk", "DoesNotExist"), False, id="does-not-exist-present"),
        pytest.param(req("cores", "Gt", "4"), True, id="gt"),
        pytest.param(req("cores", "Gt", "8"), False, id="gt-equal-is-false"),
        pytest.param(req("cores", "Lt", "16"), True, id="lt"),
        pytest.param(req("cores", "Lt", "8"), False, id="lt-equal-is-false"),
        pytest.param(req("zone", "Gt", "1"), False, id="gt-non-integer-label"),
        pytest.param(req("cores", "Gt", "x"), False, id="gt-non-integer-value"),
        pytest.param(req("cores", "Gt", "1", "2"), False, id="gt-needs-one-value"),
        pytest.param(req("missing", "Lt", "4"), False, id="lt-missing-key"),
        pytest.param(req("zone", "Bogus", "a"), False, id="unknown-operator"),
    ],
)
def test_requirement_matches(requirement, expected):
    assert requirement_matches(requirement, LABELS) is expected


@pytest.mark.parametrize(
    ("node_selector", "expected"),
    [
        pytest.param((), True, id="empty"),
        pytest.param((("zone", "a"),), True, id="one-pair"),
        pytest.param((("zone", "a"), ("disk", "hdd")), False, id="all-pairs-must-match"),
    ],
)
def test_node_selector_matches(node_selector, expected):
    assert node_selector_matches(node_selector, LABELS) is expected


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        pytest.param((), True, id="no-terms-no-constraint"),
        pytest.param((term(),), False, id="empty-term-matches-nothing"),
        pytest.param(
            (term(req("zone", "In", "b")), term(req("disk", "Exists"))), True, id="terms-are-ored"
        ),
        pytest.param(
            (term(req("zone", "In", "a"), req("disk", "In", "hdd")),),
            False,
            id="requirements-are-anded",
        ),
        pytest.param(
            (term(fields=[req("metadata.name", "In", "n1")]),), True, id="match-fields-name"
        ),
        pytest.param(
            (term(fields=[req("metadata.name", "In", "n2")]),), False, id="match-fields-other-name"
        ),
        pytest.param(
            (term(fields=[req("metadata.name", "NotIn", "n2")]),), True, id="match-fields-not-in"
        ),
        pytest.param(
            (term(fields=[req("spec.unschedulable", "In", "x")]),),
            False,
            id="match-fields-other-field",
        ),
    ],
)
def test_node_affinity_matches(terms, expected):
    assert node_affinity_matches(terms, LABELS, "n1") is expected


@pytest.mark.parametrize(
    ("selector_", "expected"),
    [
        pytest.param(None, False, id="null-selector-selects-nothing"),
        pytest.param(LabelSelector(), True, id="empty-selector-selects-everything"),
        pytest.param(selector(zone="a"), True, id="match-labels"),
        pytest.param(
            LabelSelector(match_expressions=(req("zone", "NotIn", "a"),)),
            False,
            id="match-expressions",
        ),
    ],
)
def test_label_selector_matches(selector_, expected):
    assert label_selector_matches(selector_, LABELS) is expected


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(pod(), None, id="plain-pod-fits"),
        pytest.param(
            pod(node_selector={"zone": "b"}),
            (Reason.NODE_AFFINITY_MISMATCH, "nodeSelector"),
            id="selector",
        ),
        pytest.param(
            pod(node_terms=[term(req("disk", "In", "hdd"))]),
            (Reason.NODE_AFFINITY_MISMATCH, "required node affinity"),
            id="node-affinity",
        ),
        pytest.param(
            pod(tolerations=[exists()], node_selector={"zone": "a"}),
            None,
            id="tolerates-and-selects",
        ),
    ],
)
def test_node_mismatch_on_untainted_node(p, expected):
    assert node_mismatch(p, labels=LABELS, taints=(), node_name="n1") == expected


def test_node_mismatch_names_the_taint_first():
    found = node_mismatch(
        pod(node_selector={"zone": "b"}), labels=LABELS, taints=(GPU,), node_name="n1"
    )
    assert found == (Reason.TAINT_NOT_TOLERATED, "nvidia.com/gpu: true")


@pytest.mark.parametrize(
    ("request_", "free", "missing"),
    [
        pytest.param(resources(500, "1Gi", pods=1), resources(1000, "2Gi", pods=1), (), id="fits"),
        pytest.param(
            resources(1500, "1Gi", pods=1), resources(1000, "2Gi", pods=1), ("cpu",), id="cpu"
        ),
        pytest.param(
            resources(500, "1Gi", pods=1), resources(1000, "2Gi", pods=0), ("pods",), id="pod-count"
        ),
        pytest.param(
            resources(0, 0, pods=1, extended={"nvidia.com/gpu": 1}),
            resources(1000, "2Gi", pods=5),
            ("nvidia.com/gpu",),
            id="extended-missing",
        ),
        pytest.param(
            resources(0, 0, pods=1, ephemeral="2Gi"),
            resources(1000, "2Gi", pods=5, ephemeral="1Gi"),
            ("ephemeral-storage",),
            id="ephemeral-storage",
        ),
    ],
)
def test_resource_shortfall(request_, free, missing):
    assert shortfall(request_, free) == missing
    assert fits(request_, free) is (not missing)


def test_max_copies_takes_the_tightest_dimension():
    assert max_copies(resources(500, "3Gi", pods=1), resources(4000, "16Gi", pods=110)) == 5
    assert max_copies(resources(10, "1Mi", pods=1), resources(4000, "16Gi", pods=3)) == 3


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param((HostPort(80),), (HostPort(80),), True, id="same-port"),
        pytest.param((HostPort(80),), (HostPort(443),), False, id="other-port"),
        pytest.param((HostPort(53, "UDP"),), (HostPort(53),), False, id="other-protocol"),
        pytest.param(
            (HostPort(80, host_ip="10.0.0.1"),),
            (HostPort(80, host_ip="10.0.0.2"),),
            False,
            id="other-ip",
        ),
        pytest.param(
            (HostPort(80, host_ip="10.0.0.1"),),
            (HostPort(80, host_ip="0.0.0.0"),),
            True,
            id="any-ip",
        ),
    ],
)
def test_ports_conflict(a, b, expected):
    assert ports_conflict(a, b) is expected


@pytest.mark.parametrize(
    ("t", "namespace", "expected"),
    [
        pytest.param(anti({"app": "web"}), "default", True, id="own-namespace"),
        pytest.param(anti({"app": "web"}), "other", False, id="other-namespace-not-in-scope"),
        pytest.param(
            anti({"app": "web"}, namespaces=("other",)), "other", True, id="listed-namespace"
        ),
        pytest.param(
            anti({"app": "web"}, namespace_selector=LabelSelector()), "x", True, id="all-namespaces"
        ),
        pytest.param(anti({"app": "db"}), "default", False, id="labels-differ"),
        pytest.param(PodAffinityTerm("kubernetes.io/hostname"), "default", False, id="no-selector"),
    ],
)
def test_term_selects(t, namespace, expected):
    assert term_selects(t, "default", namespace, {"app": "web"}) is expected


def test_anti_affinity_is_symmetric():
    guarded = peer_of(pod(labels={"app": "db"}, anti_affinity=[anti({"app": "web"})]))
    web = peer_of(pod(labels={"app": "web"}))
    assert peers_conflict(guarded, web)
    assert peers_conflict(web, guarded)
    assert not peers_conflict(web, Peer("default", (("app", "api"),), (), ()))


@pytest.mark.parametrize(
    ("p", "claims", "expected"),
    [
        pytest.param(pod(), (), None, id="plain"),
        pytest.param(
            pod(anti_affinity=[anti({"app": "web"})]),
            (),
            None,
            id="hostname-anti-affinity-is-simulated",
        ),
        pytest.param(
            pod(pod_affinity=[anti({"app": "db"})]),
            (),
            "required pod affinity on kubernetes.io/hostname",
            id="pod-affinity",
        ),
        pytest.param(
            pod(anti_affinity=[anti({"app": "web"}, topology="topology.kubernetes.io/zone")]),
            (),
            "required pod anti-affinity on topology.kubernetes.io/zone",
            id="anti-affinity-on-zone",
        ),
        pytest.param(
            pod(anti_affinity=[anti({"app": "web"}, namespace_selector=selector(team="a"))]),
            (),
            "required pod anti-affinity with a namespaceSelector",
            id="anti-affinity-namespace-selector",
        ),
        pytest.param(
            pod(spread=[TopologySpread(1, "kubernetes.io/hostname", "DoNotSchedule")]),
            (),
            "topology spread on kubernetes.io/hostname (DoNotSchedule)",
            id="spread-do-not-schedule",
        ),
        pytest.param(
            pod(spread=[TopologySpread(1, "kubernetes.io/hostname", "ScheduleAnyway")]),
            (),
            None,
            id="spread-schedule-anyway-is-soft",
        ),
        pytest.param(
            pod(pvc_claims=["data"]),
            ("default/data",),
            "volume with node topology (claim data)",
            id="volume-topology",
        ),
        pytest.param(pod(pvc_claims=["data"]), ("other/data",), None, id="claim-without-topology"),
    ],
)
def test_unsupported_constraint(p, claims, expected):
    assert unsupported_constraint(p, frozenset(claims)) == expected
