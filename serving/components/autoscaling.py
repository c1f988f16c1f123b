"""Custom-metric autoscaling: KEDA (pinned chart `charts.KEDA`) with Prometheus triggers.

Why KEDA (and not the HPA with prometheus-adapter): KEDA scales a Deployment to zero and back (the HPA cannot go
below one replica), reads any PromQL directly per ScaledObject (prometheus-adapter needs every metric declared in
one cluster-wide rules ConfigMap, a shared file every model change would touch), and still drives a plain HPA
underneath, so scaling behaviour and events look the same as everywhere else.

The model component creates one ScaledObject per model with `model_trigger(...)`; the queries come from
`observability/metrics.py`, so the autoscaler, the dashboards and the alerts read the same numbers.

Scale from zero is request-driven through the KEDA HTTP add-on (`wake.py`): Envoy Gateway v1.9.0 answers a
request for a route whose backends have no ready endpoint with a 503 direct response (internal/gatewayapi/route.go,
"setting 503 direct response in routes due to no ready endpoints"; envoyproxy/gateway#8288), so a directly routed
request never reaches an upstream cluster and no per-route Envoy metric records it. A model with `minReplicas: 0`
is routed through the add-on's interceptor instead, whose `external-push` trigger wakes it; `activeHours` adds a
KEDA cron trigger on top.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog import charts
from ..observability import metrics as m
from .helm import chart_release

Signal = Literal["requestRate", "queueLength", "latencyP95"]
SCALED_OBJECT_API_VERSION = "keda.sh/v1alpha1"


def keda_values() -> dict[str, Any]:
    monitor = {"enabled": True, "additionalLabels": dict(cv.MONITORING_SELECTOR)}
    return {
        "crds": {"install": True},
        "priorityClassName": cv.PLATFORM_PRIORITY_CLASS,
        "prometheus": {
            "operator": {"enabled": True, "serviceMonitor": monitor},
            "metricServer": {"enabled": True, "serviceMonitor": monitor},
        },
    }


def prometheus_trigger(query: str, threshold: float, activation_threshold: float = 0.0) -> dict[str, Any]:
    """A KEDA `prometheus` trigger on the platform's Prometheus (https://keda.sh/docs/latest/scalers/prometheus/).
    `threshold` is the target value per replica; KEDA activates the Deployment (0 -> 1) when the query exceeds
    `activation_threshold`, which gateway metrics never do at zero replicas (see the module docstring). An empty
    result counts as 0 (`ignoreNullValues`), so an idle model can scale to zero."""
    return {
        "type": "prometheus",
        "metadata": {
            "serverAddress": cv.PROMETHEUS_URL,
            "query": query,
            "threshold": f"{threshold:g}",
            "activationThreshold": f"{activation_threshold:g}",
            "ignoreNullValues": "true",
        },
    }


def model_query(ref: m.ModelRef, signal: Signal, runtime: Optional[str] = None) -> str:
    """The scalar PromQL a model scales on (`metrics.queries`): requests that reached a replica (no mirror copies),
    the primary pods' queue, or p95 latency."""
    queries = m.queries(ref, runtime)
    if signal not in queries:
        raise ValueError(f"runtime {runtime!r} exports no {signal} (signals: {', '.join(queries)})")
    return queries[signal]


def model_trigger(namespace: str, model: str, signal: Signal, target: float, *, route: Optional[str] = None,
                  activation: float = 0.0) -> dict[str, Any]:
    """The trigger of one model's ScaledObject: `target` per replica (requests/s, waiting requests, or seconds)."""
    return prometheus_trigger(model_query(m.ModelRef(namespace, model, route), signal), target, activation)


class Autoscaling(pulumi.ComponentResource):
    """`serving:autoscaling:Autoscaling`: KEDA operator, metrics API server and admission webhooks."""

    def __init__(self, name: str, provider: k8s.Provider, depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        """`depends_on`: nodes to run on and the monitoring CRDs (KEDA's ServiceMonitors)."""
        super().__init__("serving:autoscaling:Autoscaling", name, None, opts)
        self.release = chart_release(
            f"{name}-keda", charts.KEDA, cv.KEDA_NAMESPACE, keda_values(),
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(depends_on)), release_name="keda",
        )
        self.register_outputs({"release": self.release.name, "namespace": cv.KEDA_NAMESPACE})
