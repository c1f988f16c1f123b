"""A model asks for a MIG device (`resources.migProfile`): the pod requests what its pool's device plugin advertises
(`nvidia.com/mig-<profile>` under the mixed strategy, `nvidia.com/gpu` under single), the pool's nodes carry the MIG
manager's config label, and quotas, capacity and placement count the MIG device; wrong requests are config errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from serving import conventions as cv
from serving.check import CheckContext, run_checks
from serving.config import parse_platform
from serving.plan import Plan

from .check_helpers import k8s, mutated
from .cluster_plans import manifest, named, plain, plan_with, platform_errors, write_root
from .conftest import REPO, platform_of, repo_stack
from .test_model import objects, pod_spec, server
from .test_nodepools import NODE_GROUP, asg_tags

A100_80 = "p4de.24xlarge"  # 8 x A100 80GB


def model(p: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in p["models"] if m["name"] == name)


def mig_pool(strategy: str, config: str) -> Callable[[dict[str, Any]], None]:
    """The dev stack with its GPU pool on A100 80GB cut by the GPU operator's MIG manager."""

    def change(p: dict[str, Any]) -> None:
        p["nodePools"]["gpuSoftware"] = {"mode": "gpuOperator"}
        p["nodePools"]["gpu"][0].update(instanceTypes=[A100_80], migStrategy=strategy, migConfig=config, maxSize=1)
    return change


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, dict[str, Any]]:
    def change(p: dict[str, Any]) -> None:
        mig_pool("mixed", "all-balanced")(p)
        model(p, "llama-chat")["resources"]["migProfile"] = "3g.40gb"  # 16 GiB of weights in 40 GB
        model(p, "vision")["resources"] = {"cpu": "2", "memory": "4Gi", "migProfile": "1g.10gb"}  # gpus: 1 implied
    doc = repo_stack("dev")
    change(platform_of(doc))
    return plan_with(tmp_path_factory.mktemp("mig-mixed"), change), platform_of(doc)


def gpu_requests(container: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {kind: {k: v for k, v in values.items() if k.startswith("nvidia.com/")}
            for kind, values in container["resources"].items()}


def test_mixed_strategy_pods_request_their_mig_device_on_their_pool(mixed: tuple[Plan, dict[str, Any]]) -> None:
    plan, _ = mixed
    vision = objects(plan, "vision", "Deployment")["vision"]
    assert gpu_requests(server(vision)) == {"requests": {"nvidia.com/mig-1g.10gb": "1"},
                                            "limits": {"nvidia.com/mig-1g.10gb": "1"}}
    llama = server(objects(plan, "llama-chat", "Deployment")["llama-chat"])
    assert gpu_requests(llama)["limits"] == {"nvidia.com/mig-3g.40gb": "1"}
    spec = pod_spec(vision)
    assert spec["nodeSelector"] == {cv.POOL_LABEL: "gpu-a10"}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in spec["tolerations"]


def test_the_pool_carries_the_mig_config_label_and_tells_the_autoscaler_its_mig_devices(
        mixed: tuple[Plan, dict[str, Any]]) -> None:
    plan, _ = mixed
    group = named(plan, NODE_GROUP, "-gpu-a10")
    assert plain(group)["labels"][cv.MIG_CONFIG_LABEL] == "all-balanced"
    resources = {k.rsplit("/resources/", 1)[1]: v for k, v in asg_tags(plan, group).items() if "/resources/nvidia.com/" in k}
    # all-balanced on an A100 80GB: 2 x 1g.10gb, 1 x 2g.20gb, 1 x 3g.40gb per GPU, 8 GPUs; no whole GPU left.
    assert resources == {"nvidia.com/mig-1g.10gb": "16", "nvidia.com/mig-2g.20gb": "8", "nvidia.com/mig-3g.40gb": "8"}


def test_team_quotas_bound_mig_devices_and_placement_counts_them(mixed: tuple[Plan, dict[str, Any]]) -> None:
    plan, raw = mixed
    quotas = {manifest(q)["metadata"]["namespace"]: manifest(q)["spec"]["hard"]
              for q in plan.by_type("kubernetes:core/v1:ResourceQuota")}
    assert quotas["team-vision"]["requests.nvidia.com/mig-1g.10gb"] == "2"  # the team's gpus: 2
    cfg = parse_platform(raw, "Pulumi.dev.yaml")
    report = run_checks(CheckContext(stack="dev", cfg=cfg, plan=plan), ["placement"])
    assert [f.line() for f in report.findings] == []
    # One node holds 16 x 1g.10gb: 17 vision pods at peak do not fit on maxSize 1.
    crowded = cfg.model_copy(update={"models": [
        m.model_copy(update={"scaling": m.scaling.model_copy(update={"max_replicas": 16, "min_replicas": 16})})
        if m.name == "vision" else m for m in cfg.models]})
    busy = mutated(plan, k8s("Deployment", "vision", "team-vision"), lambda i: i["spec"].update(replicas=16))
    findings = run_checks(CheckContext(stack="dev", cfg=crowded, plan=busy), ["placement"]).findings
    assert any(f.rule == "capacity" and f.resource == "node pool gpu-a10" and "nvidia.com/mig-1g.10gb" in f.message
               for f in findings), [f.line() for f in findings]


def test_single_strategy_pods_request_a_gpu_which_is_the_pools_one_profile(tmp_path_factory: pytest.TempPathFactory) -> None:
    def change(p: dict[str, Any]) -> None:
        mig_pool("single", "all-3g.40gb")(p)
        model(p, "vision")["resources"]["migProfile"] = "3g.40gb"
    plan = plan_with(tmp_path_factory.mktemp("mig-single"), change)
    assert gpu_requests(server(objects(plan, "vision", "Deployment")["vision"]))["limits"] == {"nvidia.com/gpu": "1"}
    group = named(plan, NODE_GROUP, "-gpu-a10")
    assert plain(group)["labels"][cv.MIG_CONFIG_LABEL] == "all-3g.40gb"
    tags = asg_tags(plan, group)
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "16"  # 2 x 3g.40gb per GPU, 8 GPUs


def test_wrong_mig_requests_are_config_errors_all_at_once_without_echo() -> None:
    def change(p: dict[str, Any]) -> None:
        mig_pool("mixed", "all-balanced")(p)
        model(p, "vision")["resources"]["migProfile"] = "1g.5gb"  # an A100 40GB profile
        # llama-chat asks no MIG device on a pool that advertises only MIG devices
    errs = "\n".join(platform_errors(change))
    assert ("Pulumi.dev.yaml: serving:platform.models[1].resources.migProfile: not a MIG profile of the NVIDIA A100 80 "
            "GB of pool 'gpu-a10': use one of 1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb") in errs
    assert ("Pulumi.dev.yaml: serving:platform.models[0].resources.gpus: pool 'gpu-a10' advertises only MIG devices "
            "(migStrategy mixed, every GPU cut by its migConfig): set resources.migProfile to one of 1g.10gb, 2g.20gb, "
            "3g.40gb") in errs

    def not_in_layout(p: dict[str, Any]) -> None:
        mig_pool("mixed", "all-balanced")(p)
        model(p, "llama-chat")["resources"]["migProfile"] = "3g.40gb"
        model(p, "vision")["resources"]["migProfile"] = "1g.20gb"
    (err,) = platform_errors(not_in_layout)
    assert err.startswith("Pulumi.dev.yaml: serving:platform.models[1].resources.migProfile: pool 'gpu-a10' cuts its "
                          "GPUs into 1g.10gb, 2g.20gb, 3g.40gb (its migConfig)")

    # No MIG on the pool, a MIG config the GPU does not have, the device plugin alone, gpus 2 with a profile.
    errs = "\n".join(platform_errors(lambda p: model(p, "vision")["resources"].update(migProfile="1g.10gb")))
    assert "models[1].resources.migProfile: pool 'gpu-a10' has no MIG" in errs

    def pool_mistakes(p: dict[str, Any]) -> None:
        p["nodePools"]["gpu"][0].update(instanceTypes=[A100_80], migStrategy="single", migConfig="all-balanced")
        model(p, "vision")["resources"].update(migProfile="1g.10gb", gpus=2)
    errs = "\n".join(platform_errors(pool_mistakes))
    assert ("nodePools.gpu[0].migConfig: the single strategy advertises one kind of MIG device: cut every GPU into one "
            "profile") in errs
    assert ("nodePools.gpu[0].migConfig: the MIG layout is applied by the GPU operator's MIG manager (node label "
            "nvidia.com/mig.config): set nodePools.gpuSoftware.mode to gpuOperator") in errs
    assert "models[1].resources: a MIG profile is one MIG device per replica" in errs

    def typo(p: dict[str, Any]) -> None:
        mig_pool("mixed", "all-1g.5gb")(p)
        model(p, "vision")["resources"]["migProfile"] = "10gb-secretish"
    errs = "\n".join(platform_errors(typo))
    assert "nodePools.gpu[0].migConfig: not a MIG config of the NVIDIA A100 80 GB: use one of all-1g.10gb," in errs
    assert ("models[1].resources.migProfile: must be a MIG profile such as 1g.10gb or 3g.40gb (compute slices, then "
            "memory)") in errs
    assert "secretish" not in errs and "all-1g.5gb" not in errs


def test_a_mig_mistake_exits_2_from_the_cli_naming_file_key_and_path(tmp_path: Path) -> None:
    doc = repo_stack("dev")
    model(platform_of(doc), "vision")["resources"]["migProfile"] = "1g.10gb"  # the dev pool's A10G has no MIG
    model(platform_of(doc), "churn")["resources"]["migProfile"] = "tok-9f8e7d"
    root = write_root(tmp_path, bad=doc)
    result = subprocess.run([sys.executable, "-m", "serving", "plan", "--stack", "bad", "--root", str(root)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(r"Pulumi.bad.yaml:\d+:\d+: serving:platform.models\[1\].resources.migProfile: pool 'gpu-a10' has "
                     r"no MIG", result.stderr), result.stderr
    assert re.search(r"Pulumi.bad.yaml:\d+:\d+: serving:platform.models\[2\].resources.migProfile: must be a MIG "
                     r"profile such as 1g.10gb", result.stderr), result.stderr
    assert "tok-9f8e7d" not in result.stderr + result.stdout
