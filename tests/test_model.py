"""Per-model serving stacks, tested through the real program: capture the dev/prod plans (or a variant written with
`stack_root`) and assert on what each model gets: workloads, routes, autoscalers, security, scheduling, isolation."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from serving import conventions as cv
from serving.catalog.runtimes import PRESETS, STORAGE_INITIALIZER_ENTRYPOINT
from serving.components import artifacts
from serving.components.model.context import Track, autoscaled
from serving.config import PlatformConfig, parse_platform, validate_stack_file
from serving.plan import Plan, Secret, capture_plan, render_json, render_tree
from serving.plan.model import ResourceState, is_kubernetes_object
from serving.plan.present.manifests import kubernetes_manifest
from serving.stackfile import read_stack

from .conftest import platform_of, repo_plan, repo_stack
from .schemas import validate_object

MODEL_TYPE = "serving:model:ModelServing"
TEAM_TYPE = "serving:team:Team"


# --- helpers shared by the model/team/checkov tests ---------------------------------------------------------------


@functools.cache
def repo_config(stack: str) -> PlatformConfig:
    return validate_stack_file(read_stack(stack))


def descendants(plan: Plan, urn: str) -> list[ResourceState]:
    out: list[ResourceState] = []
    todo = [urn]
    while todo:
        for step in plan.children(todo.pop()):
            out.append(step.state)
            todo.append(step.urn)
    return out


def component(plan: Plan, type_: str, name: str) -> ResourceState:
    (state,) = [s for s in plan.resources if s.type == type_ and s.name == name]
    return state


def model_resources(plan: Plan, model: str) -> list[ResourceState]:
    """Every resource registered under the model's ModelServing component."""
    (state,) = [s for s in plan.resources if s.type == MODEL_TYPE and s.name.endswith(f"-model-{model}")]
    return descendants(plan, state.urn)


def team_resources(plan: Plan, team: str) -> list[ResourceState]:
    (state,) = [s for s in plan.resources if s.type == TEAM_TYPE and s.name.endswith(f"-team-{team}")]
    return descendants(plan, state.urn)


def manifests(states: list[ResourceState]) -> list[dict[str, Any]]:
    return [kubernetes_manifest(s) for s in states if is_kubernetes_object(s)]


def objects(plan: Plan, model: str, kind: str) -> dict[str, dict[str, Any]]:
    """metadata.name -> manifest of the model's objects of one kind."""
    return {m["metadata"]["name"]: m for m in manifests(model_resources(plan, model)) if m["kind"] == kind}


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def server(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod_spec(deployment)["containers"] if c["name"] == "server"]
    return container


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes toleration matching (core/v1 Toleration.ToleratesTaint)."""
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("key") and t["key"] != taint["key"]:
            continue
        if t.get("operator", "Equal") == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def plan_of(stack_root: Callable[..., Path], doc: dict[str, Any], stack: str = "dev") -> Plan:
    return capture_plan(stack, root=stack_root(**{stack: doc}))


def model_entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in platform_of(doc)["models"] if m["name"] == name)


def server_deployments(plan: Plan, model: str) -> dict[str, dict[str, Any]]:
    """The model's server Deployments (one per track), without an LLM's endpoint pickers (tests/test_llm.py)."""
    return {n: d for n, d in objects(plan, model, "Deployment").items()
            if d["metadata"]["labels"].get(cv.APP_COMPONENT) != cv.PICKER_COMPONENT}


STACKS = ["dev", "prod"]


# --- a complete stack per model -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_model_gets_a_complete_serving_stack(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    assert {"vllm", "triton"} <= {m.runtime for m in cfg.models}
    assert any(m.runtime.startswith("mlserver") for m in cfg.models)
    assert any(m.canary for m in cfg.models), "each stack shows a canary"
    for m in cfg.models:
        kinds: dict[str, list[str]] = {}
        for doc in manifests(model_resources(plan, m.name)):
            kinds.setdefault(doc["kind"], []).append(doc["metadata"]["name"])
        workloads = sorted([m.name] + [f"{m.name}-{t}" for t, _ in m.candidates()])
        # An LLM adds an endpoint picker (Deployment, Service, PDB, ServiceAccount, NetworkPolicy,
        # ServiceMonitor) and the policies of its OpenAI route (tests/test_llm.py).
        pickers = [cv.picker_name(m.name)] if m.preset.llm else []
        assert sorted(kinds["Deployment"]) == sorted(workloads + pickers), m.name
        assert sorted(kinds["Service"]) == sorted(workloads + pickers)
        assert sorted(kinds["PodDisruptionBudget"]) == sorted(workloads + pickers)
        for kind in ("ServiceAccount", "NetworkPolicy", "ServiceMonitor"):
            assert sorted(kinds.get(kind, [])) == sorted([m.name, *pickers]), (m.name, kind)
        assert sorted(kinds["BackendTrafficPolicy"]) == [m.name, *([f"{m.name}-openai"] if m.preset.llm else [])]
        for kind in ("HTTPRoute", "PrometheusRule"):
            assert kinds.get(kind) == [m.name], (m.name, kind)
        autoscalers = kinds.get("ScaledObject", []) + kinds.get("HorizontalPodAutoscaler", [])
        # One autoscaler per track that may change size: the primary, and a candidate whose share of maxReplicas
        # exceeds its own replicas.
        tracks = [Track("primary"), *(Track(t, c) for t, c in m.candidates())]
        expected = [f"{m.name}{t.suffix}" for t in tracks if autoscaled(m, t)]
        assert sorted(autoscalers) == sorted(expected), m.name
        types = {s.type for s in model_resources(plan, m.name)}
        if m.artifact.scheme == "s3" and cfg.cluster.mode == "eks":
            assert {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:eks/podIdentityAssociation:PodIdentityAssociation"} <= types


@pytest.mark.parametrize("stack", [*STACKS, "local"])
def test_every_object_validates_against_kubernetes_and_crd_schemas(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    docs = [d for m in cfg.models for d in manifests(model_resources(plan, m.name))]
    docs += [d for t in cfg.teams for d in manifests(team_resources(plan, t.name))]
    docs += [kubernetes_manifest(s) for s in plan.resources if s.type == "kubernetes:scheduling.k8s.io/v1:PriorityClass"]
    assert len(docs) > 10 * len(cfg.models)
    errors = {f"{d['kind']}/{d['metadata'].get('namespace', '')}/{d['metadata']['name']}": validate_object(d) for d in docs}
    assert {k: v for k, v in errors.items() if v} == {}


@pytest.mark.parametrize("stack", STACKS)
def test_model_urls_are_stack_outputs(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    urls = plan.outputs["modelUrls"]
    for m in cfg.models:
        assert urls[m.name].endswith(f"://{cfg.gateway.hostname}/models/{m.name}")


# --- scheduling ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_gpu_model_is_schedulable_on_a_configured_pool(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    checked = 0
    for m in cfg.models:
        for name, dep in server_deployments(plan, m.name).items():
            spec = pod_spec(dep)
            gpus = int(server(dep)["resources"].get("limits", {}).get(cv.GPU_RESOURCE, 0))
            if not gpus:
                # A CPU model never tolerates the GPU taint, so it never takes a GPU node.
                assert not tolerates(spec.get("tolerations"), cv.GPU_TAINT.model_dump()), name
                continue
            fits = []
            for pool in cfg.node_pools.gpu:
                labels = cv.pool_labels(pool)
                selected = all(labels.get(k) == v for k, v in spec["nodeSelector"].items())
                tolerated = all(tolerates(spec["tolerations"], t.model_dump()) for t in cv.pool_taints(pool))
                if selected and tolerated and gpus <= pool.allocatable_gpus_per_node:
                    fits.append(pool.name)
            assert fits, f"{name}: no GPU pool takes it"
            checked += 1
    assert checked >= 2


def test_a_model_asking_more_gpus_than_its_pool_has_is_a_config_error() -> None:
    from serving.config import ConfigError, parse_platform

    doc = repo_stack("prod")
    model_entry(doc, "llama-chat")["resources"]["gpus"] = 4
    with pytest.raises(ConfigError) as exc:
        parse_platform(platform_of(doc), "Pulumi.prod.yaml")
    (err,) = [e for e in exc.value.errors if "resources.gpus" in e]
    assert "models[0].resources.gpus: 4 GPUs per replica, but a node of pool 'gpu-a10'" in err
    assert "could never be scheduled" in err


def test_gpu_pods_spread_across_zones_best_effort_cpu_pods_strictly() -> None:
    plan = repo_plan("prod")
    llama = objects(plan, "llama-chat", "Deployment")["llama-chat"]
    churn = objects(plan, "churn", "Deployment")["churn"]
    zone = {d: next(c for c in pod_spec(x)["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone")
            for d, x in (("llama", llama), ("churn", churn))}
    assert zone["llama"]["whenUnsatisfiable"] == "ScheduleAnyway"
    assert zone["churn"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["churn"]["labelSelector"]["matchLabels"] == {cv.MODEL_LABEL: "churn", cv.TRACK_LABEL: "primary"}
    assert pod_spec(llama)["priorityClassName"] == cv.SERVING_PRIORITY_CLASS
    (pc,) = [s for s in plan.resources if s.type == "kubernetes:scheduling.k8s.io/v1:PriorityClass"]
    assert kubernetes_manifest(pc)["metadata"]["name"] == cv.SERVING_PRIORITY_CLASS


# --- pods ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [*STACKS, "local"])
def test_model_pods_are_hardened(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    for m in cfg.models:
        sa = objects(plan, m.name, "ServiceAccount")[m.name]
        assert sa["automountServiceAccountToken"] is False
        for name, dep in server_deployments(plan, m.name).items():
            spec = pod_spec(dep)
            assert spec["serviceAccountName"] == m.name and spec["automountServiceAccountToken"] is False
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
            for c in spec["containers"] + spec.get("initContainers", []):
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
                assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsUser"] >= 10000
                assert c["resources"]["requests"]["memory"] == c["resources"]["limits"]["memory"] or c["name"] != "server"
            srv = server(dep)
            assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(srv)
            assert srv["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
            assert spec["terminationGracePeriodSeconds"] > srv["lifecycle"]["preStop"]["sleep"]["seconds"]
            mounts = {v["mountPath"]: v for v in srv["volumeMounts"]}
            assert "/tmp" in mounts, "scratch space under the read-only root filesystem"


def test_probes_follow_the_runtime_and_the_startup_budget_follows_model_size(stack_root: Callable[..., Path]) -> None:
    plan = repo_plan("prod")
    llama = server(objects(plan, "llama-chat", "Deployment")["llama-chat"])
    assert llama["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # vLLM: 180 s base + 10 s/GiB x 16 GiB, + 5 s/GiB reading the weights through the S3 mount = 420 s -> 42 probes
    # 10 s apart.
    assert llama["startupProbe"]["failureThreshold"] * llama["startupProbe"]["periodSeconds"] == 420
    vision = server(objects(plan, "vision", "Deployment")["vision"])
    assert vision["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert vision["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert [p["containerPort"] for p in vision["ports"]] == [8000, 8002]

    doc = repo_stack("dev")
    model_entry(doc, "llama-chat")["artifact"]["sizeGi"] = 20
    model_entry(doc, "churn")["server"] = {"startupTimeoutSeconds": 900}
    variant = plan_of(stack_root, doc)
    llama = server(objects(variant, "llama-chat", "Deployment")["llama-chat"])
    assert llama["startupProbe"]["failureThreshold"] == 48  # (180 + 200 + 100) / 10
    churn = server(objects(variant, "churn", "Deployment")["churn"])
    assert churn["startupProbe"]["failureThreshold"] == 90


def test_runtime_containers_get_their_presets_command_ports_and_env() -> None:
    plan = repo_plan("prod")
    llama = server(objects(plan, "llama-chat", "Deployment")["llama-chat"])
    assert llama["image"] == "vllm/vllm-openai:v0.11.0"
    assert llama["command"] == ["vllm", "serve"]
    assert llama["args"][:1] == ["/mnt/models"] and "--served-model-name" in llama["args"]
    assert llama["args"][-2:] == ["--max-model-len=8192", "--gpu-memory-utilization=0.90"]
    assert llama["resources"]["limits"][cv.GPU_RESOURCE] == "1"
    churn = server(objects(plan, "churn", "Deployment")["churn"])
    env = {e["name"]: e["value"] for e in churn["env"]}
    assert env["MLSERVER_MODEL_IMPLEMENTATION"] == "mlserver_sklearn.SKLearnModel"
    assert env["MLSERVER_MODEL_NAME"] == "churn" and env["MLSERVER_MODEL_VERSION"] == "v11"
    canary_env = {e["name"]: e["value"] for e in server(objects(plan, "churn", "Deployment")["churn-canary"])["env"]}
    assert canary_env["MLSERVER_MODEL_VERSION"] == "v12"
    assert "cpu" not in churn["resources"]["limits"], "no CPU limit unless configured"


#: Env vars naming a directory a server or initializer writes to (caches, config, metrics, home).
WRITTEN_DIR_ENV = re.compile(r"(HOME|CACHE_DIR|CACHE_ROOT|CONFIG_ROOT|_DIR)$")


def with_every_runtime(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` plus one model per runtime preset it lacks (team `lab`), GPU ones included, with room on the GPU pool."""
    p = platform_of(doc)
    p["nodePools"]["gpu"][0]["maxSize"] = 8
    p["teams"].append({"name": "lab", "quota": {"cpu": "64", "memory": "256Gi", "gpus": 4}})
    present = {m["runtime"] for m in p["models"]}
    extra = {
        "mlserver": {}, "mlserver-xgboost": {}, "mlserver-lightgbm": {}, "mlserver-mlflow": {},
        "tfserving": {"resources": {"gpus": 1}},
        "custom": {"image": "ghcr.io/example/sentiment:1.4.2", "server": {"port": 9000, "readyPath": "/ready"},
                   "resources": {"gpus": 1}},
    }
    for runtime in sorted(set(PRESETS) - present):
        p["models"].append({"name": f"lab-{runtime}", "team": "lab", "runtime": runtime, "version": "v1",
                            "artifact": {"uri": f"s3://example-models-dev/lab/{runtime}/v1"}, **extra[runtime]})
    return doc


def writable_paths(spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """Mount paths of `container` that are writable scratch (emptyDir or ephemeral volume, not read-only)."""
    volumes = {v["name"]: v for v in spec["volumes"]}
    return [m["mountPath"] for m in container["volumeMounts"]
            if not m.get("readOnly") and ("emptyDir" in volumes[m["name"]] or "ephemeral" in volumes[m["name"]])]


def under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def test_every_runtime_can_write_where_it_writes_as_uid_10001_on_a_read_only_root(stack_root: Callable[..., Path]) -> None:
    """No image has uid 10001 in /etc/passwd and the root filesystem is read-only: every directory a server or the
    initializer writes to (home, caches, metrics) must be a writable volume, and getpass.getuser() must not need
    /etc/passwd (PyTorch's inductor cache dir; vLLM exits at import without USER)."""
    doc = with_every_runtime(repo_stack("dev"))
    plan, cfg = plan_of(stack_root, doc), parse_platform(platform_of(doc), "Pulumi.dev.yaml")
    assert {m.runtime for m in cfg.models} == set(PRESETS)
    for m in cfg.models:
        spec = pod_spec(objects(plan, m.name, "Deployment")[m.name])
        for c in spec["containers"] + spec.get("initContainers", []):
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            writable = writable_paths(spec, c)
            assert env.get("HOME") and under(env["HOME"], writable), (m.name, c["name"])
            for key, value in env.items():
                if WRITTEN_DIR_ENV.search(key) and value and value.startswith("/"):
                    assert under(value, writable), (m.name, c["name"], key, value)
            if "workingDir" in c:
                assert under(c["workingDir"], writable), (m.name, c["name"])
        srv = server(objects(plan, m.name, "Deployment")[m.name])
        env = {e["name"]: e["value"] for e in srv["env"]}
        assert env["USER"], m.name
        if m.runtime.startswith("mlserver"):
            # The image's workdir and its HF/Numba cache dir /opt/mlserver are mode 776 for uid 1000 only.
            assert "workingDir" in srv and not any(v.startswith("/opt/mlserver") for v in env.values())
        if m.resources.gpus:
            # PyTorch/NCCL/Triton share tensors through /dev/shm, 64 MiB by default in a container.
            (shm,) = [v for v in srv["volumeMounts"] if v["mountPath"] == "/dev/shm"]
            assert {v["name"]: v for v in spec["volumes"]}[shm["name"]]["emptyDir"]["medium"] == "Memory", m.name
    llama = {e["name"]: e["value"] for e in server(objects(plan, "llama-chat", "Deployment")["llama-chat"])["env"]}
    for key in ("HF_HOME", "VLLM_CACHE_ROOT", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "NUMBA_CACHE_DIR"):
        assert llama[key].startswith("/tmp/"), key


# --- artifacts ----------------------------------------------------------------------------------------------------


def test_artifacts_are_downloaded_once_into_a_cache_the_server_reads(stack_root: Callable[..., Path]) -> None:
    # An LLM mounts its S3 weights by default (test_llm.py); `inference.weights: download` keeps the download.
    doc = repo_stack("prod")
    model_entry(doc, "llama-chat")["inference"] = {"weights": "download"}
    plan = plan_of(stack_root, doc, "prod")
    llama = objects(plan, "llama-chat", "Deployment")["llama-chat"]
    spec = pod_spec(llama)
    (init,) = spec["initContainers"]
    env = {e["name"]: e.get("value") for e in init["env"]}
    # A folder: the trailing slash keeps the initializer's key-prefix listing out of sibling folders (`.../2026-10-15x`).
    assert env["ARTIFACT_URI"] == "s3://example-models-prod/llama-3.1-8b-instruct/2026-10-15/"
    assert init["image"].startswith("kserve/storage-initializer:v")
    assert ".download-complete" in init["command"][-1], "a restarted pod skips a complete download"
    volumes = {v["name"]: v for v in spec["volumes"]}
    claim = volumes["model"]["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "21Gi"  # 16 GiB x 1.2 + 1, rounded up
    assert "storageClassName" not in claim, "the cluster's default class (gp3)"
    mount = next(v for v in server(llama)["volumeMounts"] if v["name"] == "model")
    assert mount == {"name": "model", "mountPath": "/mnt/models", "subPath": "model", "readOnly": True}
    shadow_init = pod_spec(objects(plan, "llama-chat", "Deployment")["llama-chat-shadow"])["initContainers"][0]
    assert {e["name"]: e.get("value") for e in shadow_init["env"]}["ARTIFACT_URI"].endswith("/2026-11-01/")
    churn = pod_spec(objects(plan, "churn", "Deployment")["churn"])
    assert {v["name"]: v for v in churn["volumes"]}["model"] == {"name": "model", "emptyDir": {"sizeLimit": "3Gi"}}


def test_each_models_role_reads_only_its_own_prefixes() -> None:
    plan = repo_plan("prod")
    states = model_resources(plan, "llama-chat")
    (policy,) = [s for s in states if s.type == "aws:iam/rolePolicy:RolePolicy"]
    doc = json.loads(policy.inputs["policy"])
    reads = [r for st in doc["Statement"] if st["Action"] == "s3:GetObject" for r in st["Resource"]]
    assert sorted(reads) == [
        "arn:aws:s3:::example-models-prod/llama-3.1-8b-instruct/2026-10-15/*",
        "arn:aws:s3:::example-models-prod/llama-3.1-8b-instruct/2026-11-01/*",
    ]
    # The initializer's HeadBucket is authorized as s3:ListBucket without any s3:prefix: a prefix condition denies it.
    (listing,) = [st for st in doc["Statement"] if st["Action"] == "s3:ListBucket"]
    assert listing["Resource"] == "arn:aws:s3:::example-models-prod" and "Condition" not in listing
    assert {st["Action"] for st in doc["Statement"]} == {"s3:ListBucket", "s3:GetObject"}, "no KMS key configured"
    (assoc,) = [s for s in states if s.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"]
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == ("team-nlp", "llama-chat")
    (role,) = [s for s in states if s.type == "aws:iam/role:Role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == "llama-chat"


def test_an_sse_kms_artifact_lets_the_role_decrypt_with_exactly_its_key(stack_root: Callable[..., Path]) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    doc = repo_stack("dev")
    model_entry(doc, "churn")["artifact"]["kmsKeyArn"] = key
    plan = plan_of(stack_root, doc)
    (policy,) = [s for s in model_resources(plan, "churn") if s.type == "aws:iam/rolePolicy:RolePolicy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    (decrypt,) = [st for st in statements if "kms:Decrypt" in json.dumps(st["Action"])]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == [key]
    assert decrypt["Condition"] == {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}, "only through S3"
    assert not any(a.startswith("kms:") for st in statements if st is not decrypt for a in [st["Action"]])
    # Another model's role gets no KMS grant.
    (llama_policy,) = [s for s in model_resources(plan, "llama-chat") if s.type == "aws:iam/rolePolicy:RolePolicy"]
    assert "kms:" not in llama_policy.inputs["policy"]


def test_the_storage_initializer_image_comes_from_config(stack_root: Callable[..., Path]) -> None:
    pinned = "kserve/storage-initializer@sha256:" + "1" * 64
    doc = repo_stack("dev")
    platform_of(doc)["storageInitializerImage"] = pinned
    plan = plan_of(stack_root, doc)
    for m in ("vision", "churn"):  # llama-chat mounts its weights: no initializer (test_llm.py)
        for dep in server_deployments(plan, m).values():
            (init,) = pod_spec(dep)["initContainers"]
            assert init["image"] == pinned


FAKE_INITIALIZER = """#!/usr/bin/env python3
# Same argument contract as kserve v0.19.0 python/storage-initializer/scripts/initializer-entrypoint.
import os, sys
if len(sys.argv) < 3 or len(sys.argv) % 2 != 1:
    print("Usage: initializer-entrypoint src_uri_0 dest_path_0 ..."); sys.exit(1)
for src, dest in zip(sys.argv[1::2], sys.argv[2::2]):
    os.makedirs(dest, exist_ok=True)
    open(os.path.join(dest, "weights"), "w").write(src)
    open(os.environ["CALLS"], "a").write(src + "\\n")
"""


def test_the_download_script_calls_the_initializer_once_per_artifact_version(tmp_path: Path) -> None:
    """The init container's script, run with sh against a stand-in for the initializer's entrypoint."""
    entry, store, calls = tmp_path / "initializer-entrypoint", tmp_path / "store", tmp_path / "calls"
    entry.write_text(FAKE_INITIALIZER)
    entry.chmod(0o755)
    store.mkdir()
    script = artifacts.DOWNLOAD_SCRIPT.replace(STORAGE_INITIALIZER_ENTRYPOINT, str(entry)).replace(artifacts.STORE_MOUNT, str(store))
    assert script != artifacts.DOWNLOAD_SCRIPT and str(entry) in script

    def run(uri: str) -> None:
        env = {**os.environ, "ARTIFACT_URI": uri, "CALLS": str(calls)}
        subprocess.run(["/bin/sh", "-c", script], env=env, check=True, capture_output=True, timeout=60)

    run("s3://b/m/v1/")
    run("s3://b/m/v1/")  # a restarted pod: complete copy in the volume, no second download
    assert calls.read_text().split() == ["s3://b/m/v1/"]
    assert (store / artifacts.STORE_SUBPATH / "weights").read_text() == "s3://b/m/v1/"
    (store / artifacts.STORE_SUBPATH / "stale").write_text("from v1")
    run("s3://b/m/v2/")  # another version in the same volume: wiped and downloaded again
    assert calls.read_text().split() == ["s3://b/m/v1/", "s3://b/m/v2/"]
    assert sorted(p.name for p in (store / artifacts.STORE_SUBPATH).iterdir()) == ["weights"]


def test_existing_cluster_makes_no_aws_resources_and_says_how_s3_is_read() -> None:
    plan, cfg = repo_plan("local"), repo_config("local")
    assert cfg.cluster.mode == "existing"
    for m in cfg.models:
        assert not [s for s in model_resources(plan, m.name) if s.type.startswith("aws:")]
        init = pod_spec(objects(plan, m.name, "Deployment")[m.name])["initContainers"][0]
        assert "AWS_DEFAULT_REGION" not in {e["name"] for e in init["env"]}
        (np,) = objects(plan, m.name, "NetworkPolicy").values()
        assert all(p["port"] != 80 for r in np["spec"]["egress"] for p in r["ports"]), "no pod identity agent there"
    warnings = [d.message for d in plan.diagnostics if d.severity == "warning" and "no IAM role" in d.message]
    assert any("model churn" in w and "team-tabular/churn" in w for w in warnings)


def test_hugging_face_token_goes_into_a_secret_and_is_never_printed(stack_root: Callable[..., Path]) -> None:
    token = "hf_do_not_print_me_0123456789"
    doc = repo_stack("dev")
    llama = model_entry(doc, "llama-chat")
    llama["artifact"] = {"uri": "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f249a16976918f6564b8830bc894c89659",
                         "sizeGi": 16, "hfToken": token}
    plan = plan_of(stack_root, doc)
    (secret,) = objects(plan, "llama-chat", "Secret").values()
    (state,) = [s for s in model_resources(plan, "llama-chat") if s.type == "kubernetes:core/v1:Secret"]
    assert isinstance(state.inputs["stringData"]["token"], Secret)
    assert secret["stringData"] == {"token": "[secret]"}
    spec = pod_spec(objects(plan, "llama-chat", "Deployment")["llama-chat"])
    init = spec["initContainers"][0]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["ARTIFACT_URI"].startswith("hf://meta-llama/") and env["HF_TOKEN_PATH"] == "/var/run/secrets/huggingface/token"
    assert {v["name"]: v for v in spec["volumes"]}["hf-token"]["secret"]["secretName"] == "llama-chat-hf-token"
    assert not [s for s in model_resources(plan, "llama-chat") if s.type.startswith("aws:")], "no S3, no role"
    for text in (render_tree(plan), render_json(plan), json.dumps(plan.outputs, default=str)):
        assert token not in text


def test_a_model_baked_into_its_image_has_no_download(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    churn = model_entry(doc, "churn")
    churn.update({"image": "ghcr.io/example/churn-mlserver:v12", "artifact": {"uri": "image://", "path": "/opt/model"}})
    del churn["canary"]
    plan = plan_of(stack_root, doc)
    dep = objects(plan, "churn", "Deployment")["churn"]
    assert "initContainers" not in pod_spec(dep)
    assert "model" not in {v["name"] for v in pod_spec(dep)["volumes"]}
    env = {e["name"]: e["value"] for e in server(dep)["env"]}
    assert env["MLSERVER_MODEL_URI"] == "/opt/model" and server(dep)["image"] == "ghcr.io/example/churn-mlserver:v12"


# --- exposure and rollout -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_canary_weights_are_consistent(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    for m in cfg.models:
        (route,) = objects(plan, m.name, "HTTPRoute").values()
        (rule,) = route["spec"]["rules"]
        refs = rule["backendRefs"]
        services = objects(plan, m.name, "Service")
        # Every backend is one of the model's Services, or the KEDA HTTP interceptor for a model that can be at zero.
        assert all(r["name"] in services or (m.wakes_on_request and r.get("namespace") == cv.KEDA_NAMESPACE) for r in refs)
        if m.canary is None:
            assert len(refs) == 1 and (refs[0]["name"] == m.name or m.wakes_on_request)
            continue
        assert sum(r["weight"] for r in refs) == 100
        assert {r["name"]: r["weight"] for r in refs} == {m.name: 100 - m.canary.weight, f"{m.name}-canary": m.canary.weight}
        canary = objects(plan, m.name, "Deployment")[f"{m.name}-canary"]
        assert canary["spec"]["template"]["metadata"]["labels"][cv.MODEL_VERSION_LABEL] == m.canary.version
        assert services[f"{m.name}-canary"]["spec"]["selector"] == {cv.MODEL_LABEL: m.name, cv.TRACK_LABEL: "canary"}


def test_route_rewrites_the_model_prefix_and_mirrors_to_the_shadow() -> None:
    plan = repo_plan("prod")
    (route,) = objects(plan, "llama-chat", "HTTPRoute").values()
    assert route["spec"]["hostnames"] == ["models.example.com"]
    assert route["spec"]["parentRefs"][0]["kind"] == "Gateway"
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/models/llama-chat"}}]
    filters = {f["type"]: f for f in rule["filters"]}
    assert filters["URLRewrite"]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
    assert filters["RequestMirror"]["requestMirror"] == {"backendRef": {"name": "llama-chat-shadow", "port": 80}, "percent": 10}
    assert [r["name"] for r in rule["backendRefs"]] == ["llama-chat"], "the shadow gets copies, never live traffic"
    shadow = objects(plan, "llama-chat", "Deployment")["llama-chat-shadow"]
    assert shadow["spec"]["replicas"] == 1
    assert shadow["spec"]["template"]["metadata"]["labels"][cv.MODEL_VERSION_LABEL] == "2026-11-01"


def test_route_options_become_gateway_policies_with_the_runtimes_timeout() -> None:
    plan = repo_plan("prod")
    traffic = objects(plan, "llama-chat", "BackendTrafficPolicy")["llama-chat"]
    assert traffic["spec"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "llama-chat"}]
    assert traffic["spec"]["timeout"]["http"]["requestTimeout"] == "600s", "LLM streaming needs a long timeout"
    assert traffic["spec"]["rateLimit"]["local"]["rules"][0]["limit"] == {"requests": 20, "unit": "Second"}
    security = objects(plan, "llama-chat", "SecurityPolicy")["llama-chat"]
    assert security["spec"]["jwt"]["providers"][0]["issuer"] == "https://auth.example.com/"
    (churn,) = objects(plan, "churn", "BackendTrafficPolicy").values()
    assert churn["spec"]["timeout"]["http"]["requestTimeout"] == "60s"


def test_a_model_can_have_a_host_of_its_own(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["gateway"]["hostname"] = "*.models.dev.example.com"
    platform_of(doc)["gateway"]["tls"] = {"mode": "secret", "secretName": "wildcard-tls"}
    for m in platform_of(doc)["models"]:  # under a wildcard gateway every model has a host of its own
        m.setdefault("exposure", {})["host"] = f"{m['name']}.models.dev.example.com"
    plan = plan_of(stack_root, doc)
    (route,) = objects(plan, "churn", "HTTPRoute").values()
    assert route["spec"]["hostnames"] == ["churn.models.dev.example.com"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"][0]["path"]["value"] == "/" and "filters" not in rule
    assert plan.outputs["modelUrls"]["churn"].endswith("://churn.models.dev.example.com")


def test_promoting_a_canary_is_a_version_field_edit_the_plan_shows(stack_root: Callable[..., Path]) -> None:
    from serving.config.models import VERSION_FIELDS, with_version_fields

    doc = repo_stack("dev")
    churn = model_entry(doc, "churn")
    promoted = copy.deepcopy(churn)
    canary = promoted.pop("canary")
    promoted.update(version=canary["version"], artifact=canary["artifact"])
    entry = with_version_fields(churn, promoted)
    assert "canary" not in entry and entry["version"] == "v13" and entry["scaling"] == churn["scaling"]
    assert "canary" in VERSION_FIELDS and "scaling" not in VERSION_FIELDS
    platform_of(doc)["models"] = [entry if m["name"] == "churn" else m for m in platform_of(doc)["models"]]
    plan = plan_of(stack_root, doc)
    deployments = objects(plan, "churn", "Deployment")
    assert list(deployments) == ["churn"]
    labels = deployments["churn"]["spec"]["template"]["metadata"]["labels"]
    assert labels[cv.MODEL_VERSION_LABEL] == "v13"
    (rule,) = next(iter(objects(plan, "churn", "HTTPRoute").values()))["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": "churn", "port": 80}]


# --- autoscaling --------------------------------------------------------------------------------------------------


def test_cpu_models_scale_on_cpu_with_an_hpa() -> None:
    plan = repo_plan("prod")
    (hpa,) = objects(plan, "churn", "HorizontalPodAutoscaler").values()
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 6)
    assert spec["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert "replicas" not in objects(plan, "churn", "Deployment")["churn"]["spec"], "the HPA owns the scale"
    assert objects(plan, "churn", "Deployment")["churn-canary"]["spec"]["replicas"] == 2


def test_llm_models_scale_on_their_queue_through_keda() -> None:
    from serving.observability import metrics

    plan = repo_plan("prod")
    (so,) = objects(plan, "llama-chat", "ScaledObject").values()
    spec = so["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 3)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["serverAddress"] == cv.PROMETHEUS_URL
    assert trigger["metadata"]["query"] == metrics.queue_length(metrics.ModelRef("team-nlp", "llama-chat"))
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600, "GPU replicas are slow to come back"
    assert behavior["scaleUp"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]
    assert "replicas" not in objects(plan, "llama-chat", "Deployment")["llama-chat"]["spec"]


def test_dev_models_scale_to_zero_outside_active_hours() -> None:
    plan = repo_plan("dev")
    (so,) = objects(plan, "vision", "ScaledObject").values()
    spec = so["spec"]
    assert spec["minReplicaCount"] == 0
    cron = next(t for t in spec["triggers"] if t["type"] == "cron")
    assert cron["metadata"] == {"timezone": "Europe/Berlin", "start": "0 8 * * 1-5", "end": "0 19 * * 1-5", "desiredReplicas": "1"}
    prom = next(t for t in spec["triggers"] if t["type"] == "prometheus")
    assert "httproute/team-vision/vision/rule/" in prom["metadata"]["query"], "request rate at the gateway"


def test_a_fixed_size_model_has_no_autoscaler() -> None:
    plan = repo_plan("prod")
    assert objects(plan, "vision", "Deployment")["vision"]["spec"]["replicas"] == 2
    assert not objects(plan, "vision", "ScaledObject") and not objects(plan, "vision", "HorizontalPodAutoscaler")


# --- network and monitoring ---------------------------------------------------------------------------------------


def test_network_policy_admits_only_the_gateway_and_prometheus() -> None:
    plan = repo_plan("prod")
    (np,) = objects(plan, "vision", "NetworkPolicy").values()
    spec = np["spec"]
    assert spec["podSelector"] == {"matchLabels": {cv.MODEL_LABEL: "vision"}}
    sources = {r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: [p["port"] for p in r["ports"]]
               for r in spec["ingress"]}
    assert sources == {cv.GATEWAY_NAMESPACE: [8000], cv.MONITORING_NAMESPACE: [8002]}
    egress_ports = sorted({(p["protocol"], p["port"]) for r in spec["egress"] for p in r["ports"]})
    assert egress_ports == [("TCP", 53), ("TCP", 80), ("TCP", 443), ("UDP", 53)]
    pod_identity = next(r for r in spec["egress"] if r["ports"] == [{"protocol": "TCP", "port": 80}])
    assert pod_identity["to"][0]["ipBlock"]["cidr"] == "169.254.170.23/32"


def test_service_monitor_and_alert_rules_per_model() -> None:
    from serving.observability.alerts import model_alert_rules

    plan, cfg = repo_plan("prod"), repo_config("prod")
    (sm,) = objects(plan, "churn", "ServiceMonitor").values()
    assert cv.MONITORING_SELECTOR.items() <= sm["metadata"]["labels"].items()
    assert sm["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s", "scheme": "http"}]
    ports = {p["name"]: p for p in objects(plan, "churn", "Service")["churn"]["spec"]["ports"]}
    assert ports["metrics"]["port"] == 8082 and ports["metrics"]["targetPort"] == "metrics"
    (rule,) = objects(plan, "churn", "PrometheusRule").values()
    assert cv.MONITORING_SELECTOR.items() <= rule["metadata"]["labels"].items()
    expected = model_alert_rules(cfg.model("churn"), "team-tabular", slo=cfg.monitoring.slo,
                                 grafana_url=f"https://{cfg.monitoring.grafana.host}")
    assert rule["spec"]["groups"] == json.loads(json.dumps(expected))


# --- isolation ----------------------------------------------------------------------------------------------------


def _inputs_by_urn(plan: Plan) -> dict[str, Any]:
    return {s.urn: json.dumps(s.inputs, sort_keys=True, default=repr) for s in plan.resources}


def test_changing_one_model_changes_no_resource_of_another(stack_root: Callable[..., Path]) -> None:
    base_doc = repo_stack("dev")
    changed_doc = copy.deepcopy(base_doc)
    churn = model_entry(changed_doc, "churn")
    churn.update(version="v14", resources={"cpu": "2", "memory": "4Gi"}, scaling={"minReplicas": 2, "maxReplicas": 3})
    churn["canary"]["weight"] = 30  # its share of maxReplicas stays one replica: the quota fits
    churn["shadow"] = {"version": "v15", "artifact": {"uri": "s3://example-models-dev/churn/v15"}, "percent": 5}
    platform_of(changed_doc)["teams"][2]["quota"]["cpu"] = "16"  # unchanged on purpose: the quota still fits
    base = _inputs_by_urn(repo_plan("dev"))
    changed_plan = plan_of(stack_root, changed_doc)
    changed = _inputs_by_urn(changed_plan)
    churn_urns = {s.urn for s in model_resources(changed_plan, "churn")}
    churn_urns |= {s.urn for s in model_resources(repo_plan("dev"), "churn")}
    differing = {u for u in set(base) | set(changed) if base.get(u) != changed.get(u)}
    assert differing, "the change must show"
    assert differing <= churn_urns | {s.urn for s in changed_plan.resources if s.type == MODEL_TYPE}, sorted(differing - churn_urns)
