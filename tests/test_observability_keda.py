"""Custom-metric autoscaling: KEDA installed (pinned, CRDs, monitored) before any model's ScaledObject, and the
Prometheus triggers models use point at the platform's Prometheus with the shared queries."""

from __future__ import annotations

import pytest

from serving import conventions as cv
from serving.catalog import charts
from serving.components.autoscaling import model_query, model_trigger
from serving.components.monitoring import PROMETHEUS_NAME
from serving.observability import metrics as m

from .conftest import repo_plan
from .schemas import chart_defaults, unknown_value_paths, validate_object
from .test_gateway import objects, releases, reveal
from .test_observability import metric_names


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_keda_is_pinned_with_its_crds_and_monitored(stack: str) -> None:
    release = releases(repo_plan(stack))["keda"]
    pin = charts.KEDA
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (pin.chart, pin.version, cv.KEDA_NAMESPACE)
    v = reveal(dict(release.inputs["values"]))
    assert list(unknown_value_paths(v, chart_defaults(pin.reference))) == []
    assert v["crds"]["install"] is True


def test_models_wait_for_keda() -> None:
    plan = repo_plan("dev")
    keda = releases(plan)["keda"]
    models = [s for s in plan.resources if s.type == "serving:model:ModelServing"]
    assert models and all(keda.urn in s.dependencies for s in models)


def test_prometheus_url_is_the_kube_prometheus_stack_service() -> None:
    port = chart_defaults("kube-prometheus-stack")["prometheus"]["service"]["port"]
    assert cv.PROMETHEUS_URL == f"http://{PROMETHEUS_NAME}.{cv.MONITORING_NAMESPACE}.svc:{port}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_scaled_objects_validate_and_query_the_platform_prometheus(stack: str) -> None:
    scaled = objects(repo_plan(stack).resources, "ScaledObject")
    assert scaled
    for so in scaled:
        assert validate_object(reveal(so)) == [], so["metadata"]["name"]
        for trigger in so["spec"]["triggers"]:
            if trigger["type"] == "prometheus":
                assert trigger["metadata"]["serverAddress"] == cv.PROMETHEUS_URL


@pytest.mark.parametrize("signal,metric", [
    ("requestRate", "envoy_cluster_upstream_rq_total"),
    ("queueLength", "vllm:num_requests_waiting"),
    ("latencyP95", "envoy_cluster_upstream_rq_time_bucket"),
])
def test_model_triggers_use_the_shared_queries(signal: str, metric: str) -> None:
    trigger = model_trigger("team-nlp", "llama-chat", signal, 4)  # type: ignore[arg-type]
    scaled = {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "llama-chat", "namespace": "team-nlp"},
        "spec": {"scaleTargetRef": {"name": "llama-chat"}, "minReplicaCount": 0, "maxReplicaCount": 2, "triggers": [trigger]},
    }
    assert validate_object(scaled) == []
    assert trigger["metadata"]["serverAddress"] == cv.PROMETHEUS_URL and trigger["metadata"]["threshold"] == "4"
    assert metric in metric_names(trigger["metadata"]["query"])


def test_request_rate_counts_only_requests_that_reached_a_replica() -> None:
    """Envoy Gateway v1.9.0 answers a request for a model without ready endpoints itself (503 direct response, no
    cluster stat), so this query cannot wake a directly routed model from zero: it claims nothing more (the KEDA HTTP
    interceptor, always ready, is what a model that can be at zero is routed through, components/wake.py)."""
    query = model_query(m.ModelRef("team-nlp", "llama-chat"), "requestRate")
    assert metric_names(query) == {"envoy_cluster_upstream_rq_total"}
    assert "vector(0)" not in query and "none_healthy" not in query


@pytest.mark.parametrize("cluster,counted", [
    ("httproute/team-nlp/llama-chat/rule/0", True),
    ("httproute/team-nlp/llama-chat/rule/0/backend/1", True),  # one cluster per backendRef (canary without endpoints)
    ("httproute/team-nlp/llama-chat/rule/0-mirror-0", False),  # RequestMirror copies (shadow)
    ("httproute/team-nlp/llama-chat-v2/rule/0", False),
    ("httproute/team-other/llama-chat/rule/0", False),
])
def test_request_rate_and_error_ratio_exclude_mirrored_traffic(cluster: str, counted: bool) -> None:
    import re

    ref = m.ModelRef("team-nlp", "llama-chat")
    for expr in (m.request_rate(ref), m.error_ratio(ref), m.latency_quantile(ref, 0.95)):
        (regex,) = set(re.findall(r'envoy_cluster_name=~"([^"]+)"', expr))
        assert bool(re.fullmatch(regex, cluster)) is counted, (regex, cluster)


def test_queue_length_counts_only_the_primary_track_it_scales() -> None:
    query = model_query(m.ModelRef("team-nlp", "llama-chat"), "queueLength", runtime="vllm")
    assert f'{m.TRACK}="{cv.TRACK_PRIMARY}"' in query
    assert metric_names(query) == {"vllm:num_requests_waiting", "kube_pod_labels"}
    # The dashboard's view sums every track.
    assert m.TRACK not in m.queue_length(m.ModelRef(None, "$model"), track=None)


def test_a_runtime_without_a_queue_cannot_scale_on_it() -> None:
    with pytest.raises(ValueError, match="queueLength"):
        model_query(m.ModelRef("team-tabular", "churn"), "queueLength", runtime="mlserver")
