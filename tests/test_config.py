"""The typed stack config: good stacks load, bad ones give every error at once with file, key and field path."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import jsonschema
import pytest

from serving.config import ConfigError, parse_platform, validate_stack_file
from serving.stackfile import list_stacks, read_stack
from tests.conftest import REPO, platform_of, repo_stack

MINIMAL: dict[str, Any] = {
    "environment": "dev",
    # An EKS cluster needs one admin principal: nobody gets Kubernetes API access otherwise (no creator admin).
    "cluster": {"name": "ml-test", "eks": {"adminPrincipals": ["arn:aws:iam::123456789012:role/platform-admin"]}},
    "nodePools": {"gpu": [{"name": "gpu-a10", "instanceTypes": ["g5.xlarge"], "maxSize": 2}]},
    "teams": [{"name": "nlp"}],
    "models": [
        {
            "name": "churn",
            "team": "nlp",
            "runtime": "mlserver",
            "version": "v1",
            "artifact": {"uri": "s3://bucket-a/churn/v1"},
        }
    ],
}


def errors_of(raw: dict[str, Any], source: str = "Pulumi.dev.yaml") -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_platform(raw, source)
    return exc.value.errors


def with_changes(**paths: Any) -> dict[str, Any]:
    """MINIMAL with dotted-path changes, e.g. with_changes(**{"cluster.name": "X"})."""
    raw = copy.deepcopy(MINIMAL)
    for path, value in paths.items():
        node: Any = raw
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return raw


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_repository_stacks_are_valid(stack: str) -> None:
    cfg = validate_stack_file(read_stack(stack))
    assert cfg.environment == stack
    assert cfg.models, "every shipped stack serves models"


def test_minimal_config_gets_production_defaults() -> None:
    cfg = parse_platform(MINIMAL, "Pulumi.dev.yaml")
    assert cfg.cluster.mode == "eks"
    assert cfg.node_pools.system.min_size >= 2, "the system pool survives one node loss by default"
    gpu = cfg.node_pools.gpu[0]
    assert (gpu.min_size, gpu.initial_size, gpu.capacity_type) == (0, 0, "on-demand")
    assert cfg.cluster.eks.availability_zones >= 2


def test_error_names_file_key_and_field_path() -> None:
    raw = with_changes()
    raw["models"].append(dict(raw["models"][0], name="llama", resources={"gpus": -1}))
    assert errors_of(raw) == [
        "Pulumi.dev.yaml: serving:platform.models[1].resources.gpus: Input should be greater than or equal to 0"
        " (models[1] is llama)"
    ]


def test_typo_names_the_key_and_suggests_the_right_one() -> None:
    raw = with_changes()
    raw["cluster"]["kubernetesVersoin"] = "1.34"
    (err,) = errors_of(raw, "Pulumi.prod.yaml")
    assert err.startswith("Pulumi.prod.yaml: serving:platform.cluster.kubernetesVersoin: unknown key 'kubernetesVersoin'")
    assert "allowed: eks, existing, mode, name" in err


def test_typo_deep_inside_a_list_is_found() -> None:
    raw = with_changes()
    raw["nodePools"]["gpu"][0]["instanceType"] = ["g5.xlarge"]
    (err,) = errors_of(raw)
    assert "serving:platform.nodePools.gpu[0].instanceType: unknown key 'instanceType'; did you mean 'instanceTypes'?" in err


def test_all_structural_errors_are_reported_at_once() -> None:
    raw = with_changes(**{"cluster.name": "Not_DNS", "nodePools.gpu.0.minSize": 5, "models.0.version": ""})
    raw["gateway"] = {"hostnme": "x.example.com"}
    errs = errors_of(raw)
    assert len(errs) == 4, errs
    joined = "\n".join(errs)
    for path in ("cluster.name", "nodePools.gpu[0]", "models[0].version", "gateway.hostnme"):
        assert f"serving:platform.{path}:" in joined


def test_min_desired_max_are_checked() -> None:
    (err,) = errors_of(with_changes(**{"nodePools.gpu.0.minSize": 3}))
    assert err.endswith("nodePools.gpu[0]: minSize (3) must be <= maxSize (2) (nodePools.gpu[0] is gpu-a10)")
    (err,) = errors_of(with_changes(**{"nodePools.gpu.0.desiredSize": 7}))
    assert "desiredSize (7) must be within [minSize, maxSize] = [0, 2]" in err
    (err,) = errors_of(with_changes(**{"models.0.scaling": {"minReplicas": 4, "maxReplicas": 2}}))
    assert "models[0].scaling: minReplicas (4) must be <= maxReplicas (2)" in err


def test_names_must_be_dns_1123_and_unique() -> None:
    (err,) = errors_of(with_changes(**{"teams.0.name": "NLP"}))
    assert err.endswith("serving:platform.teams[0].name: must be lowercase letters, digits and '-', starting and ending "
                        "with a letter or digit")
    raw = with_changes()
    raw["models"].append(copy.deepcopy(raw["models"][0]))
    assert errors_of(raw) == ["Pulumi.dev.yaml: serving:platform.models[1].name: duplicate name 'churn' (also at index 0) (models[1] is churn)"]


def test_cross_references_are_all_reported() -> None:
    raw = with_changes(**{"models.0.team": "vision", "models.0.resources": {"gpus": 1, "gpuPool": "gpu-h100"}})
    errs = errors_of(raw)
    assert "Pulumi.dev.yaml: serving:platform.models[0].team: unknown team 'vision' (teams: nlp) (models[0] is churn)" in errs
    assert "Pulumi.dev.yaml: serving:platform.models[0].resources.gpuPool: unknown GPU pool 'gpu-h100' (GPU pools: gpu-a10) (models[0] is churn)" in errs


def test_gpu_model_without_any_gpu_pool_is_an_error() -> None:
    raw = with_changes(**{"models.0.resources": {"gpus": 1}})
    raw["nodePools"]["gpu"] = []
    (err,) = errors_of(raw)
    assert "models[0].resources.gpuPool: a model with GPUs needs gpuPool when there are 0 GPU pools" in err


def test_canary_weight_must_be_a_percentage() -> None:
    (err,) = errors_of(with_changes(**{"models.0.canary": {"version": "v2", "weight": 150}}))
    assert "serving:platform.models[0].canary.weight: Input should be less than or equal to 100" in err


def test_missing_platform_key() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_platform(None, "Pulumi.dev.yaml")
    assert exc.value.errors == [
        "Pulumi.dev.yaml: serving:platform: required key is missing (the whole platform config lives under it)"
    ]


def test_secret_values_are_never_echoed() -> None:
    raw = with_changes()
    raw["monitoring"] = {"grafana": {"adminPassword": {"not": "a string", "hunter2": "hunter2"}}}
    errs = errors_of(raw)
    assert errs and all("hunter2" not in e for e in errs)
    cfg = parse_platform(with_changes(monitoring={"grafana": {"adminPassword": "hunter2"}}), "x")
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg.model_dump())


def test_secure_values_become_placeholders_and_secret_keys() -> None:
    doc = repo_stack("dev")
    platform_of(doc).setdefault("monitoring", {})["grafana"] = {"adminPassword": {"secure": "v1:AAAAciphertext"}}
    (REPO / "Pulumi.tmp-secure-test.yaml").write_text(json.dumps(doc))
    try:
        sf = read_stack("tmp-secure-test")
    finally:
        (REPO / "Pulumi.tmp-secure-test.yaml").unlink()
    assert "serving:platform" in sf.secret_keys
    assert "v1:AAAAciphertext" not in json.dumps(sf.config)
    assert validate_stack_file(sf).monitoring.grafana.admin_password is not None


def test_program_reads_config_from_the_pulumi_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi
    from pulumi.runtime import config as runtime_config

    from serving.config import load_platform_config

    monkeypatch.setattr(runtime_config, "CONFIG", runtime_config.CONFIG)
    token = runtime_config.CONFIG.set({"serving:platform": json.dumps(with_changes(**{"nodePools.gpu.0.maxSize": -1}))})
    monkeypatch.setattr(pulumi, "get_stack", lambda: "qa")
    try:
        with pytest.raises(ConfigError) as exc:
            load_platform_config()
    finally:
        runtime_config.CONFIG.reset(token)
    assert exc.value.errors[0].startswith("Pulumi.qa.yaml: serving:platform.nodePools.gpu[0].maxSize:")


def test_stacks_are_listed() -> None:
    assert {"dev", "prod"} <= set(list_stacks())


def test_schema_command_prints_a_schema_that_checks_stack_files() -> None:
    out = subprocess.run([sys.executable, "-m", "serving", "schema"], cwd=REPO, capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for stack in ("dev", "prod"):
        assert not list(validator.iter_errors(repo_stack(stack))), stack
    doc = repo_stack("dev")
    platform_of(doc)["cluster"]["mdoe"] = "eks"
    platform_of(doc).setdefault("monitoring", {})["grafana"] = {"adminPassword": {"secure": "v1:abc"}}
    errors = [e.message for e in validator.iter_errors(doc)]
    assert errors == ["Additional properties are not allowed ('mdoe' was unexpected)"]


SCHEMA_FILE = REPO / "schema" / "stack.schema.json"
MODELINE = "# yaml-language-server: $schema=./schema/stack.schema.json"


def test_committed_schema_is_current() -> None:
    out = subprocess.run([sys.executable, "-m", "serving", "schema"], cwd=REPO, capture_output=True, text=True, check=True)
    assert SCHEMA_FILE.is_file(), "schema/stack.schema.json is missing: run `make schema`"
    assert SCHEMA_FILE.read_text() == out.stdout, "schema/stack.schema.json is out of date: run `make schema`"


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_stack_files_validate_against_the_committed_schema(stack: str) -> None:
    path = REPO / f"Pulumi.{stack}.yaml"
    assert path.read_text().splitlines()[0] == MODELINE  # what editors follow to find the schema
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(repo_stack(stack))]
    assert errors == []
