"""Alert rules as data: each model's own rule groups, and the platform-wide ones.

`model_alert_rules(...)` returns the `spec.groups` of one model's PrometheusRule; the model component creates that
PrometheusRule in the model's namespace (labelled `conventions.MONITORING_SELECTOR`), so changing one model never
touches another's rules. Platform rules (GPU health, node pools, Prometheus storage) are created by
`components/monitoring.py`.

SLO alerts follow the multi-window, multi-burn-rate recipe of the Google SRE workbook ("Alerting on SLOs"): a fast
burn (2% of a 30-day budget in 1h, or 5% in 6h) pages; a slow burn (10% in 3 days) opens a ticket. Each long window
is paired with a short one (1/12 of it) so an alert resolves soon after the burn stops.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from .. import conventions as cv
from ..config.cluster import GpuPoolConfig, NodePoolConfig
from ..config.models import ModelConfig
from ..config.monitoring import SloConfig
from . import metrics as m

#: (long window, short window, burn-rate factor, severity) of the SRE workbook's recommended alerts.
BURN_WINDOWS: tuple[tuple[str, str, float, str], ...] = (
    ("1h", "5m", 14.4, "critical"),
    ("6h", "30m", 6.0, "critical"),
    ("1d", "2h", 3.0, "warning"),
    ("3d", "6h", 1.0, "warning"),
)
WINDOWS = sorted({w for long, short, _, _ in BURN_WINDOWS for w in (long, short)}, key=lambda w: (w[-1] != "m", w[-1] != "h", int(w[:-1])))

#: Recorded series (one per model and window); labels `model` and `namespace`.
ERROR_RATIO_RECORD = "serving:model_error_ratio:rate{window}"
SLOW_RATIO_RECORD = "serving:model_slow_ratio:rate{window}"


def _ms(threshold_ms: int) -> str:
    return f"{threshold_ms / 1000:g}s"


def _burn_alert(name: str, record: str, budget: float, labels: dict[str, str], severity: str,
                pairs: Sequence[tuple[str, str, float]], summary: str, runbook_hint: str) -> dict[str, Any]:
    sel = "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    clauses = [
        f"({record.format(window=long)}{sel} > ({factor:g} * {budget:g}) and {record.format(window=short)}{sel} > ({factor:g} * {budget:g}))"
        for long, short, factor in pairs
    ]
    return {
        "alert": name,
        "expr": "\n  or\n".join(clauses),
        "for": "2m" if severity == "critical" else "15m",
        "labels": {"severity": severity, **labels},
        "annotations": {
            "summary": summary,
            "description": runbook_hint,
        },
    }


def model_alert_rules(
    model: ModelConfig | str,
    namespace: str,
    *,
    slo: Optional[SloConfig] = None,
    route_name: Optional[str] = None,
    grafana_url: Optional[str] = None,
) -> list[dict[str, Any]]:
    """The `spec.groups` of one model's PrometheusRule: recording rules for its error and slow-request ratios over
    every SLO window, burn-rate alerts on them, and a not-ready-pods alert.

    `slo` defaults to the platform defaults (`monitoring.slo`); `route_name` to the model name.
    """
    name = model if isinstance(model, str) else model.name
    tracks = [cv.TRACK_PRIMARY] + ([] if isinstance(model, str) else [t for t, _ in model.candidates()])
    slo = slo or SloConfig()
    ref = m.ModelRef(namespace, name, route_name)
    labels = {"model": name, "namespace": namespace}
    error_budget = round(1 - slo.availability / 100, 6)
    latency_budget = round(1 - slo.latency_target / 100, 6)
    dashboard = f" Dashboard: {grafana_url}/d/{DASHBOARD_MODEL_UID}?var-model={name}" if grafana_url else ""
    records = []
    alerts: list[dict[str, Any]] = []
    # Each track has its own series and alerts: the primary's SLO counts only the primary's backend, and a failing
    # canary (or shadow) pages as itself (label `track`), never as the model.
    for track in tracks:
        tref = ref.for_track(track)
        tlabels = {**labels, "track": track}
        who = name if track == cv.TRACK_PRIMARY else f"the {track} of {name}"
        for w in WINDOWS:
            records.append({"record": ERROR_RATIO_RECORD.format(window=w), "expr": m.error_ratio(tref, w), "labels": dict(tlabels)})
            records.append({
                "record": SLOW_RATIO_RECORD.format(window=w), "expr": m.slow_ratio(tref, slo.latency_threshold_ms, w),
                "labels": dict(tlabels),
            })
        for severity, suffix in (("critical", "Fast"), ("warning", "Slow")):
            pairs = [(long, short, f) for long, short, f, sev in BURN_WINDOWS if sev == severity]
            alerts.append(_burn_alert(
                f"ModelErrorBudgetBurn{suffix}", ERROR_RATIO_RECORD, error_budget, tlabels, severity, pairs,
                f"Model {who} is burning its error budget ({slo.availability:g}% availability SLO)",
                f"5xx ratio of {namespace}/{name} ({track}) is above {error_budget:g} x the burn rate in both windows.{dashboard}",
            ))
            alerts.append(_burn_alert(
                f"ModelLatencyBudgetBurn{suffix}", SLOW_RATIO_RECORD, latency_budget, tlabels, severity, pairs,
                f"Model {who} is too slow ({slo.latency_target:g}% of requests under {_ms(slo.latency_threshold_ms)} SLO)",
                f"Requests of {namespace}/{name} ({track}) slower than {_ms(slo.latency_threshold_ms)} exceed the latency "
                f"budget burn rate.{dashboard}",
            ))
    alerts.append({
        "alert": "ModelPodNotReady",
        "expr": m.not_ready_pods(ref),
        # Long enough for a GPU node to scale up from zero and a large model to load.
        "for": "20m",
        "labels": {"severity": "warning", **labels},
        "annotations": {
            "summary": f"A pod of model {name} has not been ready for 20 minutes",
            "description": f"Pod {{{{ $labels.pod }}}} of {namespace}/{name} (version {{{{ $labels.{m.MODEL_VERSION} }}}}) is "
                           f"Pending or Running but not Ready: check `kubectl -n {namespace} describe pod {{{{ $labels.pod }}}}`.{dashboard}",
        },
    })
    if not isinstance(model, str) and model.preset.llm:
        alerts += inference_pool_alerts(model, ref, labels, dashboard)
    return [
        {"name": f"model-{name}.slo-records", "interval": "1m", "rules": records},
        {"name": f"model-{name}.alerts", "rules": alerts},
    ]


def inference_pool_alerts(model: ModelConfig, ref: m.ModelRef, labels: dict[str, str], dashboard: str) -> list[dict[str, Any]]:
    """Alerts of an LLM model's InferencePool: picker down (the gateway fails closed: every request of the pool
    fails), time to first token and queue per pool."""
    name, ns, opts = model.name, ref.namespace, model.inference
    picker, pool = cv.picker_name(name), cv.inference_pool_name(name)
    out: list[dict[str, Any]] = [{
        "alert": "InferencePickerDown",
        # No ready picker while the pool has ready replicas (a model scaled to zero needs no picker answer).
        "expr": f"(absent({m.picker_up(ref, picker)}) == 1) and on () ({m.ready_replicas(ref)} > 0)",
        "for": "5m",
        "labels": {"severity": "critical", **labels, "pool": pool},
        "annotations": {
            "summary": f"The endpoint picker of {ns}/{pool} is down",
            "description": f"No ready pod of Deployment {ns}/{picker} for 5 minutes: the gateway fails closed, so "
                           f"requests to this pool get 5xx. `kubectl -n {ns} get pods -l app.kubernetes.io/name={picker}`.{dashboard}",
        },
    }]
    out.append({
        "alert": "InferencePoolTimeToFirstTokenHigh",
        "expr": f"{m.time_to_first_token_by_pool(ref, 0.95, '10m')} > {opts.time_to_first_token_seconds:g}",
        "for": "15m",
        "labels": {"severity": "warning", **labels},
        "annotations": {
            "summary": f"Time to first token of model {name} is above {opts.time_to_first_token_seconds:g}s (p95)",
            "description": f"p95 time to first token of the {{{{ $labels.{m.TRACK} }}}} replicas in pool {ns}/{pool} is "
                           f"{{{{ $value | humanizeDuration }}}} over 10 minutes.{dashboard}",
        },
    })
    out.append({
        "alert": "InferencePoolQueueHigh",
        "expr": f"{m.pool_queue(ref)} > {opts.queue_alert:g}",
        "for": "10m",
        "labels": {"severity": "warning", **labels},
        "annotations": {
            "summary": f"Requests queue up in an inference pool of model {name}",
            "description": f"Pool {ns}/{{{{ $labels.name }}}} averages {{{{ $value }}}} waiting requests per replica "
                           f"(threshold {opts.queue_alert:g}) for 10 minutes: more replicas (maxReplicas, GPU pool "
                           f"maxSize) or a smaller load.{dashboard}",
        },
    })
    return out


#: UID of the model-serving dashboard (alerts and KEDA docs link to it).
DASHBOARD_MODEL_UID = "serving-models"


#: How long pods may stay unschedulable before the autoscaler alerts fire (a GPU node from zero is asked for within
#: one autoscaler loop, 10 s; the node itself takes minutes, but `scaled_up_nodes_total` moves when it is asked for).
UNSCHEDULABLE_FOR = "15m"


def cluster_autoscaler_rules() -> list[dict[str, Any]]:
    """Alerts on cluster-autoscaler's own metrics (metrics.EXPORTED_METRICS, cluster-autoscaler 1.35): pods it
    cannot help, and scale-ups the cloud provider refuses."""
    unschedulable = 'max(cluster_autoscaler_unschedulable_pods_count{type="unschedulable"})'
    return [
        {
            "alert": "ClusterAutoscalerCannotHelpUnschedulablePods",
            # Pods the scheduler marked unschedulable (the autoscaler's own count, which includes pods waiting for
            # nodes it already asked for) while it has asked for no node in a longer window: no node group can
            # fit them (maxSize reached, no pool with those labels/taints/resources, backoff).
            "expr": f"({unschedulable} > 0) and on () ((sum(increase(cluster_autoscaler_scaled_up_nodes_total[20m])) or vector(0)) == 0)",
            "for": UNSCHEDULABLE_FOR,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Pods stay unschedulable and cluster-autoscaler adds no node for them",
                "description": "{{ $value }} pods have been unschedulable for 15 minutes and cluster-autoscaler has not "
                               "scaled up in 20 minutes: no node pool can fit them (maxSize reached, labels/taints or "
                               "GPU count no pool offers). `kubectl get events -A --field-selector reason=NotTriggerScaleUp` "
                               "names the pods and why.",
            },
        },
        {
            "alert": "ClusterAutoscalerScaleUpFailing",
            "expr": "sum by (reason) (increase(cluster_autoscaler_failed_scale_ups_total[30m])) > 0",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "cluster-autoscaler scale-ups are failing ({{ $labels.reason }})",
                "description": "Scale-ups failed {{ $value }} times in 30 minutes (reason {{ $labels.reason }}), e.g. no "
                               "capacity for the GPU instance type in the pool's zones: add instance types or subnets.",
            },
        },
    ]


def platform_rules(
    system_pool: NodePoolConfig,
    gpu_pools: Iterable[GpuPoolConfig],
    gpu_temperature_c: int,
    prometheus_pvc_regex: str,
    cluster_autoscaler: bool = False,
) -> list[dict[str, Any]]:
    """Platform-wide rule groups: GPU health, node pools out of room, Prometheus storage, and (when the platform runs
    it) cluster-autoscaler. None of them depends on the model list."""
    gpu = [
        {
            "alert": "GpuXidError",
            # DCGM_FI_DEV_XID_ERRORS holds the last XID error code of the GPU (0: none).
            "expr": f"max by ({m.DCGM_NODE_LABEL}, gpu, UUID, modelName) (max_over_time(DCGM_FI_DEV_XID_ERRORS[5m])) > 0",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "GPU reported an XID error",
                "description": f"GPU {{{{ $labels.gpu }}}} ({{{{ $labels.modelName }}}}) on node {{{{ $labels.{m.DCGM_NODE_LABEL} }}}} "
                               "reported XID {{ $value }}. See https://docs.nvidia.com/deploy/xid-errors/ ; many XIDs need the node drained.",
            },
        },
        {
            "alert": "GpuTemperatureHigh",
            "expr": f"max by ({m.DCGM_NODE_LABEL}, gpu, UUID) (DCGM_FI_DEV_GPU_TEMP) > {gpu_temperature_c}",
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "GPU temperature is high",
                "description": f"GPU {{{{ $labels.gpu }}}} on node {{{{ $labels.{m.DCGM_NODE_LABEL} }}}} has been above {gpu_temperature_c}C "
                               "for 10 minutes ({{ $value }}C).",
            },
        },
    ]
    pools = []
    pending_gpu = (
        'kube_pod_status_unschedulable * on (namespace, pod) group_left () '
        'max by (namespace, pod) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"} > 0)'
    )
    pending_cpu = (
        'kube_pod_status_unschedulable unless on (namespace, pod) '
        'max by (namespace, pod) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"} > 0)'
    )
    for pool, pending in [(system_pool, pending_cpu), *((p, pending_gpu) for p in gpu_pools)]:
        nodes = f'count(kube_node_labels{{{m.POOL}="{pool.name}"}})'
        pools.append({
            "alert": "NodePoolAtMaxWithPendingPods",
            "expr": f"({nodes} >= {pool.max_size}) and on () (count({pending}) > 0)",
            "for": "15m",
            "labels": {"severity": "warning", "pool": pool.name},
            "annotations": {
                "summary": f"Node pool {pool.name} is at its maximum size ({pool.max_size}) and pods are unschedulable",
                "description": f"{'GPU ' if isinstance(pool, GpuPoolConfig) else ''}pods have been unschedulable for 15 minutes "
                               f"while pool {pool.name} has reached maxSize {pool.max_size}: raise nodePools maxSize or "
                               "lower the models' replicas.",
            },
        })
    pvc = f'namespace="{cv.MONITORING_NAMESPACE}", persistentvolumeclaim=~"{prometheus_pvc_regex}"'
    free = f"kubelet_volume_stats_available_bytes{{{pvc}}} / kubelet_volume_stats_capacity_bytes{{{pvc}}}"
    storage = [
        {
            "alert": "PrometheusStorageFillingUp",
            "expr": f"({free}) < 0.15 and predict_linear(kubelet_volume_stats_available_bytes{{{pvc}}}[6h], 4 * 24 * 3600) < 0",
            "for": "1h",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Prometheus storage will be full within 4 days",
                "description": "Volume {{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and is "
                               "predicted to fill within 4 days: raise monitoring.storageSize or lower monitoring.retention.",
            },
        },
        {
            "alert": "PrometheusStorageAlmostFull",
            "expr": f"({free}) < 0.05",
            "for": "5m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "Prometheus storage is almost full",
                "description": "Volume {{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free.",
            },
        },
    ]
    groups = [
        {"name": "platform.gpu", "rules": gpu},
        {"name": "platform.node-pools", "rules": pools},
        {"name": "platform.prometheus-storage", "rules": storage},
    ]
    if cluster_autoscaler:
        groups.append({"name": "platform.cluster-autoscaler", "rules": cluster_autoscaler_rules()})
    return groups
