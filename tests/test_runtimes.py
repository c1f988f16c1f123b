"""Runtime presets (serving/catalog/runtimes.py): pinned, complete, and resolved per model the way users expect."""

from __future__ import annotations

import copy
import re
import string
from typing import Any

import pytest

from serving.catalog.runtimes import FLEET_RUNTIMES, PRESETS, STORAGE_INITIALIZER_IMAGE, RuntimePreset
from serving.config import ConfigError, ModelConfig, parse_platform
from serving.config.models import IMAGE_PATTERN

from .conftest import platform_of, repo_plan, repo_stack
from .test_model import objects, pod_spec, server

PLACEHOLDERS = {"model_dir", "model_name", "version", "port", "metrics_port", "gpus"}


def placeholders(preset: RuntimePreset) -> set[str]:
    texts = [*preset.command, *preset.args, *preset.env.values(), preset.ready_path or "", preset.live_path or ""]
    return {name for t in texts for _, name, _, _ in string.Formatter().parse(t) if name}


def model(**overrides: Any) -> ModelConfig:
    raw: dict[str, Any] = {"name": "m", "team": "t", "runtime": "mlserver-sklearn", "version": "v1",
                           "artifact": {"uri": "s3://bucket-a/m/v1"}}
    raw.update(overrides)
    return ModelConfig.model_validate(raw)


def errors_for(model_changes: dict[str, Any]) -> list[str]:
    doc = repo_stack("dev")
    entry = platform_of(doc)["models"][2]
    entry.update(model_changes)
    with pytest.raises(ConfigError) as exc:
        parse_platform(platform_of(doc), "Pulumi.dev.yaml")
    return exc.value.errors


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_pinned_and_complete(name: str) -> None:
    preset = PRESETS[name]
    assert preset.name == name and preset.source
    assert placeholders(preset) <= PLACEHOLDERS
    if name == "custom":
        assert preset.image is None and preset.port is None, "custom takes them from the model's config"
        return
    for image in filter(None, (preset.image, preset.gpu_image)):
        m = IMAGE_PATTERN.match(image)
        assert m and m.group("tag") and m.group("tag") != "latest", image
    assert preset.port and preset.ready_path and preset.live_path and preset.metrics_path
    assert all(p.startswith("/") for p in (preset.ready_path, preset.live_path, preset.metrics_path))
    assert preset.default_metric in preset.default_targets


def test_runtime_facts_match_upstream_defaults() -> None:
    vllm, triton, mlserver, tfs = PRESETS["vllm"], PRESETS["triton"], PRESETS["mlserver-sklearn"], PRESETS["tfserving"]
    assert (vllm.port, vllm.ready_path, vllm.metrics_path, vllm.metrics_port) == (8000, "/health", "/metrics", None)
    assert (triton.port, triton.metrics_port, triton.ready_path) == (8000, 8002, "/v2/health/ready")
    assert (mlserver.port, mlserver.metrics_port, mlserver.live_path) == (8080, 8082, "/v2/health/live")
    assert (tfs.port, tfs.metrics_path) == (8501, "/monitoring/prometheus/metrics")
    assert 'path: "/monitoring/prometheus/metrics"' in next(iter(tfs.config_files.values()))
    assert STORAGE_INITIALIZER_IMAGE.startswith("kserve/storage-initializer:v")


def test_unknown_runtime_is_a_config_error_listing_the_known_ones() -> None:
    (err,) = errors_for({"runtime": "torchserve"})
    assert err.startswith("Pulumi.dev.yaml: serving:platform.models[2].runtime: unknown runtime (known runtimes:")
    for name in PRESETS:
        assert name in err


def test_each_mlserver_flavour_names_its_implementation() -> None:
    impl = {n: p.env.get("MLSERVER_MODEL_IMPLEMENTATION") for n, p in PRESETS.items() if n.startswith("mlserver")}
    assert impl == {
        "mlserver": None,  # the artifact's own model-settings.json decides
        "mlserver-sklearn": "mlserver_sklearn.SKLearnModel",
        "mlserver-xgboost": "mlserver_xgboost.XGBoostModel",
        "mlserver-lightgbm": "mlserver_lightgbm.LightGBMModel",
        "mlserver-mlflow": "mlserver_mlflow.MLflowRuntime",
    }


def test_image_resolution_runtime_version_gpu_variant_and_digests() -> None:
    llm = model(runtime="vllm", resources={"gpus": 1}, runtimeVersion="v0.11.1")
    assert llm.image_ref() == "vllm/vllm-openai:v0.11.1"
    assert model(runtime="tfserving").image_ref() == "tensorflow/serving:2.19.1"
    assert model(runtime="tfserving", resources={"gpus": 1}).image_ref() == "tensorflow/serving:2.19.1-gpu"
    digest = "registry.example.com/ml/churn@sha256:" + "a" * 64
    pinned = model(image=digest, canary={"version": "v2", "runtimeVersion": "1.7.2"})
    assert pinned.image_ref() == digest
    assert pinned.image_ref(pinned.canary) == "registry.example.com/ml/churn:1.7.2"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("vllm/vllm-openai", "has neither tag nor digest"),
        ("vllm/vllm-openai:latest", "'latest' is not a pin"),
        ("Not An Image", "is not an image reference"),
    ],
)
def test_unpinned_images_are_config_errors(image: str, message: str) -> None:
    (err,) = errors_for({"image": image})
    assert "models[2].image" in err and message in err


def test_runtime_requirements_are_config_errors() -> None:
    (err,) = errors_for({"runtime": "vllm"})
    assert "runtime 'vllm' needs a GPU: set resources.gpus" in err
    (err,) = errors_for({"runtime": "custom"})
    assert "runtime 'custom' needs image, server.port, server.readyPath" in err


def test_a_custom_container_needs_only_a_port_and_a_health_path() -> None:
    m = model(runtime="custom", image="ghcr.io/example/sentiment:1.4.2", server={"port": 9000, "readyPath": "/ready"})
    assert (m.image_ref(), m.port, m.metrics_port, m.metric) == ("ghcr.io/example/sentiment:1.4.2", 9000, 9000, "cpu")


def test_adding_a_runtime_is_adding_a_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    preset = RuntimePreset(
        name="torchserve", image="pytorch/torchserve:0.12.0-cpu", port=8080, ready_path="/ping", live_path="/ping",
        metrics_path="/metrics", metrics_port=8082, command=("torchserve",), args=("--model-store", "{model_dir}"),
        source="https://pytorch.org/serve/",
    )
    monkeypatch.setitem(PRESETS, "torchserve", preset)
    m = model(runtime="torchserve")
    assert (m.image_ref(), m.port, m.metrics_port, m.startup_budget_seconds()) == ("pytorch/torchserve:0.12.0-cpu", 8080, 8082, 70)


def _exit_timeout(args: Any) -> int:
    (value,) = [int(a.split("=", 1)[1]) for a in args if a.startswith("--exit-timeout-secs=")]
    return value


def test_triton_waits_for_in_flight_requests_as_long_as_its_pod_drains() -> None:
    """Triton exits `--exit-timeout-secs` after SIGTERM (30 s by default) even with requests in flight: the flag must
    give it the whole drain the pod's grace period allows (after the preStop pause), for a model and a fleet alike."""
    triton = PRESETS["triton"]
    assert _exit_timeout(triton.args) == triton.drain_seconds
    assert _exit_timeout(FLEET_RUNTIMES["triton"].args) == PRESETS[FLEET_RUNTIMES["triton"].preset].drain_seconds
    vision = objects(repo_plan("dev"), "vision", "Deployment")["vision"]  # the dev stack's Triton model
    srv = server(vision)
    pre_stop = srv["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert _exit_timeout(srv["args"]) == pod_spec(vision)["terminationGracePeriodSeconds"] - pre_stop > 30
