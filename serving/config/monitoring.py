"""Monitoring config: kube-prometheus-stack (Prometheus, Alertmanager, Grafana)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from pydantic import Field

from .base import Duration, Issue, MemoryQuantity, Secret, StrictModel

if TYPE_CHECKING:
    from .platform import PlatformConfig


class GrafanaConfig(StrictModel):
    #: Host Grafana is served on through the Gateway; unset: reachable by `kubectl port-forward` only.
    host: Optional[str] = None
    #: Admin password; generated (random) when unset.
    admin_password: Optional[Secret] = None


class MonitoringConfig(StrictModel):
    retention: Duration = "7d"
    storage_size: MemoryQuantity = "20Gi"
    grafana: GrafanaConfig = Field(default_factory=GrafanaConfig)


def checks(cfg: "PlatformConfig") -> list[Issue]:
    return []
