"""Traffic part: how requests reach the model's tracks.

One HTTPRoute on the shared Gateway (weighted backends for a canary, a RequestMirror filter for a shadow) plus the
gateway's per-route policies (`route_policies.py`: timeout, retries, rate limit, auth).
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..gateway import Gateway
from ..k8s import custom_resource, meta
from ..route_policies import route_policies
from .context import ModelContext
from .workload import SERVICE_PORT, WorkloadOutputs


def route_rule(ctx: ModelContext) -> dict[str, Any]:
    """The HTTPRoute rule of a model: its path, rewrite, mirror and weighted backends."""
    m = ctx.model
    rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": m.path}}]}
    filters: list[dict[str, Any]] = []
    if m.path != "/":
        filters.append({"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}})
    if m.shadow is not None:
        # Envoy mirrors the request to the shadow and discards its response (Gateway API v1.3+ standard channel:
        # RequestMirror `percent`).
        filters.append({
            "type": "RequestMirror",
            "requestMirror": {"backendRef": {"name": f"{m.name}-shadow", "port": SERVICE_PORT}, "percent": m.shadow.percent},
        })
    if filters:
        rule["filters"] = filters
    if m.canary is not None:
        rule["backendRefs"] = [
            {"name": m.name, "port": SERVICE_PORT, "weight": 100 - m.canary.weight},
            {"name": f"{m.name}-canary", "port": SERVICE_PORT, "weight": m.canary.weight},
        ]
    else:
        rule["backendRefs"] = [{"name": m.name, "port": SERVICE_PORT}]
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
            {"parentRefs": [gateway.parent_ref()], "hostnames": [self.hostname], "rules": [route_rule(ctx)]},
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
