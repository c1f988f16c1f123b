"""TLS from the gateway to model pods (`gateway.backendTls`): a CA per team namespace, a certificate per workload
Service, a BackendTLSPolicy telling Envoy Gateway to verify it, and TLS served in the pod.

- CA: in each team namespace a self-signed bootstrap Issuer, a CA Certificate (`serving-ca`, ECDSA P-256, renewed by
  cert-manager) and a CA Issuer `serving-ca` signing the namespace's serving certificates
  (https://cert-manager.io/docs/configuration/selfsigned/#bootstrapping-ca-issuers). A namespace's CA signs only its
  own Services: a team cannot mint a certificate another team's backend would be trusted with.
- Per workload Service (a model track's, or a fleet's): a Certificate for `<svc>.<ns>.svc[.cluster.local]` (90 days,
  renewed 30 days before expiry, new key on every renewal) and a BackendTLSPolicy (gateway.networking.k8s.io/v1)
  on the Service's TLS ports with hostname `<svc>.<ns>.svc.cluster.local`, validated against the namespace CA (a Secret
  reference: Envoy Gateway v1.9 reads `ca.crt` from ConfigMaps, Secrets or ClusterTrustBundles,
  internal/gatewayapi/backendtlspolicy.go `getCaCertsFromCARefs`).
- In the pod: which runtimes serve TLS natively? vLLM (uvicorn `--ssl-certfile/--ssl-keyfile`), Triton on gRPC only
  (`--grpc-use-ssl`), TF Serving on gRPC only (`--ssl_config_file`); MLServer 1.7 and Triton/TF Serving over HTTP do
  not. So that every runtime and both protocols are alike, and a rotated certificate is picked up without restarting
  the server, the platform adds a small TLS proxy to every pod: Envoy (the gateway's own pinned image) terminating TLS
  on `https` (to the server's HTTP port) and `grpcs` (to its gRPC port, ALPN h2), reading the certificate through
  file-based SDS that watches the mounted Secret. The NetworkPolicy then admits the gateway only on the TLS ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import conventions as cv
from .certs import ISSUER_API_VERSION
from .k8s import custom_resource, meta

#: The gateway's own Envoy (Envoy Gateway v1.9.0 api/v1alpha1/shared_types.go DefaultEnvoyProxyImage).
PROXY_IMAGE = "docker.io/envoyproxy/envoy:distroless-v1.39.0"
CA_NAME = "serving-ca"
BOOTSTRAP_ISSUER = "serving-selfsigned"
#: Container ports of the proxy (the Service maps HTTPS_PORT / GRPCS_PORT to them).
TLS_PORT = 8443
GRPCS_PORT = 8444
HTTPS_SERVICE_PORT = 443
GRPCS_SERVICE_PORT = 9443
CERT_DIR = "/etc/serving-tls"
PROXY_CONFIG_DIR = "/etc/tls-proxy"


class NamespaceCA(pulumi.ComponentResource):
    """`serving:backend_tls:NamespaceCA`: the CA Issuer of one team namespace."""

    issuer_name: str

    def __init__(self, name: str, namespace: str, provider: k8s.Provider, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:backend_tls:NamespaceCA", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=opts.depends_on if opts else None)
        labels = cv.common_labels(CA_NAME, "backend-tls")
        bootstrap = custom_resource(f"{name}-bootstrap", ISSUER_API_VERSION, "Issuer", meta(BOOTSTRAP_ISSUER, namespace, labels),
                                    {"selfSigned": {}}, child)
        ca = custom_resource(
            f"{name}-ca", ISSUER_API_VERSION, "Certificate", meta(CA_NAME, namespace, labels),
            {
                "isCA": True,
                "commonName": f"{namespace} serving CA",
                "secretName": CA_NAME,
                "duration": "87600h",  # 10 years; cert-manager renews it 1/3 before expiry
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": BOOTSTRAP_ISSUER},
            },
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[bootstrap])),
        )
        self.issuer = custom_resource(f"{name}-issuer", ISSUER_API_VERSION, "Issuer", meta(CA_NAME, namespace, labels),
                                      {"ca": {"secretName": CA_NAME}},
                                      pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[ca])))
        self.issuer_name = CA_NAME
        self.register_outputs({"issuer": CA_NAME})


def cert_secret(service: str) -> str:
    return f"{service}-tls"


def certificate_spec(service: str, namespace: str) -> dict[str, Any]:
    return {
        "secretName": cert_secret(service),
        "dnsNames": [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"],
        "duration": "2160h",
        "renewBefore": "720h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["server auth", "digital signature"],
        "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": CA_NAME},
    }


def backend_tls_policy_spec(service: str, namespace: str, grpc: bool) -> dict[str, Any]:
    sections = ["https", *(["grpcs"] if grpc else [])]
    return {
        "targetRefs": [{"group": "", "kind": "Service", "name": service, "sectionName": s} for s in sections],
        "validation": {
            "caCertificateRefs": [{"group": "", "kind": "Secret", "name": CA_NAME}],
            "hostname": f"{service}.{namespace}.svc.cluster.local",
        },
    }


def proxy_config(http_port: int, grpc_port: Optional[int]) -> str:
    """Envoy bootstrap: TLS listeners proxying TCP to the server's ports on localhost; certificate via file SDS
    (reloaded when the mounted Secret changes: `watched_directory`)."""

    def listener(name: str, port: int, target: str, alpn: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
            "filter_chains": [{
                "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                    "common_tls_context": {
                        "alpn_protocols": alpn,
                        "tls_certificate_sds_secret_configs": [{"name": "server", "sds_config": {"path_config_source": {
                            "path": f"{PROXY_CONFIG_DIR}/sds.yaml", "watched_directory": {"path": CERT_DIR}}}}],
                    },
                }},
                "filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                    "stat_prefix": name, "cluster": target}}],
            }],
        }

    def cluster(name: str, port: int) -> dict[str, Any]:
        return {"name": name, "type": "STATIC", "connect_timeout": "5s", "load_assignment": {"cluster_name": name, "endpoints": [
            {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}

    listeners = [listener("https", TLS_PORT, "http", ["http/1.1"])]
    clusters = [cluster("http", http_port)]
    if grpc_port:
        listeners.append(listener("grpcs", GRPCS_PORT, "grpc", ["h2"]))
        clusters.append(cluster("grpc", grpc_port))
    return yaml.safe_dump({"static_resources": {"listeners": listeners, "clusters": clusters}}, sort_keys=False)


SDS_CONFIG = yaml.safe_dump({"resources": [{
    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    "name": "server",
    "tls_certificate": {"certificate_chain": {"filename": f"{CERT_DIR}/tls.crt"}, "private_key": {"filename": f"{CERT_DIR}/tls.key"}},
}]}, sort_keys=False)


@dataclass
class PodTls:
    """What a workload's pod and Service get for TLS to the pod."""

    sidecar: dict[str, Any]
    volumes: list[dict[str, Any]]
    service_ports: list[dict[str, Any]]
    #: Container ports the gateway may reach (the NetworkPolicy admits only these).
    ingress_ports: list[int]
    resources: list[pulumi.Resource] = field(default_factory=list)


def workload_tls(
    name: str, service: str, namespace: str, labels: Mapping[str, str], *, http_port: int, grpc_port: Optional[int],
    security_context: dict[str, Any], opts: pulumi.ResourceOptions,
) -> PodTls:
    """Certificate, BackendTLSPolicy and proxy ConfigMap of one workload Service; the sidecar and ports to add."""
    config_name = f"{service}-tls-proxy"
    cert = custom_resource(f"{name}-certificate", ISSUER_API_VERSION, "Certificate", meta(cert_secret(service), namespace, labels),
                           certificate_spec(service, namespace), opts)
    config = k8s.core.v1.ConfigMap(f"{name}-tls-proxy", metadata=meta(config_name, namespace, labels),
                                   data={"envoy.yaml": proxy_config(http_port, grpc_port), "sds.yaml": SDS_CONFIG}, opts=opts)
    policy = custom_resource(f"{name}-backend-tls", "gateway.networking.k8s.io/v1", "BackendTLSPolicy",
                             meta(service, namespace, labels), backend_tls_policy_spec(service, namespace, grpc_port is not None), opts)
    ports = [{"name": "tls-http", "containerPort": TLS_PORT, "protocol": "TCP"}]
    service_ports: list[dict[str, Any]] = [{"name": "https", "port": HTTPS_SERVICE_PORT, "targetPort": "tls-http", "protocol": "TCP"}]
    ingress = [TLS_PORT]
    if grpc_port:
        ports.append({"name": "tls-grpc", "containerPort": GRPCS_PORT, "protocol": "TCP"})
        service_ports.append({"name": "grpcs", "port": GRPCS_SERVICE_PORT, "targetPort": "tls-grpc", "protocol": "TCP"})
        ingress.append(GRPCS_PORT)
    sidecar = {
        "name": "tls-proxy",
        "image": PROXY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # A native sidecar: up before the server, stopped after it.
        "restartPolicy": "Always",
        "command": ["envoy"],
        "args": ["--config-path", f"{PROXY_CONFIG_DIR}/envoy.yaml", "--log-level", "warn", "--disable-hot-restart"],
        "ports": ports,
        "readinessProbe": {"tcpSocket": {"port": TLS_PORT}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": security_context,
        "volumeMounts": [
            {"name": "tls-cert", "mountPath": CERT_DIR, "readOnly": True},
            {"name": "tls-proxy", "mountPath": PROXY_CONFIG_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": "tls-cert", "secret": {"secretName": cert_secret(service), "defaultMode": 0o440}},
        {"name": "tls-proxy", "configMap": {"name": config_name, "defaultMode": 0o444}},
    ]
    return PodTls(sidecar, volumes, service_ports, ingress, [cert, config, policy])
