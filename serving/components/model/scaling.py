"""Scaling part: one autoscaler per track.

An HPA on CPU, or a KEDA ScaledObject on a Prometheus signal from `observability/metrics.py`, scoped to the track's
own backend and pods; for a model that can be at zero, the primary's ScaledObject also carries the KEDA HTTP
add-on's `external-push` trigger (woken by requests) and, with `activeHours`, a cron trigger (a schedule on top).
A stopped model's ScaledObjects are paused at zero. Nothing when the model has a fixed replica count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, cast

import pulumi
import pulumi_kubernetes as k8s

from ... import conventions as cv
from ...config import ModelConfig
from ...observability import metrics as promql
from ..k8s import custom_resource, meta
from .context import ModelContext, Track, autoscaled, track_bounds
from .workload import WorkloadOutputs

if TYPE_CHECKING:
    from .wake import Wake


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


#: KEDA annotation pausing a ScaledObject at a replica count (https://keda.sh/docs/2.20/concepts/scaling-deployments/
#: "Pausing autoscaling"): a stopped model's autoscalers hold its Deployments at zero.
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"


def scaling(ctx: ModelContext, workload: WorkloadOutputs, wake: Optional["Wake"] = None) -> dict[str, pulumi.Resource]:
    """Each autoscaled track's autoscaler (track name -> HPA or ScaledObject); none when the model has a fixed size.
    Each track scales on its own signal: its own backend's requests and latency, its own pods' queue."""
    return {t.name: _autoscaler(ctx, workload, t, wake if t.is_primary else None)
            for t in ctx.tracks if autoscaled(ctx.model, t)}


def _autoscaler(ctx: ModelContext, workload: WorkloadOutputs, track: Track, wake: Optional["Wake"]) -> pulumi.Resource:
    m = ctx.model
    workload_name = ctx.workload_name(track)
    low, high = track_bounds(m, track)
    target_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload_name}
    deps = ctx.with_deps(workload.deployments[track.name], wake.resources if wake is not None else [])
    labels = ctx.track_labels(track) if not track.is_primary else ctx.labels
    if m.metric == "cpu":
        # A stopped model's Deployments are at zero replicas, where the HPA does not scale (ScalingDisabled).
        return k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{ctx.name}{track.suffix}-hpa",
            metadata=meta(workload_name, ctx.namespace, labels),
            spec=cast(k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgsDict, {
                "scaleTargetRef": target_ref,
                "minReplicas": low,
                "maxReplicas": high,
                "metrics": [{
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": int(m.metric_target)}},
                }],
                "behavior": behavior(m),
            }),
            opts=deps,
        )
    ref = promql.ModelRef(ctx.namespace, m.name, track=track.name)
    signals = promql.queries(ref, m.runtime)
    query, metric_type = {
        # Sums over the track: KEDA's AverageValue divides by the replica count, so the target is per replica.
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
    if wake is not None:
        # Requests held by the KEDA HTTP interceptor wake the Deployment from zero.
        triggers.append(wake.trigger())
    if track.is_primary and m.scaling.active_hours is not None:
        hours = m.scaling.active_hours
        triggers.append({
            "type": "cron",
            "metadata": {"timezone": hours.timezone, "start": hours.start, "end": hours.end, "desiredReplicas": "1"},
        })
    return custom_resource(
        f"{ctx.name}{track.suffix}-scaledobject",
        "keda.sh/v1alpha1",
        "ScaledObject",
        meta(workload_name, ctx.namespace, labels, {PAUSED_REPLICAS: "0"} if m.stopped else None),
        {
            "scaleTargetRef": target_ref,
            "minReplicaCount": low,
            "maxReplicaCount": high,
            "pollingInterval": 15,
            # Idle time before the last replica goes (scale to zero only).
            "cooldownPeriod": 900,
            "advanced": {"horizontalPodAutoscalerConfig": {"name": f"{workload_name}-keda", "behavior": behavior(m)}},
            "triggers": triggers,
        },
        deps,
    )
