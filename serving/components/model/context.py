"""What every part of a model's serving stack shares: the `ModelContext` and the tracks.

A part (workload, traffic, scaling, monitoring, access, and whatever comes next: an inference-pool route, a shared
server) is a plain class or function that takes the context, plus the outputs of the parts it builds on, and creates
its resources with `ctx.opts` (parent = the `ModelServing` component, the cluster's provider and the component's
`depends_on`). Parts never create a ComponentResource of their own: every resource's URN stays
`...serving:model:ModelServing$<type>::<name>` whichever module builds it.

Names and labels come from here (and `conventions.py`), never from a part, so two parts always agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

from ... import conventions as cv
from ...catalog.runtimes import RuntimePreset
from ...config import ModelConfig, PlatformConfig
from ...config.models import Artifact, Candidate

PRIMARY = cv.TRACK_PRIMARY


@dataclass(frozen=True)
class Track:
    """One Deployment of a model: `primary`, or a candidate (`canary`, `shadow`)."""

    name: str
    candidate: Optional[Candidate] = None

    @property
    def suffix(self) -> str:
        """Name suffix of the track's objects: none for the primary, `-canary` / `-shadow` for candidates."""
        return "" if self.name == PRIMARY else f"-{self.name}"

    @property
    def is_primary(self) -> bool:
        return self.name == PRIMARY


@dataclass
class ModelContext:
    """The inputs every part reads. `name` prefixes Pulumi resource names; `model.name` names Kubernetes objects."""

    name: str
    model: ModelConfig
    cfg: PlatformConfig
    namespace: str
    #: Parent (the ModelServing component), provider and the component's depends_on, for every resource of a part.
    opts: pulumi.ResourceOptions
    component: pulumi.Resource
    tracks: list[Track] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.tracks:
            self.tracks = [Track(PRIMARY), *(Track(t, c) for t, c in self.model.candidates())]

    @property
    def preset(self) -> RuntimePreset:
        return self.model.preset

    @property
    def labels(self) -> dict[str, str]:
        """Labels of every object of the model."""
        m = self.model
        return {
            cv.APP_NAME: m.name,
            cv.APP_COMPONENT: "model-server",
            cv.APP_PART_OF: cv.PART_OF,
            cv.MANAGED_BY: "pulumi",
            cv.MODEL_LABEL: m.name,
            cv.TEAM_LABEL: m.team,
        }

    def track_labels(self, track: Track) -> dict[str, str]:
        return {**self.labels, cv.TRACK_LABEL: track.name}

    def selector(self, track: Track) -> dict[str, str]:
        """Pod selector of a track's Deployment, Service and PodDisruptionBudget."""
        return {cv.MODEL_LABEL: self.model.name, cv.TRACK_LABEL: track.name}

    def workload_name(self, track: Track) -> str:
        """Kubernetes name of a track's Deployment and Service (`<model>`, `<model>-canary`, ...)."""
        return f"{self.model.name}{track.suffix}"

    def track(self, name: str) -> Optional[Track]:
        return next((t for t in self.tracks if t.name == name), None)

    def artifact(self, track: Track) -> Artifact:
        return self.model.artifact_of(track.candidate)

    @property
    def metrics_path(self) -> Optional[str]:
        return self.model.server.metrics_path or self.preset.metrics_path

    def with_deps(self, *deps: Any, extra: Optional[pulumi.ResourceOptions] = None) -> pulumi.ResourceOptions:
        """`ctx.opts` plus more dependencies (and other options)."""
        flat: list[Any] = []
        for d in deps:
            flat.extend(d if isinstance(d, (list, tuple)) else [d])
        out = pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(depends_on=flat)) if flat else self.opts
        return pulumi.ResourceOptions.merge(out, extra) if extra is not None else out


def track_bounds(m: ModelConfig, track: Track) -> tuple[int, int]:
    """(min, max) replicas of a track's autoscaler: the model's for the primary; a candidate keeps at least its
    configured replicas and may grow to its share of the model's maximum (`ModelConfig.candidate_max_replicas`)."""
    if track.candidate is None:
        return m.scaling.min_replicas, m.scaling.max_replicas
    return track.candidate.replicas, m.candidate_max_replicas(track.candidate)


def autoscaled(m: ModelConfig, track: Track) -> bool:
    low, high = track_bounds(m, track)
    return m.scaling.autoscaled and high > low
