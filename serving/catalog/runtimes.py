"""Model-server runtimes as data. Adding a runtime is adding a preset here, never a new code path."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuntimePreset:
    name: str
    image: str
    #: Container port serving HTTP inference requests.
    port: int
    #: Readiness path: 200 once the model is loaded.
    ready_path: str
    #: Liveness path: 200 while the server process is healthy.
    live_path: str
    metrics_path: str
    args: tuple[str, ...] = ()
    default_cpu: str = "1"
    default_memory: str = "4Gi"
    env: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, RuntimePreset] = {
    # vLLM OpenAI-compatible server v0.11.0: port 8000, GET /health, Prometheus metrics on /metrics
    # (https://docs.vllm.ai/en/stable/serving/openai_compatible_server.html).
    "vllm": RuntimePreset(
        name="vllm",
        image="vllm/vllm-openai:v0.11.0",
        port=8000,
        ready_path="/health",
        live_path="/health",
        metrics_path="/metrics",
        args=("--model", "/mnt/models", "--port", "8000"),
        default_cpu="4",
        default_memory="24Gi",
    ),
    # MLServer 1.7.1: HTTP 8080, V2 inference protocol health /v2/health/ready and /v2/health/live, metrics on
    # port 8082 /metrics (https://mlserver.readthedocs.io/en/latest/user-guide/metrics.html).
    "mlserver": RuntimePreset(
        name="mlserver",
        image="seldonio/mlserver:1.7.1",
        port=8080,
        ready_path="/v2/health/ready",
        live_path="/v2/health/live",
        metrics_path="/metrics",
    ),
}
