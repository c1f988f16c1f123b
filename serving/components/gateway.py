"""The platform's front door: Envoy Gateway, a GatewayClass and one shared HTTPS Gateway (Gateway API).

ingress-nginx is retired (best-effort maintenance ended March 2026); the platform uses the Gateway API with Envoy
Gateway (https://gateway.envoyproxy.io/docs/install/install-helm/). What this component creates:

- on EKS, the AWS Load Balancer Controller (`load_balancer.py`): the gateway's Service becomes an NLB;
- Envoy Gateway (pinned chart; it also installs the Gateway API CRDs);
- an `EnvoyProxy` (the GatewayClass' parametersRef) shaping the Envoy fleet: replicas spread over zones, a PDB, and
  the Service with its NLB annotations (internet-facing or internal, from config);
- the GatewayClass and the Gateway `platform` with listeners `http` (80: only the HTTP->HTTPS redirect and ACME
  HTTP-01 challenges), `https` (443, the models' host; routes from team namespaces only) and, when Grafana has a
  host, `grafana` (443, routes from the monitoring namespace only);
- TLS: cert-manager + an ACME ClusterIssuer + a Certificate for every HTTPS host (`certs.py`), or an existing Secret;
- Envoy AI Gateway as Envoy Gateway's extension server (`ai_gateway.py`): InferencePool backends for LLM models and
  the OpenAI endpoint under `/v1`.

Envoy's per-route upstream metrics are scraped by a PodMonitor the monitoring component creates
(`observability/metrics.py` explains which metrics and labels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import pulumi

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from ..config.llm import inference_gateway
from .ai_gateway import AiGateway, extension_manager_values
from .certs import ISSUER_API_VERSION, CertManager
from .helm import chart_release
from .k8s import custom_resource, meta
from .load_balancer import LOAD_BALANCER_CLASS, AwsLoadBalancerController
from .monitoring import GRAFANA_SERVICE

if TYPE_CHECKING:
    from .cluster import Cluster

#: Envoy Gateway's controller name (https://gateway.envoyproxy.io/docs/tasks/quickstart/).
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
ENVOY_PROXY_NAME = "platform-proxy"
#: Listener names (HTTPRoute `parentRefs[].sectionName`).
HTTP_LISTENER = "http"
HTTPS_LISTENER = "https"
GRAFANA_LISTENER = "grafana"
#: Secret holding the gateway's certificate when cert-manager issues it.
TLS_SECRET = "platform-gateway-tls"
#: Labels Envoy Gateway puts on the proxy pods of a Gateway (v1.9.0: `EnvoyAppLabel()` in
#: internal/infrastructure/kubernetes/proxy/resource.go, `OwningGateway*Label` in internal/gatewayapi/translator.go).
PROXY_POD_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "gateway.envoyproxy.io/owning-gateway-name": cv.GATEWAY_NAME,
    "gateway.envoyproxy.io/owning-gateway-namespace": cv.GATEWAY_NAMESPACE,
}
#: AWS Load Balancer Controller Service annotations (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/).
LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"


def nlb_annotations(cfg: PlatformConfig) -> dict[str, str]:
    gw = cfg.gateway
    out = {
        f"{LB_ANNOTATION}type": "external",
        f"{LB_ANNOTATION}nlb-target-type": "ip",
        f"{LB_ANNOTATION}scheme": gw.load_balancer,
        f"{LB_ANNOTATION}attributes": "load_balancing.cross_zone.enabled=true",
    }
    if gw.load_balancer == "internet-facing":
        # Envoy sees the client's address (rate limits, access logs); not for internal NLBs, where a client on
        # the same node as its target could not be answered (NLB hairpinning).
        out[f"{LB_ANNOTATION}target-group-attributes"] = "preserve_client_ip.enabled=true"
    return out


def envoy_proxy_spec(cfg: PlatformConfig) -> dict[str, Any]:
    gw = cfg.gateway
    service: dict[str, Any] = {"type": "LoadBalancer"}
    if cfg.cluster.mode == "eks":
        service.update({"loadBalancerClass": LOAD_BALANCER_CLASS, "annotations": nlb_annotations(cfg)})
    if gw.source_ranges:
        service["loadBalancerSourceRanges"] = list(gw.source_ranges)
    return {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyDeployment": {
                    "replicas": gw.replicas,
                    "pod": {
                        "topologySpreadConstraints": cv.ha_spread(PROXY_POD_LABELS),
                    },
                },
                "envoyPDB": {"minAvailable": 1} if gw.replicas > 1 else {"maxUnavailable": 1},
                "envoyService": service,
            },
        },
    }


def tls_hosts(cfg: PlatformConfig) -> list[str]:
    """Every host the Gateway terminates TLS for."""
    return [cfg.gateway.hostname, *([cfg.monitoring.grafana.host] if cfg.monitoring.grafana.host else [])]


def tls_secret_name(cfg: PlatformConfig) -> str:
    return cfg.gateway.tls.secret_name if cfg.gateway.tls.mode == "secret" and cfg.gateway.tls.secret_name else TLS_SECRET


def gateway_spec(cfg: PlatformConfig) -> dict[str, Any]:
    cert = [{"group": "", "kind": "Secret", "name": tls_secret_name(cfg)}]
    listeners: list[dict[str, Any]] = [
        # Port 80 serves only routes of the gateway's own namespace: the HTTPS redirect and cert-manager's
        # HTTP-01 challenge routes (created next to the Certificate).
        {"name": HTTP_LISTENER, "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}},
        {
            "name": HTTPS_LISTENER,
            "protocol": "HTTPS",
            "port": 443,
            "hostname": cfg.gateway.hostname,
            "tls": {"mode": "Terminate", "certificateRefs": cert},
            # Models attach from team namespaces (labelled by `components/team.py`) only.
            "allowedRoutes": {
                "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                "namespaces": {"from": "Selector", "selector": {"matchExpressions": [{"key": cv.TEAM_LABEL, "operator": "Exists"}]}},
            },
        },
    ]
    if cfg.monitoring.grafana.host:
        listeners.append({
            "name": GRAFANA_LISTENER,
            "protocol": "HTTPS",
            "port": 443,
            "hostname": cfg.monitoring.grafana.host,
            "tls": {"mode": "Terminate", "certificateRefs": cert},
            "allowedRoutes": {
                "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                "namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": cv.MONITORING_NAMESPACE}}},
            },
        })
    return {"gatewayClassName": cv.GATEWAY_CLASS_NAME, "listeners": listeners}


def redirect_route_spec(cfg: PlatformConfig) -> dict[str, Any]:
    # Same hostnames as the ACME solver's routes, so both land in one virtual host where the solver's exact
    # path match wins over this catch-all (Gateway API route precedence).
    return {
        "parentRefs": [gateway_parent_ref(HTTP_LISTENER)],
        "hostnames": tls_hosts(cfg),
        "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
    }


def certificate_spec(cfg: PlatformConfig, issuer: str) -> dict[str, Any]:
    return {
        "secretName": TLS_SECRET,
        "dnsNames": tls_hosts(cfg),
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
    }


def proxy_pod_monitor_spec() -> dict[str, Any]:
    """Scrape every Envoy proxy of the platform Gateway on its `metrics` port, path `/stats/prometheus`
    (examples/kubernetes/metric/pod-monitor.yaml of Envoy Gateway v1.9.0)."""
    return {
        "selector": {"matchLabels": dict(PROXY_POD_LABELS)},
        "namespaceSelector": {"matchNames": [cv.GATEWAY_NAMESPACE]},
        "podMetricsEndpoints": [{"port": "metrics", "path": "/stats/prometheus", "interval": "15s"}],
    }


def gateway_parent_ref(section: Optional[str] = None) -> dict[str, str]:
    ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": cv.GATEWAY_NAME, "namespace": cv.GATEWAY_NAMESPACE}
    if section:
        ref["sectionName"] = section
    return ref


def envoy_gateway_values() -> dict[str, Any]:
    """gateway-helm values: the controller above models; requests and a memory limit for its certgen Job (the
    chart sets none)."""
    return {
        "deployment": {"priorityClassName": cv.PLATFORM_PRIORITY_CLASS},
        "certgen": {"job": {"resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}}},
    }


class Gateway(pulumi.ComponentResource):
    """`serving:gateway:Gateway`: every model's HTTPRoute attaches to the Gateway this creates."""

    #: Base URL models are served under, e.g. `https://models.example.com`.
    base_url: str
    address: pulumi.Output[str]

    def __init__(self, name: str, cfg: PlatformConfig, cluster: "Cluster", depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        """`depends_on`: what the charts need first (nodes to run on; the monitoring CRDs their ServiceMonitors use)."""
        super().__init__("serving:gateway:Gateway", name, None, opts)
        provider = cluster.k8s_provider
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace = cv.GATEWAY_NAMESPACE
        self.gateway_name = cv.GATEWAY_NAME
        self.hostname = cfg.gateway.hostname
        self.base_url = f"https://{cfg.gateway.hostname}"
        labels = cv.common_labels("envoy-gateway", "gateway")

        deps = list(depends_on)
        if cluster.eks_cluster is not None:
            self.load_balancer_controller: Optional[AwsLoadBalancerController] = AwsLoadBalancerController(
                f"{name}-lbc", cluster, depends_on=deps, opts=pulumi.ResourceOptions(parent=self)
            )
            deps.append(self.load_balancer_controller.release)
        else:
            self.load_balancer_controller = None

        # Envoy Gateway with Envoy AI Gateway as its extension server (InferencePool backends, the OpenAI endpoint).
        self.controller = chart_release(
            f"{name}-envoy-gateway", charts.ENVOY_GATEWAY, cv.GATEWAY_NAMESPACE,
            {**envoy_gateway_values(), **(extension_manager_values() if inference_gateway(cfg) else {})},
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deps)), release_name="envoy-gateway",
        )
        after_controller = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.controller]))
        self.ai_gateway: Optional[AiGateway] = None
        if inference_gateway(cfg):
            self.ai_gateway = AiGateway(
                f"{name}-ai", cfg, provider, depends_on=[self.controller, *deps], opts=pulumi.ResourceOptions(parent=self),
            )
        self.envoy_proxy = custom_resource(
            f"{name}-proxy", ENVOY_API, "EnvoyProxy", meta(ENVOY_PROXY_NAME, cv.GATEWAY_NAMESPACE, labels),
            envoy_proxy_spec(cfg), after_controller,
        )
        self.gateway_class = custom_resource(
            f"{name}-class", GATEWAY_API, "GatewayClass", meta(cv.GATEWAY_CLASS_NAME, labels=labels),
            {
                "controllerName": CONTROLLER_NAME,
                "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": ENVOY_PROXY_NAME, "namespace": cv.GATEWAY_NAMESPACE},
            },
            pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(depends_on=[self.envoy_proxy])),
        )

        self.cert_manager: Optional[CertManager] = None
        if cfg.gateway.tls.mode == "acme":
            self.cert_manager = CertManager(
                f"{name}-certs", cfg, cluster, gateway_parent_ref(HTTP_LISTENER), depends_on=deps,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.certificate = custom_resource(
                f"{name}-certificate", ISSUER_API_VERSION, "Certificate", meta(TLS_SECRET, cv.GATEWAY_NAMESPACE, labels),
                certificate_spec(cfg, self.cert_manager.issuer_name),
                pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(depends_on=[self.cert_manager])),
            )

        self.gateway = custom_resource(
            f"{name}-gateway", GATEWAY_API, "Gateway", meta(cv.GATEWAY_NAME, cv.GATEWAY_NAMESPACE, labels),
            gateway_spec(cfg),
            # After AI Gateway: its webhook adds the ext_proc sidecar to the Envoy pods this Gateway creates.
            pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(
                depends_on=[self.gateway_class, *([self.ai_gateway] if self.ai_gateway else [])])),
        )
        self.redirect = custom_resource(
            f"{name}-https-redirect", GATEWAY_API, "HTTPRoute", meta("https-redirect", cv.GATEWAY_NAMESPACE, labels),
            redirect_route_spec(cfg),
            pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(depends_on=[self.gateway])),
        )
        # Envoy's stats (per-route upstream request counts, latency histograms) for the platform's Prometheus.
        self.pod_monitor = custom_resource(
            f"{name}-proxy-metrics", "monitoring.coreos.com/v1", "PodMonitor",
            meta("envoy-proxy", cv.GATEWAY_NAMESPACE, {**labels, **cv.MONITORING_SELECTOR}),
            proxy_pod_monitor_spec(),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deps)),
        )
        if cfg.monitoring.grafana.host:
            self.grafana_route = custom_resource(
                f"{name}-grafana-route", GATEWAY_API, "HTTPRoute", meta("grafana", cv.MONITORING_NAMESPACE, labels),
                {
                    "parentRefs": [gateway_parent_ref(GRAFANA_LISTENER)],
                    "hostnames": [cfg.monitoring.grafana.host],
                    "rules": [{"backendRefs": [{"name": GRAFANA_SERVICE, "port": 80}]}],
                },
                pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(depends_on=[self.gateway, *deps])),
            )
        # Clients reach the gateway by its host name: point DNS (a CNAME/alias) at the load balancer Envoy Gateway
        # creates (`kubectl -n envoy-gateway-system get svc -l gateway.envoyproxy.io/owning-gateway-name=platform`).
        self.address = pulumi.Output.from_input(cfg.gateway.hostname)
        self.register_outputs({"address": self.address, "baseUrl": self.base_url})

    def parent_ref(self) -> dict[str, str]:
        """The `parentRefs` entry of a model's HTTPRoute: the Gateway's HTTPS listener for the models' host."""
        return gateway_parent_ref(HTTPS_LISTENER)
