"""VM hostnames: valid RFC 1123 labels, at most 63 characters, never reused (property tests)."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.vpsie.hostnames import (
    HostnameMinter,
    belongs_to,
    group_label,
    group_prefix,
    is_valid_hostname,
)

prefixes = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", fullmatch=True)
groups = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,80}[a-z0-9])?", fullmatch=True),  # Kubernetes names
    st.text(max_size=300),  # anything at all
)


@settings(max_examples=500)
@given(prefix=st.one_of(prefixes, st.text(max_size=40)), group=groups, seed=st.integers(0, 2**32))
def test_minted_hostnames_are_valid_and_owned_by_their_group(
    prefix: str, group: str, seed: int
) -> None:
    minter = HostnameMinter(rand=random.Random(seed))
    name = minter.mint(prefix=prefix, group=group)
    assert is_valid_hostname(name)
    assert len(name) <= 63
    assert name == name.lower()
    assert belongs_to(name, prefix=prefix, group=group)
    assert belongs_to(name.upper(), prefix=prefix, group=group)


@settings(max_examples=200)
@given(prefix=prefixes, group=groups, count=st.integers(1, 300))
def test_a_minter_never_repeats_a_hostname(prefix: str, group: str, count: int) -> None:
    minter = HostnameMinter(rand=random.Random(0))
    names = [minter.mint(prefix=prefix, group=group) for _ in range(count)]
    assert len(set(names)) == count


def test_a_repeating_random_source_still_gives_fresh_names() -> None:
    class Stuck(random.Random):
        calls = 0

        def choice(self, seq):
            self.calls += 1
            return seq[0 if self.calls <= 16 else 1]  # the same suffix twice in a row

    minter = HostnameMinter(rand=Stuck())
    first, second = minter.mint(prefix="va", group="web"), minter.mint(prefix="va", group="web")
    assert (first, second) == ("va-web-aaaaaaaa", "va-web-bbbbbbbb")


@settings(max_examples=300)
@given(prefix=prefixes, a=groups, b=groups)
def test_different_groups_never_share_a_prefix(prefix: str, a: str, b: str) -> None:
    if a.lower() != b.lower():
        name = HostnameMinter(rand=random.Random(1)).mint(prefix=prefix, group=a)
        assert not belongs_to(name, prefix=prefix, group=b)


def _hash(group: str) -> str:
    return hashlib.sha256(group.encode()).hexdigest()[:6]


@pytest.mark.parametrize(
    ("group", "label"),
    [
        pytest.param("web", "vpsie-web", id="plain"),
        pytest.param("Web", "vpsie-web", id="case-folds"),
        pytest.param("web.pool", f"vpsie-web-pool-{_hash('web.pool')}", id="dot-gets-a-hash"),
        pytest.param("w" * 60, f"vpsie-{'w' * 41}-{_hash('w' * 60)}", id="long-is-cut"),
        pytest.param("", "vpsie", id="empty"),
    ],
)
def test_group_label(group: str, label: str) -> None:
    assert group_label("vpsie", group) == label


def test_ownership_needs_the_exact_suffix() -> None:
    assert belongs_to("vpsie-web-k3m9q2ab", prefix="vpsie", group="web")
    assert not belongs_to("vpsie-web-a-k3m9q2ab", prefix="vpsie", group="web")
    assert not belongs_to("vpsie-webx-k3m9q2ab", prefix="vpsie", group="web")
    assert not belongs_to(None, prefix="vpsie", group="web")
    assert group_prefix("vpsie", "web") == "vpsie-web-"
