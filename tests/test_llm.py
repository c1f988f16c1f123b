"""LLM serving (issue 11), the parts already wired: Envoy Gateway with Envoy AI Gateway as its extension server
(InferencePool backends), the LLM config checks, per-pool time-to-first-token and queue alerts and dashboard panels.
The InferencePool / picker / OpenAI route / shared-weights parts are built (serving/components/inference_pool.py,
openai_route.py, shared_weights.py) and join the model parts next."""

from __future__ import annotations

import json

import pytest

from serving.catalog import charts, llm as catalog
from serving.config import ConfigError, parse_platform
from serving.plan.model import is_kubernetes_object
from serving.plan.present.manifests import kubernetes_manifest

from .cluster_plans import helm_values, of_type, plain
from .conftest import platform_of, repo_plan, repo_stack
from .test_model import objects, repo_config

STACKS = ["dev", "prod"]


@pytest.mark.parametrize("stack", STACKS)
def test_envoy_gateway_hands_inference_pools_to_the_ai_gateway_extension(stack: str) -> None:
    plan = repo_plan(stack)
    eg = helm_values(plan, "envoy-gateway")["values"]["config"]["envoyGateway"]["extensionManager"]
    assert {"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"} in eg["backendResources"]
    assert eg["service"]["fqdn"] == {"hostname": f"{catalog.AI_GATEWAY_CONTROLLER}.{catalog.AI_GATEWAY_NAMESPACE}.svc.cluster.local",
                                     "port": catalog.AI_GATEWAY_EXTENSION_PORT}
    releases = {plain(r)["name"]: plain(r) for r in of_type(plan, "kubernetes:helm.sh/v3:Release")}
    for release, pin in (("aieg-crd", charts.AI_GATEWAY_CRDS), ("aieg", charts.AI_GATEWAY)):
        assert (releases[release]["chart"], releases[release]["version"], releases[release]["namespace"]) == (
            pin.chart, pin.version, catalog.AI_GATEWAY_NAMESPACE)
    values = releases["aieg"]["values"]
    assert values["controller"]["image"]["tag"] == values["extProc"]["image"]["tag"] == charts.AI_GATEWAY.version
    assert values["controller"]["replicaCount"] >= 2 and values["controller"]["podDisruptionBudget"]["enabled"]
    (crd,) = [kubernetes_manifest(s) for s in plan.resources if s.name.endswith("-gateway-ai-inferencepool-crd")]
    assert crd["metadata"]["name"] == "inferencepools.inference.networking.k8s.io"


def test_a_platform_without_llms_gets_no_ai_gateway() -> None:
    plan = repo_plan("local")
    assert "extensionManager" not in helm_values(plan, "envoy-gateway")["values"].get("config", {}).get("envoyGateway", {})
    assert not [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if plain(r)["name"].startswith("aieg")]


def test_the_mountpoint_driver_is_a_pinned_eks_addon() -> None:
    addons = {plain(a)["addonName"]: plain(a) for a in of_type(repo_plan("prod"), "aws:eks/addon:Addon")}
    assert addons["aws-mountpoint-s3-csi-driver"]["addonVersion"].startswith("v2.")


@pytest.mark.parametrize("change,location,words", [
    (lambda m: m.update(inference={"picker": {"failureMode": "FailOpen"}}), "models[0].inference.picker.failureMode", "FailOpen is not honoured"),
    (lambda m: m.update(canary={"version": "v2", "weight": 20}), "models[0].canary.weight", "an LLM's canary replicas join"),
])
def test_llm_config_errors_name_the_key(change, location: str, words: str) -> None:
    raw = platform_of(repo_stack("dev"))
    change(next(m for m in raw["models"] if m["name"] == "llama-chat"))
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.dev.yaml")
    assert any(e.startswith(f"Pulumi.dev.yaml: serving:platform.{location}: ") and words in e for e in err.value.errors), err.value.errors


def test_mount_without_the_driver_is_a_config_error() -> None:
    raw = platform_of(repo_stack("local"))
    raw["nodePools"]["gpu"] = [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2}]
    raw["models"].append({
        "name": "tiny-llm", "team": "tabular", "runtime": "vllm", "version": "v1", "inference": {"weights": "mount"},
        "artifact": {"uri": "s3://example-models-dev/tiny/v1", "sizeGi": 2}, "resources": {"gpus": 1},
    })
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.local.yaml")
    assert any(e.startswith("Pulumi.local.yaml: serving:platform.models[1].inference.weights: mount needs the Mountpoint") for e in err.value.errors)


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_cover_time_to_first_token_and_queue_per_pool(stack: str) -> None:
    plan = repo_plan(stack)
    for m in [m for m in repo_config(stack).models if m.preset.llm]:
        rules = objects(plan, m.name, "PrometheusRule")[m.name]["spec"]["groups"]
        alerts = {r["alert"]: r for g in rules for r in g["rules"] if "alert" in r}
        assert "vllm:time_to_first_token_seconds_bucket" in alerts["InferencePoolTimeToFirstTokenHigh"]["expr"]
        assert "llm_d_epp_average_queue_size" in alerts["InferencePoolQueueHigh"]["expr"]


def test_the_models_dashboard_shows_ttft_and_queue_per_pool() -> None:
    plan = repo_plan("dev")
    boards = [json.loads(v) for s in plan.resources if is_kubernetes_object(s)
              for d in [kubernetes_manifest(s)] if d["kind"] == "ConfigMap" for v in (d.get("data") or {}).values()
              if v.startswith("{") and '"serving-models"' in v]
    (board,) = boards
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    assert "llm_d_epp_average_queue_size" in exprs and "llm_d_epp_ready_endpoints" in exprs
    assert "vllm:time_to_first_token_seconds_bucket" in exprs
