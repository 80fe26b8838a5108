"""Seeded random streams: one per route, so a call on one route never shifts another's draws.

``random.Random`` seeded with a string hashes it with SHA-512, so the streams are the same
in every process (``PYTHONHASHSEED`` plays no part).
"""

from __future__ import annotations

import ipaddress
import random
import string
import uuid

_ALNUM = string.ascii_lowercase + string.digits
PUBLIC_POOL = ipaddress.IPv4Network("198.18.0.0/15")
PRIVATE_POOL = ipaddress.IPv4Network("10.8.0.0/14")


class RngStreams:
    """Named ``random.Random`` streams derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        """The stream called ``name`` (created on first use)."""
        rng = self._streams.get(name)
        if rng is None:
            rng = self._streams[name] = random.Random(f"{self.seed}/{name}")
        return rng


def draw_uuid(rng: random.Random) -> str:
    """A random version-4 UUID string."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def draw_suffix(rng: random.Random, length: int) -> str:
    """``length`` random characters from ``[a-z0-9]``."""
    return "".join(rng.choice(_ALNUM) for _ in range(length))


def draw_ip(rng: random.Random, pool: ipaddress.IPv4Network, used: set[str]) -> str:
    """A host address of ``pool`` not in ``used`` (which it is added to)."""
    hosts = pool.num_addresses - 2
    while True:
        address = str(pool.network_address + 1 + rng.randrange(hosts))
        if address not in used:
            used.add(address)
            return address
