"""Traffic part: how requests reach the model's tracks.

One HTTPRoute on the shared Gateway (weighted backends for a canary, a RequestMirror filter for a shadow) plus the
gateway's per-route policies (`route_policies.py`: timeout, retries, rate limit, auth).
"""

from __future__ import annotations

from typing import Any

import pulumi

from ... import conventions as cv
from ..backend_tls import HTTPS_SERVICE_PORT, GRPCS_SERVICE_PORT
from ..gateway import Gateway
from ..k8s import custom_resource, meta
from ..route_policies import route_policies
from .context import ModelContext
from .workload import GRPC_SERVICE_PORT, SERVICE_PORT, WorkloadOutputs


def backend_port(ctx: ModelContext) -> int:
    """The Service port routes send to: the TLS proxy's with `gateway.backendTls`, else the server's HTTP port."""
    return HTTPS_SERVICE_PORT if ctx.cfg.gateway.backend_tls else SERVICE_PORT


def route_rule(ctx: ModelContext) -> dict[str, Any]:
    """The HTTPRoute rule of a model: its path, rewrite, mirror and weighted backends."""
    m = ctx.model
    port = backend_port(ctx)
    rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": m.path}}]}
    filters: list[dict[str, Any]] = []
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
    if m.canary is not None:
        rule["backendRefs"] = [
            {"name": m.name, "port": port, "weight": 100 - m.canary.weight},
            {"name": f"{m.name}-canary", "port": port, "weight": m.canary.weight},
        ]
    else:
        rule["backendRefs"] = [{"name": m.name, "port": port}]
    return rule


class Traffic:
    """The model's HTTPRoute and its policies."""

    def __init__(self, ctx: ModelContext, gateway: Gateway, workload: WorkloadOutputs):
        m = ctx.model
        self.hostname = m.exposure.host or ctx.cfg.gateway.hostname
        self.route = custom_resource(
            f"{ctx.name}-route",
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            meta(m.name, ctx.namespace, ctx.labels),
            {"parentRefs": [gateway.parent_ref()], "hostnames": [self.hostname],
             "rules": workload.route_rules or [route_rule(ctx)]},
            ctx.with_deps(gateway, list(workload.services.values())),
        )
        self.policies = route_policies(
            f"{ctx.name}-route",
            ctx.namespace,
            m.name,
            m.exposure,
            ctx.with_deps(self.route),
            default_request_timeout=ctx.preset.request_timeout,
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
