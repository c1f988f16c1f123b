"""The platform's PromQL, alert rules and dashboards, as they end up in the plan: every expression parses, uses only
metrics an exporter really exposes (or a rule records), matches the objects it measures (Envoy Gateway's cluster
names of each model's HTTPRoute), and every dashboard is well-formed Grafana JSON."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

import promql_parser
import pytest

from serving import conventions as cv
from serving.config.monitoring import SloConfig
from serving.observability import metrics as m
from serving.observability.alerts import BURN_WINDOWS, model_alert_rules
from serving.observability.dashboards import GRID_WIDTH, PROMETHEUS

from .conftest import platform_of, repo_plan, repo_stack
from .test_gateway import objects, plan_of, values

STACKS = ["dev", "prod", "local"]


def own(plan: Any) -> list[Any]:
    """The program's own resources: kube-prometheus-stack's rendered rules and dashboards (upstream's, on the
    subcharts' metrics) are checked by `serving check`, not here."""
    return [s for s in plan.resources if not s.chart_release]


def rule_objects(plan: Any) -> list[dict[str, Any]]:
    return objects(own(plan), "PrometheusRule")


def dashboards(plan: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for cm in objects(own(plan), "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for key, text in cm["data"].items():
                out[key] = json.loads(text)
    return out


def expressions(plan: Any) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every rule, dashboard target and KEDA Prometheus trigger in the plan."""
    for obj in rule_objects(plan):
        for group in obj["spec"]["groups"]:
            for rule in group["rules"]:
                yield f"{obj['metadata']['namespace']}/{obj['metadata']['name']}:{rule.get('alert') or rule.get('record')}", rule["expr"]
    for key, board in dashboards(plan).items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                yield f"{key}:{panel['title']}", target["expr"]
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                yield f"{key}:${var['name']}", label_values(var)[0]
    for so in objects(plan.resources, "ScaledObject"):
        for trigger in so["spec"]["triggers"]:
            if trigger["type"] == "prometheus":
                yield f"ScaledObject {so['metadata']['namespace']}/{so['metadata']['name']}", trigger["metadata"]["query"]


def label_values(var: dict[str, Any]) -> tuple[str, str]:
    """(PromQL selector, label) of a Grafana Prometheus query variable `label_values(<selector>, <label>)`."""
    match = re.fullmatch(r"label_values\((.+), *([a-zA-Z_][a-zA-Z0-9_]*)\)", var["query"])
    assert match, var["query"]
    assert var["definition"] == var["query"]
    return match.group(1), match.group(2)


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return names


def recorded(plan: Any) -> set[str]:
    return {r["record"] for obj in rule_objects(plan) for g in obj["spec"]["groups"] for r in g["rules"] if "record" in r}


@pytest.mark.parametrize("stack", STACKS)
def test_every_expression_parses_and_uses_only_exported_or_recorded_metrics(stack: str) -> None:
    plan = repo_plan(stack)
    known = set(m.EXPORTED_METRICS) | recorded(plan)
    exprs = list(expressions(plan))
    assert len(exprs) > 20
    for where, expr in exprs:
        try:
            names = metric_names(expr)
        except ValueError as exc:  # promql-parser's error for invalid PromQL
            pytest.fail(f"{where}: {exc}\n{expr}")
        assert names or re.fullmatch(r"vector\(\d+\)", expr), f"{where}: selects no metric"
        assert names <= known, f"{where}: unknown metrics {names - known}"


def test_promql_parser_rejects_what_prometheus_rejects() -> None:
    """Guards the check above: the parser is strict about types and syntax."""
    for bad in ('sum(rate(x[5m])', 'rate(x)', 'x and "y"', 'histogram_quantile(0.9, x[5m])'):
        with pytest.raises(ValueError):
            promql_parser.parse(bad)


def test_every_exported_metric_names_its_exporter() -> None:
    assert set(m.EXPORTED_METRICS.values()) <= {"envoy", "kube-state-metrics", "kubelet", "node-exporter", "prometheus", "dcgm-exporter", "vllm", "cluster-autoscaler", "llm-d-epp", "keda-http-interceptor"}
    assert "DCGM_FI_DEV_GPU_UTIL" in m.EXPORTED_METRICS and "vllm:num_requests_waiting" in m.EXPORTED_METRICS


def _model_routes(plan: Any) -> list[tuple[str, str]]:
    return [
        (r["metadata"]["namespace"], r["metadata"]["name"]) for r in objects(plan.resources, "HTTPRoute")
        if r["metadata"]["namespace"].startswith("team-")
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_models_rules_measure_exactly_its_own_route(stack: str) -> None:
    """Envoy Gateway names the upstream cluster of rule N of a route `httproute/<ns>/<route>/rule/N`."""
    plan = repo_plan(stack)
    routes = _model_routes(plan)
    assert routes
    rules = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in rule_objects(plan)}
    for ns, route in routes:
        obj = rules[(ns, route)]
        by_track: dict[str, set[str]] = {}
        for g in obj["spec"]["groups"]:
            for r in g["rules"]:
                found = set(re.findall(r'envoy_cluster_name=~"([^"]+)"', r["expr"]))
                if found:
                    by_track.setdefault(r["labels"]["track"], set()).update(found)
        assert all(len(regexes) == 1 for regexes in by_track.values()), by_track
        (primary,) = by_track["primary"]
        assert re.fullmatch(primary, f"httproute/{ns}/{route}/rule/0")
        assert re.fullmatch(primary, f"httproute/{ns}/{route}/rule/1")
        assert re.fullmatch(primary, f"httproute/{ns}/{route}/rule/0/backend/0")
        # The primary never counts the canary's backend nor the RequestMirror cluster (shadow copies;
        # internal/gatewayapi/filters.go, v1.9.0): each of those is a track of its own.
        assert not re.fullmatch(primary, f"httproute/{ns}/{route}/rule/0/backend/1")
        assert not re.fullmatch(primary, f"httproute/{ns}/{route}/rule/0-mirror-0")
        if "canary" in by_track:
            assert re.fullmatch(next(iter(by_track["canary"])), f"httproute/{ns}/{route}/rule/0/backend/1")
        if "shadow" in by_track:
            assert re.fullmatch(next(iter(by_track["shadow"])), f"httproute/{ns}/{route}/rule/0-mirror-0")
        for other_ns, other in routes:
            if (other_ns, other) != (ns, route):
                for regexes in by_track.values():
                    assert not re.fullmatch(next(iter(regexes)), f"httproute/{other_ns}/{other}/rule/0")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_model_rule_only_uses_series_its_own_rule_records(stack: str) -> None:
    """Deleting or changing one model's PrometheusRule can never break another model's alerts."""
    plan = repo_plan(stack)
    routes = _model_routes(plan)
    for obj in rule_objects(plan):
        if (obj["metadata"]["namespace"], obj["metadata"]["name"]) not in routes:
            continue
        rules = [r for g in obj["spec"]["groups"] for r in g["rules"]]
        own = {r["record"] for r in rules if "record" in r}
        model = obj["metadata"]["name"]
        for r in rules:
            used = {n for n in metric_names(r["expr"]) if n.startswith("serving:")}
            assert used <= own
            if "alert" in r:
                assert r["labels"]["model"] == model and r["labels"]["severity"] in ("critical", "warning")
        alerts = {r["alert"] for r in rules if "alert" in r}
        assert {"ModelErrorBudgetBurnFast", "ModelErrorBudgetBurnSlow", "ModelLatencyBudgetBurnFast",
                "ModelLatencyBudgetBurnSlow", "ModelPodNotReady"} <= alerts


def test_slo_burn_alerts_use_both_windows_of_each_pair_and_the_configured_objective() -> None:
    slo = SloConfig(availability=99.0, latency_target=95, latency_threshold_ms=2500)
    groups = model_alert_rules("llama-chat", "team-nlp", slo=slo)
    rules = {r.get("alert") or r.get("record") + str(i): r for g in groups for i, r in enumerate(g["rules"])}
    fast = rules["ModelErrorBudgetBurnFast"]
    for long, short, factor, severity in BURN_WINDOWS:
        target = rules["ModelErrorBudgetBurnFast" if severity == "critical" else "ModelErrorBudgetBurnSlow"]["expr"]
        assert f"rate{long}{{" in target and f"rate{short}{{" in target and f"({factor:g} * 0.01)" in target
    assert fast["labels"]["severity"] == "critical"
    slow_records = [r["expr"] for r in rules.values() if r.get("record", "").startswith("serving:model_slow_ratio")]
    assert slow_records and all('le="2500"' in e for e in slow_records)
    assert "(14.4 * 0.05)" in rules["ModelLatencyBudgetBurnFast"]["expr"]


@pytest.mark.parametrize("bad", [750, 1234])
def test_slow_ratio_refuses_a_threshold_that_is_not_an_envoy_bucket(bad: int) -> None:
    with pytest.raises(ValueError):
        m.slow_ratio(m.ModelRef("ns", "x"), bad)


# --- dashboards --------------------------------------------------------------------------------------------------


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.mark.parametrize("stack", STACKS)
def test_dashboards_are_valid_grafana_json(stack: str) -> None:
    boards = dashboards(repo_plan(stack))
    assert {b["uid"] for b in boards.values()} == {"serving-platform", "serving-gpu", "serving-models"}
    for key, board in boards.items():
        assert key == f"{board['uid']}.json" and board["title"]
        assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
        for p in board["panels"]:
            grid = p["gridPos"]
            assert set(grid) == {"h", "w", "x", "y"} and grid["x"] + grid["w"] <= GRID_WIDTH and grid["h"] > 0
            assert p["datasource"] == PROMETHEUS
            assert p["targets"], p["title"]
            refs = [t["refId"] for t in p["targets"]]
            assert len(refs) == len(set(refs))
            for t in p["targets"]:
                assert t["datasource"]["uid"] == PROMETHEUS["uid"] and t["expr"].strip()
        panels = board["panels"]
        for i, a in enumerate(panels):
            for b in panels[i + 1:]:
                assert not _overlap(a["gridPos"], b["gridPos"]), f"{key}: {a['title']} overlaps {b['title']}"
    # The datasource uid is the one kube-prometheus-stack provisions.
    from .schemas import chart_defaults
    assert chart_defaults("kube-prometheus-stack")["grafana"]["sidecar"]["datasources"]["uid"] == PROMETHEUS["uid"]


def test_model_dashboard_reads_its_models_from_prometheus_and_links_their_logs() -> None:
    plan = repo_plan("dev")
    board = dashboards(plan)["serving-models.json"]
    (var,) = board["templating"]["list"]
    assert var["name"] == "model" and var["type"] == "query" and var["datasource"] == PROMETHEUS
    assert var["options"] == [] and var["refresh"] in (1, 2)  # filled by Grafana, never from config
    selector, label = label_values(var)
    assert metric_names(selector) == {"kube_deployment_labels"} and label == m.MODEL
    assert f"{label}!=" in selector.replace(" ", "")
    # kube-state-metrics exports that label, and every model's Deployments carry it (at zero replicas too).
    assert f"deployments=[{cv.MODEL_LABEL}]" in values(plan, cv.MONITORING_RELEASE)["kube-state-metrics"]["metricLabelsAllowlist"]
    dev_models = {mod["name"] for mod in platform_of(repo_stack("dev"))["models"]}
    team_deployments = [d for d in objects(plan.resources, "Deployment") if d["metadata"]["namespace"].startswith("team-")]
    assert {d["metadata"]["labels"][cv.MODEL_LABEL] for d in team_deployments} == dev_models

    titles = {p["title"] for p in board["panels"]}
    assert {"Requests/s", "Error ratio (5xx)", "Ready replicas", "GPU utilisation per pod"} <= titles
    latency = next(p for p in board["panels"] if p["title"].startswith("Latency"))
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p95", "p99"]
    (link,) = board["links"]
    url = urllib.parse.unquote(link["url"].replace("$25", "%"))
    assert link["url"].startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/")
    assert "/aws/eks/ml-dev/containers" in urllib.parse.unquote(url)
    assert "${model}" in link["url"]


def test_model_dashboard_does_not_change_with_the_model_list() -> None:
    """Adding or removing a model must not touch the dashboard ConfigMap (pulumi-kubernetes replaces it)."""
    from serving.config import parse_platform
    from serving.observability.dashboards import configmap_data, model_dashboard

    cfg = parse_platform(platform_of(repo_stack("dev")), "Pulumi.dev.yaml")
    assert any(mod.runtime in m.QUEUE_RUNTIMES for mod in cfg.models)
    without_llm = cfg.model_copy(update={"models": [mod for mod in cfg.models if mod.runtime not in m.QUEUE_RUNTIMES]})
    no_models = cfg.model_copy(update={"models": []})
    data = configmap_data(model_dashboard(cfg))
    assert configmap_data(model_dashboard(without_llm)) == data == configmap_data(model_dashboard(no_models))
    # The LLM panels are always there and say why a non-LLM model shows nothing in them.
    board = model_dashboard(no_models)
    llm = [p for p in board["panels"] if "vLLM" in p["title"]]
    assert len(llm) == 2 and all("no data" in p["description"] for p in llm)
    exprs = " ".join(t["expr"] for p in llm for t in p["targets"])
    assert "vllm:num_requests_waiting" in exprs and "vllm:time_to_first_token_seconds_bucket" in exprs


def test_with_loki_the_logs_link_opens_grafana_explore_on_the_loki_datasource(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["logging"] = {"backend": "loki", "loki": {"url": "http://loki-gateway.logging.svc.cluster.local"}}
    plan = plan_of(stack_root, doc)
    (link,) = dashboards(plan)["serving-models.json"]["links"]
    assert link["url"].startswith("/explore?left=")
    left = json.loads(urllib.parse.unquote(link["url"].split("=", 1)[1]))
    (source,) = values(plan, cv.MONITORING_RELEASE)["grafana"]["additionalDataSources"]
    assert left["datasource"] == source["uid"] and source["type"] == "loki"
    assert left["queries"][0]["expr"] == '{model="${model}"}'


def test_gpu_dashboard_shows_node_and_pod_views_of_every_gpu_signal() -> None:
    board = dashboards(repo_plan("prod"))["serving-gpu.json"]
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for metric in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_XID_ERRORS"):
        assert metric in exprs
    titles = [p["title"] for p in board["panels"]]
    for signal in ("utilisation", "memory", "Power", "Temperature"):
        assert any(signal.lower() in t.lower() and "node" in t.lower() or signal.lower() in t.lower() and "gpu" in t.lower() for t in titles)
        assert any(signal.lower() in t.lower() and "pod" in t.lower() for t in titles)
    assert f"by ({m.DCGM_NAMESPACE_LABEL}, {m.DCGM_POD_LABEL})" in exprs


def test_platform_dashboard_draws_each_pool_against_its_max_size() -> None:
    board = dashboards(repo_plan("prod"))["serving-platform.json"]
    nodes = next(p for p in board["panels"] if p["title"].startswith("Nodes per pool"))
    legends = {t["legendFormat"]: t["expr"] for t in nodes["targets"]}
    pools = platform_of(repo_stack("prod"))["nodePools"]
    for name, pool in [("system", pools["system"]), *((p["name"], p) for p in pools["gpu"])]:
        assert legends[f"{name} max"] == f"vector({pool['maxSize']})"
    assert f'{m.POOL}="gpu-a10"' in legends["gpu-a10 nodes"]
