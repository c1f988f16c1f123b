"""Gateway config: the shared Gateway API front door (Envoy Gateway) and its TLS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional

from pydantic import Field, model_validator

from .base import Issue, StrictModel

if TYPE_CHECKING:
    from .platform import PlatformConfig

Hostname = str


class TlsConfig(StrictModel):
    #: `acme`: cert-manager issues a certificate from an ACME CA; `secret`: an existing kubernetes.io/tls Secret.
    mode: Literal["acme", "secret"] = "acme"
    acme_email: Optional[str] = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    acme_server: str = "https://acme-v02.api.letsencrypt.org/directory"
    #: Name of an existing TLS Secret in the gateway namespace (mode `secret`).
    secret_name: Optional[str] = None

    @model_validator(mode="after")
    def _mode(self) -> "TlsConfig":
        if self.mode == "acme" and not self.acme_email:
            raise ValueError("tls.mode 'acme' needs acmeEmail (the ACME account contact)")
        if self.mode == "secret" and not self.secret_name:
            raise ValueError("tls.mode 'secret' needs secretName")
        return self


class GatewayConfig(StrictModel):
    #: The public host models are served under, e.g. `models.dev.example.com`.
    hostname: str = Field(
        "models.example.com", pattern=r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$"
    )
    #: On EKS the gateway Service is an AWS NLB, internet-facing or internal.
    load_balancer: Literal["internet-facing", "internal"] = "internet-facing"
    tls: TlsConfig = Field(default_factory=lambda: TlsConfig(mode="acme", acme_email="platform@example.com"))


def checks(cfg: "PlatformConfig") -> list[Issue]:
    return []
