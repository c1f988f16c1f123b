"""Shared-server workload part: a model placed on a fleet (`models[].shared`, `serving/placement.py`) has no
Deployment of its own; the fleet's server loads it (`components/fleet.py`). What stays the model's own:

- its route `/models/<name>` (or `exposure.host`), rewritten to the server's per-model endpoints
  `/v2/models/<name>` (KServe v2 / Open Inference Protocol, which MLServer and Triton both serve): `/models/<name>/infer`,
  `/models/<name>/ready` (the model's own readiness), `/models/<name>` (metadata). Only that model is reachable through
  it. A second rule keeps the dedicated-style path `/models/<name>/v2/models/<name>/...` working, so moving a model
  between dedicated and shared serving does not break its clients;
- its route policies (auth, rate limit, timeouts), its PrometheusRule (SLO alerts on the gateway's per-route metrics),
  its artifact's Secrets (store credentials, Hugging Face token), which the fleet's init container for it reads.
"""

from __future__ import annotations

from typing import Any

from ...config.fleets import FleetConfig
from .context import ModelContext
from .traffic import backend_port, stopped_filter
from .workload import WorkloadOutputs


def shared_route_rules(ctx: ModelContext, fleet: FleetConfig) -> list[dict[str, Any]]:
    """HTTPRoute rules of a model on a fleet: its path prefixes rewritten to `/v2/models/<name>` on the fleet (after
    the stopped answer when the model is stopped)."""
    m = ctx.model
    target = f"/v2/models/{m.name}"
    port = backend_port(ctx)
    prefixes = [m.path, f"{m.path.rstrip('/')}{target}"] if m.path != "/" else [target, "/"]
    # Stopped: the model's stopped answer first in each of its rules; the fleet keeps serving its other models.
    filters: list[dict[str, Any]] = [stopped_filter(m.name)] if m.stopped else []
    filters.append({"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": target}}})
    return [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
            "filters": filters,
            "backendRefs": [{"name": fleet.object_name, "port": port}],
        }
        for prefix in prefixes
    ]


class SharedWorkload(WorkloadOutputs):
    """No Deployment, Service or PDB of the model's own: its backend is the fleet's Service."""

    def __init__(self, ctx: ModelContext, fleet: FleetConfig):
        super().__init__(deployments={}, services={})
        self.fleet = fleet
        self.route_rules = shared_route_rules(ctx, fleet)
