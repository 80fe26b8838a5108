"""Identifying K4 workers by diffing listings (vpsie-api.md §5.2), without I/O."""

from __future__ import annotations

from autoscaler.vpsie.claims import ClaimBook, NodeSize, take_snapshot
from autoscaler.vpsie.types import Cluster, ClusterNode, NodeGroup

SMALL = (2, 4096)
LARGE = (4, 8192)


def node(
    n: int,
    *,
    host: str | None = None,
    ident: str | None = "auto",
    size: tuple[int, int] | None = None,
) -> ClusterNode:
    identifier = f"uuid-{n}" if ident == "auto" else ident
    cpu, ram = size or (None, None)
    return ClusterNode(
        n, identifier, host or f"k-web-{n}", None, None, "slave", None, cpu, ram, None
    )


def group(gid: int, size: tuple[int, int], count: int) -> NodeGroup:
    return NodeGroup(gid, None, f"g{gid}", gid * 10, size[0], size[1], 80, count, "dc", 1, True)


def cluster(*nodes: ClusterNode) -> Cluster:
    return Cluster("c", "c", tuple(nodes))


def opened(
    book: ClaimBook,
    claim_id: str,
    gid: int,
    at: float,
    *,
    nodes: tuple[ClusterNode, ...],
    groups: list[NodeGroup],
) -> None:
    book.open(
        claim_id=claim_id,
        group_id=gid,
        opened_at=at,
        snapshot=take_snapshot(cluster(*nodes), groups),
    )


def test_one_group_claims_are_settled_first_in_first_out() -> None:
    book = ClaimBook()
    before = (node(1), node(2))
    opened(book, "a", 1, 0, nodes=before, groups=[group(1, SMALL, 2)])
    opened(book, "b", 1, 1, nodes=before, groups=[group(1, SMALL, 3)])
    settled = book.match(nodes=[*before, node(3)], groups=[group(1, SMALL, 4)])
    assert [(c.claim_id, c.node and c.node.identifier) for c in settled] == [("a", "uuid-3")]
    settled = book.match(nodes=[*before, node(3), node(4)], groups=[group(1, SMALL, 4)])
    assert [(c.claim_id, c.node and c.node.identifier) for c in settled] == [("b", "uuid-4")]


def test_each_new_worker_is_claimed_exactly_once() -> None:
    book = ClaimBook()
    opened(book, "a", 1, 0, nodes=(), groups=[group(1, SMALL, 0)])
    opened(book, "b", 1, 1, nodes=(), groups=[group(1, SMALL, 1)])
    new = [node(1)]
    book.match(nodes=new, groups=[group(1, SMALL, 2)])
    book.match(nodes=new, groups=[group(1, SMALL, 2)])
    assert [c.node is not None for c in book.claims()] == [True, False]


def test_two_groups_with_open_claims_are_attributed_by_size() -> None:
    book = ClaimBook()
    groups = [group(1, SMALL, 0), group(2, LARGE, 0)]
    opened(book, "small", 1, 0, nodes=(), groups=groups)
    opened(book, "large", 2, 1, nodes=(), groups=groups)
    # the large node is listed first; FIFO across groups must not hand it to "small"
    listing = [node(7, size=LARGE), node(8, size=SMALL)]
    book.match(nodes=listing, groups=[group(1, SMALL, 1), group(2, LARGE, 1)])
    assert book.get("small").node.identifier == "uuid-8"  # type: ignore[union-attr]
    assert book.get("large").node.identifier == "uuid-7"  # type: ignore[union-attr]


def test_size_can_come_from_the_vm_record_by_case_insensitive_hostname() -> None:
    book = ClaimBook()
    groups = [group(1, SMALL, 0), group(2, LARGE, 0)]
    opened(book, "small", 1, 0, nodes=(), groups=groups)
    opened(book, "large", 2, 1, nodes=(), groups=groups)
    listing = [node(7, host="K-Web-7"), node(8, host="k-web-8")]
    assert book.needs_sizes(listing)
    sizes = {"k-web-7": NodeSize(boxsize_id=20), "k-web-8": NodeSize(*SMALL)}
    book.match(nodes=listing, groups=groups, sizes=sizes)
    assert book.get("small").node.hostname == "k-web-8"  # type: ignore[union-attr]
    assert book.get("large").node.hostname == "K-Web-7"  # type: ignore[union-attr]


def test_without_size_the_group_whose_count_grew_gets_the_node() -> None:
    book = ClaimBook()
    groups = [group(1, SMALL, 0), group(2, LARGE, 0)]
    opened(book, "small", 1, 0, nodes=(), groups=groups)
    opened(book, "large", 2, 1, nodes=(), groups=groups)
    book.match(nodes=[node(7)], groups=[group(1, SMALL, 0), group(2, LARGE, 1)])
    assert book.get("large").node is not None  # type: ignore[union-attr]
    assert book.get("small").node is None  # type: ignore[union-attr]


def test_ambiguous_node_waits() -> None:
    book = ClaimBook()
    groups = [group(1, SMALL, 0), group(2, LARGE, 0)]
    opened(book, "small", 1, 0, nodes=(), groups=groups)
    opened(book, "large", 2, 1, nodes=(), groups=groups)
    assert book.match(nodes=[node(7)], groups=[group(1, SMALL, 1), group(2, LARGE, 1)]) == []


def test_node_of_another_groups_size_is_not_claimed() -> None:
    book = ClaimBook()
    groups = [group(1, SMALL, 0), group(2, LARGE, 0)]
    opened(book, "small", 1, 0, nodes=(), groups=groups)
    assert book.match(nodes=[node(7, size=LARGE)], groups=groups) == []  # added by someone else
    assert book.match(nodes=[node(7, size=(8, 16384))], groups=groups) == []  # a size nobody has


def test_known_nodes_are_matched_by_any_alias() -> None:
    book = ClaimBook()
    # listed before the call without an identifier, then it gains one: still not new
    opened(
        book, "a", 1, 0, nodes=(node(1, host="K-Web-1", ident=None),), groups=[group(1, SMALL, 1)]
    )
    assert book.match(nodes=[node(1, host="k-web-1")], groups=[group(1, SMALL, 2)]) == []


def test_node_without_identifier_can_be_claimed_and_keeps_its_claim() -> None:
    book = ClaimBook()
    opened(book, "a", 1, 0, nodes=(), groups=[group(1, SMALL, 0)])
    book.match(nodes=[node(5, ident=None)], groups=[group(1, SMALL, 1)])
    assert book.get("a").node.identifier is None  # type: ignore[union-attr]
    opened(book, "b", 1, 1, nodes=(), groups=[group(1, SMALL, 1)])
    # the same node, now with an identifier, is not new for claim "b"
    assert book.match(nodes=[node(5)], groups=[group(1, SMALL, 1)]) == []


def test_control_plane_nodes_are_never_claimed() -> None:
    book = ClaimBook()
    opened(book, "a", 1, 0, nodes=(), groups=[group(1, SMALL, 0)])
    master = ClusterNode(1, "m", "k-master", None, None, "master", None, None, None, None)
    assert book.match(nodes=[master], groups=[group(1, SMALL, 1)]) == []


def test_settled_by_k4_answer_is_never_claimed_again() -> None:
    book = ClaimBook()
    opened(book, "a", 1, 0, nodes=(), groups=[group(1, SMALL, 0)])
    book.settle("a", ClusterNode(None, "uuid-9", None, None, None, None, None, None, None, None))
    opened(book, "b", 1, 1, nodes=(), groups=[group(1, SMALL, 1)])
    assert book.match(nodes=[node(9)], groups=[group(1, SMALL, 2)]) == []
