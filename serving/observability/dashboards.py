"""Grafana dashboards built from code, shipped as ConfigMaps the Grafana sidecar of kube-prometheus-stack loads
(label `grafana_dashboard: "1"`, chart value `grafana.sidecar.dashboards`).

- platform overview: nodes per pool against the pool's bounds, node readiness, pending/unschedulable pods, CPU and
  memory use, gateway traffic;
- GPU: DCGM utilisation, memory, power and temperature per node and per pod, XID errors;
- model serving: one dashboard with a `model` variable that Grafana fills from Prometheus (the models whose
  Deployments kube-state-metrics sees), so the dashboard never changes when a model is added or removed (adding a
  model only creates that model's resources); every panel's PromQL comes from `metrics.py` with the model set to
  `$model`, so the dashboard and the alerts measure the same thing. The LLM panels are always there (no data for a
  model whose runtime exports no queue).

Every panel uses the Prometheus datasource the chart provisions (uid `prometheus`).
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from ..config import PlatformConfig
from ..config.logging import effective_backend
from . import metrics as m
from .alerts import DASHBOARD_MODEL_UID

#: Grafana dashboard JSON schema version these dashboards are written for (Grafana 11/12 migrate it on load).
SCHEMA_VERSION = 39
#: The datasource kube-prometheus-stack provisions (values: grafana.sidecar.datasources.uid).
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
#: Label and value the Grafana dashboard sidecar watches for (chart defaults).
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
GRID_WIDTH = 24

DASHBOARD_PLATFORM_UID = "serving-platform"
DASHBOARD_GPU_UID = "serving-gpu"


@dataclass
class Panel:
    title: str
    targets: list[tuple[str, str]]  # (expr, legend)
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    description: str = ""
    links: list[dict[str, Any]] = field(default_factory=list)
    max_value: Optional[float] = None


def _layout(panels: Sequence[Panel]) -> list[dict[str, Any]]:
    """Panels placed left to right, wrapping at the grid width; ids 1..n."""
    out = []
    x = y = row_height = 0
    for i, p in enumerate(panels, start=1):
        if x + p.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        defaults: dict[str, Any] = {"unit": p.unit}
        if p.max_value is not None:
            defaults["max"] = p.max_value
        panel: dict[str, Any] = {
            "id": i,
            "type": p.kind,
            "title": p.title,
            "datasource": dict(PROMETHEUS),
            "gridPos": {"h": p.height, "w": p.width, "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if p.kind == "timeseries" else {},
            "targets": [
                {"refId": chr(ord("A") + j), "datasource": dict(PROMETHEUS), "expr": expr, "legendFormat": legend}
                for j, (expr, legend) in enumerate(p.targets)
            ],
        }
        if p.description:
            panel["description"] = p.description
        if p.links:
            panel["links"] = p.links
        out.append(panel)
        x += p.width
        row_height = max(row_height, p.height)
    return out


def dashboard(uid: str, title: str, panels: Sequence[Panel], variables: Iterable[dict[str, Any]] = (),
              links: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["serving-platform"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "timezone": "utc",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": list(variables)},
        "links": list(links),
        "panels": _layout(panels),
    }


#: The PromQL selector the `model` variable reads its values from: kube-state-metrics' `kube_deployment_labels`
#: with the model label allowlisted (`components/monitoring.py`); a Deployment exists at zero replicas too, so a
#: model scaled to zero stays selectable (`kube_pod_labels` would lose it with its last pod).
MODEL_VARIABLE_SELECTOR = f'kube_deployment_labels{{{m.MODEL}!=""}}'


def _query_variable(name: str, label: str, selector: str, value_label: str) -> dict[str, Any]:
    """A Prometheus query variable: the values of `value_label` on the series of `selector`, refreshed whenever the
    dashboard loads (Grafana templating `label_values(selector, label)`)."""
    query = f"label_values({selector}, {value_label})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(PROMETHEUS),
        "definition": query,
        # The string form, as kube-prometheus-stack's own (kubernetes-mixin) dashboards write it.
        "query": query,
        "refresh": 1,  # on dashboard load
        "sort": 1,  # alphabetical
        "current": {},
        "options": [],
        "multi": False,
        "includeAll": False,
    }


# --- platform overview -----------------------------------------------------------------------------------------


def platform_dashboard(cfg: PlatformConfig) -> dict[str, Any]:
    pools = [cfg.node_pools.system, *cfg.node_pools.gpu]
    pool_targets = [(f'count(kube_node_labels{{{m.POOL}="{p.name}"}})', f"{p.name} nodes") for p in pools]
    pool_targets += [(f"vector({p.max_size})", f"{p.name} max") for p in pools]
    gateway = m.ModelRef(None, ".+")
    panels = [
        Panel("Nodes per pool (and each pool's maxSize)", pool_targets, description="Nodes carrying the pool label; dashed targets are the configured maximum."),
        Panel("Nodes not Ready", [('sum(kube_node_status_condition{condition="Ready", status!="true"})', "not ready")], kind="stat", width=6),
        Panel("Pending pods", [('sum(kube_pod_status_phase{phase="Pending"})', "pending"), ("sum(kube_pod_status_unschedulable)", "unschedulable")], width=6),
        Panel(
            "CPU used per node",
            [('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', "{{instance}}")],
            unit="percentunit", max_value=1,
        ),
        Panel(
            "Memory used per node",
            [("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}")],
            unit="percentunit", max_value=1,
        ),
        Panel(
            "GPUs allocatable per pool",
            [(f'sum by ({m.POOL}) (kube_node_status_allocatable{{resource="nvidia_com_gpu"}} * on (node) group_left ({m.POOL}) kube_node_labels)',
              f"{{{{{m.POOL}}}}}")],
        ),
        Panel("Gateway requests/s (all models)", [(m.request_rate(gateway), "requests/s")], unit="reqps"),
        Panel("Gateway 5xx ratio (all models)", [(m.error_ratio(gateway), "5xx")], unit="percentunit"),
    ]
    links = [{"title": "GPU", "type": "link", "url": f"/d/{DASHBOARD_GPU_UID}"}, {"title": "Models", "type": "link", "url": f"/d/{DASHBOARD_MODEL_UID}"}]
    return dashboard(DASHBOARD_PLATFORM_UID, "Serving platform: overview", panels, links=links)


# --- GPU -------------------------------------------------------------------------------------------------------


def gpu_dashboard() -> dict[str, Any]:
    node, pod = m.DCGM_NODE_LABEL, m.DCGM_POD_LABEL
    ns = m.DCGM_NAMESPACE_LABEL
    per_node = f"{node}, gpu"
    per_pod = f"{ns}, {pod}"
    with_pod = f'{{{pod}!=""}}'
    panels = [
        Panel("GPU utilisation per node", [(f"avg by ({per_node}) (DCGM_FI_DEV_GPU_UTIL)", f"{{{{{node}}}}} GPU {{{{gpu}}}}")], unit="percent", max_value=100),
        Panel("GPU utilisation per pod", [(f"avg by ({per_pod}) (DCGM_FI_DEV_GPU_UTIL{with_pod})", f"{{{{{ns}}}}}/{{{{{pod}}}}}")], unit="percent", max_value=100),
        Panel(
            "GPU memory used per node",
            [(f"sum by ({per_node}) (DCGM_FI_DEV_FB_USED) / sum by ({per_node}) (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)", f"{{{{{node}}}}} GPU {{{{gpu}}}}")],
            unit="percentunit", max_value=1,
        ),
        Panel("GPU memory used per pod", [(f"sum by ({per_pod}) (DCGM_FI_DEV_FB_USED{with_pod}) * 1024 * 1024", f"{{{{{ns}}}}}/{{{{{pod}}}}}")], unit="bytes"),
        Panel("Power per node", [(f"sum by ({node}) (DCGM_FI_DEV_POWER_USAGE)", f"{{{{{node}}}}}")], unit="watt"),
        Panel("Power per pod", [(f"sum by ({per_pod}) (DCGM_FI_DEV_POWER_USAGE{with_pod})", f"{{{{{ns}}}}}/{{{{{pod}}}}}")], unit="watt"),
        Panel("Temperature per GPU", [(f"max by ({per_node}) (DCGM_FI_DEV_GPU_TEMP)", f"{{{{{node}}}}} GPU {{{{gpu}}}}")], unit="celsius"),
        Panel("Temperature per pod", [(f"max by ({per_pod}) (DCGM_FI_DEV_GPU_TEMP{with_pod})", f"{{{{{ns}}}}}/{{{{{pod}}}}}")], unit="celsius"),
        Panel(
            "Last XID error per GPU (0: none)",
            [(f"max by ({per_node}) (DCGM_FI_DEV_XID_ERRORS)", f"{{{{{node}}}}} GPU {{{{gpu}}}}")],
            width=24, description="https://docs.nvidia.com/deploy/xid-errors/",
        ),
    ]
    return dashboard(DASHBOARD_GPU_UID, "Serving platform: GPUs", panels)


# --- model serving ---------------------------------------------------------------------------------------------


def _aws_console_escape(text: str) -> str:
    """The CloudWatch console's fragment encoding: URL-encode, then '%' -> '$25'."""
    return urllib.parse.quote(text, safe="").replace("%", "$25")


def cloudwatch_log_group(cfg: PlatformConfig) -> str:
    return f"/aws/eks/{cfg.cluster.name}/containers"


def logs_link(cfg: PlatformConfig) -> Optional[dict[str, Any]]:
    """A link to the selected model's logs: the CloudWatch log group filtered on the record's `model` field, or
    Grafana Explore on Loki's `model` label."""
    backend = effective_backend(cfg)
    if backend == "cloudwatch":
        region = cfg.cluster.eks.region
        group = _aws_console_escape(cloudwatch_log_group(cfg))
        # Model names are DNS labels: `${model}` needs no escaping once Grafana substitutes it.
        pattern = _aws_console_escape('{ $.model = "MODEL" }').replace("MODEL", "${model}")
        url = (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
               f"{group}/log-events$3FfilterPattern$3D{pattern}")
        return {"title": "Logs of ${model} (CloudWatch)", "type": "link", "url": url, "targetBlank": True}
    if backend == "loki":
        left = json.dumps({"datasource": LOKI_UID, "queries": [{"refId": "A", "expr": '{model="${model}"}'}], "range": {"from": "now-1h", "to": "now"}})
        return {"title": "Logs of ${model} (Loki)", "type": "link", "url": "/explore?left=" + urllib.parse.quote(left, safe="${}"), "targetBlank": True}
    return None


#: UID of the Loki datasource the platform provisions in Grafana (logging backend `loki`).
LOKI_UID = "loki"


def model_dashboard(cfg: PlatformConfig) -> dict[str, Any]:
    """The model-serving dashboard. It reads nothing from `cfg.models`: the model list comes from Prometheus and the
    LLM panels are always present, so adding or removing a model leaves this ConfigMap unchanged."""
    ref = m.ModelRef(None, "$model")
    llm_note = ("vLLM models only (runtimes in metrics.QUEUE_RUNTIMES export this queue); "
                "no data for other runtimes is expected.")
    panels = [
        Panel("Requests/s", [(m.request_rate(ref), "requests/s")], unit="reqps", width=8,
              description="Requests that reached a replica (mirror copies excluded). While the model is at zero "
                          "replicas the gateway answers 503 itself and nothing is counted here."),
        Panel("Error ratio (5xx)", [(m.error_ratio(ref), "5xx ratio")], unit="percentunit", width=8),
        Panel("Ready replicas", [(m.ready_replicas(ref), "ready")], width=8),
        Panel(
            "Latency (gateway -> model, until the last byte)",
            [(m.latency_quantile(ref, q), f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)],
            unit="s", width=12,
        ),
        Panel("GPU utilisation per pod", [(m.gpu_utilisation_by_pod(ref), f"{{{{pod}}}} ({{{{{m.MODEL_VERSION}}}}})")], unit="percent", max_value=100, width=12),
        Panel(
            "LLM queue: requests waiting / running (vLLM)",
            [(m.queue_length(ref, track=None), "waiting"), (m.running_requests(ref), "running")],
            width=12, description=f"{llm_note} Summed over every track (primary, canary, shadow).",
        ),
        Panel(
            "Wake from zero (KEDA HTTP interceptor)",
            [(m.held_requests(ref), "requests held / in flight"), (m.wake_timeouts(ref), "504/s: not awake in time")],
            width=12, description="Only models that can be at zero (minReplicas 0) are routed through the interceptor; "
                                  "no data for the others is expected.",
        ),
        Panel(
            "Time to first token (vLLM)",
            [(m.time_to_first_token_quantile(ref, q), f"p{int(q * 100)}") for q in (0.5, 0.95)],
            unit="s", width=12, description=llm_note,
        ),
        Panel(
            "Time to first token in the inference pool, per track (p95)",
            [(m.time_to_first_token_by_pool(ref, 0.95), f"{{{{{m.TRACK}}}}}")],
            unit="s", width=12, description=f"{llm_note} One line per track in the pool (primary, canary).",
        ),
        Panel(
            "Inference pool: queue per replica and KV cache (endpoint picker)",
            [(m.pool_queue(ref), "queue {{name}}"), (m.pool_kv_cache(ref), "KV cache {{name}}")],
            width=12, description="As the pool's endpoint picker sees its replicas (llm-d router EPP): the average "
                                  "waiting requests per replica and KV-cache utilisation (0-1) it scores them by.",
        ),
        Panel(
            "Inference pool: ready endpoints",
            [(m.pool_ready_endpoints(ref), "{{name}}")], width=12,
            description="Replicas each pool's picker may send requests to.",
        ),
    ]
    link = logs_link(cfg)
    return dashboard(
        DASHBOARD_MODEL_UID, "Serving platform: models", panels,
        variables=[_query_variable("model", "Model", MODEL_VARIABLE_SELECTOR, m.MODEL)],
        links=[link] if link else [],
    )


def all_dashboards(cfg: PlatformConfig) -> dict[str, dict[str, Any]]:
    """ConfigMap name -> dashboard JSON."""
    return {
        "dashboard-serving-platform": platform_dashboard(cfg),
        "dashboard-serving-gpu": gpu_dashboard(),
        "dashboard-serving-models": model_dashboard(cfg),
    }


def configmap_data(board: dict[str, Any]) -> dict[str, str]:
    return {f"{board['uid']}.json": json.dumps(board, indent=1, sort_keys=True)}

