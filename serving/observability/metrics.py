"""The PromQL of the platform: one place for how a model's traffic, latency, replicas, GPU use and queue are measured.

Dashboards, alert rules and KEDA autoscalers all take their expressions from here, so "request rate of model X"
means the same thing everywhere.

Where the numbers come from (exporter -> metric names, verified against upstream; see `EXPORTED_METRICS`):

- Traffic, errors, latency: Envoy Gateway's proxies, uniform across runtimes. Envoy Gateway names the upstream
  cluster of rule N of an HTTPRoute `httproute/<namespace>/<route>/rule/<N>` (internal/gatewayapi/helpers.go,
  `irRouteDestinationName`, v1.9.0) and Envoy exports its stats with the cluster name as the `envoy_cluster_name`
  label on `/stats/prometheus` (port `metrics` 19001), scraped by the PodMonitor in `components/gateway.py`.
  `envoy_cluster_upstream_rq_time` is a histogram in milliseconds with Envoy's default buckets (`ENVOY_BUCKETS_MS`).
  Two other names share that prefix (v1.9.0): a cluster per backendRef `.../rule/<N>/backend/<M>` when a rule needs
  one cluster per backend (e.g. a canary whose Service has no ready endpoint: `ir.HTTPRoute.NeedsClusterPerSetting`,
  `irDestinationSettingName`), and the mirror cluster of a RequestMirror filter `.../rule/<N>-mirror-<filter index>`
  (internal/gatewayapi/filters.go `processRequestMirrorFilter`). Mirrored (shadow) requests are copies whose
  responses Envoy discards: `ModelRef.envoy()` matches the first two and never the mirror, so a shadow neither
  inflates the primary's request rate nor counts in its SLO.
- Requests to a model with no ready endpoint leave no per-route trace: see `request_rate`.
- Which pods belong to which model: kube-state-metrics `kube_pod_labels`, with the platform's model labels
  allowlisted (`components/monitoring.py` sets `metricLabelsAllowlist`); a pod label `serving.platform/model`
  becomes the metric label `label_serving_platform_model` (kube-state-metrics sanitises label keys).
- GPU: NVIDIA DCGM exporter (`DCGM_FI_DEV_*`, the counters `catalog/gpu.py` configures it with), which labels each
  GPU with the pod/namespace using it (internal/pkg/transformation/kubernetes.go); label names as `catalog/gpu.py`
  documents them for the platform's scrape config.
- LLM queue: vLLM (v0.11 V1 engine) `vllm:num_requests_waiting` / `vllm:num_requests_running` gauges on /metrics;
  time to first token: vLLM's `vllm:time_to_first_token_seconds` histogram (vllm/v1/metrics/loggers.py).
- Inference pools: the endpoint picker of each pool (llm-d router EPP v0.9.0, pkg/epp/metrics/llm_d_router_metrics.go,
  subsystem `llm_d_epp`) exports per pool (label `name` = the InferencePool, `cv.inference_pool_name`) the average
  queue size and KV-cache utilisation over its replicas and its ready endpoint count; Prometheus scrapes it through
  the picker's ServiceMonitor (`components/inference_pool.py`), which copies the Service's model and track labels
  onto the series (`serving_platform_model`, `serving_platform_track`). `up` is Prometheus' own scrape result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .. import conventions as cv
from ..catalog import gpu as gpu_catalog

# --- label names -------------------------------------------------------------------------------------------------


def ksm_label(key: str) -> str:
    """The kube-state-metrics label for a Kubernetes label key (`serving.platform/model` -> `label_serving_platform_model`)."""
    return "label_" + "".join(c if c.isalnum() else "_" for c in key)


MODEL = ksm_label(cv.MODEL_LABEL)
MODEL_VERSION = ksm_label(cv.MODEL_VERSION_LABEL)
TRACK = ksm_label(cv.TRACK_LABEL)
POOL = ksm_label(cv.POOL_LABEL)

#: Labels of DCGM series (`catalog/gpu.py`, owned with the DCGM exporter): the pod/namespace using a GPU arrive as
#: `exported_pod`/`exported_namespace` (its ServiceMonitor keeps Prometheus' own target labels), the node as `node`.
DCGM_POD_LABEL = gpu_catalog.LABEL_POD
DCGM_NAMESPACE_LABEL = gpu_catalog.LABEL_NAMESPACE
DCGM_NODE_LABEL = gpu_catalog.LABEL_NODE

#: Envoy's default histogram buckets (ms): `le` values `envoy_cluster_upstream_rq_time_bucket` carries. A latency
#: SLO threshold must be one of them to be computed exactly (Stats::HistogramSettingsImpl::defaultBuckets).
ENVOY_BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000)

#: Every metric the platform's PromQL uses, with the exporter that really exposes it (tests check expressions only
#: use these).
EXPORTED_METRICS: dict[str, str] = {
    # Envoy (Envoy Gateway proxy, /stats/prometheus); names as in Envoy Gateway's own dashboards
    # (charts/gateway-addons-helm/dashboards/envoy-clusters.json, v1.9.0).
    "envoy_cluster_upstream_rq_total": "envoy",
    "envoy_cluster_upstream_rq_xx": "envoy",
    "envoy_cluster_upstream_rq_time_bucket": "envoy",
    "envoy_cluster_upstream_rq_time_count": "envoy",
    # kube-state-metrics (https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics).
    "kube_pod_labels": "kube-state-metrics",
    "kube_deployment_labels": "kube-state-metrics",
    "kube_pod_status_ready": "kube-state-metrics",
    "kube_pod_status_phase": "kube-state-metrics",
    "kube_pod_status_unschedulable": "kube-state-metrics",
    "kube_pod_container_resource_requests": "kube-state-metrics",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_node_labels": "kube-state-metrics",
    "kube_node_status_condition": "kube-state-metrics",
    "kube_node_status_allocatable": "kube-state-metrics",
    # kubelet (volume stats, scraped by kube-prometheus-stack's kubelet ServiceMonitor).
    "kubelet_volume_stats_available_bytes": "kubelet",
    "kubelet_volume_stats_capacity_bytes": "kubelet",
    # node-exporter.
    "node_cpu_seconds_total": "node-exporter",
    "node_memory_MemAvailable_bytes": "node-exporter",
    "node_memory_MemTotal_bytes": "node-exporter",
    # Prometheus itself.
    "prometheus_tsdb_storage_blocks_bytes": "prometheus",
    # cluster-autoscaler 1.35 (cluster-autoscaler/metrics/metrics.go, namespace `cluster_autoscaler`): unschedulable
    # pods (label `type`: `unschedulable` = marked unschedulable by the scheduler, `scheduler_unprocessed`) and nodes
    # it added; scraped through the chart's own ServiceMonitor (`components/autoscaler.py`).
    "cluster_autoscaler_unschedulable_pods_count": "cluster-autoscaler",
    "cluster_autoscaler_scaled_up_nodes_total": "cluster-autoscaler",
    "cluster_autoscaler_failed_scale_ups_total": "cluster-autoscaler",
    # KEDA HTTP add-on interceptor v0.15.0 (interceptor/metrics/instruments.go: OpenTelemetry instruments
    # `interceptor.request.count` and `.concurrency`, labels route_name/route_namespace/code/method, exported by the
    # OTel Prometheus exporter as `_total` counter and gauge); scraped by the PodMonitor in `components/wake.py`.
    "interceptor_request_count_total": "keda-http-interceptor",
    "interceptor_request_concurrency": "keda-http-interceptor",
    # vLLM v0.11 (vllm/v1/metrics/loggers.py).
    "vllm:num_requests_waiting": "vllm",
    "vllm:num_requests_running": "vllm",
    "vllm:time_to_first_token_seconds_bucket": "vllm",
    "vllm:kv_cache_usage_perc": "vllm",
    # llm-d router endpoint picker v0.9.0 (pkg/epp/metrics/llm_d_router_metrics.go; the `inference_pool_*` names of
    # pkg/epp/metrics/metrics.go are the deprecated copies).
    "llm_d_epp_average_queue_size": "llm-d-epp",
    "llm_d_epp_average_kv_cache_utilization": "llm-d-epp",
    "llm_d_epp_ready_endpoints": "llm-d-epp",
    # Prometheus: 1 per target whose last scrape succeeded.
    "up": "prometheus",
}

# DCGM exporter: exactly the counters the platform configures it with (`catalog/gpu.py` DCGM_METRICS).
EXPORTED_METRICS.update({name: "dcgm-exporter" for name in sorted(gpu_catalog.DCGM_METRIC_NAMES)})

#: Runtimes that export an LLM request queue (`queue_length` is meaningful for them).
QUEUE_RUNTIMES = frozenset({"vllm"})


#: Envoy cluster name suffix (after `rule/<N>`) of each track's traffic; None: every backendRef, no mirror.
TRACK_CLUSTERS: dict[Optional[str], str] = {
    None: "(/backend/[0-9]+)?",
    cv.TRACK_PRIMARY: "(/backend/0)?",
    "canary": "/backend/1",
    "shadow": "-mirror-[0-9]+",
}


def _q(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- selectors ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    """Which series belong to one model: its namespace, model name and HTTPRoute name (default: the model name).

    `namespace` None matches any namespace (model names are unique across the platform). Values may be Grafana
    variables (`$model`): the dashboards use the same expressions.
    """

    namespace: Optional[str]
    model: str
    route: Optional[str] = None
    #: One track's traffic (`primary`, `canary`, `shadow`), or None: every request that reached the model.
    track: Optional[str] = None

    @property
    def route_name(self) -> str:
        return self.route or self.model

    def for_track(self, track: Optional[str]) -> "ModelRef":
        return ModelRef(self.namespace, self.model, self.route, track)

    def envoy(self, extra: str = "") -> str:
        """Label matchers of the Envoy upstream clusters of the model's route: every rule (per rule, or per
        backendRef of a rule), never its RequestMirror clusters (`rule/<N>-mirror-<i>`: shadow copies).

        Per track (`TRACK_CLUSTERS`): the traffic part gives every backendRef of a model with a canary a filter of
        its own, which makes Envoy Gateway build one cluster per backendRef (`NeedsClusterPerSetting`, per-setting
        filters), `.../backend/0` the primary and `.../backend/1` the canary; a shadow's copies go to the mirror
        cluster. Without a canary the primary is the whole rule (`rule/<N>`, or `rule/<N>/backend/0`)."""
        ns = self.namespace or "[^/]+"
        m = f"envoy_cluster_name=~{_q(f'httproute/{ns}/{self.route_name}/rule/[0-9]+{TRACK_CLUSTERS[self.track]}')}"
        return "{" + m + (f", {extra}" if extra else "") + "}"

    def pods(self, track: Optional[str] = None) -> str:
        """`kube_pod_labels` of the model's pods (of one track: `primary`, `canary`, `shadow`, or all), one series
        per (namespace, pod), value 1."""
        ns = f"namespace={_q(self.namespace)}, " if self.namespace else ""
        tr = f", {TRACK}={_q(track)}" if track else ""
        return f"max by (namespace, pod, {MODEL_VERSION}) (kube_pod_labels{{{ns}{MODEL}={_q(self.model)}{tr}}})"


def for_model_pods(expr: str, ref: ModelRef, by: str = "", track: Optional[str] = None) -> str:
    """`expr` (series with namespace/pod labels) restricted to the model's pods (of `track`, default all), summed
    `by` the given labels."""
    return f"sum{f' by ({by})' if by else ''} ({expr} * on (namespace, pod) group_left ({MODEL_VERSION}) {ref.pods(track)})"


# --- traffic (Envoy, uniform across runtimes) ---------------------------------------------------------------------


def request_rate(ref: ModelRef, window: str = "5m") -> str:
    """Requests per second that reached a replica of the model (mirror copies excluded).

    Not counted, anywhere per route, for a model routed directly: requests while it has no ready endpoint. Envoy Gateway v1.9.0 turns a
    rule whose backends all lack ready endpoints into a 503 direct response (internal/gatewayapi/route.go,
    `failedNoReadyEndpoints && backendWeights.Valid == 0`); the router answers it before picking a cluster, so no
    `envoy_cluster_*` stat moves (the proxy-wide `rq_direct_response` counter does, for every route at once), and a
    backend without endpoints among others gets its share routed to the shared `invalid-backend-cluster` (503,
    xds/translator/route.go). envoyproxy/gateway#8288 reports the same (`response_code_details: direct_response`,
    `upstream_cluster: null`). A model that can be at zero is therefore routed through the KEDA HTTP add-on's
    interceptor (`components/wake.py`), which is always ready: its requests are counted and they wake it.
    """
    return f"sum(rate(envoy_cluster_upstream_rq_total{ref.envoy()}[{window}]))"


def error_ratio(ref: ModelRef, window: str = "5m") -> str:
    """Fraction of responses that are 5xx (0..1; no result without traffic)."""
    errors = f"sum(rate(envoy_cluster_upstream_rq_xx{ref.envoy('envoy_response_code_class=' + _q('5'))}[{window}]))"
    return f"({errors} / {request_rate(ref, window)})"


def latency_quantile(ref: ModelRef, quantile: float, window: str = "5m") -> str:
    """Upstream request latency quantile in seconds (for streamed responses: until the last byte)."""
    buckets = f"sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{ref.envoy()}[{window}]))"
    return f"(histogram_quantile({quantile}, {buckets}) / 1000)"


def slow_ratio(ref: ModelRef, threshold_ms: float, window: str = "5m") -> str:
    """Fraction of requests slower than `threshold_ms` (one of `ENVOY_BUCKETS_MS`)."""
    if threshold_ms not in ENVOY_BUCKETS_MS:
        raise ValueError(f"latency threshold {threshold_ms}ms is not an Envoy histogram bucket {ENVOY_BUCKETS_MS}")
    le = _q(format(threshold_ms, "g"))
    fast = f"sum(rate(envoy_cluster_upstream_rq_time_bucket{ref.envoy('le=' + le)}[{window}]))"
    total = f"sum(rate(envoy_cluster_upstream_rq_time_count{ref.envoy()}[{window}]))"
    return f"(1 - ({fast} / {total}))"


# --- pods, GPU, queue ---------------------------------------------------------------------------------------------


def ready_replicas(ref: ModelRef) -> str:
    """Ready pods of the model (every version)."""
    return for_model_pods('kube_pod_status_ready{condition="true"}', ref)


def not_ready_pods(ref: ModelRef) -> str:
    """One series per model pod that is Pending or Running but not Ready (value 1)."""
    not_ready = 'kube_pod_status_ready{condition="false"} == 1'
    alive = 'kube_pod_status_phase{phase=~"Pending|Running"} == 1'
    return f"(({not_ready}) and on (namespace, pod) ({alive})) * on (namespace, pod) group_left ({MODEL_VERSION}) {ref.pods()}"


def _dcgm(metric: str) -> str:
    """A DCGM metric with its consumer pod/namespace under the names `pod`/`namespace` (see DCGM_POD_LABEL)."""
    expr = metric
    if DCGM_POD_LABEL != "pod":
        expr = f'label_replace({expr}, "pod", "$1", {_q(DCGM_POD_LABEL)}, "(.*)")'
    if DCGM_NAMESPACE_LABEL != "namespace":
        expr = f'label_replace({expr}, "namespace", "$1", {_q(DCGM_NAMESPACE_LABEL)}, "(.*)")'
    return expr


def gpu_utilisation(ref: ModelRef) -> str:
    """Mean GPU utilisation (%) over the GPUs the model's pods use."""
    joined = f"{_dcgm('DCGM_FI_DEV_GPU_UTIL')} * on (namespace, pod) group_left ({MODEL_VERSION}) {ref.pods()}"
    return f"avg ({joined})"


def gpu_utilisation_by_pod(ref: ModelRef) -> str:
    joined = f"{_dcgm('DCGM_FI_DEV_GPU_UTIL')} * on (namespace, pod) group_left ({MODEL_VERSION}) {ref.pods()}"
    return f"avg by (pod, {MODEL_VERSION}) ({joined})"


def queue_length(ref: ModelRef, track: Optional[str] = cv.TRACK_PRIMARY) -> str:
    """Requests waiting in the LLM runtime's scheduler queue, summed over the model's pods of `track` (vLLM).

    Default: the primary Deployment's pods only, the ones its autoscaler scales (a canary has fixed replicas and a
    shadow's queue holds mirror copies); `track=None` sums every track (dashboards)."""
    return for_model_pods("vllm:num_requests_waiting", ref, track=track)


def running_requests(ref: ModelRef, track: Optional[str] = None) -> str:
    return for_model_pods("vllm:num_requests_running", ref, track=track)


def time_to_first_token_quantile(ref: ModelRef, quantile: float, window: str = "5m") -> str:
    """vLLM time to first token (seconds): the latency a streaming client feels."""
    buckets = f"rate(vllm:time_to_first_token_seconds_bucket[{window}]) * on (namespace, pod) group_left () {ref.pods()}"
    return f"histogram_quantile({quantile}, sum by (le) ({buckets}))"


# --- inference pools (endpoint picker) ---------------------------------------------------------------------------

#: Series labels the picker's ServiceMonitor copies from its Service (`targetLabels`, sanitised like any label name).
SERIES_MODEL = "".join(c if c.isalnum() else "_" for c in cv.MODEL_LABEL)
#: Tracks in an LLM's InferencePool (a shadow is mirrored to its Service, not pooled).
POOL_TRACKS = ("primary", "canary")


def _picker(metric: str, ref: ModelRef) -> str:
    ns = f"namespace={_q(ref.namespace)}, " if ref.namespace else ""
    return f"{metric}{{{ns}{SERIES_MODEL}={_q(ref.model)}}}"


def pool_queue(ref: ModelRef) -> str:
    """Average requests waiting per replica, per InferencePool (label `name`) of the model, as its picker sees it."""
    return f"max by (name) ({_picker('llm_d_epp_average_queue_size', ref)})"


def pool_kv_cache(ref: ModelRef) -> str:
    """Average KV-cache utilisation (0..1) per InferencePool of the model."""
    return f"max by (name) ({_picker('llm_d_epp_average_kv_cache_utilization', ref)})"


def pool_ready_endpoints(ref: ModelRef) -> str:
    """Replicas the picker of each InferencePool may pick."""
    return f"max by (name) ({_picker('llm_d_epp_ready_endpoints', ref)})"


def picker_up(ref: ModelRef, picker: str) -> str:
    """1 while Prometheus scrapes a ready picker of the Service `picker` (only the leader is ready), else empty."""
    ns = f"namespace={_q(ref.namespace)}, " if ref.namespace else ""
    return f"max(up{{{ns}service={_q(picker)}}} == 1)"


def time_to_first_token_by_pool(ref: ModelRef, quantile: float, window: str = "5m") -> str:
    """vLLM time to first token (seconds) of the replicas in the model's InferencePool, per track (primary, canary)."""
    ns = f"namespace={_q(ref.namespace)}, " if ref.namespace else ""
    tracks = "|".join(POOL_TRACKS)
    pods = f"max by (namespace, pod, {TRACK}) (kube_pod_labels{{{ns}{MODEL}={_q(ref.model)}, {TRACK}=~{_q(tracks)}}})"
    buckets = f"rate(vllm:time_to_first_token_seconds_bucket[{window}]) * on (namespace, pod) group_left ({TRACK}) {pods}"
    return f"histogram_quantile({quantile}, sum by (le, {TRACK}) ({buckets}))"


def _interceptor(ref: ModelRef, extra: str = "") -> str:
    ns = f", route_namespace={_q(ref.namespace)}" if ref.namespace else ""
    # The interceptor's route name is the model's HTTPScaledObject, named after the model.
    return f"{{route_name={_q(ref.model)}{ns}{extra}}}"


def held_requests(ref: ModelRef) -> str:
    """Requests the KEDA HTTP interceptor holds or forwards for the model right now (a model waking from zero)."""
    return f"sum(interceptor_request_concurrency{_interceptor(ref)})"


def wake_timeouts(ref: ModelRef, window: str = "5m") -> str:
    """504s per second the interceptor answered for the model (no replica ready within its wake limit)."""
    return f"sum(rate(interceptor_request_count_total{_interceptor(ref, ', code=' + _q('504'))}[{window}]))"


def queries(ref: ModelRef, runtime: Optional[str] = None) -> dict[str, str]:
    """The named signals KEDA triggers can scale a track's Deployment on (all scalar-valued).

    `requestRate` and `latencyP95` are the route's traffic of `ref.track` (the whole route when None; never the
    mirror unless the track is the shadow); `queueLength` the track's own pods' queue (the primary's by default).
    A model at zero is reached through the KEDA HTTP interceptor, so its requests are counted here too."""
    out = {"requestRate": request_rate(ref, "2m"), "latencyP95": latency_quantile(ref, 0.95, "2m")}
    if runtime is None or runtime in QUEUE_RUNTIMES:
        out["queueLength"] = queue_length(ref, track=ref.track or cv.TRACK_PRIMARY)
    return out


