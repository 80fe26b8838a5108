"""``SimulatorConfig``: the whole starting point of a simulation, from YAML/JSON or defaults.

``load_config(path)`` reads a file synchronously; call it before the event loop runs (the
CLI does) or through ``asyncio.to_thread``. Every section has defaults, so ``{}`` is a
valid configuration (see ``catalogue.py`` for the default account).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from autoscaler.simulator.catalogue import (
    Category,
    ClusterSpec,
    Datacenter,
    InitialVm,
    Offer,
    OsImage,
    Plan,
    Project,
    default_categories,
    default_clusters,
    default_datacenters,
    default_offers,
    default_os_images,
    default_plans,
    default_projects,
)
from autoscaler.simulator.knobs import Knobs, merge_knobs
from autoscaler.simulator.rules import FaultRule

MANUAL_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockConfig(_Section):
    """``real``, ``scaled`` (``factor`` x real time) or ``manual`` (moved by the admin API)."""

    mode: Literal["real", "scaled", "manual"] = "real"
    factor: float = Field(1.0, gt=0)
    start: dt.datetime | None = Field(None, description="wall time at t=0; manual: 2026-01-01")
    tick_interval: float = Field(1.0, gt=0, description="real seconds between background ticks")


class ClientCredentials(_Section):
    """A client id/secret pair accepted by C1."""

    client_id: str
    client_secret: str


class AuthConfig(_Section):
    """Static API tokens, C1 credentials and the optional admin token of ``/__sim/``."""

    tokens: list[str] = Field(default_factory=lambda: ["sim-token"])
    clients: list[ClientCredentials] = Field(
        default_factory=lambda: [ClientCredentials(client_id="sim-client", client_secret="sim")]
    )
    admin_token: str | None = None


class SimulatorConfig(_Section):
    """The simulated VPSie account, its knobs and its fault rules."""

    seed: int = 0
    run_id: str | None = Field(None, description="the Node label sim-run; default seed-<seed>")
    user_id: int = 1
    clock: ClockConfig = Field(default_factory=ClockConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    datacenters: list[Datacenter] = Field(default_factory=default_datacenters, min_length=1)
    projects: list[Project] = Field(default_factory=default_projects, min_length=1)
    categories: list[Category] = Field(default_factory=default_categories)
    plans: list[Plan] = Field(default_factory=default_plans)
    offers: list[Offer] = Field(default_factory=default_offers)
    os_images: list[OsImage] = Field(default_factory=default_os_images)
    clusters: list[ClusterSpec] = Field(default_factory=default_clusters)
    vms: list[InitialVm] = Field(default_factory=list)
    knobs: Knobs = Field(default_factory=Knobs)
    faults: list[FaultRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> SimulatorConfig:
        problems = _catalogue_problems(self)
        for i, rule in enumerate(self.faults):
            try:
                merge_knobs(self.knobs, [rule.knobs])
            except ValueError as err:
                problems.append(f"faults[{i}].knobs: {err}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def sim_run(self, seed: int) -> str:
        """The value of the ``sim-run`` Node label."""
        return self.run_id or f"seed-{seed}"


def _catalogue_problems(cfg: SimulatorConfig) -> list[str]:
    dcs = {d.identifier for d in cfg.datacenters}
    offers = {o.id for o in cfg.offers}
    projects = {p.id for p in cfg.projects}
    plans = {p.identifier for p in cfg.plans}
    problems = [f"plan {p.identifier}: unknown DC" for p in cfg.plans if set(p.dcs) - dcs]
    for c in cfg.clusters:
        if c.dc not in dcs:
            problems.append(f"cluster {c.cluster_name}: unknown dc {c.dc}")
        if c.project_id not in projects:
            problems.append(f"cluster {c.cluster_name}: unknown project {c.project_id}")
        if c.master_offer_id is not None and c.master_offer_id not in offers:
            problems.append(f"cluster {c.cluster_name}: unknown master offer")
        if c.masters and not offers:
            problems.append(f"cluster {c.cluster_name}: masters need a k8s offer")
        sizes = [g.offer_id for g in c.groups]
        if len(sizes) != len(set(sizes)):
            problems.append(f"cluster {c.cluster_name}: two groups have the same size")
        problems += [
            f"group {g.group_name}: unknown offer {g.offer_id}"
            for g in c.groups
            if g.offer_id not in offers
        ]
    problems += [f"vm {v.hostname}: unknown plan" for v in cfg.vms if v.plan not in plans]
    problems += [f"vm {v.hostname}: unknown dc" for v in cfg.vms if v.dc not in dcs]
    group_ids = [g.id for c in cfg.clusters for g in c.groups]
    if len(group_ids) != len(set(group_ids)):
        problems.append("node group ids must be unique")
    return problems


def load_config(path: Path | None) -> SimulatorConfig:
    """Read a YAML or JSON configuration file (blocking); ``None`` gives the defaults."""
    if path is None:
        return SimulatorConfig()
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return SimulatorConfig.model_validate(data or {})
