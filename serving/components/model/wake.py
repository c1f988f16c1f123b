"""Wake part: for a model that can be at zero replicas (`scaling.minReplicas: 0`), the objects that let its first
request wake it through the KEDA HTTP add-on (`components/wake.py` explains the flow and where each fact comes from).

- an HTTPScaledObject in the model's namespace: the interceptor routes requests carrying the model's header to the
  primary Service, holds them while the Deployment wakes (at most `ModelConfig.wake_timeout_seconds`, then 504),
  and reports pending requests to KEDA; it creates no ScaledObject (the scaling part's ScaledObject carries its
  `external-push` trigger);
- a ReferenceGrant in the KEDA namespace letting the model's HTTPRoute send to the interceptor's Service.

Other parts read `backend_ref()` (traffic), `trigger()` (scaling) and `ingress_namespace` (access).
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

from ... import conventions as cv
from .. import wake as addon
from ..k8s import custom_resource, meta
from .context import ModelContext
from .pod import SERVICE_PORT
from .workload import WorkloadOutputs

GATEWAY_API_BETA = "gateway.networking.k8s.io/v1beta1"


def _seconds(duration: str) -> int:
    """`600s`, `10m`, `1h` -> seconds (the runtime presets' request timeouts)."""
    m = re.fullmatch(r"(\d+)([smh])", duration)
    if not m:
        raise ValueError(f"not a duration: {duration!r}")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def cold_request_timeout(ctx: ModelContext) -> str:
    """The gateway's request timeout for a model that wakes on request: the wait for a replica plus the runtime's own
    request timeout, so Envoy never cuts a request the interceptor still holds (the interceptor answers 504 first)."""
    base = ctx.model.exposure.request_timeout or ctx.preset.request_timeout
    return f"{ctx.model.wake_timeout_seconds() + _seconds(base)}s"


class Wake:
    def __init__(self, ctx: ModelContext, workload: WorkloadOutputs, hostname: str, gateway: pulumi.Resource):
        """`gateway`: what brings the Gateway API CRDs (ReferenceGrant)."""
        self.ctx = ctx
        m = ctx.model
        self.header_value = f"{ctx.namespace}/{m.name}"
        scaling_metric: dict[str, Any]
        if m.metric == "requests":
            scaling_metric = {"requestRate": {"targetValue": max(1, round(m.metric_target)), "window": "1m", "granularity": "1s"}}
        else:
            # The Prometheus trigger is the model's scaling signal; the interceptor's in-flight count only wakes it
            # and adds a generous ceiling (the add-on's default target, 100 concurrent requests per replica).
            scaling_metric = {"concurrency": {"targetValue": 100}}
        self.http_scaled_object = custom_resource(
            f"{ctx.name}-httpscaledobject",
            addon.HTTP_SCALED_OBJECT_API,
            "HTTPScaledObject",
            meta(m.name, ctx.namespace, ctx.labels, {addon.SKIP_SCALED_OBJECT_ANNOTATION: "true"}),
            {
                "hosts": [hostname],
                # The route rewrites the model's path to `/` before the interceptor sees it; the header tells models
                # on one host apart.
                "pathPrefixes": ["/"],
                "headers": [{"name": cv.WAKE_HEADER, "value": self.header_value}],
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name,
                                   "service": ctx.workload_name(ctx.tracks[0]), "port": SERVICE_PORT},
                "replicas": {"min": 0, "max": m.scaling.max_replicas},
                "scalingMetric": scaling_metric,
                "timeouts": {
                    "conditionWait": f"{m.wake_timeout_seconds()}s",
                    "responseHeader": m.exposure.request_timeout or ctx.preset.request_timeout,
                },
            },
            ctx.with_deps(workload.services["primary"]),
        )
        self.reference_grant = custom_resource(
            f"{ctx.name}-interceptor-grant",
            GATEWAY_API_BETA,
            "ReferenceGrant",
            meta(f"{ctx.namespace}-{m.name}", cv.KEDA_NAMESPACE, ctx.labels),
            {
                "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": ctx.namespace}],
                "to": [{"group": "", "kind": "Service", "name": addon.INTERCEPTOR_PROXY_SERVICE}],
            },
            ctx.with_deps(gateway),
        )
        self.resources: list[pulumi.Resource] = [self.http_scaled_object, self.reference_grant]

    #: The interceptor reaches the model's pods from here (NetworkPolicy ingress).
    ingress_namespace = cv.KEDA_NAMESPACE

    def backend_ref(self, weight: int | None = None) -> dict[str, Any]:
        """The primary's backendRef through the interceptor, tagged with the model's header."""
        ref: dict[str, Any] = {
            "group": "", "kind": "Service", "name": addon.INTERCEPTOR_PROXY_SERVICE, "namespace": cv.KEDA_NAMESPACE,
            "port": addon.INTERCEPTOR_PROXY_PORT,
            "filters": [{"type": "RequestHeaderModifier",
                         "requestHeaderModifier": {"set": [{"name": cv.WAKE_HEADER, "value": self.header_value}]}}],
        }
        if weight is not None:
            ref["weight"] = weight
        return ref

    def trigger(self) -> dict[str, Any]:
        """The `external-push` trigger of the model's ScaledObject: active while the interceptor holds requests."""
        return {"type": "external-push", "metadata": {"scalerAddress": addon.SCALER_ADDRESS, "httpScaledObject": self.ctx.model.name}}
