"""Scaling part: the model's autoscaler.

An HPA on CPU, or a KEDA ScaledObject on a Prometheus signal from `observability/metrics.py` (plus a cron window
for scale to zero). Scales the primary Deployment; returns nothing when the model has a fixed replica count.
"""

from __future__ import annotations

from typing import Any, Optional, cast

import pulumi
import pulumi_kubernetes as k8s

from ... import conventions as cv
from ...config import ModelConfig
from ...observability import metrics as promql
from ..k8s import custom_resource, meta
from .context import PRIMARY, ModelContext
from .workload import WorkloadOutputs


def behavior(m: ModelConfig) -> dict[str, Any]:
    """HPA scaling behaviour: up fast, down slowly (slower still for GPU models)."""
    gpu = m.resources.gpus > 0
    stabilization = m.scaling.scale_down_stabilization_seconds
    if stabilization is None:
        stabilization = 600 if gpu else 300
    up = [{"type": "Pods", "value": 1, "periodSeconds": 60}]
    if not gpu:
        up = [{"type": "Pods", "value": 4, "periodSeconds": 60}, {"type": "Percent", "value": 100, "periodSeconds": 60}]
    return {
        # Up without delay (a GPU replica takes minutes to be ready: one at a time, it needs a whole GPU node) ...
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": up},
        # ... down slowly, one replica at a time, once the load has stayed low for the whole window.
        "scaleDown": {
            "stabilizationWindowSeconds": stabilization,
            "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120 if gpu else 60}],
        },
    }


def scaling(ctx: ModelContext, workload: WorkloadOutputs) -> Optional[pulumi.Resource]:
    """The primary's autoscaler, or None when the model is not autoscaled."""
    m = ctx.model
    if not m.scaling.autoscaled:
        return None
    target_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name}
    deps = ctx.with_deps(workload.deployments[PRIMARY])
    if m.metric == "cpu":
        return k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{ctx.name}-hpa",
            metadata=meta(m.name, ctx.namespace, ctx.labels),
            spec=cast(k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgsDict, {
                "scaleTargetRef": target_ref,
                "minReplicas": m.scaling.min_replicas,
                "maxReplicas": m.scaling.max_replicas,
                "metrics": [{
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": int(m.metric_target)}},
                }],
                "behavior": behavior(m),
            }),
            opts=deps,
        )
    ref = promql.ModelRef(ctx.namespace, m.name)
    signals = promql.queries(ref, m.runtime)
    query, metric_type = {
        # Sums over the model: KEDA's AverageValue divides by the replica count, so the target is per replica.
        "requests": (signals["requestRate"], "AverageValue"),
        "queue": (signals.get("queueLength", ""), "AverageValue"),
        # A quantile is not additive: compared as is.
        "latency": (signals["latencyP95"], "Value"),
    }[m.metric]
    # KEDA 2.20 scalers (pkg/scalers/prometheus_scaler.go: serverAddress, query, threshold, ignoreNullValues;
    # cron_scaler.go: timezone, start, end, desiredReplicas); KEDA creates the HPA named below from them.
    triggers: list[dict[str, Any]] = [{
        "type": "prometheus",
        "metricType": metric_type,
        "metadata": {
            "serverAddress": cv.PROMETHEUS_URL,
            "query": query,
            "threshold": f"{m.metric_target:g}",
            # No series (no traffic yet) reads as 0 instead of an error.
            "ignoreNullValues": "true",
        },
    }]
    if m.scaling.active_hours is not None:
        hours = m.scaling.active_hours
        triggers.append({
            "type": "cron",
            "metadata": {"timezone": hours.timezone, "start": hours.start, "end": hours.end, "desiredReplicas": "1"},
        })
    return custom_resource(
        f"{ctx.name}-scaledobject",
        "keda.sh/v1alpha1",
        "ScaledObject",
        meta(m.name, ctx.namespace, ctx.labels),
        {
            "scaleTargetRef": target_ref,
            "minReplicaCount": m.scaling.min_replicas,
            "maxReplicaCount": m.scaling.max_replicas,
            "pollingInterval": 15,
            # Idle time before the last replica goes (scale to zero only).
            "cooldownPeriod": 900,
            "advanced": {"horizontalPodAutoscalerConfig": {"name": f"{m.name}-keda", "behavior": behavior(m)}},
            "triggers": triggers,
        },
        deps,
    )
