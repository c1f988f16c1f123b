"""Model and team config: one entry per served model, shaped like KServe's InferenceService spec."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from pydantic import Field, model_validator

from .base import CpuQuantity, Issue, MemoryQuantity, Name, StrictModel, duplicate_names

if TYPE_CHECKING:
    from .platform import PlatformConfig


class Quota(StrictModel):
    cpu: CpuQuantity = "32"
    memory: MemoryQuantity = "128Gi"
    gpus: int = Field(4, ge=0)


class TeamConfig(StrictModel):
    name: Name
    quota: Quota = Field(default_factory=Quota)


class Resources(StrictModel):
    cpu: Optional[CpuQuantity] = None
    memory: Optional[MemoryQuantity] = None
    gpus: int = Field(0, ge=0, le=16)
    #: The GPU pool to run on; may be omitted when exactly one GPU pool exists.
    gpu_pool: Optional[Name] = None


class Artifact(StrictModel):
    #: `s3://bucket/prefix`, `hf://org/model` or `image://` (the model is baked into the image).
    uri: str = Field(pattern=r"^(s3://[a-z0-9.\-]{3,63}/.+|hf://[\w.\-]+/[\w.\-]+|image://)$")


class Scaling(StrictModel):
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> "Scaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        return self


class Canary(StrictModel):
    version: str = Field(min_length=1, max_length=63)
    artifact: Optional[Artifact] = None
    weight: int = Field(10, ge=0, le=100, description="Percent of traffic sent to the canary.")


class ModelConfig(StrictModel):
    name: Name
    team: Name
    runtime: str = Field(min_length=1)
    version: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    artifact: Artifact
    resources: Resources = Field(default_factory=Resources)
    scaling: Scaling = Field(default_factory=Scaling)
    canary: Optional[Canary] = None


def checks(cfg: "PlatformConfig") -> list[Issue]:
    issues = duplicate_names(cfg.teams, ("teams",)) + duplicate_names(cfg.models, ("models",))
    teams = {t.name for t in cfg.teams}
    gpu_pools = [p.name for p in cfg.node_pools.gpu]
    for i, m in enumerate(cfg.models):
        if m.team not in teams:
            issues.append(Issue(("models", i, "team"), f"unknown team {m.team!r} (teams: {', '.join(sorted(teams)) or 'none'})"))
        if m.resources.gpus > 0:
            if m.resources.gpu_pool is None:
                if len(gpu_pools) != 1:
                    issues.append(Issue(
                        ("models", i, "resources", "gpuPool"),
                        f"a model with GPUs needs gpuPool when there are {len(gpu_pools)} GPU pools ({', '.join(gpu_pools) or 'none'})",
                    ))
            elif m.resources.gpu_pool not in gpu_pools:
                issues.append(Issue(
                    ("models", i, "resources", "gpuPool"),
                    f"unknown GPU pool {m.resources.gpu_pool!r} (GPU pools: {', '.join(gpu_pools) or 'none'})",
                ))
        elif m.resources.gpu_pool is not None:
            issues.append(Issue(("models", i, "resources", "gpuPool"), "gpuPool is set but gpus is 0"))
    return issues
