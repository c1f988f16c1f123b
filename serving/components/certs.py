"""TLS certificates for the Gateway: cert-manager (pinned chart) and an ACME ClusterIssuer.

HTTP-01 goes through the platform's own Gateway: cert-manager creates a temporary HTTPRoute for each challenge
(its `gatewayHTTPRoute` solver, https://cert-manager.io/docs/configuration/acme/http01/#configuring-the-http-01-gateway-api-solver),
which needs Gateway API support switched on in cert-manager (`enableGatewayAPI` in its ControllerConfiguration,
https://cert-manager.io/docs/usage/gateway/). DNS-01 writes TXT records in a Route 53 zone, with AWS credentials
from EKS Pod Identity on cert-manager's ServiceAccount (the route53 solver's ambient credentials).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

import pulumi

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from .helm import chart_release
from .iam import pod_identity_role
from .k8s import custom_resource, meta

if TYPE_CHECKING:
    from .cluster import Cluster

#: cert-manager's controller ServiceAccount (chart default name = release name `cert-manager`).
SERVICE_ACCOUNT = "cert-manager"
CLUSTER_ISSUER_NAME = "acme"
ISSUER_API_VERSION = "cert-manager.io/v1"


def cert_manager_values(cfg: PlatformConfig) -> dict[str, Any]:
    return {
        # CRDs installed and kept by the release (`crds.keep`: uninstalling never deletes every Certificate).
        "crds": {"enabled": True, "keep": True},
        "global": {"priorityClassName": cv.PLATFORM_PRIORITY_CLASS},
        # Requests and a memory limit for every component (the chart sets none); sizes from cert-manager's own
        # deploy/charts guidance for a cluster of a few hundred certificates.
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "webhook": {"resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}},
        "cainjector": {"resources": {"requests": {"cpu": "20m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}},
        "startupapicheck": {"resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}},
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        },
        # Metrics scraped by the platform's Prometheus (its selector label, not the chart's `release` label).
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": True, "labels": dict(cv.MONITORING_SELECTOR)}},
    }


def route53_policy(hosted_zone_id: str) -> str:
    """IAM policy for the DNS-01 route53 solver (https://cert-manager.io/docs/configuration/acme/dns01/route53/)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "route53:GetChange", "Resource": "arn:aws:route53:::change/*"},
            {
                "Effect": "Allow",
                "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
                "Resource": f"arn:aws:route53:::hostedzone/{hosted_zone_id}",
                "Condition": {"ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}},
            },
            {"Effect": "Allow", "Action": "route53:ListHostedZonesByName", "Resource": "*"},
        ],
    }, sort_keys=True)


def cluster_issuer_spec(cfg: PlatformConfig, gateway_ref: dict[str, str]) -> dict[str, Any]:
    tls = cfg.gateway.tls
    if tls.acme_challenge == "dns01":
        assert tls.dns01 is not None  # enforced by TlsConfig
        solver: dict[str, Any] = {"dns01": {"route53": {"region": tls.dns01.region, "hostedZoneID": tls.dns01.hosted_zone_id}}}
    else:
        solver = {"http01": {"gatewayHTTPRoute": {"parentRefs": [gateway_ref]}}}
    return {
        "acme": {
            "email": tls.acme_email,
            "server": tls.acme_server,
            "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER_NAME}-account-key"},
            "solvers": [solver],
        }
    }


class CertManager(pulumi.ComponentResource):
    """`serving:certs:CertManager`: cert-manager and the ACME ClusterIssuer the Gateway's Certificate uses."""

    issuer_name: str

    def __init__(self, name: str, cfg: PlatformConfig, cluster: "Cluster", gateway_ref: dict[str, str],
                 depends_on: Optional[list[pulumi.Resource]] = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:certs:CertManager", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=cluster.k8s_provider)
        deps = list(depends_on or [])
        tls = cfg.gateway.tls
        if tls.acme_challenge == "dns01":
            assert tls.dns01 is not None  # enforced by TlsConfig
            identity = pod_identity_role(
                f"{name}-identity", cluster, cv.CERT_MANAGER_NAMESPACE, SERVICE_ACCOUNT,
                policy_json=route53_policy(tls.dns01.hosted_zone_id), parent=self,
            )
            deps.append(identity.association)
        self.release = chart_release(
            f"{name}-cert-manager", charts.CERT_MANAGER, cv.CERT_MANAGER_NAMESPACE, cert_manager_values(cfg),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deps)),
            release_name="cert-manager",
        )
        self.issuer_name = CLUSTER_ISSUER_NAME
        self.issuer = custom_resource(
            f"{name}-issuer", ISSUER_API_VERSION, "ClusterIssuer",
            meta(CLUSTER_ISSUER_NAME, labels=cv.common_labels("cert-manager", "issuer")),
            cluster_issuer_spec(cfg, gateway_ref),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release])),
        )
        self.register_outputs({"issuer": self.issuer_name})
