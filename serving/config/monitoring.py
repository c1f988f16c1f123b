"""Monitoring config: kube-prometheus-stack (Prometheus, Alertmanager, Grafana), SLOs and alert receivers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional

from pydantic import Field, field_validator, model_validator

from .base import CpuQuantity, Duration, Issue, MemoryQuantity, Name, Secret, StrictModel, duplicate_names, memory_bytes
from .gateway import HOSTNAME_PATTERN

if TYPE_CHECKING:
    from .platform import PlatformConfig

Severity = Literal["critical", "warning", "info"]

#: Envoy's default latency histogram buckets (ms) at or above 10ms: a latency SLO threshold must be a bucket bound
#: to be measured exactly (see `serving/observability/metrics.py`).
LATENCY_THRESHOLDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000)


class GrafanaConfig(StrictModel):
    #: Host Grafana is served on through the Gateway (HTTPS, same certificate issuer); unset: reachable by
    #: `kubectl port-forward` only.
    host: Optional[str] = Field(None, pattern=HOSTNAME_PATTERN)
    #: Admin password; generated (random) when unset.
    admin_password: Optional[Secret] = None


class PrometheusResources(StrictModel):
    """Prometheus' own container. The defaults fit a platform Prometheus of a few hundred thousand series (at about
    4 KiB of head memory each; the limit leaves room for compaction); a cluster with many models or nodes raises
    them. The placement check packs Prometheus on the system pool with these requests."""

    cpu: CpuQuantity = "500m"
    memory: MemoryQuantity = "2Gi"
    memory_limit: MemoryQuantity = "4Gi"

    @model_validator(mode="after")
    def _limit_covers_request(self) -> "PrometheusResources":
        if memory_bytes(self.memory_limit) < memory_bytes(self.memory):
            raise ValueError("memoryLimit must be at least memory (the request)")
        return self


class SloConfig(StrictModel):
    """Default service-level objectives of every model, measured at the gateway over 30 days."""

    #: Percent of requests answered without a 5xx.
    availability: float = Field(99.5, gt=50, lt=100)
    #: Percent of requests faster than `latencyThresholdMs`.
    latency_target: float = Field(99.0, gt=50, lt=100)
    latency_threshold_ms: int = 1000

    @field_validator("latency_threshold_ms")
    @classmethod
    def _bucket(cls, v: int) -> int:
        if v not in LATENCY_THRESHOLDS_MS:
            raise ValueError(
                f"must be one of the gateway's latency histogram buckets: {', '.join(map(str, LATENCY_THRESHOLDS_MS))}"
            )
        return v


class ReceiverConfig(StrictModel):
    """Where Alertmanager sends alerts of the given severities."""

    name: Name
    type: Literal["slack", "pagerduty", "webhook"]
    #: Slack incoming-webhook URL or generic webhook URL (a secret: it authorises posting).
    url: Optional[Secret] = None
    #: PagerDuty Events API v2 integration (routing) key.
    routing_key: Optional[Secret] = None
    #: Slack channel (the webhook's default channel when unset).
    channel: Optional[str] = Field(None, pattern=r"^[#@]?[a-z0-9_.\-]{1,80}$")
    severities: list[Severity] = Field(default_factory=lambda: list[Severity](["critical", "warning"]), min_length=1)

    @model_validator(mode="after")
    def _fields(self) -> "ReceiverConfig":
        if self.type in ("slack", "webhook") and self.url is None:
            raise ValueError(f"a {self.type} receiver needs url")
        if self.type == "pagerduty" and self.routing_key is None:
            raise ValueError("a pagerduty receiver needs routingKey")
        if self.type != "pagerduty" and self.routing_key is not None:
            raise ValueError("routingKey is only for pagerduty receivers")
        if self.type == "pagerduty" and self.url is not None:
            raise ValueError("url is not used by pagerduty receivers (set routingKey)")
        if self.type != "slack" and self.channel is not None:
            raise ValueError("channel is only for slack receivers")
        return self

    @property
    def credential(self) -> Secret:
        """What Alertmanager posts with: the webhook URL, or PagerDuty's routing key (`_fields` requires one)."""
        secret = self.url or self.routing_key
        if secret is None:
            raise ValueError(f"alerting receiver {self.name} has neither url nor routingKey")
        return secret


class AlertingConfig(StrictModel):
    receivers: list[ReceiverConfig] = Field(default_factory=list)
    #: GPU temperature (Celsius) held for 10 minutes that raises a warning.
    gpu_temperature_c: int = Field(85, ge=60, le=110)


class MonitoringConfig(StrictModel):
    retention: Duration = "7d"
    storage_size: MemoryQuantity = "20Gi"
    #: StorageClass of Prometheus' volume: on EKS the gp3 class the cluster creates (`conventions.DEFAULT_STORAGE_CLASS`;
    #: config cannot import conventions); unset: the cluster's default class.
    storage_class: Optional[Name] = "gp3"
    prometheus: PrometheusResources = Field(default_factory=PrometheusResources)
    grafana: GrafanaConfig = Field(default_factory=GrafanaConfig)
    slo: SloConfig = Field(default_factory=SloConfig)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)

    @field_validator("storage_size")
    @classmethod
    def _storage(cls, v: str) -> str:
        if memory_bytes(v) < 2 * 2**30:
            raise ValueError("Prometheus needs at least 2Gi of storage")
        return v


def checks(cfg: "PlatformConfig") -> list[Issue]:
    mon = cfg.monitoring
    issues = duplicate_names(mon.alerting.receivers, ("monitoring", "alerting", "receivers"))
    if mon.grafana.host is not None and mon.grafana.host == cfg.gateway.hostname:
        issues.append(Issue(
            ("monitoring", "grafana", "host"),
            "must differ from gateway.hostname (models are served there; Grafana gets a host of its own)",
        ))
    if mon.grafana.host is not None and cfg.gateway.tls.mode == "secret":
        issues.append(Issue(
            ("monitoring", "grafana", "host"),
            "with gateway.tls.mode 'secret' the existing certificate covers only gateway.hostname; "
            "use tls.mode 'acme' or leave grafana.host unset (port-forward)",
        ))
    return issues
