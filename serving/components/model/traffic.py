"""Traffic part: how requests reach the model's tracks.

One HTTPRoute on the shared Gateway plus the gateway's per-route policies (`route_policies.py`: timeout, retries,
rate limit, auth), and an Envoy Gateway HTTPRouteFilter holding the "model is stopped" answer.

- Primary: straight to its Service, or through the KEDA HTTP interceptor when the model can be at zero (`wake.py`).
- Canary: a weighted second backendRef. Every backendRef then carries a filter of its own (header
  `x-serving-track`), which makes Envoy Gateway give each its own upstream cluster (`.../rule/0/backend/<i>`), so
  the primary's and the canary's requests, errors and latency are separate series (`observability/metrics.py`).
  The route depends on the candidate's Deployment: `pulumi up` waits for its rollout before the weight changes.
- Shadow: a RequestMirror filter (responses discarded); it also waits for the shadow's rollout.
- Stopped: the rule's first filter is an ExtensionRef to the HTTPRouteFilter, whose direct response (503, "model
  <name> is stopped") Envoy sends without reaching any backend; the backends stay as they are, so stopping and
  starting are updates of the route only. A model on a shared fleet gets the same filter first in each of its rules
  (`shared.shared_route_rules`; its fleet keeps the model loaded and serves the others).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi

from ... import conventions as cv
from ..backend_tls import HTTPS_SERVICE_PORT, GRPCS_SERVICE_PORT
from ..gateway import Gateway
from ..k8s import custom_resource, meta
from ..route_policies import route_policies
from .context import PRIMARY, ModelContext
from .wake import Wake, cold_request_timeout
from .pod import GRPC_SERVICE_PORT, SERVICE_PORT
from .workload import WorkloadOutputs


def backend_port(ctx: ModelContext) -> int:
    """The Service port routes send to: the TLS proxy's with `gateway.backendTls`, else the server's HTTP port."""
    return HTTPS_SERVICE_PORT if ctx.cfg.gateway.backend_tls else SERVICE_PORT

ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
#: Header naming the track a request was sent to (also visible to the model server).
TRACK_HEADER = "x-serving-track"


def stopped_filter_name(model: str) -> str:
    return f"{model}-stopped"


def stopped_filter(model: str) -> dict[str, Any]:
    """The route filter sending the stopped answer (the rule's first filter, so no backend is reached)."""
    return {"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": stopped_filter_name(model)}}


def stopped_response(model: str) -> dict[str, Any]:
    """The HTTPRouteFilter spec answering for a stopped model (gateway.envoyproxy.io HTTPRouteFilter directResponse:
    statusCode, contentType, body.inline)."""
    body = f'{{"error": {{"code": 503, "type": "model_stopped", "message": "model {model} is stopped"}}}}\n'
    return {"directResponse": {"statusCode": 503, "contentType": "application/json", "body": {"type": "Inline", "inline": body}}}


def _tagged(ref: dict[str, Any], track: str) -> dict[str, Any]:
    header = {"name": TRACK_HEADER, "value": track}
    filters = list(ref.get("filters", []))
    if filters and filters[0]["type"] == "RequestHeaderModifier":
        first = filters[0]["requestHeaderModifier"]
        filters[0] = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [*first["set"], header]}}
    else:
        filters.insert(0, {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [header]}})
    return {**ref, "filters": filters}


def route_rule(ctx: ModelContext, wake: Optional[Wake] = None, backend_refs: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """The HTTPRoute rule of a model: its path, rewrite, mirror, stop answer and weighted backends (by default the
    tracks' Services; `backend_refs` replaces them, e.g. with an InferencePool)."""
    m = ctx.model
    port = backend_port(ctx)
    rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": m.path}}]}
    filters: list[dict[str, Any]] = []
    if m.stopped:
        filters.append(stopped_filter(m.name))
    if m.path != "/":
        filters.append({"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}})
    if m.shadow is not None:
        # Envoy mirrors the request to the shadow and discards its response (Gateway API v1.3+ standard channel:
        # RequestMirror `percent`).
        filters.append({
            "type": "RequestMirror",
            "requestMirror": {"backendRef": {"name": f"{m.name}-shadow", "port": port}, "percent": m.shadow.percent},
        })
    if filters:
        rule["filters"] = filters
    primary: dict[str, Any] = wake.backend_ref() if wake is not None else {"name": m.name, "port": port}
    if backend_refs is not None:
        rule["backendRefs"] = backend_refs
    elif m.canary is not None:
        rule["backendRefs"] = [
            _tagged({**primary, "weight": 100 - m.canary.weight}, PRIMARY),
            _tagged({"name": f"{m.name}-canary", "port": port, "weight": m.canary.weight}, "canary"),
        ]
    else:
        rule["backendRefs"] = [primary]
    return rule


class Traffic:
    """The model's HTTPRoute, its policies and its stop answer."""

    def __init__(self, ctx: ModelContext, gateway: Gateway, workload: WorkloadOutputs, wake: Optional[Wake] = None,
                 backend_refs: Optional[list[dict[str, Any]]] = None, backends: Sequence[pulumi.Resource] = ()):
        """`backend_refs` / `backends`: other backends than the tracks' Services (refs, and the resources behind
        them, which the route waits for)."""
        m = ctx.model
        self.hostname = m.exposure.host or ctx.cfg.gateway.hostname
        self.stopped_filter = custom_resource(
            f"{ctx.name}-stopped-response", ENVOY_API, "HTTPRouteFilter",
            meta(stopped_filter_name(m.name), ctx.namespace, ctx.labels), stopped_response(m.name),
            ctx.with_deps(gateway),  # its CRD comes with Envoy Gateway
        )
        # Candidates get traffic only once their rollout is done (the provider waits for a Deployment to be ready).
        candidates = [d for track, d in workload.deployments.items() if track != PRIMARY]
        self.route = custom_resource(
            f"{ctx.name}-route",
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            meta(m.name, ctx.namespace, ctx.labels),
            {"parentRefs": [gateway.parent_ref()], "hostnames": [self.hostname],
             "rules": workload.route_rules or [route_rule(ctx, wake, backend_refs)]},
            ctx.with_deps(gateway, list(workload.services.values()), candidates,
                          wake.resources if wake is not None else [], self.stopped_filter, list(backends)),
        )
        self.policies = route_policies(
            f"{ctx.name}-route",
            ctx.namespace,
            m.name,
            m.exposure,
            ctx.with_deps(self.route),
            default_request_timeout=cold_request_timeout(ctx) if wake is not None else ctx.preset.request_timeout,
            labels=ctx.labels,
        )
        scheme = gateway.base_url.split("://", 1)[0]
        self.url = f"{scheme}://{self.hostname}{'' if m.path == '/' else m.path}"
        self.grpc_route = grpc_route(ctx, gateway, workload, self.hostname) if m.exposure.grpc else None


def grpc_route(ctx: ModelContext, gateway: Gateway, workload: WorkloadOutputs, hostname: str) -> pulumi.Resource:
    """A GRPCRoute `<model>-grpc` to the primary's gRPC port (KServe v2 gRPC names the model inside each message, so
    on the shared host the route matches the `x-model` header; on its own host, any request), with the HTTP route's
    policies: same timeouts, retries, rate limit and auth (its API keys are the HTTP route's Secret)."""
    m = ctx.model
    name = f"{m.name}-grpc"
    port = GRPCS_SERVICE_PORT if ctx.cfg.gateway.backend_tls else GRPC_SERVICE_PORT
    rule: dict[str, Any] = {"backendRefs": [{"name": m.name, "port": port}]}
    if m.exposure.host is None:
        rule["matches"] = [{"headers": [{"type": "Exact", "name": cv.MODEL_HEADER, "value": m.name}]}]
    route = custom_resource(
        f"{ctx.name}-grpc-route", "gateway.networking.k8s.io/v1", "GRPCRoute", meta(name, ctx.namespace, ctx.labels),
        {"parentRefs": [gateway.parent_ref()], "hostnames": [hostname], "rules": [rule]},
        ctx.with_deps(gateway, list(workload.services.values())),
    )
    route_policies(
        f"{ctx.name}-grpc-route", ctx.namespace, name, m.exposure, ctx.with_deps(route),
        default_request_timeout=ctx.preset.request_timeout, labels=ctx.labels, kind="GRPCRoute", key_route=m.name,
    )
    return route
