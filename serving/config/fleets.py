"""Shared model servers ("fleets") and how a model asks to run on one.

A fleet is a Deployment of one multi-model server (MLServer or Triton) in a team's namespace; every replica loads
every model placed on it, each from its own artifact, each under its own name. Many small models then share a
handful of pods instead of one dedicated Deployment (plus a rollout surge pod) each:

    fleets:
      - name: tabular
        team: fraud
        runtime: mlserver          # or triton
        replicas: 2
        memory: 8Gi                # per replica: requested and limited
        overcommitPercent: 25      # models may declare up to 8Gi x 1.25 in total
    models:
      - name: churn
        team: fraud
        runtime: mlserver-sklearn
        version: "3"
        artifact: {uri: s3://models/churn/3}
        shared: {memory: 300Mi}    # placed by the platform (requirements default to the runtime's: sklearn)
      - name: risk
        ...
        shared: {fleet: tabular, memory: 1Gi}   # pinned to a fleet

Placement itself is `serving/placement.py` (pure, deterministic); its rule is documented there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Optional, Protocol

from pydantic import Field, model_validator

from ..catalog.runtimes import FLEET_RUNTIMES, PRESETS
from .secrets import ServerSecrets
from .base import CpuQuantity, Issue, MemoryQuantity, Name, StrictModel, UniqueList, duplicate_names

if TYPE_CHECKING:
    from .platform import PlatformConfig

#: A capability / requirement word (`sklearn`, `xgboost`, `onnx`, `gpu`...).
Capability = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,62}$")]


class FleetConfig(ServerSecrets):
    """One shared model server fleet (with the secret environment and registry fields of a model's `server`)."""

    name: Name
    team: Name
    runtime: Literal["mlserver", "triton"]
    #: What the fleet's server can load (default: everything its image ships, `catalog/runtimes.FLEET_RUNTIMES`).
    capabilities: Optional[Annotated[list[Capability], UniqueList]] = None
    #: Overrides the tag of the runtime's pinned image, or a whole image (e.g. a private Triton build).
    runtime_version: Optional[str] = Field(None, pattern=r"^[\w][\w.\-]{0,127}$")
    replicas: int = Field(2, ge=1, le=100)
    #: Per replica, requested and limited; what the placed models' `shared.memory` add up against.
    memory: MemoryQuantity = "8Gi"
    cpu: CpuQuantity = "2"
    #: How far the placed models' declared memory may exceed `memory` (Seldon Core 2's overcommit): declared sizes
    #: are usually generous, and a model's memory is only used while it is loaded.
    overcommit_percent: int = Field(0, ge=0, le=200)
    gpus: int = Field(0, ge=0, le=16)
    gpu_pool: Optional[Name] = None
    #: Plain environment variables of the server (secret ones: `secretEnv`).
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _gpu(self) -> "FleetConfig":
        if self.gpu_pool is not None and self.gpus == 0:
            raise ValueError("gpuPool is set but gpus is 0")
        return self

    @property
    def object_name(self) -> str:
        """Name of the fleet's Kubernetes objects (Deployment, Service, ...) in the team namespace."""
        return f"fleet-{self.name}"

    @property
    def capability_set(self) -> frozenset[str]:
        caps = set(self.capabilities if self.capabilities is not None else FLEET_RUNTIMES[self.runtime].capabilities)
        if self.gpus:
            caps.add("gpu")
        return frozenset(caps)


class SharedServing(StrictModel):
    """`models[].shared`: serve the model on a shared fleet instead of a dedicated Deployment."""

    #: Pin the model to this fleet; unset: the platform places it (`serving/placement.py`).
    fleet: Optional[Name] = None
    #: Capabilities the fleet must have (default: the model runtime's, e.g. `sklearn` for mlserver-sklearn).
    requirements: Optional[Annotated[list[Capability], UniqueList]] = None
    #: Memory the loaded model takes in each replica of its fleet.
    memory: MemoryQuantity


def fleet_runtime(model_runtime: str) -> Optional[str]:
    """The fleet runtime (`mlserver`, `triton`) that can host a model of this runtime, or None."""
    return PRESETS[model_runtime].fleet_runtime if model_runtime in PRESETS else None


def requirements(model: "ModelLike") -> frozenset[str]:
    """What a shared model needs from its fleet: `shared.requirements`, else its runtime's."""
    assert model.shared is not None
    if model.shared.requirements is not None:
        return frozenset(model.shared.requirements)
    return frozenset(PRESETS[model.runtime].requirements)


class ModelLike(Protocol):
    """The fields of a model config that placement reads (ModelConfig; models.py imports this module)."""

    @property
    def runtime(self) -> str: ...
    @property
    def shared(self) -> Optional[SharedServing]: ...


def checks(cfg: "PlatformConfig") -> list[Issue]:
    """Fleet names unique, teams known, GPU pools known; models with `shared` fit a fleet (see placement.py)."""
    from ..placement import place

    issues = duplicate_names(cfg.fleets, ("fleets",))
    teams = {t.name for t in cfg.teams}
    gpu_pools = [p.name for p in cfg.node_pools.gpu]
    models = {m.name for m in cfg.models}
    for i, f in enumerate(cfg.fleets):
        if f.team not in teams:
            issues.append(Issue(("fleets", i, "team"), f"unknown team {f.team!r} (teams: {', '.join(sorted(teams)) or 'none'})"))
        if f.gpus and f.gpu_pool is None and len(gpu_pools) != 1:
            issues.append(Issue(("fleets", i, "gpuPool"), f"a fleet with GPUs needs gpuPool when there are {len(gpu_pools)} GPU pools"))
        if f.gpu_pool is not None and f.gpu_pool not in gpu_pools:
            issues.append(Issue(("fleets", i, "gpuPool"), f"unknown GPU pool {f.gpu_pool!r} (GPU pools: {', '.join(gpu_pools) or 'none'})"))
        if f.object_name in models:
            issues.append(Issue(("fleets", i, "name"), f"a model is named {f.object_name!r}, the name of this fleet's objects"))
    for i, m in enumerate(cfg.models):
        if m.shared is None:
            continue
        if fleet_runtime(m.runtime) is None:
            hosts = sorted(n for n, p in PRESETS.items() if p.fleet_runtime)
            issues.append(Issue(("models", i, "shared"), f"runtime {m.runtime!r} has no shared server (runtimes that do: {', '.join(hosts)})"))
        # A fleet fetches each model into its repository (s3, gs, hf), or, on MLServer, points at a mounted claim.
        elif m.artifact.scheme == "oci" or m.artifact.scheme == "image" or (
                m.artifact.scheme == "pvc" and fleet_runtime(m.runtime) != "mlserver"):
            issues.append(Issue(("models", i, "artifact", "uri"),
                                f"a model on a {fleet_runtime(m.runtime)} fleet is fetched into its repository (s3://, gs://, hf://"
                                f"{', or pvc:// on MLServer' if fleet_runtime(m.runtime) == 'mlserver' else ''}); serve this one dedicated"))
    issues += place(cfg).issues
    return issues
