"""Log shipping through the real program: a pinned Fluent Bit DaemonSet on every node, structured records with the
model labels, CloudWatch Logs (log group with retention, pod identity limited to it) or Loki, chosen in config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from serving import conventions as cv
from serving.catalog import charts
from serving.components import loki
from serving.components.logging import LUA_SCRIPT
from serving.observability.dashboards import LOKI_UID

from .conftest import platform_of, repo_plan, repo_stack
from .schemas import chart_defaults, unknown_value_paths, validate_object
from .test_gateway import config_errors, objects, plan_of, releases, reveal, under, values
from .test_model import repo_config

LOGGING_TYPE = "serving:logging:Logging"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_fluent_bit_runs_on_every_node_with_values_the_chart_has(stack: str) -> None:
    release = releases(repo_plan(stack))["fluent-bit"]
    pin = charts.FLUENT_BIT
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (pin.chart, pin.version, cv.LOGGING_NAMESPACE)
    v = reveal(dict(release.inputs["values"]))
    assert list(unknown_value_paths(v, chart_defaults(pin.reference))) == []
    assert chart_defaults(pin.reference)["kind"] == "DaemonSet" and "kind" not in v
    # GPU nodes are tainted: the shipper tolerates every taint.
    assert v["tolerations"] == [{"operator": "Exists"}]
    assert "Path /var/log/containers/*.log" in v["config"]["inputs"]
    filters = v["config"]["filters"]
    assert filters.index("Name kubernetes") < filters.index("Name lua")
    assert "Labels On" in filters and "Merge_Log On" in filters


def test_cloudwatch_log_group_has_the_configured_retention_and_fluent_bit_writes_only_there() -> None:
    plan = repo_plan("prod")
    states = under(plan, LOGGING_TYPE)
    (group,) = [s for s in states if s.type == "aws:cloudwatch/logGroup:LogGroup"]
    assert group.inputs["name"] == "/aws/eks/ml-prod/containers"
    assert group.inputs["retentionInDays"] == platform_of(repo_stack("prod"))["logging"]["retentionDays"]
    outputs = releases(plan)["fluent-bit"].inputs["values"]["config"]["outputs"]
    assert "Name cloudwatch_logs" in outputs
    assert f"log_group_name {group.inputs['name']}" in outputs and "region us-east-1" in outputs
    assert "auto_create_group Off" in outputs
    assert "log_stream_template $namespace.$pod.$container" in outputs
    (assoc,) = [s for s in states if s.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"]
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == (cv.LOGGING_NAMESPACE, "fluent-bit")
    (policy,) = [s for s in states if s.type == "aws:iam/rolePolicy:RolePolicy"]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
    assert all(r.startswith(f"arn:aws:logs:us-east-1:") and ":log-group:/aws/eks/ml-prod/containers" in r for r in statement["Resource"])
    # Fluent Bit starts only once its identity is bound.
    assert assoc.urn in releases(plan)["fluent-bit"].dependencies


def test_logging_objects_validate() -> None:
    for obj in objects(under(repo_plan("dev"), LOGGING_TYPE)):
        assert validate_object(reveal(obj)) == [], obj["metadata"]["name"]
    monitor = objects(under(repo_plan("dev"), LOGGING_TYPE), "ServiceMonitor")[0]
    assert monitor["spec"]["endpoints"][0]["path"] == "/api/v2/metrics/prometheus"
    assert cv.MONITORING_SELECTOR.items() <= monitor["metadata"]["labels"].items()


def test_the_lua_filter_lifts_pod_and_model_labels_to_the_record() -> None:
    lupa = pytest.importorskip("lupa")
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.execute(LUA_SCRIPT)

    def table(value: Any) -> Any:
        return lua.table_from({k: table(v) for k, v in value.items()}) if isinstance(value, dict) else value

    record = table({
        "log": "INFO ready",
        "kubernetes": {
            "namespace_name": "team-nlp", "pod_name": "llama-chat-7d9f-abc", "container_name": "server", "host": "ip-10-0-1-2",
            "labels": {cv.MODEL_LABEL: "llama-chat", cv.MODEL_VERSION_LABEL: "2026-11-01", cv.TEAM_LABEL: "nlp"},
        },
    })
    code, ts, out = lua.globals().serving_fields("kube.var.log", 1.5, record)
    assert (code, ts) == (2, 1.5)
    assert {k: out[k] for k in ("namespace", "pod", "container", "node", "model", "model_version", "team")} == {
        "namespace": "team-nlp", "pod": "llama-chat-7d9f-abc", "container": "server", "node": "ip-10-0-1-2",
        "model": "llama-chat", "model_version": "2026-11-01", "team": "nlp",
    }
    # A record without Kubernetes metadata passes unchanged (code 0).
    code, _, _ = lua.globals().serving_fields("kube.x", 1.0, table({"log": "x"}))
    assert code == 0


def loki_plan(stack_root: Callable[..., Path], logging: dict[str, Any]) -> Any:
    """The dev stack's plan with `logging` switched to the given Loki settings."""
    doc = repo_stack("dev")
    platform_of(doc)["logging"] = logging
    return plan_of(stack_root, doc)


def fluent_bit_output(plan: Any) -> dict[str, str]:
    """The `[OUTPUT]` section of Fluent Bit's config as key -> value."""
    text = releases(plan)["fluent-bit"].inputs["values"]["config"]["outputs"]
    return dict(line.strip().split(" ", 1) for line in text.splitlines() if line.startswith("    "))


def loki_datasource(plan: Any) -> dict[str, Any]:
    sources = [s for s in values(plan, cv.MONITORING_RELEASE)["grafana"].get("additionalDataSources", []) if s["type"] == "loki"]
    assert len(sources) == 1, sources
    return sources[0]


#: Every Loki chart value the platform sets, checked by hand in the chart's values.yaml at loki-18.11.0
#: (grafana-community/helm-charts commit 3386a1156177c6bcd7fdb1ad4c6b1dda094296e0, charts/loki/values.yaml; line
#: numbers there). `../shared/reference` has no Loki values: a key added to `loki_values` fails the test below until
#: it is checked and listed here. Paths ending in a free-form map stop there.
LOKI_CHECKED_PATHS = {
    "deploymentMode",  # 70: Monolithic (the single binary; "SingleBinary" is its deprecated name)
    "loki.image.tag",  # 250: null = appVersion
    "loki.auth_enabled",  # 555: true
    "loki.commonConfig.replication_factor",  # 619: 3
    "loki.storage.type",  # 632: s3; "filesystem" selects loki.storage.filesystem (_helpers.tpl loki.commonStorageConfig)
    "loki.schemaConfig",  # 767: {} (required unless useTestSchema, templates/validate.yaml)
    "loki.limits_config.retention_period",  # 606: map rendered as Loki's limits_config (loki.config template)
    "loki.compactor",  # 818: {} rendered as Loki's compactor block
    "singleBinary.replicas",  # 1884: 0
    "singleBinary.resources",  # 2045: {}
    "singleBinary.nodeSelector",  # 2080: {}
    "singleBinary.tolerations",  # 2082: []
    "singleBinary.persistence.enabled",  # 2093: true
    "singleBinary.persistence.size",  # 2098: 10Gi
    "singleBinary.persistence.storageClass",  # 2105: null = the cluster's default class
    "write.replicas",  # 2146: 3
    "read.replicas",  # 2415: 3
    "backend.replicas",  # 2653: 3
    "gateway.enabled",  # 1215: true
    "test.enabled",  # 894: true
    "lokiCanary.enabled",  # 928: true
    "resultsCache.enabled",  # 6331: true
    "chunksCache.enabled",  # 6489: true
    "sidecar.rules.enabled",  # 7001: true
    "monitoring.serviceMonitor.enabled",  # 7182ff: false
    "monitoring.serviceMonitor.labels",  # 7192: {}
}


def value_paths(values: Any, stop: set[str], path: str = "") -> set[str]:
    """Dotted paths of the leaves of `values`, not descending below a path in `stop`."""
    if path in stop or not isinstance(values, dict):
        return {path}
    return {p for k, v in values.items() for p in value_paths(v, stop, f"{path}.{k}" if path else str(k))}


def test_loki_backend_installs_loki_in_the_cluster_with_checked_values(stack_root: Callable[..., Path]) -> None:
    plan = loki_plan(stack_root, {"backend": "loki"})
    release = releases(plan)[loki.RELEASE]
    pin = charts.LOKI
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == ("loki", "18.11.0", cv.LOGGING_NAMESPACE)
    assert release.inputs["repositoryOpts"]["repo"] == pin.repo == "https://grafana-community.github.io/helm-charts"
    assert release in under(plan, LOGGING_TYPE)
    v = release.inputs["values"]
    assert value_paths(v, LOKI_CHECKED_PATHS) == LOKI_CHECKED_PATHS
    # One single binary on the filesystem of its own gp3 volume, single tenant, logs kept 30 days by default.
    assert v["deploymentMode"] == "Monolithic" and v["singleBinary"]["replicas"] == 1
    assert all(v[target]["replicas"] == 0 for target in ("read", "write", "backend"))
    assert v["loki"]["storage"]["type"] == "filesystem" and v["loki"]["schemaConfig"]["configs"][0]["object_store"] == "filesystem"
    assert v["singleBinary"]["persistence"] == {"enabled": True, "size": "50Gi", "storageClass": cv.DEFAULT_STORAGE_CLASS}
    assert v["loki"]["auth_enabled"] is False and v["loki"]["image"]["tag"] == "3.7.6"
    assert v["loki"]["limits_config"]["retention_period"] == "30d"
    assert v["loki"]["compactor"]["retention_enabled"] is True and v["loki"]["compactor"]["delete_request_store"] == "filesystem"
    # No extras: nginx gateway, memcached caches, canary, Helm test, rules sidecar.
    assert not any(v[k]["enabled"] for k in ("gateway", "chunksCache", "resultsCache", "lokiCanary", "test"))
    assert v["sidecar"]["rules"]["enabled"] is False
    # On the system pool, with requests and a memory limit; scraped by the platform Prometheus.
    system = repo_config("dev").node_pools.system
    assert v["singleBinary"]["nodeSelector"] == cv.pool_node_selector(system)
    assert v["singleBinary"]["tolerations"] == cv.pool_tolerations(system)
    assert set(v["singleBinary"]["resources"]["requests"]) == {"cpu", "memory"} and "memory" in v["singleBinary"]["resources"]["limits"]
    assert v["monitoring"]["serviceMonitor"] == {"enabled": True, "labels": cv.MONITORING_SELECTOR}
    # Its volume needs the gp3 StorageClass; Fluent Bit starts after Loki.
    (storage_class,) = [s for s in plan.resources if s.type == "kubernetes:storage.k8s.io/v1:StorageClass"]
    assert storage_class.urn in release.dependencies
    assert release.urn in releases(plan)["fluent-bit"].dependencies
    assert not [s for s in under(plan, LOGGING_TYPE) if s.type.startswith("aws:")]


def test_fluent_bit_and_grafana_point_at_the_in_cluster_loki_service(stack_root: Callable[..., Path]) -> None:
    plan = loki_plan(stack_root, {"backend": "loki"})
    v = releases(plan)[loki.RELEASE].inputs["values"]
    # The Service the chart makes for the single binary: loki.fullname (= the release name "loki" when it contains
    # the chart name) on loki.server.http_listen_port (3100 unless set, and the platform does not set it).
    assert "server" not in v["loki"] and "fullnameOverride" not in v and "nameOverride" not in v
    host = f"{releases(plan)[loki.RELEASE].inputs['name']}.{cv.LOGGING_NAMESPACE}.svc.cluster.local"
    out = fluent_bit_output(plan)
    assert (out["Name"], out["host"], out["port"], out["tls"]) == ("loki", host, "3100", "off")
    assert "tenant_id" not in out  # auth disabled: single tenant
    assert "model=$model" in out["labels"]
    source = loki_datasource(plan)
    assert source["url"] == f"http://{host}:3100"
    assert source["uid"] == LOKI_UID and "secureJsonData" not in source


def test_loki_retention_and_volume_come_from_config(stack_root: Callable[..., Path]) -> None:
    plan = loki_plan(stack_root, {"backend": "loki", "loki": {"retention": "14d", "storageSize": "200Gi", "storageClass": "io2"}})
    v = releases(plan)[loki.RELEASE].inputs["values"]
    assert v["loki"]["limits_config"]["retention_period"] == "14d"
    assert v["singleBinary"]["persistence"] == {"enabled": True, "size": "200Gi", "storageClass": "io2"}


def test_an_existing_loki_gets_the_logs_and_nothing_is_installed(stack_root: Callable[..., Path]) -> None:
    url = "http://loki-gateway.observability.svc.cluster.local:3100"
    plan = loki_plan(stack_root, {"backend": "loki", "loki": {"url": url, "tenant": "platform"}})
    assert loki.RELEASE not in releases(plan)
    assert not [s for s in under(plan, LOGGING_TYPE) if s.type.startswith("aws:")]
    out = fluent_bit_output(plan)
    assert (out["host"], out["port"], out["tenant_id"]) == ("loki-gateway.observability.svc.cluster.local", "3100", "platform")
    source = loki_datasource(plan)
    assert source["url"] == url and source["secureJsonData"] == {"httpHeaderValue1": "platform"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nothing_of_loki_with_cloudwatch(stack: str) -> None:
    plan = repo_plan(stack)
    assert loki.RELEASE not in releases(plan)
    assert "Name loki" not in releases(plan)["fluent-bit"].inputs["values"]["config"]["outputs"]
    assert "additionalDataSources" not in values(plan, cv.MONITORING_RELEASE)["grafana"]


def test_existing_cluster_without_a_backend_ships_nothing() -> None:
    plan = repo_plan("local")
    assert "fluent-bit" not in releases(plan)
    assert under(plan, LOGGING_TYPE) == []


@pytest.mark.parametrize("logging,needle", [
    ({"backend": "cloudwatch", "loki": {"url": "http://loki.logging.svc"}}, "logging.loki: a loki block is set"),
    ({"retentionDays": 10}, "logging.retentionDays"),
    ({"backend": "loki", "loki": {"url": "loki:3100"}}, "logging.loki.url"),
    ({"backend": "loki", "loki": {"retention": "30 days"}}, "logging.loki.retention"),
    ({"backend": "loki", "loki": {"retention": "12h"}}, "logging.loki.retention: Loki keeps logs at least 24h"),
    ({"backend": "loki", "loki": {"storageSize": "lots"}}, "logging.loki.storageSize"),
    ({"backend": "loki", "loki": {"storageSize": "500Mi"}}, "logging.loki.storageSize: Loki needs at least 1Gi"),
    ({"backend": "loki", "loki": {"tenant": "platform"}}, "logging.loki.tenant: the in-cluster Loki is single-tenant"),
    ({"backend": "loki", "retentionDays": 14}, "logging.retentionDays: is CloudWatch's retention"),
    ({"backend": "loki", "loki": {"url": "http://loki.example:3100", "storageSize": "10Gi"}}, "logging.loki.storageSize: only applies to the in-cluster Loki"),
])
def test_bad_logging_config_is_a_clear_error(logging: dict[str, Any], needle: str) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["logging"] = logging
    errors = config_errors(doc)
    assert any(needle in e for e in errors), errors


def test_cloudwatch_needs_eks() -> None:
    doc = repo_stack("local")
    platform_of(doc)["logging"] = {"backend": "cloudwatch"}
    assert any("logging.backend" in e and "needs cluster.mode 'eks'" in e for e in config_errors(doc))
