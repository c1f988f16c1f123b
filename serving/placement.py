"""Where each shared model runs: a pure, deterministic function of the config (no state, no randomness).

The rule (also in the README):

1. Models are placed one after the other **in the order they are declared** in `models`; a model's fleet depends only
   on the fleets and on the shared models declared *before* it. So appending a model never moves another, and a
   model's placement never changes because of a model declared after it.
2. A model with `shared.fleet` goes to that fleet. Any other shared model goes to the **first fleet, in the order
   `fleets` are declared**, that belongs to its team, runs its runtime family (MLServer or Triton), has every
   capability it requires, and still has room for its `shared.memory`.
3. Room: a fleet holds models whose declared memory adds up to at most `memory x (1 + overcommitPercent/100)`; every
   replica loads every model placed on it.
4. A model that fits nowhere (or whose pinned fleet is full) is a config error that names the model, the fleets that
   could host it with their free memory, and the shortfall. Nothing is placed "somewhere else" silently.

Removing a model frees its share. A model only ever moves when something *before* it in `models` changes (removed,
grown, re-pinned) while a fleet it preferred was full; pin it with `shared.fleet` to hold it in place. Every move
shows in the plan: the model's HTTPRoute backend and both fleets' model lists change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config.base import Issue, memory_bytes
from .config.fleets import FleetConfig, fleet_runtime, requirements

if TYPE_CHECKING:
    from .config.models import ModelConfig
    from .config.platform import PlatformConfig


def show_bytes(n: float) -> str:
    """A memory amount as a Kubernetes-style quantity for messages (`1.5Gi`, `300Mi`)."""
    if abs(n) >= 2**30:
        return f"{n / 2**30:.3g}Gi"
    return f"{n / 2**20:.4g}Mi"


@dataclass
class FleetLoad:
    fleet: FleetConfig
    #: Models placed on the fleet, in placement (declaration) order.
    models: list[str] = field(default_factory=list)
    used: float = 0.0

    @property
    def capacity(self) -> float:
        return memory_bytes(self.fleet.memory) * (100 + self.fleet.overcommit_percent) / 100

    @property
    def free(self) -> float:
        return self.capacity - self.used


@dataclass
class Placement:
    """The result of placing every shared model of a config."""

    #: model name -> fleet name.
    fleet_of: dict[str, str]
    #: fleet name -> its load.
    loads: dict[str, FleetLoad]
    issues: list[Issue]

    def models_on(self, fleet: str) -> list[str]:
        return list(self.loads[fleet].models) if fleet in self.loads else []


def eligible(fleet: FleetConfig, model: "ModelConfig") -> bool:
    """Whether `fleet` can load `model` at all (team, runtime family, capabilities), regardless of room."""
    return (
        fleet.team == model.team
        and fleet.runtime == fleet_runtime(model.runtime)
        and requirements(model) <= fleet.capability_set
    )


def place(cfg: "PlatformConfig") -> Placement:
    loads = {f.name: FleetLoad(f) for f in cfg.fleets}
    fleet_of: dict[str, str] = {}
    issues: list[Issue] = []
    for i, m in enumerate(cfg.models):
        if m.shared is None or fleet_runtime(m.runtime) is None:
            continue
        need = memory_bytes(m.shared.memory)
        if m.shared.fleet is not None:
            load = loads.get(m.shared.fleet)
            if load is None:
                issues.append(Issue(("models", i, "shared", "fleet"),
                                    f"unknown fleet {m.shared.fleet!r} (fleets: {', '.join(loads) or 'none'})"))
                continue
            if not eligible(load.fleet, m):
                issues.append(Issue(("models", i, "shared", "fleet"), _ineligible(load.fleet, m)))
                continue
            candidates = [load]
        else:
            candidates = [load for load in loads.values() if eligible(load.fleet, m)]
            if not candidates:
                issues.append(Issue(("models", i, "shared"), _no_fleet(m)))
                continue
        chosen = next((load for load in candidates if load.free >= need), None)
        if chosen is None:
            best = max(load.free for load in candidates)
            hosts = ", ".join(f"{load.fleet.name} ({show_bytes(max(load.free, 0))} free of {show_bytes(load.capacity)})"
                              for load in candidates)
            issues.append(Issue(
                ("models", i, "shared", "memory"),
                f"model {m.name!r} fits on no fleet: it needs {show_bytes(need)}; fleets that could host it: {hosts}; "
                f"short by {show_bytes(need - max(best, 0))} (raise a fleet's memory or overcommitPercent, or add a fleet)",
            ))
            continue
        chosen.models.append(m.name)
        chosen.used += need
        fleet_of[m.name] = chosen.fleet.name
    return Placement(fleet_of, loads, issues)


def _ineligible(fleet: FleetConfig, m: "ModelConfig") -> str:
    if fleet.team != m.team:
        return f"fleet {fleet.name!r} belongs to team {fleet.team!r}, not to the model's team {m.team!r}"
    if fleet.runtime != fleet_runtime(m.runtime):
        return f"fleet {fleet.name!r} runs {fleet.runtime}, which cannot load a {m.runtime!r} model"
    missing = sorted(requirements(m) - fleet.capability_set)
    return f"fleet {fleet.name!r} lacks capabilities {', '.join(missing)} that model {m.name!r} requires"


def _no_fleet(m: "ModelConfig") -> str:
    req = sorted(requirements(m))
    return (f"model {m.name!r} fits on no fleet: no fleet of team {m.team!r} runs {fleet_runtime(m.runtime)}"
            f"{' with capabilities ' + ', '.join(req) if req else ''} (declare one under fleets, or drop shared)")
