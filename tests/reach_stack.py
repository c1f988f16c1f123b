"""Test stack fixture: every artifact store, secret env and pull secrets, gRPC and TLS to the pod (not a shipped stack).

Built from the repository's `local` stack (existing cluster), with cert-manager (tls.mode acme) so that
`gateway.backendTls` can issue the pods' certificates.
"""

from __future__ import annotations

import functools
from typing import Any

from .conftest import platform_of, repo_stack
from .fleet_stack import plan_of

TEAM = "lab"
MINIO = "http://minio.minio.svc:9000"
CEPH = "https://rgw.storage.example.com:7480"
PRIVATE_TRITON = "registry.example.com/private/tritonserver:25.09-py3-custom"


def _model(name: str, artifact: dict[str, Any], runtime: str = "mlserver-sklearn", **extra: Any) -> dict[str, Any]:
    return {"name": name, "team": TEAM, "runtime": runtime, "version": "3", "artifact": artifact,
            "resources": {"cpu": "500m", "memory": "1Gi"}, **extra}


def reach_stack(backend_tls: bool = True) -> dict[str, Any]:
    doc = repo_stack("local")
    p = platform_of(doc)
    p["gateway"] = {"hostname": "models.local.example.com", "loadBalancer": "internet-facing", "backendTls": backend_tls,
                    "tls": {"mode": "acme", "acmeEmail": "platform@example.com"}}
    p["teams"] = [{"name": TEAM, "quota": {"cpu": "32", "memory": "64Gi", "gpus": 0}}]
    p["fleets"] = [{"name": "shared", "team": TEAM, "runtime": "mlserver", "replicas": 1, "memory": "2Gi", "cpu": "1",
                    "imagePullSecrets": ["mirror-pull"]}]
    p["models"] = [
        _model("minio-churn", {"uri": "s3://models/churn/3", "endpoint": MINIO, "credentials": {"existingSecret": "minio-reader"}}),
        _model("ceph-churn", {"uri": "s3://models/churn/3", "endpoint": CEPH,
                              "credentials": {"accessKeyId": "ceph-access-key", "secretAccessKey": "ceph-secret-key"}}),
        _model("gcs-churn", {"uri": "gs://example-models/churn/3", "credentials": {"serviceAccountKey": '{"type": "service_account"}'}}),
        _model("gcs-public", {"uri": "gs://example-public-models/iris/1"}),
        _model("pvc-churn", {"uri": "pvc://model-store/churn/3"}),
        _model("oci-churn", {"uri": "oci://registry.example.com/models/churn:3"}),
        _model("private-triton", {"uri": "s3://models/resnet-repository/3", "endpoint": MINIO,
                                  "credentials": {"existingSecret": "minio-reader"}},
               runtime="triton", image=PRIVATE_TRITON,
               server={"secretEnv": {"LICENSE_KEY": {"value": "not-a-real-license"},
                                     "TRACE_TOKEN": {"existingSecret": "tracing", "key": "token"}},
                       "imagePullSecrets": ["private-registry"],
                       "registry": {"server": "registry.example.com", "username": "robot", "password": "robot-password"}},
               exposure={"grpc": True, "apiKey": {"existingSecret": "triton-keys"}, "rateLimit": {"requests": 20}}),
        _model("shared-minio", {"uri": "s3://models/iris/1", "endpoint": MINIO, "credentials": {"existingSecret": "minio-reader"}},
               resources={}, shared={"memory": "300Mi"}),
        _model("shared-pvc", {"uri": "pvc://model-store/iris/1"}, resources={}, shared={"memory": "300Mi"}),
    ]
    return doc


@functools.cache
def reach_plan():  # -> serving.plan.Plan
    """The fixture stack's plan, captured once per session (read-only)."""
    return plan_of(reach_stack(), "reach")
