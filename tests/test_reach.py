"""Artifact stores (S3-compatible, GCS, PVC, OCI modelcar), secret env and pull secrets, gRPC and TLS to the pod,
through the real program on one fixture stack (tests/reach_stack.py) captured once."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving import conventions as cv
from serving.check.checkov import SKIPS
from serving.components import backend_tls
from serving.config import ConfigError, parse_platform
from serving.plan import SECRET_TEXT
from serving.plan.model import is_kubernetes_object
from serving.plan.present.manifests import kubernetes_manifest

from .conftest import platform_of
from .reach_stack import CEPH, MINIO, PRIVATE_TRITON, TEAM, reach_plan, reach_stack
from .schemas import validate_object
from .test_checkov import checkov, run_checkov  # noqa: F401 (checkov is a fixture)

NAMESPACE = cv.team_namespace(TEAM)


@functools.cache
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> manifest of every object in the team namespace."""
    out = {}
    for s in reach_plan().resources:
        if is_kubernetes_object(s):
            o = kubernetes_manifest(s)
            if o["metadata"].get("namespace") == NAMESPACE:
                out[(o["kind"], o["metadata"]["name"])] = o
    return out


def pod(name: str) -> dict[str, Any]:
    return objects()[("Deployment", name)]["spec"]["template"]["spec"]


def container(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in [*(spec.get("initContainers") or []), *spec["containers"]] if c["name"] == name)


def env(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def egress(name: str) -> list[dict[str, Any]]:
    return objects()[("NetworkPolicy", name)]["spec"]["egress"]


def test_every_object_is_valid() -> None:
    errors = {f"{k}/{n}": validate_object(o) for (k, n), o in objects().items()}
    assert {k: v for k, v in errors.items() if v} == {}


def test_s3_compatible_store_with_an_existing_secret_and_egress_to_it_only() -> None:
    init = container(pod("minio-churn"), "storage-initializer")
    e = env(init)
    assert e["AWS_ENDPOINT_URL"] == MINIO and e["ARTIFACT_URI"] == "s3://models/churn/3/"
    assert e["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "minio-reader", "key": "AWS_ACCESS_KEY_ID"}}
    assert e["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "minio-reader", "key": "AWS_SECRET_ACCESS_KEY"}}
    # Only the download sees the credentials.
    assert "AWS_ACCESS_KEY_ID" not in env(container(pod("minio-churn"), "server"))
    rules = egress("minio-churn")
    assert {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "minio"}}}],
            "ports": [{"protocol": "TCP", "port": 9000}]} in rules
    assert not any(p.get("port") == 443 for r in rules for p in r["ports"])


def test_s3_compatible_store_with_stack_secrets() -> None:
    secret = objects()[("Secret", "ceph-churn-store")]
    assert set(secret["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert set(secret["stringData"].values()) == {SECRET_TEXT}
    e = env(container(pod("ceph-churn"), "storage-initializer"))
    assert e["AWS_ENDPOINT_URL"] == CEPH
    assert e["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "ceph-churn-store", "key": "AWS_SECRET_ACCESS_KEY"}}
    assert [p["port"] for r in egress("ceph-churn") for p in r["ports"] if p["protocol"] == "TCP" and p["port"] != 53] == [7480]


def test_gcs_with_a_key_file_and_anonymous() -> None:
    spec = pod("gcs-churn")
    init = container(spec, "storage-initializer")
    assert env(init)["GOOGLE_APPLICATION_CREDENTIALS"] == "/var/run/secrets/gcs/gcloud-application-credentials.json"
    assert {"name": "gcs-key", "mountPath": "/var/run/secrets/gcs", "readOnly": True} in init["volumeMounts"]
    assert any(v.get("secret", {}).get("secretName") == "gcs-churn-store" for v in spec["volumes"])
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env(container(pod("gcs-public"), "storage-initializer"))
    assert [p["port"] for r in egress("gcs-churn") for p in r["ports"] if p["port"] != 53] == [443]


def test_pvc_is_mounted_read_only_without_download_or_egress() -> None:
    spec = pod("pvc-churn")
    assert not any(c["name"] == "storage-initializer" for c in spec.get("initContainers") or [])
    assert {"name": "model", "persistentVolumeClaim": {"claimName": "model-store", "readOnly": True}} in spec["volumes"]
    mount = next(m for m in container(spec, "server")["volumeMounts"] if m["name"] == "model")
    assert mount == {"name": "model", "mountPath": "/mnt/models", "subPath": "churn/3", "readOnly": True}
    assert [p["port"] for r in egress("pvc-churn") for p in r["ports"]] == [53, 53]


def test_oci_model_image_runs_as_a_modelcar() -> None:
    spec = pod("oci-churn")
    car = container(spec, "modelcar")
    assert car["image"] == "registry.example.com/models/churn:3" and car["restartPolicy"] == "Always"
    assert spec["shareProcessNamespace"] is True
    server = container(spec, "server")
    assert env(server)["MLSERVER_MODEL_URI"] == "/mnt/modelcar/models"


def test_secret_env_and_private_registry() -> None:
    spec = pod("private-triton")
    server = container(spec, "server")
    assert server["image"] == PRIVATE_TRITON
    e = env(server)
    assert e["LICENSE_KEY"] == {"secretKeyRef": {"name": "private-triton-env", "key": "LICENSE_KEY"}}
    assert e["TRACE_TOKEN"] == {"secretKeyRef": {"name": "tracing", "key": "token"}}
    assert spec["imagePullSecrets"] == [{"name": "private-registry"}, {"name": "private-triton-registry"}]
    registry = objects()[("Secret", "private-triton-registry")]
    assert registry["type"] == "kubernetes.io/dockerconfigjson" and registry["stringData"][".dockerconfigjson"] == SECRET_TEXT
    assert objects()[("Secret", "private-triton-env")]["stringData"]["LICENSE_KEY"] == SECRET_TEXT
    assert pod("fleet-shared")["imagePullSecrets"] == [{"name": "mirror-pull"}]


def test_secret_values_are_never_in_the_plan_text() -> None:
    from serving.plan import render_json

    text = render_json(reach_plan())
    for value in ("not-a-real-license", "robot-password", "ceph-secret-key"):
        assert value not in text


def test_grpc_route_with_the_same_auth_and_limits() -> None:
    route = objects()[("GRPCRoute", "private-triton-grpc")]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"headers": [{"type": "Exact", "name": cv.MODEL_HEADER, "value": "private-triton"}]}]
    assert rule["backendRefs"][0]["name"] == "private-triton"
    traffic = objects()[("BackendTrafficPolicy", "private-triton-grpc")]["spec"]
    http_traffic = objects()[("BackendTrafficPolicy", "private-triton")]["spec"]
    assert traffic["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "GRPCRoute", "name": "private-triton-grpc"}]
    assert traffic["rateLimit"] == http_traffic["rateLimit"]
    security = objects()[("SecurityPolicy", "private-triton-grpc")]["spec"]
    assert security["apiKeyAuth"] == objects()[("SecurityPolicy", "private-triton")]["spec"]["apiKeyAuth"]
    service = objects()[("Service", "private-triton")]
    assert {"name": "grpc", "appProtocol": "kubernetes.io/h2c"}.items() <= next(
        p for p in service["spec"]["ports"] if p["name"] == "grpc").items()


def test_grpc_on_a_fleet_or_a_runtime_without_grpc_is_an_error() -> None:
    p = platform_of(reach_stack())
    p["models"][7]["exposure"] = {"grpc": True}
    p["models"][4]["exposure"] = {"grpc": True}
    p["models"][4]["runtime"] = "tfserving"
    with pytest.raises(ConfigError) as exc:
        parse_platform(p, "Pulumi.reach.yaml")
    assert any("models[7].exposure.grpc: gRPC names the model inside each message" in e for e in exc.value.errors)
    assert any("models[4].exposure.grpc: runtime 'tfserving' serves no gRPC" in e for e in exc.value.errors)


def test_tls_to_the_pod() -> None:
    ca = objects()[("Issuer", backend_tls.CA_NAME)]
    assert ca["spec"] == {"ca": {"secretName": backend_tls.CA_NAME}}
    cert = objects()[("Certificate", "minio-churn-tls")]["spec"]
    assert cert["dnsNames"] == [f"minio-churn.{NAMESPACE}.svc", f"minio-churn.{NAMESPACE}.svc.cluster.local"]
    assert cert["issuerRef"]["name"] == backend_tls.CA_NAME
    policy = objects()[("BackendTLSPolicy", "minio-churn")]["spec"]
    assert policy["validation"]["hostname"] == f"minio-churn.{NAMESPACE}.svc.cluster.local"
    spec = pod("minio-churn")
    assert container(spec, "tls-proxy")["restartPolicy"] == "Always"
    # The route goes to the TLS port; the gateway may reach the pod on TLS ports only.
    (rule,) = objects()[("HTTPRoute", "minio-churn")]["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": "minio-churn", "port": backend_tls.HTTPS_SERVICE_PORT}]
    ingress = objects()[("NetworkPolicy", "minio-churn")]["spec"]["ingress"]
    gateway_rule = next(r for r in ingress if r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == cv.GATEWAY_NAMESPACE)
    assert gateway_rule["ports"] == [{"protocol": "TCP", "port": backend_tls.TLS_PORT}]
    # gRPC too, and the fleet.
    assert [r["sectionName"] for r in objects()[("BackendTLSPolicy", "private-triton")]["spec"]["targetRefs"]] == ["https", "grpcs"]
    assert ("BackendTLSPolicy", "fleet-shared") in objects()
    proxy = yaml.safe_load(objects()[("ConfigMap", "private-triton-tls-proxy")]["data"]["envoy.yaml"])
    assert [c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"]
            for c in proxy["static_resources"]["clusters"]] == [8000, 8001]


def test_backend_tls_needs_cert_manager() -> None:
    p = platform_of(reach_stack())
    p["gateway"]["tls"] = {"mode": "secret", "secretName": "x"}
    p["gateway"]["loadBalancer"] = "internal"
    with pytest.raises(ConfigError) as exc:
        parse_platform(p, "Pulumi.reach.yaml")
    assert "Pulumi.reach.yaml: serving:platform.gateway.backendTls: backendTls needs the platform's cert-manager, which runs with tls.mode 'acme'" in exc.value.errors


def test_backend_tls_refuses_a_model_that_wakes_through_the_plain_http_interceptor() -> None:
    # The interceptor would reach the pod in plain HTTP (and the NetworkPolicy admits only the TLS ports): the
    # stack is refused with the way out, instead of a model that can never be woken.
    p = platform_of(reach_stack())
    p["models"][0]["scaling"] = {"minReplicas": 0, "maxReplicas": 2}
    with pytest.raises(ConfigError) as exc:
        parse_platform(p, "Pulumi.reach.yaml")
    (msg,) = [e for e in exc.value.errors if "KEDA HTTP interceptor" in e]
    assert msg.startswith("Pulumi.reach.yaml: serving:platform.models[0].scaling.minReplicas: with gateway.backendTls")
    p["gateway"]["backendTls"] = False
    parse_platform(p, "Pulumi.reach.yaml")


def test_store_config_errors() -> None:
    p = platform_of(reach_stack())
    p["models"][0]["artifact"].pop("credentials")
    p["models"][2]["artifact"]["credentials"] = {"accessKeyId": "a", "secretAccessKey": "b"}
    p["models"][4]["artifact"]["endpoint"] = MINIO
    with pytest.raises(ConfigError) as exc:
        parse_platform(p, "Pulumi.reach.yaml")
    errors = "\n".join(exc.value.errors)
    assert "models[0].artifact: an S3-compatible endpoint needs credentials" in errors
    assert "models[2].artifact: accessKeyId/secretAccessKey are for s3:// artifacts" in errors
    assert "models[4].artifact: endpoint only applies to s3:// artifacts" in errors
    assert "ceph-secret-key" not in errors


def test_shared_model_store_credentials_reach_only_its_fetch_container() -> None:
    spec = pod("fleet-shared")
    e = env(container(spec, "fetch-shared-minio"))
    assert e["AWS_ENDPOINT_URL"] == MINIO
    assert e["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "minio-reader", "key": "AWS_ACCESS_KEY_ID"}}
    assert "AWS_ACCESS_KEY_ID" not in env(container(spec, "server"))
    assert json.loads(e["MODEL_SETTINGS"])["name"] == "shared-minio"


def test_a_claim_on_an_mlserver_fleet_is_mounted_and_named_in_the_model_settings() -> None:
    spec = pod("fleet-shared")
    fetch = container(spec, "fetch-shared-pvc")
    assert "ARTIFACT_URI" in env(fetch) and "initializer-entrypoint" not in fetch["command"][-1]
    assert json.loads(env(fetch)["MODEL_SETTINGS"])["parameters"]["uri"] == "/mnt/pvc/shared-pvc"
    assert {"name": "pvc-shared-pvc", "persistentVolumeClaim": {"claimName": "model-store", "readOnly": True}} in spec["volumes"]
    assert {"name": "pvc-shared-pvc", "mountPath": "/mnt/pvc/shared-pvc", "subPath": "iris/1", "readOnly": True} in \
        container(spec, "server")["volumeMounts"]


def test_model_images_are_not_fetched_by_a_fleet() -> None:
    p = platform_of(reach_stack())
    p["models"][5]["shared"] = {"memory": "300Mi"}  # oci-churn
    with pytest.raises(ConfigError) as exc:
        parse_platform(p, "Pulumi.reach.yaml")
    assert exc.value.errors == ["Pulumi.reach.yaml: serving:platform.models[5].artifact.uri: a model on a mlserver fleet is "
                                "fetched into its repository (s3://, gs://, hf://, or pvc:// on MLServer); serve this one dedicated "
                                "(models[5] is oci-churn)"]


#: Secret environment variables are what `server.secretEnv` asks for (NVIDIA NIM reads NGC_API_KEY from its
#: environment), and the storage initializer reads an S3-compatible store's keys from AWS_ACCESS_KEY_ID /
#: AWS_SECRET_ACCESS_KEY (kserve_storage.py; its boto3 client) in the short-lived download container only.
SECRET_ENV_SKIP = {"CKV_K8S_35": "secrets as environment variables"}


def test_checkov_passes_on_the_fixture_stacks(checkov: Path, tmp_path: Path) -> None:
    from serving.plan import write_manifests

    from .fleet_stack import fleet_plan

    write_manifests(reach_plan(), tmp_path / "reach")
    write_manifests(fleet_plan(), tmp_path / "fleet")
    report = run_checkov(checkov, tmp_path, "--skip-check", ",".join({**SKIPS, **SECRET_ENV_SKIP}))
    failed = [(c["check_id"], Path(c["file_path"]).name) for c in report["results"]["failed_checks"]
              if f".{NAMESPACE}." in c["file_path"] or ".team-tabular." in c["file_path"]]
    assert failed == []
    passed = {Path(c["file_path"]).name for c in report["results"]["passed_checks"]}
    assert {"deployment.team-lab.fleet-shared.yaml", "deployment.team-lab.oci-churn.yaml",
            "deployment.team-tabular.fleet-small.yaml"} <= passed


def _placeholders(node: Any) -> Any:
    """`{secure: ...}` (a stack secret, not decryptable offline) -> a placeholder string, as the offline plan does."""
    if isinstance(node, dict):
        return "placeholder" if set(node) == {"secure"} else {k: _placeholders(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_placeholders(v) for v in node]
    return node


def test_the_readme_store_example_is_valid_in_the_fixture_stack() -> None:
    from .test_readme import yaml_blocks

    (block,) = [b for b in yaml_blocks() if b.lstrip().startswith("- name: fraud")]
    model = _placeholders(yaml.safe_load(block)[0])
    p = platform_of(reach_stack())
    p["teams"].append({"name": model["team"]})
    p["models"].append(model)
    cfg = parse_platform(p, "README.md")
    m = cfg.model("fraud")
    assert m.artifact.endpoint and m.server.secret_env and m.server.registry and m.exposure.grpc
