"""The root of the platform config: everything under the one stack config key `serving:platform`."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field, StringConstraints

from . import cluster, fleets, gateway, llm, logging, models, monitoring, sanity
from .base import Issue, Name, StrictModel
from .cluster import ClusterConfig, NodePoolsConfig
from .fleets import FleetConfig
from .gateway import GatewayConfig
from .logging import LoggingConfig
from .models import ImageRef, ModelConfig, TeamConfig
from .monitoring import MonitoringConfig
from .promotion import PromotionConfig


class PlatformConfig(StrictModel):
    """The whole platform of one stack (environment)."""

    environment: Name = Field(description="The environment this stack is, e.g. dev or prod; used in names and tags.")
    cluster: ClusterConfig
    node_pools: NodePoolsConfig = Field(default_factory=NodePoolsConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    teams: list[TeamConfig] = Field(default_factory=list)
    models: list[ModelConfig] = Field(default_factory=list)
    #: Shared model servers: many small models per pod (`config/fleets.py`, placement in `serving/placement.py`).
    fleets: list[FleetConfig] = Field(default_factory=list)
    #: The image of the models' download init container (default: the pinned KServe storage-initializer in
    #: `catalog/runtimes.py`); e.g. the same image by digest (`kserve/storage-initializer@sha256:...`) or a mirror.
    storage_initializer_image: Optional[ImageRef] = None
    #: How `serving promote` maps another stack's artifact locations onto this stack's (config/promotion.py).
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    #: Policy-pack rules (policy/rules.py) this stack weakens, each with the reason: an explicit, reviewed choice.
    #: The pack still reports every violation of a waived rule, as advisory with this reason, instead of failing.
    policy_waivers: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=63)],
        Annotated[str, StringConstraints(min_length=10, max_length=500)],
    ] = Field(default_factory=dict)

    def model(self, name: str) -> ModelConfig:
        return next(m for m in self.models if m.name == name)


#: Cross-field checks, one per config section; each returns every issue it finds.
CHECKS = (cluster.checks, gateway.checks, monitoring.checks, logging.checks, models.checks, fleets.checks, sanity.checks,
          llm.checks)


def cross_checks(cfg: PlatformConfig) -> list[Issue]:
    return [issue for check in CHECKS for issue in check(cfg)]
