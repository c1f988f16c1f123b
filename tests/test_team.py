"""Teams: a namespace each with restricted Pod Security, a quota (GPUs included), container defaults and default-deny."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from serving import conventions as cv

from .conftest import platform_of, repo_plan, repo_stack
from .test_model import manifests, objects, plan_of, repo_config, team_resources


def team_objects(plan: Any, team: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in manifests(team_resources(plan, team))}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_team_gets_a_restricted_namespace_with_quota_limits_and_default_deny(stack: str) -> None:
    plan, cfg = repo_plan(stack), repo_config(stack)
    for team in cfg.teams:
        objs = team_objects(plan, team.name)
        assert sorted(objs) == ["LimitRange", "Namespace", "NetworkPolicy", "ResourceQuota"]
        ns = cv.team_namespace(team.name)
        labels = objs["Namespace"]["metadata"]["labels"]
        assert objs["Namespace"]["metadata"]["name"] == ns
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels[cv.TEAM_LABEL] == team.name
        hard = objs["ResourceQuota"]["spec"]["hard"]
        assert hard["requests.nvidia.com/gpu"] == str(team.quota.gpus)
        assert (hard["requests.cpu"], hard["requests.memory"]) == (team.quota.cpu, team.quota.memory)
        (limits,) = objs["LimitRange"]["spec"]["limits"]
        assert limits["type"] == "Container"
        assert cv.GPU_RESOURCE not in limits["max"], "a GPU max would default every container's GPU limit to it"
        assert objs["NetworkPolicy"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        for m in (m for m in cfg.models if m.team == team.name):
            for dep in objects(plan, m.name, "Deployment").values():
                assert dep["metadata"]["namespace"] == ns


def test_quota_and_limits_come_from_config(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    tabular = platform_of(doc)["teams"][2]
    tabular["quota"] = {"cpu": "24", "memory": "48Gi", "gpus": 0, "pods": 30, "storage": "500Gi"}
    tabular["limits"] = {"defaultCpuRequest": "250m", "defaultMemoryRequest": "512Mi", "defaultMemoryLimit": "2Gi",
                         "maxMemory": "16Gi"}
    objs = team_objects(plan_of(stack_root, doc), "tabular")
    assert objs["ResourceQuota"]["spec"]["hard"] == {
        "requests.cpu": "24", "requests.memory": "48Gi", "limits.memory": "48Gi", "requests.nvidia.com/gpu": "0",
        "pods": "30", "requests.storage": "500Gi",
    }
    (limits,) = objs["LimitRange"]["spec"]["limits"]
    assert limits["defaultRequest"] == {"cpu": "250m", "memory": "512Mi"}
    assert limits["default"] == {"memory": "2Gi"} and limits["max"] == {"memory": "16Gi"}


def test_container_defaults_must_be_ordered() -> None:
    from serving.config import ConfigError, parse_platform

    doc = repo_stack("dev")
    platform_of(doc)["teams"][0]["limits"] = {"defaultMemoryRequest": "4Gi", "defaultMemoryLimit": "1Gi"}
    with pytest.raises(ConfigError) as exc:
        parse_platform(platform_of(doc), "Pulumi.dev.yaml")
    assert exc.value.errors == ["Pulumi.dev.yaml: serving:platform.teams[0].limits: defaultMemoryRequest must be <= defaultMemoryLimit"
                                 " (teams[0] is nlp)"]
