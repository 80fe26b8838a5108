"""Arithmetic on ``Resources`` vectors: exact integers, never floats.

Every dimension is compared: CPU millicores, memory and ephemeral-storage bytes, the pod
count and each extended resource (``nvidia.com/gpu``). A pod always takes one pod slot,
even when a hand-built record says ``pods=0`` (the projection already counts it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from autoscaler.core.records import Resources

__all__ = [
    "ZERO",
    "add",
    "as_pod_request",
    "fits",
    "max_copies",
    "scale",
    "shortfall",
    "sub",
    "total",
]

ZERO = Resources()
UNBOUNDED = sys.maxsize


def _merge(
    a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...], sign: int
) -> tuple[tuple[str, int], ...]:
    if not b:
        return a
    merged = dict(a)
    for name, amount in b:
        merged[name] = merged.get(name, 0) + sign * amount
    return tuple(sorted((n, v) for n, v in merged.items() if v))


def add(a: Resources, b: Resources) -> Resources:
    """Return ``a + b``."""
    return Resources(
        cpu_m=a.cpu_m + b.cpu_m,
        memory=a.memory + b.memory,
        ephemeral_storage=a.ephemeral_storage + b.ephemeral_storage,
        pods=a.pods + b.pods,
        extended=_merge(a.extended, b.extended, 1),
    )


def sub(a: Resources, b: Resources) -> Resources:
    """Return ``a - b``; a dimension may go negative (an over-committed node)."""
    return Resources(
        cpu_m=a.cpu_m - b.cpu_m,
        memory=a.memory - b.memory,
        ephemeral_storage=a.ephemeral_storage - b.ephemeral_storage,
        pods=a.pods - b.pods,
        extended=_merge(a.extended, b.extended, -1),
    )


def scale(a: Resources, n: int) -> Resources:
    """Return ``n * a``."""
    return Resources(
        cpu_m=a.cpu_m * n,
        memory=a.memory * n,
        ephemeral_storage=a.ephemeral_storage * n,
        pods=a.pods * n,
        extended=tuple((name, v * n) for name, v in a.extended if v * n),
    )


def total(items: Iterable[Resources]) -> Resources:
    """Return the sum of ``items`` (one allocation, whatever their number)."""
    cpu = memory = storage = pods = 0
    extended: dict[str, int] = {}
    for item in items:
        cpu += item.cpu_m
        memory += item.memory
        storage += item.ephemeral_storage
        pods += item.pods
        for name, amount in item.extended:
            extended[name] = extended.get(name, 0) + amount
    return Resources(
        cpu_m=cpu,
        memory=memory,
        ephemeral_storage=storage,
        pods=pods,
        extended=tuple(sorted((n, v) for n, v in extended.items() if v)),
    )


def as_pod_request(request: Resources) -> Resources:
    """Return the request of one pod: at least one pod slot."""
    if request.pods >= 1:
        return request
    return Resources(
        cpu_m=request.cpu_m,
        memory=request.memory,
        ephemeral_storage=request.ephemeral_storage,
        pods=1,
        extended=request.extended,
    )


def _pairs(request: Resources, free: Resources) -> Iterable[tuple[str, int, int]]:
    yield "cpu", request.cpu_m, free.cpu_m
    yield "memory", request.memory, free.memory
    yield "ephemeral-storage", request.ephemeral_storage, free.ephemeral_storage
    yield "pods", request.pods, free.pods
    available = dict(free.extended)
    for name, amount in request.extended:
        yield name, amount, available.get(name, 0)


def shortfall(request: Resources, free: Resources) -> tuple[str, ...]:
    """Return the names of the dimensions where ``request`` exceeds ``free``."""
    return tuple(name for name, want, have in _pairs(request, free) if want > 0 and want > have)


def fits(request: Resources, free: Resources) -> bool:
    """Whether ``request`` fits in ``free`` in every dimension."""
    return not shortfall(request, free)


def max_copies(request: Resources, free: Resources) -> int:
    """Return how many copies of ``request`` fit in ``free`` (``UNBOUNDED`` if all zero)."""
    copies = UNBOUNDED
    for _, want, have in _pairs(request, free):
        if want > 0:
            copies = min(copies, max(have, 0) // want)
    return copies
