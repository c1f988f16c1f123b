"""Logging config: where the Fluent Bit DaemonSet ships every container's logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional

from pydantic import Field, field_validator

from .base import Issue, StrictModel

if TYPE_CHECKING:
    from .platform import PlatformConfig

#: Retention periods CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

Backend = Literal["cloudwatch", "loki", "none"]


class LokiConfig(StrictModel):
    #: Loki's push endpoint base URL inside the cluster, e.g. `http://loki-gateway.logging.svc.cluster.local`.
    url: str = Field(pattern=r"^https?://[a-z0-9.\-]+(:[0-9]{1,5})?/?$")
    #: Loki tenant (`X-Scope-OrgID`), when Loki runs multi-tenant.
    tenant: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_.\-]{1,150}$")


class LoggingConfig(StrictModel):
    #: `cloudwatch` (EKS: a log group created by the platform, written through pod identity), `loki` (an in-cluster
    #: Loki at `loki.url`, added to Grafana as a datasource) or `none`. Unset: `cloudwatch` on EKS, `none` otherwise.
    backend: Optional[Backend] = None
    retention_days: int = 30
    loki: Optional[LokiConfig] = None

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch's retention periods: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}")
        return v


def effective_backend(cfg: "PlatformConfig") -> Backend:
    if cfg.logging.backend is not None:
        return cfg.logging.backend
    return "cloudwatch" if cfg.cluster.mode == "eks" else "none"


def checks(cfg: "PlatformConfig") -> list[Issue]:
    issues: list[Issue] = []
    backend = effective_backend(cfg)
    if backend == "cloudwatch" and cfg.cluster.mode != "eks":
        issues.append(Issue(("logging", "backend"), "cloudwatch needs cluster.mode 'eks' (pod identity); use 'loki' or 'none'"))
    if backend == "loki" and cfg.logging.loki is None:
        issues.append(Issue(("logging", "loki"), "backend 'loki' needs a loki block with the push url"))
    if backend != "loki" and cfg.logging.loki is not None:
        issues.append(Issue(("logging", "loki"), f"a loki block is set but the backend is {backend!r}"))
    return issues
