"""Gateway config: the shared Gateway API front door (Envoy Gateway), its TLS, and per-route options.

`RouteOptions` is what a model's `exposure` section holds; `serving/components/route_policies.py` renders it into
Envoy Gateway policies (BackendTrafficPolicy, SecurityPolicy) attached to that model's HTTPRoute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional

import ipaddress

from pydantic import Field, field_validator, model_validator

from .base import Issue, Name, Secret, StrictModel

if TYPE_CHECKING:
    from .platform import PlatformConfig

#: A DNS host name (optionally a leading wildcard label), lowercase.
HOSTNAME_PATTERN = r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$"

#: A duration as Envoy Gateway's policy CRDs accept it (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`), restricted to one unit
#: so it reads plainly: "30s", "10m", "500ms".
GatewayDuration = str
_GATEWAY_DURATION = r"^[0-9]{1,5}(ms|s|m|h)$"

#: Envoy retry triggers accepted by BackendTrafficPolicy `retry.retryOn.triggers` (Envoy Gateway v1.9.0 CRD).
RetryTrigger = Literal[
    "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
    "retriable-status-codes", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
]


class AcmeDns01Config(StrictModel):
    """DNS-01 through Route 53 (cert-manager uses pod identity to change records in this hosted zone)."""

    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,32}$")
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")


class TlsConfig(StrictModel):
    #: `acme`: cert-manager issues a certificate from an ACME CA; `secret`: an existing kubernetes.io/tls Secret.
    mode: Literal["acme", "secret"] = "acme"
    acme_email: Optional[str] = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    acme_server: str = Field("https://acme-v02.api.letsencrypt.org/directory", pattern=r"^https://\S+$")
    #: How the ACME CA checks we own the host: HTTP-01 through the Gateway itself (default; the host must resolve to
    #: the gateway's load balancer and port 80 must be reachable from the internet), or DNS-01 in Route 53 (works for
    #: an internal load balancer and for wildcard hosts).
    acme_challenge: Literal["http01", "dns01"] = "http01"
    dns01: Optional[AcmeDns01Config] = None
    #: Name of an existing TLS Secret in the gateway namespace (mode `secret`).
    secret_name: Optional[Name] = None

    @model_validator(mode="after")
    def _mode(self) -> "TlsConfig":
        if self.mode == "acme" and not self.acme_email:
            raise ValueError("tls.mode 'acme' needs acmeEmail (the ACME account contact)")
        if self.mode == "secret" and not self.secret_name:
            raise ValueError("tls.mode 'secret' needs secretName")
        if self.mode == "acme" and self.acme_challenge == "dns01" and self.dns01 is None:
            raise ValueError("acmeChallenge 'dns01' needs a dns01 block (hostedZoneId of the Route 53 zone)")
        return self


class GatewayConfig(StrictModel):
    #: The public host models are served under, e.g. `models.dev.example.com`.
    hostname: str = Field("models.example.com", pattern=HOSTNAME_PATTERN)
    #: On EKS the gateway Service is an AWS NLB, internet-facing or internal.
    load_balancer: Literal["internet-facing", "internal"] = "internet-facing"
    #: CIDRs allowed to reach an internet-facing NLB (empty: everyone).
    source_ranges: list[str] = Field(default_factory=list)
    #: Envoy proxy replicas behind the load balancer (spread over zones).
    replicas: int = Field(2, ge=1, le=20)
    tls: TlsConfig = Field(default_factory=lambda: TlsConfig(mode="acme", acme_email="platform@example.com"))
    #: Encrypt gateway -> model pod traffic too (BackendTLSPolicy; certificates from the platform's cert-manager under a
    #: CA per team namespace; `components/backend_tls.py`).
    backend_tls: bool = False

    @field_validator("source_ranges")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for c in v:
            ipaddress.ip_network(c, strict=True)
        return v


# ---------------------------------------------------------------------------------------------------------------
# Per-route options (a model's `exposure`)


class RetryOptions(StrictModel):
    """Retries by the gateway. Inference requests are not idempotent in cost: by default only failures that happen
    before the backend saw the request are retried."""

    attempts: int = Field(2, ge=0, le=10, description="Retries after the first attempt (0 disables retries).")
    on: list[RetryTrigger] = Field(
        default_factory=lambda: list[RetryTrigger](["connect-failure", "refused-stream", "reset-before-request"]),
        min_length=1,
    )
    #: Timeout of each attempt; unset: each attempt may use the whole request timeout.
    per_try_timeout: Optional[GatewayDuration] = Field(None, pattern=_GATEWAY_DURATION)
    backoff_base: GatewayDuration = Field("100ms", pattern=_GATEWAY_DURATION)
    backoff_max: GatewayDuration = Field("2s", pattern=_GATEWAY_DURATION)


class RateLimitOptions(StrictModel):
    """A local rate limit: enforced by each Envoy proxy replica on its own (no shared counter service), so the
    route-wide limit is `requests * gateway.replicas`."""

    requests: int = Field(ge=1, le=4_294_967_295)
    unit: Literal["Second", "Minute", "Hour"] = "Second"


class ApiKeyAuthOptions(StrictModel):
    """API keys checked by the gateway. Keys are either given here (Pulumi secrets, one per client ID; the platform
    writes them to a Secret in the model's namespace) or kept in an existing Secret there (key = client ID)."""

    #: Request header carrying the key.
    header: str = Field("x-api-key", pattern=r"^[A-Za-z0-9-]+$")
    keys: dict[Name, Secret] = Field(default_factory=dict)
    existing_secret: Optional[Name] = None

    @model_validator(mode="after")
    def _one_source(self) -> "ApiKeyAuthOptions":
        if bool(self.keys) == bool(self.existing_secret):
            raise ValueError("apiKey needs exactly one of keys (client ID -> secret key) or existingSecret")
        return self


class JwtAuthOptions(StrictModel):
    """JWT bearer tokens (`Authorization: Bearer <jwt>`) verified against an issuer's JWKS."""

    issuer: str = Field(pattern=r"^https://\S+$", max_length=253)
    jwks_uri: str = Field(pattern=r"^https://\S+$")
    audiences: list[str] = Field(default_factory=list, max_length=8)


class RouteOptions(StrictModel):
    """How the gateway treats one model's route."""

    #: Time until the whole response is received (for streamed LLM responses: the whole stream). Unset: the
    #: runtime's default (long for LLM runtimes). Envoy's own default would be 15s.
    request_timeout: Optional[GatewayDuration] = Field(None, pattern=_GATEWAY_DURATION)
    #: Time a stream may be silent (no byte either way) before it is reset.
    idle_timeout: Optional[GatewayDuration] = Field(None, pattern=_GATEWAY_DURATION)
    retries: RetryOptions = Field(default_factory=RetryOptions)
    rate_limit: Optional[RateLimitOptions] = None
    api_key: Optional[ApiKeyAuthOptions] = None
    jwt: Optional[JwtAuthOptions] = None

    @model_validator(mode="after")
    def _one_auth(self) -> "RouteOptions":
        if self.api_key is not None and self.jwt is not None:
            raise ValueError("choose one of apiKey or jwt: a route with both would require both on every request")
        return self


def checks(cfg: "PlatformConfig") -> list[Issue]:
    from ..catalog.runtimes import PRESETS

    issues: list[Issue] = []
    gw = cfg.gateway
    if gw.source_ranges and gw.load_balancer == "internal":
        issues.append(Issue(("gateway", "sourceRanges"), "sourceRanges only applies to an internet-facing load balancer"))
    if gw.tls.mode == "acme" and gw.tls.acme_challenge == "http01":
        if gw.hostname.startswith("*."):
            issues.append(Issue(("gateway", "tls", "acmeChallenge"), "a wildcard hostname needs acmeChallenge 'dns01'"))
        if gw.load_balancer == "internal":
            issues.append(Issue(
                ("gateway", "tls", "acmeChallenge"),
                "HTTP-01 needs the ACME CA to reach the gateway; an internal load balancer needs acmeChallenge 'dns01'",
            ))
    if gw.tls.acme_challenge == "dns01" and cfg.cluster.mode != "eks":
        issues.append(Issue(("gateway", "tls", "acmeChallenge"), "dns01 (Route 53 through pod identity) needs cluster.mode 'eks'"))
    if gw.backend_tls and gw.tls.mode != "acme":
        issues.append(Issue(("gateway", "backendTls"), "backendTls needs the platform's cert-manager, which runs with tls.mode 'acme'"))
    for i, m in enumerate(cfg.models):
        if gw.backend_tls and m.wakes_on_request:
            # keda-add-ons-http 0.15.0: the interceptor forwards to the HTTPScaledObject's Service port in plain HTTP
            # (its TLS settings are for its own proxy listener only), so a waking model's last hop cannot be TLS.
            issues.append(Issue(
                ("models", i, "scaling", "minReplicas"),
                "with gateway.backendTls every request reaches the pod over TLS, but a model at zero is woken through "
                "the KEDA HTTP interceptor, which forwards in plain HTTP: set minReplicas >= 1 (activeHours can still "
                "bring it down at night), or turn backendTls off",
            ))
        if m.exposure.grpc and m.preset.grpc_port is None:
            grpc = sorted(n for n, p in PRESETS.items() if p.grpc_port)
            issues.append(Issue(("models", i, "exposure", "grpc"), f"runtime {m.runtime!r} serves no gRPC the platform routes (gRPC runtimes: {', '.join(grpc)})"))
        elif m.exposure.grpc and m.shared is not None:
            issues.append(Issue(
                ("models", i, "exposure", "grpc"),
                "gRPC names the model inside each message, so the gateway cannot keep a fleet's models (and their auth) "
                "apart: serve the model dedicated (drop shared) for gRPC",
            ))
    return issues
