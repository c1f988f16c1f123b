"""LLM serving (issue 11): every vLLM model behind an InferencePool with an endpoint picker, one OpenAI endpoint
routed by the body's `model`, weights mounted from S3 instead of downloaded per replica.

Asserted on the real dev/prod plans (and variants written with `stack_root`), as a reviewer reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from serving import conventions as cv
from serving.catalog import charts, llm as catalog
from serving.components.shared_weights import CSI_DRIVER, MOUNT_READ_SECONDS_PER_GIB
from serving.config import ConfigError, parse_platform
from serving.observability import metrics as promql
from serving.plan import Plan
from serving.plan.model import is_kubernetes_object
from serving.plan.present.manifests import kubernetes_manifest

from .cluster_plans import helm_values, of_type, plain
from .conftest import platform_of, repo_plan, repo_stack
from .schemas import validate_object
from .test_model import model_entry, objects, plan_of, pod_spec, repo_config, server

STACKS = ["dev", "prod"]


def llm_models(stack: str) -> list[Any]:
    models = [m for m in repo_config(stack).models if m.preset.llm]
    assert models, f"the {stack} stack serves an LLM"
    return models


def pooled_tracks(m: Any) -> list[str]:
    return ["primary", *(["canary"] if m.canary else [])]


# --- 1. inference gateway -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_llm_is_served_through_an_inference_pool_with_a_picker(stack: str) -> None:
    plan = repo_plan(stack)
    for m in llm_models(stack):
        ns = cv.team_namespace(m.team)
        pools = objects(plan, m.name, "InferencePool")
        deployments = objects(plan, m.name, "Deployment")
        services = objects(plan, m.name, "Service")
        assert list(pools) == [cv.inference_pool_name(m.name)]
        pool = pools[m.name]
        assert validate_object(pool) == []
        # The pool selects exactly the serving tracks' pods (never a shadow's), on the server's port.
        selector = pool["spec"]["selector"]["matchLabels"]
        for track, _ in [("primary", None), *m.candidates()]:
            workload = deployments[m.name if track == "primary" else f"{m.name}-{track}"]
            pod_labels = workload["spec"]["template"]["metadata"]["labels"]
            assert (selector.items() <= pod_labels.items()) == (track in pooled_tracks(m)), track
            assert pool["spec"]["targetPorts"] == [{"number": server(workload)["ports"][0]["containerPort"]}]
        # ... and names a picker Service that exists, on its ext_proc port, failing closed by default.
        ref = pool["spec"]["endpointPickerRef"]
        assert ref["failureMode"] == "FailClose"
        picker_svc = services[ref["name"]]
        assert ref["port"]["number"] in [p["port"] for p in picker_svc["spec"]["ports"]]
        picker = deployments[ref["name"]]
        assert picker_svc["spec"]["selector"].items() <= picker["spec"]["template"]["metadata"]["labels"].items()
        (epp,) = pod_spec(picker)["containers"]
        assert epp["image"] == catalog.EPP_IMAGE and "-dev" not in epp["image"]
        args = epp["args"]
        assert args[args.index("--pool-name") + 1] == pool["metadata"]["name"]
        assert args[args.index("--pool-namespace") + 1] == ns
        # Scores replicas by queue depth, KV cache and prefix affinity.
        config = yaml.safe_load(objects(plan, m.name, "ConfigMap")[ref["name"]]["data"]["plugins.yaml"])
        scorers = {p["pluginRef"] for p in config["schedulingProfiles"][0]["plugins"]}
        assert scorers == {"queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_picker_is_highly_available_and_placed_on_the_system_pool(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    system_labels = cv.pool_labels(cfg.node_pools.system)
    for m in llm_models(stack):
        name = cv.picker_name(m.name)
        picker = objects(plan, m.name, "Deployment")[name]
        spec = pod_spec(picker)
        assert picker["spec"]["replicas"] == 2 and "--ha-enable-leader-election" in spec["containers"][0]["args"]
        # Only the leader is ready (gRPC health service `readiness`): the Service always reaches the active one.
        assert spec["containers"][0]["readinessProbe"]["grpc"]["service"] == "readiness"
        assert spec["nodeSelector"].items() <= system_labels.items()
        assert spec["priorityClassName"] == cv.SERVING_PRIORITY_CLASS
        assert {c["topologyKey"] for c in spec["topologySpreadConstraints"]} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert objects(plan, m.name, "PodDisruptionBudget")[name]["spec"]["maxUnavailable"] == 1
        # RBAC to read its pool and pods and hold the leader lease.
        rules = objects(plan, m.name, "Role")[name]["rules"]
        assert any(r["resources"] == ["leases"] and "update" in r["verbs"] for r in rules)
        assert any(r["resources"] == ["inferencepools"] for r in rules)
        # Scraped by Prometheus: a ServiceMonitor on the picker Service's metrics port.
        monitor = objects(plan, m.name, "ServiceMonitor")[name]
        assert validate_object(monitor) == []
        svc_ports = {p["name"] for p in objects(plan, m.name, "Service")[name]["spec"]["ports"]}
        assert monitor["spec"]["endpoints"][0]["port"] in svc_ports
        assert monitor["metadata"]["labels"].items() >= cv.MONITORING_SELECTOR.items()


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_let_the_gateway_reach_the_picker_and_the_picker_read_the_replicas(stack: str) -> None:
    plan = repo_plan(stack)
    for m in llm_models(stack):
        policies = objects(plan, m.name, "NetworkPolicy")
        picker_policy = policies[cv.picker_name(m.name)]["spec"]
        ingress_ns = [rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in picker_policy["ingress"]]
        assert ingress_ns == [cv.GATEWAY_NAMESPACE, cv.MONITORING_NAMESPACE]
        model_policy = policies[m.name]["spec"]
        from_pickers = [r for r in model_policy["ingress"] if r["from"][0].get("podSelector", {}).get("matchLabels", {}).get(cv.APP_COMPONENT) == cv.PICKER_COMPONENT]
        assert from_pickers and from_pickers[0]["ports"] == [{"protocol": "TCP", "port": m.metrics_port}]


@pytest.mark.parametrize("stack", STACKS)
def test_the_models_route_sends_llm_traffic_to_its_pool(stack: str) -> None:
    plan = repo_plan(stack)
    for m in llm_models(stack):
        (rule,) = objects(plan, m.name, "HTTPRoute")[m.name]["spec"]["rules"]
        assert [(b["group"], b["kind"], b["name"]) for b in rule["backendRefs"]] == [
            (catalog.INFERENCE_POOL_GROUP, "InferencePool", cv.inference_pool_name(m.name))
        ]
        if m.shadow is not None:  # prod: the shadow still gets its mirrored copies, through its own Service
            (mirror,) = [f for f in rule["filters"] if f["type"] == "RequestMirror"]
            assert mirror["requestMirror"]["backendRef"]["name"] == f"{m.name}-shadow"


def test_a_canary_llm_joins_the_models_pool(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    entry = model_entry(doc, "llama-chat")
    entry["canary"] = {"version": "2026-11-20", "artifact": {"uri": "s3://example-models-dev/llama-3.1-8b-instruct/2026-11-20", "sizeGi": 16}}
    platform_of(doc)["nodePools"]["gpu"][0]["maxSize"] = 6
    platform_of(doc)["teams"][0]["quota"]["gpus"] = 4
    plan = plan_of(stack_root, doc)
    (pool,) = objects(plan, "llama-chat", "InferencePool").values()
    canary = objects(plan, "llama-chat", "Deployment")["llama-chat-canary"]
    assert pool["spec"]["selector"]["matchLabels"].items() <= canary["spec"]["template"]["metadata"]["labels"].items()
    (rule,) = objects(plan, "llama-chat", "HTTPRoute")["llama-chat"]["spec"]["rules"]
    assert [b["name"] for b in rule["backendRefs"]] == ["llama-chat"]
    # Its own weights volume, read through the mount like the primary's.
    assert "llama-chat-canary-weights" in objects(plan, "llama-chat", "PersistentVolumeClaim")


def test_an_llm_canary_weight_is_refused_with_the_reason() -> None:
    raw = platform_of(repo_stack("dev"))
    next(m for m in raw["models"] if m["name"] == "llama-chat")["canary"] = {"version": "v2", "weight": 20}
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.dev.yaml")
    assert any(e.startswith("Pulumi.dev.yaml: serving:platform.models[0].canary.weight: an LLM's canary replicas join") for e in err.value.errors)


def test_an_llm_at_zero_needs_active_hours() -> None:
    raw = platform_of(repo_stack("dev"))
    del next(m for m in raw["models"] if m["name"] == "llama-chat")["scaling"]["activeHours"]
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.dev.yaml")
    assert any(e.startswith("Pulumi.dev.yaml: serving:platform.models[0].scaling.activeHours: an LLM is reached through its endpoint picker") for e in err.value.errors)


def test_fail_open_is_refused_while_the_gateway_cannot_honour_it() -> None:
    raw = platform_of(repo_stack("dev"))
    next(m for m in raw["models"] if m["name"] == "llama-chat")["inference"] = {"picker": {"failureMode": "FailOpen"}}
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.dev.yaml")
    (msg,) = [e for e in err.value.errors if "failureMode" in e]
    assert msg.startswith("Pulumi.dev.yaml: serving:platform.models[0].inference.picker.failureMode: ")


def test_tls_to_the_pod_is_refused_while_an_llm_is_served() -> None:
    # The picker's chosen replica is reached at its plain server port: a stack asking for TLS to every pod must hear
    # that it cannot have it with an LLM, not get a NetworkPolicy that silently drops the LLM's traffic.
    raw = platform_of(repo_stack("dev"))
    raw["gateway"]["backendTls"] = True
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.dev.yaml")
    (msg,) = [e for e in err.value.errors if "TLS to the pod is not available" in e]
    assert msg.startswith("Pulumi.dev.yaml: serving:platform.gateway.backendTls: TLS to the pod is not available")


# --- the gateway: Envoy Gateway + Envoy AI Gateway ------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_envoy_gateway_hands_inference_pools_to_the_ai_gateway_extension(stack: str) -> None:
    plan = repo_plan(stack)
    eg = helm_values(plan, "envoy-gateway")["values"]["config"]["envoyGateway"]["extensionManager"]
    assert {"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"} in eg["backendResources"]
    fqdn = eg["service"]["fqdn"]
    assert fqdn == {"hostname": f"{catalog.AI_GATEWAY_CONTROLLER}.{catalog.AI_GATEWAY_NAMESPACE}.svc.cluster.local",
                    "port": catalog.AI_GATEWAY_EXTENSION_PORT}
    releases = {plain(r)["name"]: plain(r) for r in of_type(plan, "kubernetes:helm.sh/v3:Release")}
    for release, pin in (("aieg-crd", charts.AI_GATEWAY_CRDS), ("aieg", charts.AI_GATEWAY)):
        assert (releases[release]["chart"], releases[release]["version"], releases[release]["namespace"]) == (
            pin.chart, pin.version, catalog.AI_GATEWAY_NAMESPACE)
    values = releases["aieg"]["values"]
    assert values["controller"]["image"]["tag"] == values["extProc"]["image"]["tag"] == charts.AI_GATEWAY.version
    assert values["controller"]["replicaCount"] >= 2 and values["controller"]["podDisruptionBudget"]["enabled"]
    # No chart installs the InferencePool CRD: the platform does (objects rendered from charts are the releases').
    (crd,) = [kubernetes_manifest(s) for s in plan.resources if s.name.endswith("-gateway-ai-inferencepool-crd")]
    assert crd["metadata"]["name"] == "inferencepools.inference.networking.k8s.io"
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1"]


def test_a_platform_without_llms_gets_no_ai_gateway() -> None:
    plan = repo_plan("local")
    assert "extensionManager" not in helm_values(plan, "envoy-gateway")["values"].get("config", {}).get("envoyGateway", {})
    assert not [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if plain(r)["name"].startswith("aieg")]


# --- 2. one OpenAI endpoint ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_openai_route_matches_the_body_model_and_keeps_the_models_auth_and_limits(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    for m in llm_models(stack):
        route = objects(plan, m.name, "AIGatewayRoute")[f"{m.name}-openai"]
        assert validate_object(route) == []
        assert route["spec"]["hostnames"] == [cfg.gateway.hostname]
        assert route["spec"]["parentRefs"][0]["sectionName"] == "https"
        (rule,) = route["spec"]["rules"]
        assert rule["matches"] == [{"headers": [{"type": "Exact", "name": catalog.MODEL_HEADER, "value": m.name}]}]
        # `model` in the body is the name vLLM serves: --served-model-name <model>.
        deployment = objects(plan, m.name, "Deployment")[m.name]
        args = server(deployment)["args"]
        assert args[args.index("--served-model-name") + 1] == m.name
        # The model's own policies target the HTTPRoute AI Gateway generates (same name as the AIGatewayRoute).
        traffic = objects(plan, m.name, "BackendTrafficPolicy")
        own, openai = traffic[m.name]["spec"], traffic[f"{m.name}-openai"]["spec"]
        assert openai["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": f"{m.name}-openai"}]
        assert openai.get("rateLimit") == own.get("rateLimit") and own.get("rateLimit")
        security = objects(plan, m.name, "SecurityPolicy")
        if m.exposure.jwt is not None:  # prod
            assert security[f"{m.name}-openai"]["spec"]["jwt"] == security[m.name]["spec"]["jwt"]
        for doc in (traffic[f"{m.name}-openai"], *security.values()):
            assert validate_object(doc) == []


def test_api_keys_of_a_model_guard_its_openai_route_with_the_same_secret(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    model_entry(doc, "llama-chat")["exposure"]["apiKey"] = {"keys": {"app": "s3cr3t-key-123"}}
    plan = plan_of(stack_root, doc)
    security = objects(plan, "llama-chat", "SecurityPolicy")
    own, openai = security["llama-chat"]["spec"]["apiKeyAuth"], security["llama-chat-openai"]["spec"]["apiKeyAuth"]
    assert openai["credentialRefs"] == own["credentialRefs"] == [{"group": "", "kind": "Secret", "name": "llama-chat-api-keys"}]
    assert list(objects(plan, "llama-chat", "Secret")) == ["llama-chat-api-keys"]  # written once


def _second_llm(doc: dict[str, Any], **exposure: Any) -> dict[str, Any]:
    """A copy of llama-chat as a second LLM `mistral-chat` in the same stack, with its own exposure."""
    llama = model_entry(doc, "llama-chat")
    second = {**json.loads(json.dumps(llama)), "name": "mistral-chat", "exposure": exposure}
    p = platform_of(doc)
    p["models"].append(second)
    # Room for it: GPUs in the team's quota and nodes in the pool.
    next(t for t in p["teams"] if t["name"] == llama["team"])["quota"]["gpus"] = 8
    p["nodePools"]["gpu"][0]["maxSize"] = 8
    return second


def test_llms_on_the_shared_endpoint_must_authenticate_alike() -> None:
    # The gateway checks credentials before it reads the model from the body: an LLM with other credentials than
    # its neighbours on /v1 would be checked with theirs. The stack is refused, naming the model and the way out.
    doc = repo_stack("dev")
    raw = platform_of(doc)
    _second_llm(doc, apiKey={"keys": {"app": "another-s3cr3t-key"}})
    with pytest.raises(ConfigError) as err:
        parse_platform(raw, "Pulumi.dev.yaml")
    (msg,) = [e for e in err.value.errors if "shared OpenAI endpoint" in e]
    index = len(raw["models"]) - 1
    assert msg.startswith(f"Pulumi.dev.yaml: serving:platform.models[{index}].exposure: every LLM on the shared OpenAI endpoint")
    assert "inference.openaiEndpoint: false" in msg and "another-s3cr3t-key" not in msg
    # The same JWT as llama-chat: accepted; or the second LLM off /v1: accepted.
    raw["models"][-1]["exposure"] = json.loads(json.dumps(model_entry(doc, "llama-chat")["exposure"]))
    parse_platform(raw, "Pulumi.dev.yaml")
    raw["models"][-1]["exposure"] = {"apiKey": {"keys": {"app": "another-s3cr3t-key"}}}
    raw["models"][-1]["inference"] = {"openaiEndpoint": False}
    parse_platform(raw, "Pulumi.dev.yaml")


def test_an_llm_off_the_shared_endpoint_keeps_its_own_route_and_pool(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    model_entry(doc, "llama-chat")["inference"] = {"openaiEndpoint": False}
    plan = plan_of(stack_root, doc)
    assert not objects(plan, "llama-chat", "AIGatewayRoute")
    (route,) = objects(plan, "llama-chat", "HTTPRoute").values()
    assert route["spec"]["rules"][0]["backendRefs"][0]["kind"] == "InferencePool"


# --- 3. weights shared, not downloaded ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_no_llm_replica_downloads_its_own_weights(stack: str) -> None:
    plan = repo_plan(stack)
    for m in llm_models(stack):
        pvs = {d["metadata"]["name"]: d for d in (kubernetes_manifest(s) for s in plan.resources if is_kubernetes_object(s))
               if d["kind"] == "PersistentVolume"}
        claims = objects(plan, m.name, "PersistentVolumeClaim")
        for track, candidate in [("primary", None), *m.candidates()]:
            workload = m.name if track == "primary" else f"{m.name}-{track}"
            deployment = objects(plan, m.name, "Deployment")[workload]
            spec = pod_spec(deployment)
            assert not spec.get("initContainers"), f"{workload} downloads its weights"
            (volume,) = [v for v in spec["volumes"] if v["name"] == "model"]
            claim = claims[volume["persistentVolumeClaim"]["claimName"]]
            assert volume["persistentVolumeClaim"]["readOnly"] is True
            mount = next(vm for vm in server(deployment)["volumeMounts"] if vm["name"] == "model")
            assert mount["readOnly"] is True
            pv = pvs[claim["spec"]["volumeName"]]
            assert pv["spec"]["claimRef"] == {"namespace": cv.team_namespace(m.team), "name": claim["metadata"]["name"]}
            assert claim["spec"]["accessModes"] == pv["spec"]["accessModes"] == ["ReadOnlyMany"]
            artifact = m.artifact_of(candidate)
            bucket, prefix = artifact.s3_location()
            csi = pv["spec"]["csi"]
            assert csi["driver"] == CSI_DRIVER and csi["volumeAttributes"]["bucketName"] == bucket
            # Signed with the model's own identity (its prefix-limited role), and only the prefix is mounted.
            assert csi["volumeAttributes"]["authenticationSource"] == "pod"
            assert f"prefix {prefix}/" in pv["spec"]["mountOptions"]
            assert csi["volumeAttributes"]["cache"] == "emptyDir"
            for obj in (pv, claim):
                assert validate_object(obj) == []
            # The startup budget counts reading the weights through the mount.
            budget = m.preset.startup_base_seconds + artifact.size_gi * (m.preset.startup_seconds_per_gib + MOUNT_READ_SECONDS_PER_GIB)
            probe = server(deployment)["startupProbe"]
            assert probe["failureThreshold"] * probe["periodSeconds"] >= budget


@pytest.mark.parametrize("stack", STACKS)
def test_the_models_role_still_reads_only_its_prefixes(stack: str) -> None:
    plan = repo_plan(stack)
    for m in llm_models(stack):
        (policy,) = [json.loads(plain(p)["policy"]) for p in of_type(plan, "aws:iam/rolePolicy:RolePolicy") if f"-model-{m.name}-" in p.name]
        reads = [s for s in policy["Statement"] if s["Action"] == "s3:GetObject"]
        resources = sorted(r for s in reads for r in s["Resource"])
        bucket_prefixes = sorted({f"arn:aws:s3:::{'/'.join(m.artifact_of(c).s3_location())}/*" for _, c in [("primary", None), *m.candidates()]})
        assert resources == bucket_prefixes


def test_the_mountpoint_driver_is_a_pinned_eks_addon() -> None:
    addons = {plain(a)["addonName"]: plain(a) for a in of_type(repo_plan("prod"), "aws:eks/addon:Addon")}
    assert addons["aws-mountpoint-s3-csi-driver"]["addonVersion"].startswith("v2.")


def test_an_existing_cluster_mounts_only_where_the_driver_is_declared(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("local")
    llm = {
        "name": "tiny-llm", "team": "tabular", "runtime": "vllm", "version": "v1",
        "artifact": {"uri": "s3://example-models-dev/tiny/v1", "sizeGi": 2}, "resources": {"gpus": 1},
    }
    platform = platform_of(doc)
    platform["nodePools"]["gpu"] = [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2}]
    platform["teams"][0]["quota"].update(gpus=4, cpu="32", memory="128Gi")
    platform["models"].append(llm)
    plan = plan_of(stack_root, doc, "local")
    assert pod_spec(objects(plan, "tiny-llm", "Deployment")["tiny-llm"]).get("initContainers"), "no driver: download"
    platform["cluster"]["existing"]["s3MountpointDriver"] = True
    plan = plan_of(stack_root, doc, "local")
    assert not pod_spec(objects(plan, "tiny-llm", "Deployment")["tiny-llm"]).get("initContainers")
    assert "tiny-llm-weights" in objects(plan, "tiny-llm", "PersistentVolumeClaim")


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


# --- 4. dashboards and alerts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_cover_time_to_first_token_queue_and_picker_per_pool(stack: str) -> None:
    plan = repo_plan(stack)
    for m in llm_models(stack):
        rules = objects(plan, m.name, "PrometheusRule")[m.name]["spec"]["groups"]
        alerts = {r["alert"]: r for g in rules for r in g["rules"] if "alert" in r}
        assert {"InferencePickerDown", "InferencePoolTimeToFirstTokenHigh", "InferencePoolQueueHigh"} <= set(alerts)
        assert "vllm:time_to_first_token_seconds_bucket" in alerts["InferencePoolTimeToFirstTokenHigh"]["expr"]
        assert "llm_d_epp_average_queue_size" in alerts["InferencePoolQueueHigh"]["expr"]
        assert f'service="{cv.picker_name(m.name)}"' in alerts["InferencePickerDown"]["expr"]


def test_the_models_dashboard_shows_ttft_and_queue_per_pool() -> None:
    plan = repo_plan("dev")
    boards = [json.loads(v) for s in plan.resources if is_kubernetes_object(s)
              for d in [kubernetes_manifest(s)] if d["kind"] == "ConfigMap" for v in (d.get("data") or {}).values()
              if v.startswith("{") and '"serving-models"' in v]
    (board,) = boards
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    assert promql.SERIES_MODEL in exprs and "llm_d_epp_average_queue_size" in exprs and "llm_d_epp_ready_endpoints" in exprs
    assert promql.time_to_first_token_by_pool(promql.ModelRef(None, "$model"), 0.95) in exprs


def test_only_the_picker_container_gets_an_api_token() -> None:
    picker = objects(repo_plan("dev"), "llama-chat", "Deployment")[cv.picker_name("llama-chat")]
    spec = pod_spec(picker)
    assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == cv.picker_name("llama-chat")
    (mount,) = [vm for vm in spec["containers"][0]["volumeMounts"] if vm["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert mount["readOnly"] and {"serviceAccountToken", "configMap", "downwardAPI"} == {k for src in volume["projected"]["sources"] for k in src}
