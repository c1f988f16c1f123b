"""Log shipping through the real program: a pinned Fluent Bit DaemonSet on every node, structured records with the
model labels, CloudWatch Logs (log group with retention, pod identity limited to it) or Loki, chosen in config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from serving import conventions as cv
from serving.catalog import charts
from serving.components.logging import LUA_SCRIPT

from .conftest import platform_of, repo_stack
from .schemas import chart_defaults, unknown_value_paths, validate_object
from .test_gateway import config_errors, objects, plan_of, releases, repo_plan, reveal, under

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
    assert group.inputs["retentionInDays"] == 90
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


def test_loki_backend_ships_to_the_in_cluster_loki_and_creates_no_aws_resources(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["logging"] = {"backend": "loki", "loki": {"url": "http://loki-gateway.logging.svc.cluster.local:3100", "tenant": "platform"}}
    plan = plan_of(stack_root, doc)
    states = under(plan, LOGGING_TYPE)
    assert not [s for s in states if s.type.startswith("aws:")]
    outputs = releases(plan)["fluent-bit"].inputs["values"]["config"]["outputs"]
    assert "Name loki" in outputs and "host loki-gateway.logging.svc.cluster.local" in outputs and "port 3100" in outputs
    assert "model=$model" in outputs and "tenant_id platform" in outputs


def test_existing_cluster_without_a_backend_ships_nothing() -> None:
    plan = repo_plan("local")
    assert "fluent-bit" not in releases(plan)
    assert under(plan, LOGGING_TYPE) == []


@pytest.mark.parametrize("logging,needle", [
    ({"backend": "loki"}, "logging.loki: backend 'loki' needs"),
    ({"backend": "cloudwatch", "loki": {"url": "http://loki.logging.svc"}}, "logging.loki: a loki block is set"),
    ({"retentionDays": 10}, "logging.retentionDays"),
    ({"backend": "loki", "loki": {"url": "loki:3100"}}, "logging.loki.url"),
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
