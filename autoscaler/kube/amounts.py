"""Resource amounts at the edge: resource lists and a pod's effective requests.

CPU becomes millicores and everything else an integer (bytes, counts), parsed strictly
by ``autoscaler.core.quantity``. Results are shared ``Resources`` records; node resource
lists are memoised on their raw text, pod requests on the pod's template (``projection``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from autoscaler.core.quantity import int_value, milli_value
from autoscaler.core.records import Resources
from autoscaler.kube.sharing import SHARED, Interner

__all__ = ["pod_requests", "resources_of"]

_NAMED = ("cpu", "memory", "ephemeral-storage", "pods")
_ONE_POD = {"pods": 1}


def _amounts(raw: Mapping[str, str] | None) -> dict[str, int]:
    if not raw:
        return {}
    return {n: milli_value(text) if n == "cpu" else int_value(text) for n, text in raw.items()}


def _add(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        total[name] = total.get(name, 0) + amount


def _record(amounts: Mapping[str, int]) -> Resources:
    extended = sorted((sys.intern(n), v) for n, v in amounts.items() if n not in _NAMED)
    return Resources(
        cpu_m=amounts.get("cpu", 0),
        memory=amounts.get("memory", 0),
        ephemeral_storage=amounts.get("ephemeral-storage", 0),
        pods=amounts.get("pods", 0),
        extended=tuple(extended),
    )


def resources_of(raw: Mapping[str, str] | None, shared: Interner = SHARED) -> Resources:
    """Return a resource list (``allocatable``, ``capacity``) as a shared ``Resources``."""
    key = ("list", tuple(raw.items())) if raw else ("list",)
    return shared.memo(key, lambda: _record(_amounts(raw)))


def _requests_of(container: Mapping[str, Any]) -> Mapping[str, str] | None:
    resources = container.get("resources")
    return resources.get("requests") if resources else None


def _effective(spec: Mapping[str, Any]) -> Resources:
    total: dict[str, int] = dict(_ONE_POD)
    for container in spec.get("containers") or ():
        _add(total, _amounts(_requests_of(container)))
    init_peak: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for container in spec.get("initContainers") or ():
        amounts = _amounts(_requests_of(container))
        if container.get("restartPolicy") == "Always":
            _add(total, amounts)
            _add(sidecars, amounts)
            running = dict(sidecars)
        else:
            running = dict(sidecars)
            _add(running, amounts)
        for name, amount in running.items():
            init_peak[name] = max(init_peak.get(name, 0), amount)
    for name, amount in init_peak.items():
        total[name] = max(total.get(name, 0), amount)
    _add(total, _amounts(spec.get("overhead")))
    return _record(total)


def pod_requests(spec: Mapping[str, Any], shared: Interner = SHARED) -> Resources:
    """Return a pod's effective requests (apimachinery ``resourcehelper.PodRequests``).

    App containers are summed. Init containers run one at a time before them, so each
    resource is the larger of that sum and the biggest init container, where sidecars
    (init containers with ``restartPolicy: Always``) keep running and add to both.
    ``spec.overhead`` is added last. The pod itself takes one ``pods`` slot.
    """
    return shared.share(_effective(spec))
