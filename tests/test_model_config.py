"""Model config: defaults, cross-checks a user would hit (quota, GPUs, scale to zero, canary, hosts), and the split
between version fields (promoted) and environment fields (kept)."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from serving.config import ConfigError, parse_platform
from serving.config.models import ENVIRONMENT_FIELDS, VERSION_FIELDS, version_fields, with_version_fields

from .conftest import platform_of, repo_stack


def errors(stack: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
    doc = repo_stack(stack)
    change(platform_of(doc))
    with pytest.raises(ConfigError) as exc:
        parse_platform(platform_of(doc), f"Pulumi.{stack}.yaml")
    return exc.value.errors


def models(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in p["models"]}


def test_a_model_needs_only_name_team_runtime_version_and_artifact() -> None:
    doc = repo_stack("dev")
    p = platform_of(doc)
    p["models"].append({"name": "fraud", "team": "tabular", "runtime": "mlserver-xgboost", "version": "v3",
                        "artifact": {"uri": "s3://example-models-dev/fraud/v3"}})
    m = parse_platform(p, "Pulumi.dev.yaml").model("fraud")
    assert (m.cpu, m.memory, m.metric, m.metric_target, m.port, m.path) == ("1", "2Gi", "cpu", 70, 8080, "/models/fraud")
    assert (m.scaling.min_replicas, m.scaling.max_replicas, m.scaling.autoscaled) == (1, 1, False)
    assert m.exposure.retries.attempts == 2 and m.artifact.cache_volume is False


def test_team_quota_must_admit_its_models_at_max_replicas() -> None:
    def grow(p: dict[str, Any]) -> None:
        models(p)["llama-chat"]["scaling"]["maxReplicas"] = 3

    errs = errors("dev", grow)
    assert ("Pulumi.dev.yaml: serving:platform.teams[0].quota.gpus: too small for the team's models (llama-chat) "
            "at maxReplicas plus one rollout surge pod each: they need 4 GPUs (teams[0] is nlp)") in errs


def test_gpu_models_must_fit_on_their_pool_at_max_replicas() -> None:
    def grow(p: dict[str, Any]) -> None:
        models(p)["vision"]["scaling"] = {"minReplicas": 2, "maxReplicas": 3}

    errs = errors("prod", grow)
    # llama-chat: 3 + 1 surge, shadow 1 + 1 surge; vision: 3 + 1 surge.
    assert ("Pulumi.prod.yaml: serving:platform.nodePools.gpu[0].maxSize: the GPU models on pool 'gpu-a10' (llama-chat, "
            "vision) need up to 10 GPUs at maxReplicas plus one rollout surge pod each, but 9 nodes x 1 GPUs give 9 (nodePools.gpu[0] is gpu-a10)") in errs


def test_a_gpu_pool_full_at_max_replicas_leaves_no_room_for_a_rollout() -> None:
    """Dev's two GPU models at maxReplicas 1 fill two nodes; their rollouts (maxSurge 1) need two more."""

    def no_surge_room(p: dict[str, Any]) -> None:
        p["nodePools"]["gpu"][0]["maxSize"] = 2

    assert errors("dev", no_surge_room) == [
        "Pulumi.dev.yaml: serving:platform.nodePools.gpu[0].maxSize: the GPU models on pool 'gpu-a10' (llama-chat, "
        "vision) need up to 4 GPUs at maxReplicas plus one rollout surge pod each, but 2 nodes x 1 GPUs give 2 (nodePools.gpu[0] is gpu-a10)"
    ]
    for stack in ("dev", "prod"):  # the shipped stacks leave room
        parse_platform(platform_of(repo_stack(stack)), f"Pulumi.{stack}.yaml")


def test_weights_that_cannot_fit_in_gpu_memory_are_a_config_error() -> None:
    def huge(p: dict[str, Any]) -> None:
        models(p)["llama-chat"]["artifact"]["sizeGi"] = 140

    (err,) = errors("prod", huge)
    assert "models[0].artifact.sizeGi: 140 GiB of weights do not fit in 1 x 24 GiB of GPU memory" in err


@pytest.mark.parametrize(
    ("scaling", "message"),
    [
        ({"minReplicas": 0, "maxReplicas": 2, "metric": "cpu", "activeHours": {}}, "needs a request-driven metric"),
        ({"minReplicas": 1, "maxReplicas": 2, "activeHours": {}}, "activeHours only applies with minReplicas 0"),
        ({"minReplicas": 0, "maxReplicas": 2, "activeHours": {"timezone": "Mars/Olympus"}}, "is not an IANA time zone"),
        ({"minReplicas": 0, "maxReplicas": 2, "activeHours": {"start": "8am"}}, "is not a cron expression"),
    ],
)
def test_scale_to_zero_rules(scaling: dict[str, Any], message: str) -> None:
    def change(p: dict[str, Any]) -> None:
        models(p)["churn"]["scaling"] = scaling

    errs = errors("dev", change)
    assert any("models[2].scaling" in e and message in e for e in errs), errs


def test_candidates_must_be_other_versions() -> None:
    def same(p: dict[str, Any]) -> None:
        models(p)["churn"]["canary"]["version"] = "v12"

    (err,) = errors("dev", same)
    assert "canary.version must differ from version ('v12')" in err

    def over(p: dict[str, Any]) -> None:
        models(p)["churn"]["canary"]["weight"] = 101

    (err,) = errors("dev", over)
    assert "models[2].canary.weight: Input should be less than or equal to 100" in err


def test_queue_scaling_needs_a_runtime_that_exports_a_queue() -> None:
    def queue(p: dict[str, Any]) -> None:
        models(p)["vision"]["scaling"] = {"minReplicas": 1, "maxReplicas": 2, "metric": "queue"}
        p["teams"][1]["quota"]["gpus"] = 3

    errs = errors("dev", queue)
    assert any("models[1].scaling.metric: runtime 'triton' exports no request queue" in e for e in errs), errs


def test_exposure_hosts_and_paths_are_checked() -> None:
    def host(p: dict[str, Any]) -> None:
        models(p)["churn"]["exposure"] = {"host": "churn.other.example.org"}

    (err,) = errors("dev", host)
    assert "models[2].exposure.host: 'churn.other.example.org' is not served by the gateway" in err

    def clash(p: dict[str, Any]) -> None:
        models(p)["churn"]["exposure"] = {"path": "/models/vision"}

    (err,) = errors("dev", clash)
    assert "models[2].exposure: models.dev.example.com/models/vision is already the route of models[1]" in err


def test_artifact_options_must_fit_the_scheme() -> None:
    def token_on_s3(p: dict[str, Any]) -> None:
        models(p)["churn"]["artifact"]["hfToken"] = "hf_x"

    (err,) = errors("dev", token_on_s3)
    assert "models[2].artifact: hfToken only applies to hf:// artifacts" in err
    assert "hf_x" not in err

    def bad_uri(p: dict[str, Any]) -> None:
        models(p)["churn"]["artifact"]["uri"] = "ftp://bucket/churn"

    (err,) = errors("dev", bad_uri)
    assert "is not a supported artifact URI" in err

    def revision_with_slash(p: dict[str, Any]) -> None:
        # The initializer splits hf:// URIs on `/` into exactly owner and model[:revision]: this fails in the pod.
        models(p)["churn"]["artifact"] = {"uri": "hf://org/churn:refs/pr/1"}

    (err,) = errors("dev", revision_with_slash)
    assert "models[2].artifact.uri: this value is not a supported artifact URI" in err


@pytest.mark.parametrize(
    ("artifact", "message"),
    [
        ({"uri": "s3://example-models-dev/churn/v12", "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:alias/models"},
         "models[2].artifact.kmsKeyArn: this value is not a KMS key ARN"),
        ({"uri": "hf://org/churn", "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
         "models[2].artifact: kmsKeyArn only applies to s3:// artifacts"),
    ],
)
def test_kms_key_must_be_a_key_arn_on_an_s3_artifact(artifact: dict[str, Any], message: str) -> None:
    def change(p: dict[str, Any]) -> None:
        models(p)["churn"]["artifact"] = artifact

    (err,) = errors("dev", change)
    assert message in err


def test_storage_initializer_image_must_be_pinned() -> None:
    (err,) = errors("dev", lambda p: p.update(storageInitializerImage="kserve/storage-initializer"))
    assert err.startswith("Pulumi.dev.yaml: serving:platform.storageInitializerImage: ")
    assert "has neither tag nor digest" in err


def test_model_names_make_valid_service_names() -> None:
    def digit(p: dict[str, Any]) -> None:
        models(p)["churn"]["name"] = "3churn"

    errs = errors("dev", digit)
    assert any("models[2].name: a model name must start with a letter" in e for e in errs)


# --- promotion ------------------------------------------------------------------------------------------------------


def test_version_and_environment_fields_partition_the_model() -> None:
    from serving.config.models import ModelConfig

    top = {f.alias or n for n, f in ModelConfig.model_fields.items()}
    covered = {p.split(".")[0] for p in (*VERSION_FIELDS, *ENVIRONMENT_FIELDS)}
    assert covered == top
    assert not {p for p in VERSION_FIELDS if p.split(".")[0] in {"scaling", "resources", "exposure", "team"}}


def test_promoting_copies_version_fields_and_keeps_environment_fields() -> None:
    dev, prod = models(platform_of(repo_stack("dev"))), models(platform_of(repo_stack("prod")))
    promoted = with_version_fields(prod["churn"], dev["churn"])
    assert version_fields(promoted) == version_fields(dev["churn"])
    assert promoted["artifact"]["uri"] == "s3://example-models-dev/churn/v12"
    assert promoted["canary"]["version"] == "v13"
    for key in ("scaling", "resources", "team"):
        assert promoted[key] == prod["churn"][key]
    # A field absent in the source is removed in the target (prod's llama shadow is not in dev).
    llama = with_version_fields(prod["llama-chat"], dev["llama-chat"])
    assert "shadow" not in llama and llama["exposure"] == prod["llama-chat"]["exposure"]
    assert llama["server"] == prod["llama-chat"]["server"]
    doc = repo_stack("prod")
    platform_of(doc)["models"] = [promoted if m["name"] == "churn" else m for m in platform_of(doc)["models"]]
    cfg = parse_platform(platform_of(doc), "Pulumi.prod.yaml")
    assert cfg.model("churn").version == "v12" and cfg.model("churn").scaling.max_replicas == 6
    assert copy.deepcopy(prod["churn"]) == models(platform_of(repo_stack("prod")))["churn"], "inputs are not mutated"
