"""Model-server runtimes as data. Adding a runtime is adding a preset here, never a new code path.

Every fact (image tag, port, health/readiness path, metrics port and path, CLI flag, environment variable) was
checked against the runtime's source or docs at the pinned version; the comment above each preset says where.

Strings in `command`, `args`, `env`, `ready_path` and `live_path` may use these placeholders, filled in per model:
`{model_dir}` (where the artifact is mounted), `{model_name}` (the model's name, which clients use), `{version}`,
`{port}` (HTTP port), `{metrics_port}` and `{gpus}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Optional

#: How a runtime's replicas are scaled by default: CPU utilisation (HPA), or a Prometheus signal through KEDA.
ScalingMetric = Literal["cpu", "requests", "queue", "latency"]

#: Where a runtime expects the model by default (KServe's convention; MLServer's image default too).
MODEL_DIR = "/mnt/models"

#: Environment of every server container (before the preset's own): model pods run as uid 10001, which no image has
#: in /etc/passwd, under a read-only root filesystem. `HOME` and the XDG cache point at the writable /tmp emptyDir
#: (HF hub, Triton/CUDA/FlashInfer caches default under ~/.cache or ~); `USER` makes Python's `getpass.getuser()`
#: answer without `pwd.getpwuid()`, which raises KeyError for a uid missing from /etc/passwd. PyTorch calls it for its
#: inductor cache dir (torch/_inductor/runtime/cache_dir_utils.py default_cache_dir), at import time in vLLM's model
#: inspection subprocess: without USER vLLM exits before serving (vllm-project/vllm#44548, #12219).
NON_ROOT_ENV: Mapping[str, str] = {"HOME": "/tmp", "USER": "model-server", "XDG_CACHE_HOME": "/tmp/.cache"}


@dataclass(frozen=True)
class RuntimePreset:
    name: str
    #: Pinned image (`repo:tag`); None only for `custom`, whose image comes from the model's config.
    image: Optional[str]
    #: HTTP port serving inference requests and the health endpoints (None: from the model's `server.port`).
    port: Optional[int]
    #: 200 once the model is loaded and the server takes requests (startup and readiness probes).
    ready_path: Optional[str]
    #: 200 while the server process is healthy (liveness probe).
    live_path: Optional[str]
    #: Prometheus metrics endpoint; `metrics_port` None means the HTTP port.
    metrics_path: Optional[str]
    metrics_port: Optional[int] = None
    #: Image used instead of `image` when the model asks for GPUs (runtimes shipping separate CPU/GPU builds).
    gpu_image: Optional[str] = None
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    #: Files the server reads, mounted read-only from a ConfigMap: absolute path -> content.
    config_files: Mapping[str, str] = field(default_factory=dict)
    #: Writable directories (emptyDir) the server needs under a read-only root filesystem. `/tmp` is always one.
    writable_dirs: tuple[str, ...] = ()
    #: Needs a large /dev/shm (PyTorch/NCCL workers, Triton's Python backend): a memory-backed emptyDir.
    shared_memory: bool = False  # GPU pods get one whatever the runtime (components/model/workload.py)
    requires_gpu: bool = False
    #: Large-language-model server (streamed responses: long route timeout, long drain on shutdown).
    llm: bool = False
    default_cpu: str = "1"
    default_memory: str = "2Gi"
    default_metric: ScalingMetric = "cpu"
    #: Default per-replica target of `default_metric` (CPU %, requests/s, queued requests, or p95 seconds).
    default_targets: Mapping[str, float] = field(
        default_factory=lambda: {"cpu": 70, "requests": 20, "queue": 5, "latency": 1.0}
    )
    #: Working directory (None: the image's). Must be readable by the non-root user the pod runs as.
    working_dir: Optional[str] = None
    #: Startup budget: fixed seconds plus seconds per GiB of model (loading weights from the local volume).
    startup_base_seconds: int = 60
    startup_seconds_per_gib: int = 10
    #: Gateway request timeout when the model's route does not set one.
    request_timeout: str = "60s"
    #: Seconds in-flight requests get to finish after the pod stops receiving new ones: at least `request_timeout`
    #: (config/sanity.py), or a rollout cuts requests the route still allows.
    drain_seconds: int = 60
    #: Where the docs/sources for the facts above live.
    source: str = ""
    #: The shared-server runtime (`FLEET_RUNTIMES`) that can host a model of this runtime (None: dedicated only).
    fleet_runtime: Optional[str] = None
    #: Capabilities a fleet needs to load a model of this runtime (`models[].shared.requirements` default).
    requirements: tuple[str, ...] = ()
    #: gRPC inference port (KServe v2 / Open Inference Protocol over gRPC), None: the runtime speaks no gRPC the
    #: platform routes.
    grpc_port: Optional[int] = None

    def image_for(self, gpus: int) -> Optional[str]:
        return self.gpu_image if gpus > 0 and self.gpu_image else self.image

    @property
    def separate_metrics_port(self) -> bool:
        return self.metrics_port is not None and self.metrics_port != self.port


# --- vLLM ---------------------------------------------------------------------------------------------------------
# vLLM v0.11.0 OpenAI-compatible server (https://docs.vllm.ai/en/v0.11.0/serving/openai_compatible_server.html,
# https://docs.vllm.ai/en/v0.11.0/usage/metrics.html): `vllm serve <model>` listens on 8000; GET /health is 200 once
# the engine is up (the server binds only after the weights are loaded); Prometheus metrics on the same port at
# /metrics. `--served-model-name` is the `model` clients send. Caches: VLLM_CACHE_ROOT / VLLM_CONFIG_ROOT / HF_HOME
# (vllm/envs.py) default under $HOME/XDG_CACHE_HOME, moved to the writable /tmp with the PyTorch inductor, Triton
# kernel and Numba caches. VLLM_NO_USAGE_STATS / DO_NOT_TRACK turn off the
# usage report (vllm/usage/usage_lib.py). /dev/shm is needed for tensor-parallel workers (docs: "--ipc=host or
# --shm-size").
_VLLM = RuntimePreset(
    name="vllm",
    image="vllm/vllm-openai:v0.11.0",
    port=8000,
    ready_path="/health",
    live_path="/health",
    metrics_path="/metrics",
    command=("vllm", "serve"),
    args=(
        "{model_dir}",
        "--host", "0.0.0.0",
        "--port", "{port}",
        "--served-model-name", "{model_name}",
        "--tensor-parallel-size", "{gpus}",
        "--disable-uvicorn-access-log",
    ),
    env={
        "HF_HOME": "/tmp/.cache/huggingface",
        "VLLM_CACHE_ROOT": "/tmp/.cache/vllm",  # torch.compile cache: $VLLM_CACHE_ROOT/torch_compile_cache
        "VLLM_CONFIG_ROOT": "/tmp/.config/vllm",
        "TORCHINDUCTOR_CACHE_DIR": "/tmp/.cache/torchinductor",  # default /tmp/torchinductor_<user>
        "TRITON_CACHE_DIR": "/tmp/.cache/triton",  # default ~/.triton/cache
        "NUMBA_CACHE_DIR": "/tmp/.cache/numba",  # default: __pycache__ next to the read-only package
        "HF_HUB_OFFLINE": "1",  # weights come from {model_dir}; never reach the Hub at serve time
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    },
    shared_memory=True,
    requires_gpu=True,
    llm=True,
    default_cpu="4",
    default_memory="24Gi",
    default_metric="queue",
    # vllm:num_requests_waiting per replica: a queue means the KV cache / batch is full.
    default_targets={"cpu": 70, "requests": 2, "queue": 5, "latency": 10.0},
    startup_base_seconds=180,  # CUDA graph capture + torch.compile warm-up on first start
    startup_seconds_per_gib=10,
    request_timeout="600s",  # a streamed completion may run for minutes
    # As long as the longest request: on SIGTERM the server finishes its open streams before exiting; a shorter
    # grace period would cut them at every rollout (config/sanity.py checks each route's timeout against it).
    drain_seconds=600,
    source="https://docs.vllm.ai/en/v0.11.0/serving/openai_compatible_server.html",
)

# --- NVIDIA Triton ------------------------------------------------------------------------------------------------
# Triton Inference Server 25.09 (= server v2.61.0, build.py DEFAULT_TRITON_VERSION_MAP): HTTP 8000, gRPC 8001,
# metrics 8002 at /metrics (src/command_line_parser.h: http_port_ 8000, metrics_port_ 8002; docs/user_guide/
# metrics.md); KServe v2 health /v2/health/ready and /v2/health/live (docs/customization_guide/
# inference_protocols.md). `--model-repository` holds one folder per model with config.pbtxt and numbered versions.
# The image's non-root user is triton-server (uid 1000, build.py); /dev/shm is used by the Python backend. 25.09 is
# CUDA 13.0: driver 575+, or R535/R545 and later on data-center GPUs (A10G, L4...) through the CUDA compat libraries,
# which build.py wires with ldconfig (not only in the NGC entrypoint our `command` replaces) (release notes 25.08/25.10).
# On SIGTERM Triton waits for in-flight inferences at most `--exit-timeout-secs`, then exits even if some are still
# running (src/command_line_parser.cc "exit-timeout-secs"; default 30 s, core include/triton/core/tritonserver.h
# TRITONSERVER_ServerOptionsSetExitTimeout): it gets the whole drain the pod's grace period allows, not its own 30 s.
_TRITON_DRAIN_SECONDS = 60  # the default request timeout: a rollout never cuts a request the route still allows
_TRITON = RuntimePreset(
    name="triton",
    image="nvcr.io/nvidia/tritonserver:25.09-py3",
    port=8000,
    ready_path="/v2/health/ready",
    live_path="/v2/health/live",
    metrics_path="/metrics",
    metrics_port=8002,
    command=("tritonserver",),
    args=(
        "--model-repository={model_dir}",
        "--http-port={port}",
        "--grpc-port=8001",
        "--metrics-port={metrics_port}",
        f"--exit-timeout-secs={_TRITON_DRAIN_SECONDS}",
    ),
    shared_memory=True,
    default_cpu="2",
    default_memory="8Gi",
    # Requests/s per replica measured at the gateway (serving/observability/metrics.py reads no Triton queue).
    default_metric="requests",
    default_targets={"cpu": 70, "requests": 50, "queue": 10, "latency": 0.5},
    startup_base_seconds=60,
    drain_seconds=_TRITON_DRAIN_SECONDS,
    source="https://github.com/triton-inference-server/server/tree/v2.61.0/docs",
    fleet_runtime="triton",
    grpc_port=8001,
)

# --- MLServer -----------------------------------------------------------------------------------------------------
# MLServer 1.7.1 (mlserver/settings.py): http_port 8080, grpc_port 8081, metrics_port 8082, metrics_endpoint /metrics;
# health /v2/health/ready and /v2/health/live (mlserver/rest/app.py). With no model-settings.json in the model folder,
# the model comes from MLSERVER_MODEL_* variables (mlserver/repository/repository.py, ModelSettings /
# ModelParameters env_prefix "MLSERVER_MODEL_"). metrics_dir and the HF/Numba caches default under the workdir
# /opt/mlserver (Dockerfile), moved to /tmp for a read-only root filesystem. Image user is uid 1000 (Dockerfile).
# The image's CMD only sources an optional conda tarball before `mlserver start`; we start it directly.
_MLSERVER_ENV = {
    "MLSERVER_HTTP_PORT": "{port}",
    "MLSERVER_GRPC_PORT": "8081",
    "MLSERVER_METRICS_PORT": "{metrics_port}",
    "MLSERVER_METRICS_DIR": "/tmp/mlserver-metrics",
    "MLSERVER_ENVIRONMENTS_DIR": "/tmp/mlserver-envs",
    "MLSERVER_MODEL_NAME": "{model_name}",
    "MLSERVER_MODEL_VERSION": "{version}",
    "MLSERVER_MODEL_URI": "{model_dir}",
    # The image sets both to /opt/mlserver/.cache (Dockerfile ENV), which uid 10001 cannot reach (below).
    "HF_HOME": "/tmp/.cache/huggingface",
    "NUMBA_CACHE_DIR": "/tmp/.cache/numba",
}


def _mlserver(flavour: Optional[str], implementation: Optional[str]) -> RuntimePreset:
    """An MLServer preset; `flavour` is also the capability a fleet needs to load it (`sklearn`, `xgboost`...)."""
    env = dict(_MLSERVER_ENV)
    if implementation:
        env["MLSERVER_MODEL_IMPLEMENTATION"] = implementation
    return RuntimePreset(
        name=f"mlserver-{flavour}" if flavour else "mlserver",
        image="seldonio/mlserver:1.7.1",
        port=8080,
        ready_path="/v2/health/ready",
        live_path="/v2/health/live",
        metrics_path="/metrics",
        metrics_port=8082,
        command=("mlserver", "start", "{model_dir}"),
        env=env,
        # The image's workdir /opt/mlserver is mode 776 for uid 1000 (Dockerfile): not traversable by another uid.
        working_dir="/tmp",
        default_cpu="1",
        default_memory="2Gi",
        default_metric="cpu",
        startup_base_seconds=60,
        drain_seconds=60,  # the default request timeout (see Triton's)
        source="https://github.com/SeldonIO/MLServer/tree/1.7.1",
        fleet_runtime="mlserver",
        requirements=(flavour,) if flavour else (),
        grpc_port=8081,
    )


# --- TensorFlow Serving -------------------------------------------------------------------------------------------
# TF Serving 2.19.1 (tensorflow_serving/tools/docker/Dockerfile: gRPC 8500, REST 8501; model_servers/main.cc flags
# --port --rest_api_port --model_name --model_base_path --monitoring_config_file). The model base path holds numbered
# version folders (`1/saved_model.pb`). Metrics only with a MonitoringConfig file (config/monitoring_config.proto),
# default path /monitoring/prometheus/metrics (util/prometheus_exporter.cc) on the REST port. GET /v1/models/<name>
# is the model status (g3doc/api_rest.md); the REST server starts after the initial load, so it doubles as readiness.
_TF_MONITORING = "/etc/tfserving/monitoring_config.txt"
_TFSERVING = RuntimePreset(
    name="tfserving",
    image="tensorflow/serving:2.19.1",
    gpu_image="tensorflow/serving:2.19.1-gpu",
    port=8501,
    ready_path="/v1/models/{model_name}",
    live_path="/v1/models/{model_name}",
    metrics_path="/monitoring/prometheus/metrics",
    command=("tensorflow_model_server",),
    args=(
        "--port=8500",
        "--rest_api_port={port}",
        "--model_name={model_name}",
        "--model_base_path={model_dir}",
        f"--monitoring_config_file={_TF_MONITORING}",
    ),
    config_files={_TF_MONITORING: 'prometheus_config {\n  enable: true\n  path: "/monitoring/prometheus/metrics"\n}\n'},
    default_cpu="1",
    default_memory="2Gi",
    default_metric="cpu",
    startup_base_seconds=60,
    drain_seconds=60,  # the default request timeout (see Triton's)
    source="https://github.com/tensorflow/serving/tree/2.19.1",
)

# --- custom -------------------------------------------------------------------------------------------------------
# Any container with an HTTP port and a health path (the "language wrapper" case): image, port and paths come from the
# model's config (`image`, `server.port`, `server.readyPath`, optional `server.livePath`, `server.metricsPath`).
_CUSTOM = RuntimePreset(
    name="custom",
    image=None,
    port=None,
    ready_path=None,
    live_path=None,
    metrics_path=None,
    default_cpu="1",
    default_memory="1Gi",
    default_metric="cpu",
    source="model config",
)

PRESETS: dict[str, RuntimePreset] = {
    p.name: p
    for p in (
        _VLLM,
        _TRITON,
        # `mlserver`: the artifact carries its own model-settings.json (any MLServer runtime, custom Python too).
        _mlserver(None, None),
        # The runtime classes exported by mlserver_sklearn/__init__.py, mlserver_xgboost/__init__.py, ... at 1.7.1;
        # the artifact needs only the model file (model.joblib, model.json/.ubj/.bst, model.bst, an MLflow model).
        _mlserver("sklearn", "mlserver_sklearn.SKLearnModel"),
        _mlserver("xgboost", "mlserver_xgboost.XGBoostModel"),
        _mlserver("lightgbm", "mlserver_lightgbm.LightGBMModel"),
        _mlserver("mlflow", "mlserver_mlflow.MLflowRuntime"),
        _TFSERVING,
        _CUSTOM,
    )
}

# --- artifact download --------------------------------------------------------------------------------------------
# KServe storage-initializer v0.19.0, read at tag v0.19.0: python/storage-initializer.Dockerfile (python:3.11-slim, so
# /bin/sh exists; venv /prod_venv world-readable; USER 1000; ENTRYPOINT
# /storage-initializer/scripts/initializer-entrypoint, which takes pairs `<src_uri> <dest_path>` and creates
# dest_path). python/storage/kserve_storage/kserve_storage.py: `s3://bucket/prefix` with boto3 1.38 (default
# credential chain, EKS Pod Identity included; AWS_DEFAULT_REGION): HeadBucket first, then every key listed under
# the prefix *string* (`Prefix=` without a trailing slash also matches sibling prefixes such as `v1` -> `v12/...`),
# fetched by a multiprocessing pool. `hf://owner/model[:revision]` (exactly two `/`-separated parts) with
# huggingface_hub 0.32.4 `snapshot_download(local_dir=...)`, no token argument: the hub reads HF_TOKEN, else the
# file at HF_TOKEN_PATH (huggingface_hub/constants.py).
STORAGE_INITIALIZER_IMAGE = "kserve/storage-initializer:v0.19.0"
STORAGE_INITIALIZER_ENTRYPOINT = "/storage-initializer/scripts/initializer-entrypoint"
#: The download init container's requests and memory limit (components/artifacts.py). A pod's effective request,
#: what the scheduler and a ResourceQuota count, is the larger of its containers' sum and its largest init container.
STORAGE_INITIALIZER_CPU = "500m"
STORAGE_INITIALIZER_MEMORY = "1Gi"
STORAGE_INITIALIZER_MEMORY_LIMIT = "2Gi"


# --- shared servers (fleets) --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetRuntime:
    """A multi-model server: one process loading many models, each from its own folder of the model repository
    (`{model_dir}/<model>/`), each served under its own name at `/v2/models/<model>/...` (KServe v2 protocol)."""

    name: str
    #: The dedicated preset whose image, ports, health paths and metrics the fleet reuses.
    preset: str
    #: What the fleet can load by default (`fleets[].capabilities`).
    capabilities: tuple[str, ...]
    #: Server arguments; `{models}` expands to one `model_arg` per placed model.
    args: tuple[str, ...] = ()
    model_arg: Optional[str] = None
    #: Environment of the fleet's server (before NON_ROOT_ENV is applied under it).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Whether a model folder needs a settings file the platform writes (MLServer's model-settings.json).
    settings_file: Optional[str] = None
    source: str = ""


# MLServer 1.7.1 multi-model serving (docs/user-guide/deployment/... and mlserver/repository/repository.py):
# `mlserver start <folder>` loads every model whose `model-settings.json` it finds under the folder (recursive glob),
# each with its own `name`, `implementation` and `parameters.uri` (relative to the settings file) and `version`.
# The full `seldonio/mlserver:1.7.1` image ships the sklearn, xgboost, lightgbm and mlflow runtimes. Parallel inference
# workers each hold a copy of every model (docs/user-guide/parallel-inference.md): 0 keeps one copy per replica, which
# is what the fleet's memory budget counts.
_MLSERVER_FLEET = FleetRuntime(
    name="mlserver",
    preset="mlserver",
    capabilities=("sklearn", "xgboost", "lightgbm", "mlflow"),
    env={k: v for k, v in _MLSERVER_ENV.items() if not k.startswith("MLSERVER_MODEL_")} | {"MLSERVER_PARALLEL_WORKERS": "0"},
    settings_file="model-settings.json",
    source="https://github.com/SeldonIO/MLServer/tree/1.7.1/docs/user-guide",
)
# Triton 25.09 explicit model control (docs/user_guide/model_management.md): `--model-control-mode=explicit` loads
# only the models named by `--load-model=<name>` at startup (each a folder `<repository>/<name>/` with config.pbtxt and
# numbered versions); `--strict-readiness=true` (default) keeps /v2/health/ready false until all of them are ready.
_TRITON_FLEET = FleetRuntime(
    name="triton",
    preset="triton",
    capabilities=("onnx", "pytorch", "tensorflow", "tensorrt", "python", "openvino", "fil"),
    args=(
        "--model-repository={model_dir}",
        "--model-control-mode=explicit",
        "{models}",
        "--strict-readiness=true",
        "--http-port={port}",
        "--grpc-port=8001",
        "--metrics-port={metrics_port}",
        f"--exit-timeout-secs={_TRITON.drain_seconds}",  # the fleet's pods drain like the preset's (fleet.py)
    ),
    model_arg="--load-model={model}",
    source="https://github.com/triton-inference-server/server/blob/v2.61.0/docs/user_guide/model_management.md",
)
FLEET_RUNTIMES: dict[str, FleetRuntime] = {f.name: f for f in (_MLSERVER_FLEET, _TRITON_FLEET)}


def runtime_names() -> list[str]:
    return sorted(PRESETS)
