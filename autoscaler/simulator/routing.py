"""The VPSie route table (§4) and how a request path finds its route.

Paths are matched after normalisation: each segment is stripped of spaces (the SDK's
``status/%20{id}``) and empty segments go (a trailing slash or ``//``). VM routes exist
once per prefix (``/api/v2/vm`` and ``/apps/v2/vm``); their route id (``V1``...) is the
same under both, their template names the prefix.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from multidict import MultiMapping

from autoscaler.simulator.auth import TokenStore
from autoscaler.simulator.config import SimulatorConfig
from autoscaler.simulator.envelope import Reply
from autoscaler.simulator.knobs import Knobs
from autoscaler.simulator.world import World

BodyKind = Literal["none", "json", "form"]
VM_PREFIXES = {"api": "/api/v2/vm", "apps": "/apps/v2/vm"}


@dataclass(frozen=True, slots=True)
class Call:
    """Everything a route handler may use; handlers are sync, so a call is one atomic step."""

    world: World
    config: SimulatorConfig
    knobs: Knobs
    tokens: TokenStore
    rng: random.Random
    now: float
    stamp: Callable[[float], str]
    params: Mapping[str, str]
    query: MultiMapping[str]
    body: Mapping[str, Any]
    body_kind: BodyKind
    forced_quota: bool = False


Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    """One route: id (``K4``), method, path template, handler and whether it needs auth."""

    id: str
    method: str
    template: str
    handler: Handler
    public: bool = False
    vm_prefix: str | None = None  # "api" or "apps" for the {vm} routes
    generic: str = ""  # the template with {vm} in place of the prefix

    @property
    def name(self) -> str:
        """``METHOD template``, the key of call counters."""
        return f"{self.method} {self.template}"

    def matches(self, selector: str) -> bool:
        """Whether a fault selector (``*``, id, method, template or both) picks this route."""
        names = {"*", self.id, self.method, self.template, self.name}
        if self.generic:
            names |= {self.generic, f"{self.method} {self.generic}"}
        return selector in names


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def normalise_path(path: str) -> str:
    """Strip each segment, drop empty ones: ``/a/ b//c/`` becomes ``/a/b/c``."""
    return "/" + "/".join(s.strip() for s in path.split("/") if s.strip())


class Router:
    """Finds the route of a (method, path); routes are tried in the order they were added."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._patterns: list[re.Pattern[str]] = []

    def add(
        self, route_id: str, method: str, template: str, handler: Handler, *, public: bool = False
    ) -> None:
        """Add a route; ``{vm}`` in the template adds it under both VM prefixes."""
        if "{vm}" not in template:
            self._append(Route(route_id, method, template, handler, public))
            return
        for key, prefix in VM_PREFIXES.items():
            concrete = template.replace("{vm}", prefix)
            self._append(Route(route_id, method, concrete, handler, public, key, template))

    def _append(self, route: Route) -> None:
        self.routes.append(route)
        self._patterns.append(_compile(route.template))

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """``(route, params, path_known)``; a known path with another method gives None, True."""
        path = normalise_path(path)
        known = False
        for route, pattern in zip(self.routes, self._patterns, strict=True):
            match = pattern.match(path)
            if match is None:
                continue
            if route.method == method:
                return route, match.groupdict(), True
            known = True
        return None, {}, known
