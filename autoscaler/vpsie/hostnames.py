"""VM hostnames ``<prefix>-<group>-<8 random [a-z0-9]>`` (vpsie-api.md §5.2).

Always lowercase, a valid RFC 1123 label, at most 63 characters, never handed out twice by
one ``HostnameMinter``. A group name that does not fit is shortened and given a short hash,
so two long group names never share a hostname prefix. Ownership of a VM is decided by
``group_prefix`` (compared case-insensitively).
"""

from __future__ import annotations

import hashlib
import random
import re
import string

MAX_LENGTH = 63
SUFFIX_LENGTH = 8
MAX_PREFIX = 20
ALPHABET = string.ascii_lowercase + string.digits
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_INVALID = re.compile(r"[^a-z0-9]+")


def is_valid_hostname(name: str) -> bool:
    """A lowercase RFC 1123 label of at most 63 characters."""
    return len(name) <= MAX_LENGTH and _LABEL.fullmatch(name) is not None


def _clean(text: str) -> str:
    return _INVALID.sub("-", text.lower()).strip("-")


def group_label(prefix: str, group: str) -> str:
    """``<prefix>-<group>`` made valid, leaving room for ``-`` and the 8-character suffix."""
    head = (_clean(prefix) or "vpsie")[:MAX_PREFIX].strip("-")
    budget = MAX_LENGTH - SUFFIX_LENGTH - 1
    body = _clean(group)
    label = f"{head}-{body}" if body else head
    if len(label) <= budget and body == group.lower():
        return label
    digest = hashlib.sha256(group.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    keep = max(0, budget - len(head) - len(digest) - 2)
    short = body[:keep].strip("-")
    label = f"{head}-{short}-{digest}" if short else f"{head}-{digest}"
    return label[:budget].strip("-")


def group_prefix(prefix: str, group: str) -> str:
    """What every hostname of the group starts with (``<label>-``)."""
    return group_label(prefix, group) + "-"


def belongs_to(hostname: str | None, *, prefix: str, group: str) -> bool:
    """Whether a VM hostname was minted for ``group`` (case-insensitive)."""
    if not hostname:
        return False
    name = hostname.lower()
    start = group_prefix(prefix, group)
    rest = name[len(start) :]
    return (
        name.startswith(start) and len(rest) == SUFFIX_LENGTH and all(c in ALPHABET for c in rest)
    )


class HostnameMinter:
    """Makes fresh hostnames and remembers every one it made."""

    def __init__(self, *, rand: random.Random | None = None) -> None:
        self._rand = rand or random.SystemRandom()
        self._issued: set[str] = set()

    def mint(self, *, prefix: str, group: str) -> str:
        """A new hostname for ``group`` that this minter never returned before."""
        label = group_label(prefix, group)
        while True:
            suffix = "".join(self._rand.choice(ALPHABET) for _ in range(SUFFIX_LENGTH))
            name = f"{label}-{suffix}"
            if name not in self._issued:
                self._issued.add(name)
                return name
