"""Logging config: where the Fluent Bit DaemonSet ships every container's logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional

from pydantic import Field, field_validator

from .base import Duration, Issue, MemoryQuantity, Name, StrictModel, memory_bytes

if TYPE_CHECKING:
    from .platform import PlatformConfig

#: Retention periods CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

Backend = Literal["cloudwatch", "loki", "none"]

_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def duration_seconds(d: str) -> float:
    """Seconds in a Prometheus-style duration (`base.Duration`: "30d" -> 2592000)."""
    unit = "ms" if d.endswith("ms") else d[-1]
    return float(d[: -len(unit)]) * _DURATION_SECONDS[unit]


class LokiConfig(StrictModel):
    """Unset `url`: the platform installs Loki in the cluster (single binary, filesystem storage on a volume).
    Set `url`: an existing Loki elsewhere; the platform only ships to it and adds it to Grafana."""

    #: An existing Loki's base URL (push and query), e.g. `http://loki-gateway.logging.svc.cluster.local`.
    url: Optional[str] = Field(None, pattern=r"^https?://[a-z0-9.\-]+(:[0-9]{1,5})?/?$")
    #: Loki tenant (`X-Scope-OrgID`) of an existing multi-tenant Loki. The in-cluster Loki is single-tenant.
    tenant: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_.\-]{1,150}$")
    #: In-cluster Loki: how long logs are kept (Loki `limits_config.retention_period`, deleted by the compactor).
    retention: Duration = "30d"
    #: In-cluster Loki: size of its volume (chunks, index, write-ahead log).
    storage_size: MemoryQuantity = "50Gi"
    #: In-cluster Loki: StorageClass of its volume; on EKS the gp3 class the cluster creates
    #: (`conventions.DEFAULT_STORAGE_CLASS`; config cannot import conventions); unset: the cluster's default class.
    storage_class: Optional[Name] = "gp3"

    @field_validator("retention")
    @classmethod
    def _retention(cls, v: str) -> str:
        # Loki rejects shorter periods (pkg/validation/limits.go: "retention period must be >= 24h").
        if duration_seconds(v) < 86400:
            raise ValueError("Loki keeps logs at least 24h (e.g. 7d, 30d, 12w)")
        return v

    @field_validator("storage_size")
    @classmethod
    def _storage(cls, v: str) -> str:
        if memory_bytes(v) < 2**30:
            raise ValueError("Loki needs at least 1Gi of storage")
        return v

    @property
    def in_cluster(self) -> bool:
        return self.url is None


class LoggingConfig(StrictModel):
    #: `cloudwatch` (EKS: a log group created by the platform, written through pod identity), `loki` (a Loki
    #: installed in the cluster, or an existing one at `loki.url`, added to Grafana as a datasource) or `none`.
    #: Unset: `cloudwatch` on EKS, `none` otherwise.
    backend: Optional[Backend] = None
    #: CloudWatch log group retention (days). Loki's retention is `loki.retention`.
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


def loki_config(cfg: "PlatformConfig") -> Optional[LokiConfig]:
    """The Loki settings when the backend is Loki (defaults: in the cluster), else None."""
    if effective_backend(cfg) != "loki":
        return None
    return cfg.logging.loki or LokiConfig()


def checks(cfg: "PlatformConfig") -> list[Issue]:
    issues: list[Issue] = []
    backend = effective_backend(cfg)
    loki = cfg.logging.loki
    if backend == "cloudwatch" and cfg.cluster.mode != "eks":
        issues.append(Issue(("logging", "backend"), "cloudwatch needs cluster.mode 'eks' (pod identity); use 'loki' or 'none'"))
    if backend != "loki" and loki is not None:
        issues.append(Issue(("logging", "loki"), f"a loki block is set but the backend is {backend!r}"))
    if backend == "loki" and "retention_days" in cfg.logging.model_fields_set:
        issues.append(Issue(("logging", "retentionDays"), "is CloudWatch's retention; with backend 'loki' set loki.retention"))
    if backend == "loki" and loki is not None:
        if loki.in_cluster and loki.tenant is not None:
            issues.append(Issue(("logging", "loki", "tenant"), "the in-cluster Loki is single-tenant; a tenant needs an existing Loki at loki.url"))
        if not loki.in_cluster:
            for field, key in (("retention", "retention"), ("storage_size", "storageSize"), ("storage_class", "storageClass")):
                if field in loki.model_fields_set:
                    issues.append(Issue(("logging", "loki", key), "only applies to the in-cluster Loki (loki.url unset)"))
    return issues
