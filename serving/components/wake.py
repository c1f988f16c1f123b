"""Wake on request: the KEDA HTTP add-on (pinned chart `charts.KEDA_HTTP_ADD_ON`), installed when a model can be at
zero replicas (`scaling.minReplicas: 0`).

Why the add-on (and not the gateway alone): Envoy Gateway answers a route whose backends have no ready endpoint
with a 503 direct response (`autoscaling.py`), so nothing ever sees the request that should wake the model. The
add-on's interceptor is a proxy that is always up: the model's HTTPRoute sends its primary traffic to the
interceptor's Service (in the KEDA namespace, allowed by a ReferenceGrant), the interceptor counts pending requests
per HTTPScaledObject, its external scaler pushes "active" to KEDA (trigger `external-push` in the model's own
ScaledObject), KEDA scales the Deployment 0 -> 1, and the interceptor holds the request until an endpoint is ready
(at most the model's `timeouts.conditionWait`; then a 504 "backend not ready") and forwards it. Models that cannot
be at zero keep a direct route: no extra hop.

Interceptor facts (kedacore/http-add-on v0.15.0):
- proxy port 8080, Service `keda-add-ons-http-interceptor-proxy` (chart templates/interceptor/service-proxy.yaml);
- routing: the HTTPScaledObject's `hosts`, `pathPrefixes` and `headers` (pkg/routing/table.go turns it into an
  InterceptorRoute); `timeouts.conditionWait` bounds the wait for a ready replica (interceptor/middleware/
  endpoint_resolver.go: 504 when it expires), `timeouts.responseHeader` the wait for response headers;
- annotation `httpscaledobject.keda.sh/skip-scaledobject-creation: "true"` (operator/controllers/http/app.go): the
  operator does not create a ScaledObject, the model's own ScaledObject carries the `external-push` trigger with
  metadata `scalerAddress` and `httpScaledObject` (pkg/k8s/scaledobject.go), next to its Prometheus and cron ones;
- metrics: OpenTelemetry's Prometheus exporter, on by default on port 2223 (pkg/observability/config.go
  OTEL_PROM_EXPORTER_*), instruments `interceptor.request.count`, `.duration` (s), `.concurrency` with labels
  `route_name`, `route_namespace`, `code`, `method` (interceptor/metrics/instruments.go); the chart declares no
  container port for it, so the PodMonitor scrapes it by number. The scaler's metrics port is named `metrics`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from .helm import chart_release
from .k8s import custom_resource, meta

RELEASE = "keda-add-ons-http"
#: `.Chart.Name` prefixes every object of the chart (templates/interceptor/*.yaml).
CHART_NAME = "keda-add-ons-http"
INTERCEPTOR_PROXY_SERVICE = f"{CHART_NAME}-interceptor-proxy"
INTERCEPTOR_PROXY_PORT = 8080
SCALER_ADDRESS = f"{CHART_NAME}-external-scaler.{cv.KEDA_NAMESPACE}:9090"
INTERCEPTOR_METRICS_PORT = 2223
HTTP_SCALED_OBJECT_API = "http.keda.sh/v1alpha1"
SKIP_SCALED_OBJECT_ANNOTATION = "httpscaledobject.keda.sh/skip-scaledobject-creation"
#: Pod labels of the interceptor (templates/interceptor/deployment.yaml + `keda-http-add-on.matchLabels`).
INTERCEPTOR_POD_LABELS = {
    "app.kubernetes.io/component": "interceptor",
    "app.kubernetes.io/name": "http-add-on",
    "app.kubernetes.io/instance": RELEASE,
}
SCALER_POD_LABELS = {
    "app.kubernetes.io/component": "scaler",
    "app.kubernetes.io/name": "http-add-on",
    "app.kubernetes.io/instance": RELEASE,
}


def needed(cfg: PlatformConfig) -> bool:
    """Whether any model can be at zero replicas and must be woken by its requests."""
    return any(m.wakes_on_request for m in cfg.models)


def interceptor_replicas(cfg: PlatformConfig) -> int:
    """At least as many interceptors as gateway replicas, and never fewer than 2 (it is on the request path)."""
    return max(2, cfg.gateway.replicas)


def add_on_values(cfg: PlatformConfig) -> dict[str, Any]:
    replicas = interceptor_replicas(cfg)
    security = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "crds": {"install": True},
        # Platform pods outrank models (conventions.PLATFORM_PRIORITY_CLASS): a scaling model never preempts the
        # add-on that wakes it. `priorityClassName` is read only by the templates (templates/*/deployment.yaml).
        "operator": {"pullPolicy": "IfNotPresent", "priorityClassName": cv.PLATFORM_PRIORITY_CLASS},
        # KEDA asks the scaler for every wake decision: more than one.
        "scaler": {"replicas": 2, "pullPolicy": "IfNotPresent", "priorityClassName": cv.PLATFORM_PRIORITY_CLASS},
        "interceptor": {
            "pullPolicy": "IfNotPresent",
            "priorityClassName": cv.PLATFORM_PRIORITY_CLASS,
            # The interceptor's own ScaledObject (chart templates/interceptor/scaledobject.yaml) keeps this floor.
            "replicas": {"min": replicas, "max": max(10, 5 * replicas)},
            # Placed like the gateway's Envoy fleet: spread over zones and nodes (conventions.ha_spread).
            "topologySpreadConstraints": cv.ha_spread(INTERCEPTOR_POD_LABELS),
            "pdb": {"enabled": True, "maxUnavailable": 1},
            # A held request can wait minutes for a GPU model: generous, per-route limits come from each
            # HTTPScaledObject (`timeouts`).
            "responseHeaderTimeout": "600s",
            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        },
        "securityContext": security,
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
    }


def interceptor_pod_monitor_spec() -> dict[str, Any]:
    return {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "http-add-on", "app.kubernetes.io/instance": RELEASE}},
        "namespaceSelector": {"matchNames": [cv.KEDA_NAMESPACE]},
        "podMetricsEndpoints": [
            {"portNumber": INTERCEPTOR_METRICS_PORT, "path": "/metrics", "interval": "30s"},
        ],
    }


class WakeOnRequest(pulumi.ComponentResource):
    """`serving:wake:WakeOnRequest`: the KEDA HTTP add-on (operator, external scaler, interceptor fleet) and the
    PodMonitor scraping its interceptors."""

    def __init__(self, name: str, cfg: PlatformConfig, provider: k8s.Provider, depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        """`depends_on`: KEDA (its ScaledObject CRD; the add-on's interceptor is scaled by one) and monitoring."""
        super().__init__("serving:wake:WakeOnRequest", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(depends_on))
        self.release = chart_release(
            f"{name}-http-add-on", charts.KEDA_HTTP_ADD_ON, cv.KEDA_NAMESPACE, add_on_values(cfg), child,
            release_name=RELEASE, create_namespace=False,
        )
        labels = {**cv.common_labels("keda-http-add-on", "autoscaling"), **cv.MONITORING_SELECTOR}
        self.pod_monitor = custom_resource(
            f"{name}-interceptor-metrics", "monitoring.coreos.com/v1", "PodMonitor",
            meta("keda-http-interceptor", cv.KEDA_NAMESPACE, labels),
            interceptor_pod_monitor_spec(),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release])),
        )
        self.register_outputs({"release": self.release.name, "interceptor": INTERCEPTOR_PROXY_SERVICE})
