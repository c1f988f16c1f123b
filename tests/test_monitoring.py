"""kube-prometheus-stack through the real program: pinned chart, values that exist, explicit selectors every monitor
and rule of the platform matches, secrets kept secret (Grafana admin, Alertmanager receivers), storage and
retention from config, dashboards shipped to the Grafana sidecar, platform-wide alert rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from serving import conventions as cv
from serving.catalog import charts
from serving.components.monitoring import ALERTMANAGER_CONFIG_SECRET, GRAFANA_ADMIN_SECRET, alertmanager_config
from serving.config.monitoring import ReceiverConfig
from serving.plan import SECRET_TEXT, render_json

from .conftest import platform_of, repo_plan, repo_stack
from .schemas import chart_defaults, reference_dir, unknown_chart_values, unknown_value_paths, validate_object
from .test_gateway import config_errors, objects, one, plan_of, releases, reveal, under, values

MONITORING_TYPE = "serving:monitoring:Monitoring"
RELEASE = cv.MONITORING_RELEASE

#: Values for kube-prometheus-stack's subcharts that its own values.yaml does not list, each checked by hand in the
#: subchart's values.yaml at the version kube-prometheus-stack 88.5.3 depends on (its Chart.yaml).
SUBCHART_VALUES = {
    "grafana.serviceMonitor.labels",  # grafana 12.11.1: serviceMonitor.labels: {}
    "grafana.grafana.ini",  # grafana 12.11.1: grafana.ini (server.root_url documented there)
    "kube-state-metrics.metricLabelsAllowlist",  # kube-state-metrics 8.4.0: metricLabelsAllowlist: []
    "kube-state-metrics.prometheus.monitor.additionalLabels",  # kube-state-metrics 8.4.0
    "prometheus-node-exporter.prometheus.monitor.additionalLabels",  # prometheus-node-exporter 4.56.1
    "kube-state-metrics.kubeRBACProxy",  # kube-state-metrics 8.4.0: kubeRBACProxy.enabled: false
    "prometheus-node-exporter.kubeRBACProxy",  # prometheus-node-exporter 4.56.1: kubeRBACProxy.enabled: false
    # Placement, priority and requests: grafana 12.11.1 values.yaml nodeSelector/tolerations/resources/
    # sidecar.resources, priorityClassName commented out there and read by templates/_pod.tpl; kube-state-metrics
    # 8.4.0 nodeSelector/tolerations/resources, priorityClassName read by templates/deployment.yaml;
    # prometheus-node-exporter 4.56.1 resources, priorityClassName read by templates/daemonset.yaml.
    *(f"grafana.{k}" for k in ("nodeSelector", "tolerations", "priorityClassName", "resources", "sidecar.resources")),
    *(f"kube-state-metrics.{k}" for k in ("nodeSelector", "tolerations", "priorityClassName", "resources")),
    *(f"prometheus-node-exporter.{k}" for k in ("priorityClassName", "resources")),
    # Commented out in 88.5.3's values.yaml, read by templates/prometheus-operator/deployment.yaml.
    "prometheusOperator.priorityClassName",
}
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule", "Probe", "ScrapeConfig")


def own(plan: Any) -> list[Any]:
    """The Monitoring component's own objects (the chart's rendered ones are `serving check`'s)."""
    return [s for s in under(plan, MONITORING_TYPE) if not s.chart_release]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_kube_prometheus_stack_is_pinned_and_its_values_exist(stack: str) -> None:
    release = releases(repo_plan(stack))[RELEASE]
    pin = charts.KUBE_PROMETHEUS_STACK
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (pin.chart, pin.version, cv.MONITORING_NAMESPACE)
    unknown = set(unknown_value_paths(reveal(dict(release.inputs["values"])), chart_defaults(pin.reference)))
    assert unknown <= SUBCHART_VALUES, unknown - SUBCHART_VALUES


def test_prometheus_selects_by_the_platform_label_not_by_the_release_label() -> None:
    spec = values(repo_plan("dev"), RELEASE)["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
        assert spec[f"{kind}Selector"] == {"matchLabels": cv.MONITORING_SELECTOR}
        assert spec[f"{kind}NamespaceSelector"] == {}
    v = values(repo_plan("dev"), RELEASE)
    # The chart's own monitors and rules carry the same label, so Prometheus still scrapes the cluster itself.
    assert v["commonLabels"] == cv.MONITORING_SELECTOR
    assert v["grafana"]["serviceMonitor"]["labels"] == cv.MONITORING_SELECTOR
    for sub in ("kube-state-metrics", "prometheus-node-exporter"):
        assert v[sub]["prometheus"]["monitor"]["additionalLabels"] == cv.MONITORING_SELECTOR


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_monitor_and_rule_in_the_plan_is_selected_by_prometheus(stack: str) -> None:
    """Across all components (gateway, logging, GPU, models): a monitor without the label would silently not scrape."""
    plan = repo_plan(stack)
    found = [o for o in objects(plan.resources) if o["kind"] in MONITOR_KINDS]
    assert {"ServiceMonitor", "PodMonitor", "PrometheusRule"} <= {o["kind"] for o in found}
    for obj in found:
        labels = obj["metadata"].get("labels", {})
        assert cv.MONITORING_SELECTOR.items() <= labels.items(), f"{obj['kind']} {obj['metadata']['name']}"
    # Charts that create their own ServiceMonitors are given the label too.
    v = releases(plan)
    assert v["cert-manager"].inputs["values"]["prometheus"]["servicemonitor"]["labels"] == cv.MONITORING_SELECTOR
    for monitor in (v["keda"].inputs["values"]["prometheus"]["operator"]["serviceMonitor"],
                    v["aws-load-balancer-controller"].inputs["values"]["serviceMonitor"]):
        assert monitor["additionalLabels"] == cv.MONITORING_SELECTOR
    # cluster-autoscaler 9.59.0 labels its ServiceMonitor with `serviceMonitor.selector` (templates/servicemonitor.yaml).
    autoscaler = v["cluster-autoscaler"].inputs["values"]["serviceMonitor"]
    assert autoscaler["enabled"] is True and cv.MONITORING_SELECTOR.items() <= autoscaler["selector"].items()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_autoscaler_is_scraped_and_alerts_on_pods_it_cannot_help(stack: str) -> None:
    plan = repo_plan(stack)
    autoscaler = releases(plan)["cluster-autoscaler"]
    monitor = reveal(dict(autoscaler.inputs["values"]))["serviceMonitor"]
    defaults = chart_defaults(charts.CLUSTER_AUTOSCALER.reference)
    assert unknown_chart_values({"serviceMonitor": monitor}, charts.CLUSTER_AUTOSCALER.reference) == []
    assert defaults["service"]["create"] is True  # the ServiceMonitor selects the chart's Service
    # Its ServiceMonitor needs the Prometheus operator's CRD: the release waits for kube-prometheus-stack.
    assert releases(plan)[RELEASE].urn in autoscaler.dependencies
    rule = one(own(plan), "PrometheusRule")
    (group,) = [g for g in rule["spec"]["groups"] if g["name"] == "platform.cluster-autoscaler"]
    alerts = {r["alert"]: r for r in group["rules"]}
    cannot_help = alerts["ClusterAutoscalerCannotHelpUnschedulablePods"]
    assert 'cluster_autoscaler_unschedulable_pods_count{type="unschedulable"}' in cannot_help["expr"]
    assert "cluster_autoscaler_scaled_up_nodes_total" in cannot_help["expr"] and cannot_help["for"] == "15m"
    assert "cluster_autoscaler_failed_scale_ups_total" in alerts["ClusterAutoscalerScaleUpFailing"]["expr"]


def test_without_cluster_autoscaler_there_are_no_autoscaler_alerts() -> None:
    plan = repo_plan("local")  # an existing cluster: the platform runs no cluster-autoscaler
    assert "cluster-autoscaler" not in releases(plan)
    rule = one(own(plan), "PrometheusRule")
    assert all(g["name"] != "platform.cluster-autoscaler" for g in rule["spec"]["groups"])


def test_storage_and_retention_come_from_config() -> None:
    spec = values(repo_plan("prod"), RELEASE)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "200Gi"
    assert claim["storageClassName"] == "gp3"
    # Prometheus deletes old blocks before the volume is full: 85% of 200Gi.
    assert spec["retentionSize"] == "170GB"
    local = values(repo_plan("local"), RELEASE)["prometheus"]["prometheusSpec"]
    assert local["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "standard"


def test_prometheus_is_sized_from_config_and_the_placement_check_counts_it(stack_root: Callable[..., Path]) -> None:
    from serving.check.placement import check as placement_check
    from serving.check.runner import CheckContext
    from serving.config import parse_platform

    spec = values(repo_plan("dev"), RELEASE)["prometheus"]["prometheusSpec"]
    assert spec["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}
    reference_dir()  # the Prometheus resource comes from the rendered chart (../shared/reference/charts)
    doc = repo_stack("dev")
    # A Prometheus bigger than a dev system node (m7i.large: 2 vCPU, 8 GiB) fits no node: the check says so.
    platform_of(doc)["monitoring"]["prometheus"] = {"cpu": "1", "memory": "12Gi", "memoryLimit": "16Gi"}
    plan = plan_of(stack_root, doc)
    spec = values(plan, RELEASE)["prometheus"]["prometheusSpec"]
    assert spec["resources"] == {"requests": {"cpu": "1", "memory": "12Gi"}, "limits": {"memory": "16Gi"}}
    cfg = parse_platform(platform_of(doc), "Pulumi.dev.yaml")
    findings = placement_check(CheckContext(stack="dev", cfg=cfg, plan=plan))
    assert any(f.kind == "capacity" and f.mandatory and "prometheus-kube-prometheus-stack-prometheus" in f.message for f in findings), findings
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"]["prometheus"] = {"memory": "8Gi", "memoryLimit": "4Gi"}
    assert any("monitoring.prometheus" in e and "memoryLimit must be at least memory" in e for e in config_errors(doc))


def test_grafana_admin_password_is_a_generated_secret_outside_the_helm_values() -> None:
    plan = repo_plan("dev")
    v = values(plan, RELEASE)["grafana"]
    assert "adminPassword" not in v
    assert v["admin"]["existingSecret"] == GRAFANA_ADMIN_SECRET
    states = under(plan, MONITORING_TYPE)
    secret = one(states, "Secret", GRAFANA_ADMIN_SECRET)
    assert secret["metadata"]["namespace"] == cv.MONITORING_NAMESPACE
    assert str(secret["stringData"]["admin-password"]) == SECRET_TEXT
    (password,) = [s for s in states if s.type == "random:index/randomPassword:RandomPassword"]
    assert password.inputs["length"] >= 32
    # The release waits for the Secret (Grafana's pod mounts it).
    secret_state = next(s for s in states if s.type == "kubernetes:core/v1:Secret" and s.inputs["metadata"]["name"] == GRAFANA_ADMIN_SECRET)
    assert secret_state.urn in releases(plan)[RELEASE].dependencies


def test_a_configured_grafana_password_is_used_and_never_printed(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"]["grafana"] = {"adminPassword": "correct-horse-battery-staple"}
    plan = plan_of(stack_root, doc)
    assert not [s for s in under(plan, MONITORING_TYPE) if s.type.startswith("random:")]
    assert "correct-horse-battery-staple" not in render_json(plan)


def test_alertmanager_receivers_are_secret_and_route_by_severity(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("prod")
    platform_of(doc)["monitoring"]["alerting"]["receivers"] = [
        {"name": "oncall", "type": "pagerduty", "routingKey": {"secure": "v1:pd-routing-key-0123456789"}, "severities": ["critical"]},
        {"name": "team-chat", "type": "slack", "url": {"secure": "v1:XXXXSECRET"}, "channel": "#ml-alerts"},
    ]  # prod refuses plain-text secrets
    plan = plan_of(stack_root, doc, "prod")
    text = render_json(plan)
    assert "pd-routing-key-0123456789" not in text and "XXXXSECRET" not in text
    states = under(plan, MONITORING_TYPE)
    secret = one(states, "Secret", ALERTMANAGER_CONFIG_SECRET)
    assert str(secret["stringData"]["alertmanager.yaml"]) == SECRET_TEXT
    # The chart does not write its own config over ours.
    assert values(plan, RELEASE)["alertmanager"]["alertmanagerSpec"]["useExistingSecret"] is True


def test_alertmanager_config_routes_each_receiver_its_severities() -> None:
    receivers = [
        ReceiverConfig.model_validate({"name": "oncall", "type": "pagerduty", "routingKey": "k", "severities": ["critical"]}),
        ReceiverConfig.model_validate({"name": "chat", "type": "slack", "url": "https://hooks.example.com/x", "channel": "#ml"}),
        ReceiverConfig.model_validate({"name": "hook", "type": "webhook", "url": "https://hooks.example.com/y", "severities": ["info"]}),
    ]
    config = yaml.safe_load(alertmanager_config(receivers, ["KEY", "SLACKURL", "HOOKURL"]))
    routes = {r["receiver"]: r for r in config["route"]["routes"]}
    assert routes["oncall"]["matchers"] == ['severity =~ "critical"'] and routes["oncall"]["continue"] is True
    assert routes["chat"]["matchers"] == ['severity =~ "critical|warning"']
    assert routes["null"]["matchers"] == ['alertname = "Watchdog"']
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["oncall"]["pagerduty_configs"][0]["routing_key"] == "KEY"
    assert by_name["chat"]["slack_configs"][0]["api_url"] == "SLACKURL" and by_name["chat"]["slack_configs"][0]["channel"] == "#ml"
    assert by_name["hook"]["webhook_configs"][0]["url"] == "HOOKURL"
    assert config["route"]["receiver"] == "null"


@pytest.mark.parametrize("receiver,needle", [
    ({"name": "a", "type": "slack"}, "needs url"),
    ({"name": "a", "type": "pagerduty", "url": "https://x.example.com"}, "needs routingKey"),
    ({"name": "a", "type": "webhook", "url": "https://x.example.com", "channel": "#x"}, "channel is only for slack"),
    ({"name": "a", "type": "email", "url": "https://x.example.com"}, "type"),
])
def test_bad_receivers_are_clear_errors(receiver: dict[str, Any], needle: str) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"]["alerting"] = {"receivers": [receiver]}
    errors = config_errors(doc)
    assert any("monitoring.alerting.receivers[0]" in e and needle in e for e in errors), errors


def test_duplicate_receiver_names_and_off_bucket_latency_thresholds_are_errors() -> None:
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"]["alerting"] = {"receivers": [
        {"name": "a", "type": "webhook", "url": "https://x.example.com"},
        {"name": "a", "type": "webhook", "url": "https://y.example.com"},
    ]}
    assert any("receivers[1].name" in e and "duplicate" in e for e in config_errors(doc))
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"]["slo"] = {"latencyThresholdMs": 750}
    assert any("slo.latencyThresholdMs" in e and "2500" in e for e in config_errors(doc))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_monitoring_objects_validate_and_dashboards_reach_the_grafana_sidecar(stack: str) -> None:
    plan = repo_plan(stack)
    states = own(plan)
    for obj in objects(states):
        if obj["kind"] != "Secret":  # Secret values are plan markers
            assert validate_object(reveal(obj)) == [], f"{obj['kind']} {obj['metadata']['name']}"
    sidecar = values(plan, RELEASE).get("grafana", {}).get("sidecar", {}).get("dashboards", {})
    label = sidecar.get("label") or chart_defaults("kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]["label"]
    boards = [o for o in objects(states, "ConfigMap") if label in o["metadata"].get("labels", {})]
    assert {b["metadata"]["name"] for b in boards} == {"dashboard-serving-platform", "dashboard-serving-gpu", "dashboard-serving-models"}


def test_platform_rules_cover_gpus_pools_and_prometheus_storage() -> None:
    plan = repo_plan("prod")
    rule = one(own(plan), "PrometheusRule")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    names = {a["alert"] for a in alerts}
    assert {"GpuXidError", "GpuTemperatureHigh", "NodePoolAtMaxWithPendingPods", "PrometheusStorageFillingUp", "PrometheusStorageAlmostFull"} <= names
    pools = {a["labels"]["pool"]: a for a in alerts if a["alert"] == "NodePoolAtMaxWithPendingPods"}
    assert set(pools) == {"system", "gpu-a10"}
    (gpu_pool,) = [p for p in platform_of(repo_stack("prod"))["nodePools"]["gpu"] if p["name"] == "gpu-a10"]
    assert f">= {gpu_pool['maxSize']})" in pools["gpu-a10"]["expr"]  # prod's gpu-a10 maxSize
    temp = next(a for a in alerts if a["alert"] == "GpuTemperatureHigh")
    assert temp["expr"].endswith("> 83")  # prod's alerting.gpuTemperatureC
    storage = next(a for a in alerts if a["alert"] == "PrometheusStorageFillingUp")
    assert 'persistentvolumeclaim=~"prometheus-kube-prometheus-stack-prometheus-db-.*"' in storage["expr"]


def test_kube_state_metrics_exports_the_labels_the_queries_join_on() -> None:
    allow = values(repo_plan("dev"), RELEASE)["kube-state-metrics"]["metricLabelsAllowlist"]
    assert f"pods=[{cv.MODEL_LABEL},{cv.MODEL_VERSION_LABEL},{cv.TEAM_LABEL},{cv.TRACK_LABEL},{cv.FLEET_LABEL}]" in allow
    assert f"deployments=[{cv.MODEL_LABEL}]" in allow
    assert f"nodes=[{cv.POOL_LABEL}]" in allow
    # Every label the shared PromQL reads from kube_*_labels is one of those.
    from serving.observability import metrics as m
    for key in (cv.MODEL_LABEL, cv.MODEL_VERSION_LABEL, cv.TRACK_LABEL, cv.POOL_LABEL):
        assert m.ksm_label(key) in {m.MODEL, m.MODEL_VERSION, m.TRACK, m.POOL}


def test_prometheus_volume_uses_the_clusters_default_storage_class_and_waits_for_it() -> None:
    plan = repo_plan("dev")
    claim = values(plan, RELEASE)["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == cv.DEFAULT_STORAGE_CLASS
    (sc,) = [s for s in plan.resources if s.type == "kubernetes:storage.k8s.io/v1:StorageClass"]
    assert sc.inputs["metadata"]["name"] == cv.DEFAULT_STORAGE_CLASS
    assert sc.urn in releases(plan)[RELEASE].dependencies


def test_eks_stacks_do_not_scrape_the_managed_control_plane() -> None:
    """etcd, the scheduler and the controller manager of EKS are out of the cluster's reach: no ServiceMonitor for
    them and no "Down" alert firing forever; a cluster of its own (local) keeps the chart's defaults."""
    for stack in ("dev", "prod"):
        v = values(repo_plan(stack), RELEASE)
        assert all(v[key] == {"enabled": False} for key in ("kubeEtcd", "kubeScheduler", "kubeControllerManager"))
        assert v["prometheus"]["prometheusSpec"]["priorityClassName"] == cv.PLATFORM_PRIORITY_CLASS
    assert "kubeEtcd" not in values(repo_plan("local"), RELEASE)
