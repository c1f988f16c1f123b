"""Mistakes users made that the schema let through (config/sanity.py and the team quota): each is one clear error."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from serving.config import ConfigError, parse_platform
from tests.conftest import platform_of, repo_stack


def errors(change: Callable[[dict[str, Any]], None], stack: str = "dev") -> list[str]:
    doc = repo_stack(stack)
    change(platform_of(doc))
    with pytest.raises(ConfigError) as exc:
        parse_platform(platform_of(doc), f"Pulumi.{stack}.yaml")
    return exc.value.errors


def model(p: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in p["models"] if m["name"] == name)


def test_more_than_one_slice_of_a_time_sliced_gpu_and_an_llm_on_a_slice() -> None:
    def change(p: dict[str, Any]) -> None:
        p["nodePools"]["gpu"][0]["timeSlicing"] = {"replicas": 4}
        model(p, "vision")["resources"]["gpus"] = 2

    errs = "\n".join(errors(change))
    assert "models[1].resources.gpus: pool 'gpu-a10' is time-sliced: a pod gets one slice of a GPU, and the device " \
           "plugin refuses a pod asking more (failRequestsGreaterThanOne)" in errs
    assert "models[0].resources.gpuPool: an LLM on time-sliced pool 'gpu-a10'" in errs


def test_memory_too_small_to_run_anything() -> None:
    errs = errors(lambda p: model(p, "churn")["resources"].update(memory="64Mi"))
    assert any("models[2].resources.memory: below 256Mi no model server starts" in e for e in errs), errs


def test_version_must_be_a_label_value() -> None:
    errs = errors(lambda p: model(p, "churn").update(version="v12-"))
    assert any("models[2].version: a version labels the model's pods, so it must start and end with a letter or "
               "digit" in e for e in errs), errs


def test_s3_wildcards_are_refused() -> None:
    errs = errors(lambda p: model(p, "churn")["artifact"].update(uri="s3://example-models-dev/churn/*"))
    assert any("models[2].artifact.uri: an s3:// URI names one folder: no wildcards" in e for e in errs), errs


def test_wildcard_gateway_needs_a_host_per_model() -> None:
    errs = errors(lambda p: p["gateway"].update(hostname="*.models.dev.example.com"))
    assert any("models[2].exposure.host: the gateway hostname is a wildcard (*.models.dev.example.com): a model "
               "without a host of its own would be routed on every name under it; set exposure.host (e.g. "
               "churn.models.dev.example.com)" in e for e in errs), errs


def test_internal_load_balancer_on_an_existing_cluster_cannot_be_honoured() -> None:
    errs = errors(lambda p: p["gateway"].update(loadBalancer="internal"), "local")
    assert any("gateway.loadBalancer: 'internal' cannot be honoured on an existing cluster" in e for e in errs)


def test_system_pool_types_must_be_in_the_catalog() -> None:
    errs = errors(lambda p: p["nodePools"]["system"].update(instanceTypes=["m7i.large", "z9.huge"]))
    assert any("nodePools.system.instanceTypes[1]: not in the instance catalog" in e and "z9.huge" not in e
               for e in errs), errs


def test_quota_counts_the_download_init_container() -> None:
    """churn asks 500m / 1Gi per pod; the download init container asks 500m and is limited to 2Gi, so a pod counts
    for 2Gi of the team's memory."""
    def change(p: dict[str, Any]) -> None:
        churn = model(p, "churn")
        churn["resources"].update(cpu="250m", memory="512Mi")
        pods = churn["scaling"]["maxReplicas"] + 1 + (churn["canary"].get("replicas", 1) + 1 if "canary" in churn else 0)
        team = next(t for t in p["teams"] if t["name"] == churn["team"])
        team["quota"]["memory"] = f"{pods * 512}Mi"  # enough for the servers alone, not for the init containers

    errs = errors(change)
    assert any("quota.memory: too small for the team's models (churn)" in e for e in errs), errs


def test_a_request_timeout_longer_than_the_drain_is_refused() -> None:
    errs = errors(lambda p: model(p, "churn").setdefault("exposure", {}).update(requestTimeout="5m"))
    assert any("models[2].exposure.requestTimeout: requests may run 300 s but a pod of runtime 'mlserver-sklearn' "
               "drains for 60 s when it stops" in e for e in errs), errs


def test_the_kubeconfig_command_is_a_stack_output(dev, local) -> None:  # type: ignore[no-untyped-def]
    cfg = platform_of(repo_stack("dev"))
    assert dev.outputs["kubeconfigCommand"] == (f"aws eks update-kubeconfig --name {cfg['cluster']['name']} --region "
                                                f"{cfg['cluster']['eks']['region']} --alias {cfg['cluster']['name']}")
    assert local.outputs["kubeconfigCommand"] == "kubectl config use-context kind-ml-local"
