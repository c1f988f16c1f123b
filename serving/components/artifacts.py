"""Getting a model's files into its pods: the download init container, the cache volume, S3 read access, HF tokens.

- `s3://bucket/prefix` and `hf://owner/model[:revision]` are downloaded by KServe's storage-initializer (pinned in
  `catalog/runtimes.py`) in an init container into a volume the server mounts read-only at the runtime's model
  directory. The volume is a generic ephemeral volume (a PVC on the cluster's default StorageClass, gp3 on EKS,
  created and deleted with the pod) for large models, an emptyDir for small ones. Either outlives the server
  container, so a crashed or liveness-killed server restarts without downloading again; a marker file written after a
  complete download makes the init container skip on a restart, and a partial download is wiped and retried.
- `image://`: the model is baked into the image; no init container, no volume.
- S3 access: one IAM role per model (EKS Pod Identity, `components/iam.pod_identity_role`) for the model's
  ServiceAccount, allowed to read exactly the objects under the artifact prefixes of the model's versions (primary,
  canary, shadow), and to decrypt with the KMS keys of those artifacts that name one (`kmsKeyArn`, SSE-KMS buckets).
  Listing is allowed on the whole bucket: the initializer's first call is HeadBucket, which IAM authorizes as
  s3:ListBucket with no `s3:prefix` in the request, so a prefix condition would deny it (key names of the bucket are
  listable; object contents are not readable outside the prefixes). On an `existing` cluster no AWS resource is made: the download uses whatever the pod's
  default AWS credential chain finds there (a pod identity association or IRSA set up outside the platform for
  ServiceAccount `<model>` in the team namespace, or the node's instance role).
- Hugging Face tokens are Pulumi secrets written to a Kubernetes Secret and mounted as a file (HF_TOKEN_PATH), never
  an environment variable and never printed.
- `s3://` on an S3-compatible endpoint (MinIO, Ceph RGW): the initializer's boto3 client takes AWS_ENDPOINT_URL and
  static keys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (kserve_storage.py `_get_s3_client_kwargs`, v0.19.0), given to
  the init container only, from an existing Secret or from stack secrets written to a Secret of the model's own. No
  IAM role; egress goes to the endpoint only (its namespace and port for an in-cluster `*.svc` endpoint, its port
  otherwise: a NetworkPolicy cannot name a host).
- `gs://`: the initializer's google-cloud-storage client uses GOOGLE_APPLICATION_CREDENTIALS (a service-account key
  file mounted from a Secret) or, without credentials, the default credentials (GKE Workload Identity) and else
  anonymous access (kserve_storage.py `_download_gcs`). Egress: HTTPS.
- `pvc://claim/path`: a PersistentVolumeClaim of the team namespace mounted read-only at the model directory (the
  folder `path` of the volume), as KServe does for pvc:// URIs; nothing is downloaded, no egress.
- `oci://image`: KServe's modelcar. The model image (its files under `/models`, and a shell: KServe's documented
  layout, e.g. `FROM busybox`) runs as a native sidecar (an init container with restartPolicy Always, started and
  probed before the server) that links `/proc/<its pid>/root/models` into an emptyDir shared with the server at the
  model directory; the pod shares one process namespace. The kubelet pulls the image (imagePullSecrets apply); no
  download, no egress. (Kubernetes image volumes would do this without a sidecar, but are off by default in 1.34.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..catalog.runtimes import (
    STORAGE_INITIALIZER_CPU,
    STORAGE_INITIALIZER_ENTRYPOINT,
    STORAGE_INITIALIZER_MEMORY,
    STORAGE_INITIALIZER_MEMORY_LIMIT,
)
from ..config.models import Artifact
from ..config.stores import GCS_KEY, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, parse_endpoint

#: Where the init container mounts the whole cache volume, and the folder in it holding the model.
STORE_MOUNT = "/mnt/store"
STORE_SUBPATH = "model"
#: Written after a complete download; its presence makes a restarted pod's init container skip the download.
DONE_MARKER = ".download-complete"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"
HF_TOKEN_KEY = "token"

#: The download script: skip when a complete copy is there, else wipe what a failed attempt left and download.
DOWNLOAD_SCRIPT = f"""set -eu
if [ -f "{STORE_MOUNT}/{DONE_MARKER}" ] && [ "$(cat "{STORE_MOUNT}/{DONE_MARKER}")" = "$ARTIFACT_URI" ]; then
  echo "model $ARTIFACT_URI already in the cache volume: not downloading"
  exit 0
fi
rm -rf "{STORE_MOUNT}/{STORE_SUBPATH}" "{STORE_MOUNT}/{DONE_MARKER}"
{STORAGE_INITIALIZER_ENTRYPOINT} "$ARTIFACT_URI" "{STORE_MOUNT}/{STORE_SUBPATH}"
printf '%s' "$ARTIFACT_URI" > "{STORE_MOUNT}/{DONE_MARKER}"
"""


def model_volume(artifact: Artifact, volume_name: str, labels: dict[str, str]) -> Optional[dict[str, Any]]:
    """The pod volume holding the downloaded model, or None for `image://`."""
    if not artifact.downloaded:
        return None
    size = f"{artifact.cache_size_gi}Gi"
    if artifact.cache_volume:
        return {
            "name": volume_name,
            "ephemeral": {
                "volumeClaimTemplate": {
                    "metadata": {"labels": dict(labels)},
                    # No storageClassName: the cluster's default class (gp3 on the platform's EKS clusters).
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
                }
            },
        }
    return {"name": volume_name, "emptyDir": {"sizeLimit": size}}


def download_container(
    artifact: Artifact,
    volume_name: str,
    security_context: dict[str, Any],
    *,
    image: str,
    hf_token_volume: Optional[str],
    aws_region: Optional[str],
    store_secret: Optional[str] = None,
    container_name: str = "storage-initializer",
    script: Optional[str] = None,
    extra_env: Optional[list[dict[str, Any]]] = None,
    extra_mounts: Optional[list[dict[str, Any]]] = None,
) -> dict[str, Any]:
    """The init container (storage-initializer `image`) downloading `artifact` into the cache volume. `store_secret`:
    the Secret holding the store's credentials (S3-compatible or GCS), `script` another download script (fleets)."""
    env = [
        {"name": "ARTIFACT_URI", "value": artifact.download_uri},
        {"name": "HOME", "value": "/tmp"},
        {"name": "HF_HOME", "value": "/tmp/huggingface"},
    ]
    mounts: list[dict[str, Any]] = [{"name": volume_name, "mountPath": STORE_MOUNT}, {"name": "tmp", "mountPath": "/tmp"}]
    if aws_region and artifact.aws_s3:
        env.append({"name": "AWS_DEFAULT_REGION", "value": aws_region})
    env += credential_env(artifact, store_secret)
    if artifact.scheme == "gs" and store_secret:
        mounts.append({"name": GCS_VOLUME, "mountPath": GCS_KEY_DIR, "readOnly": True})
    if artifact.scheme == "hf":
        # hf-xet (1.1.3 in the initializer) keeps a chunk cache under HF_HOME, 10 GB by default: on the small /tmp
        # emptyDir that would evict the pod. The files land in the cache volume anyway.
        env.append({"name": "HF_XET_CHUNK_CACHE_SIZE_BYTES", "value": "0"})
    if hf_token_volume:
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/{HF_TOKEN_KEY}"})
        mounts.append({"name": hf_token_volume, "mountPath": HF_TOKEN_DIR, "readOnly": True})
    env += extra_env or []
    mounts += extra_mounts or []
    return {
        "name": container_name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", script or DOWNLOAD_SCRIPT],
        "env": env,
        "resources": {"requests": {"cpu": STORAGE_INITIALIZER_CPU, "memory": STORAGE_INITIALIZER_MEMORY},
                      "limits": {"memory": STORAGE_INITIALIZER_MEMORY_LIMIT}},
        "securityContext": security_context,
        "volumeMounts": mounts,
    }


#: Where a GCS service-account key is mounted in the init container.
GCS_VOLUME = "gcs-key"
GCS_KEY_DIR = "/var/run/secrets/gcs"


def store_secret_data(artifact: Artifact) -> Optional[dict[str, Any]]:
    """Key -> secret value of the Secret the platform writes for a store's stack-secret credentials (None when the
    artifact has none, or names an existing Secret)."""
    c = artifact.credentials
    if c is None or not c.inline:
        return None
    if c.service_account_key is not None:
        return {GCS_KEY: c.service_account_key.get_secret_value()}
    assert c.access_key_id is not None and c.secret_access_key is not None  # enforced by StoreCredentials
    return {S3_ACCESS_KEY_ID: c.access_key_id.get_secret_value(), S3_SECRET_ACCESS_KEY: c.secret_access_key.get_secret_value()}


def store_secret_name(artifact: Artifact, own_secret: str) -> Optional[str]:
    """The Secret holding the artifact's store credentials: the existing one it names, else `own_secret` (written by
    the platform from stack secrets), None without credentials."""
    c = artifact.credentials
    if c is None:
        return None
    return c.existing_secret or own_secret


def credential_env(artifact: Artifact, secret: Optional[str]) -> list[dict[str, Any]]:
    """Environment of the download for the artifact's store (endpoint, credentials from `secret`)."""
    env: list[dict[str, Any]] = []
    if artifact.scheme == "s3" and artifact.endpoint is not None:
        env.append({"name": "AWS_ENDPOINT_URL", "value": artifact.endpoint.rstrip("/")})
        # boto3 signs with a region; S3-compatible stores accept the default one.
        env.append({"name": "AWS_DEFAULT_REGION", "value": "us-east-1"})
        if secret:
            for key in (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY):
                env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    if artifact.scheme == "gs" and secret:
        env.append({"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": f"{GCS_KEY_DIR}/{GCS_KEY}"})
    return env


def gcs_key_volume(secret: str) -> dict[str, Any]:
    return {"name": GCS_VOLUME, "secret": {"secretName": secret, "defaultMode": 0o440, "items": [{"key": GCS_KEY, "path": GCS_KEY}]}}


#: The modelcar sidecar: the model image links its /models into the shared emptyDir (KServe's modelcar command,
#: pkg/webhook/admission/pod/storage_initializer_injector.go), then idles. `$$` is the shell's pid in the shared
#: process namespace.
MODELCAR_NAME = "modelcar"
MODELCAR_VOLUME = "modelcar"
MODELCAR_MOUNT = "/mnt/modelcar"


def modelcar_container(artifact: Artifact, security_context: dict[str, Any]) -> dict[str, Any]:
    """The modelcar native sidecar for an oci:// artifact: `{MODELCAR_MOUNT}/models` -> the image's /models."""
    link = f"{MODELCAR_MOUNT}/models"
    return {
        "name": MODELCAR_NAME,
        "image": artifact.oci_image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "command": ["sh", "-c", f"ln -sfn /proc/$$/root/models {link} && exec sleep infinity"],
        # The server starts once the link exists (a native sidecar's startup probe gates the next containers).
        "startupProbe": {"exec": {"command": ["sh", "-c", f"test -d {link}/"]}, "periodSeconds": 2, "failureThreshold": 150},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": security_context,
        "volumeMounts": [{"name": MODELCAR_VOLUME, "mountPath": MODELCAR_MOUNT}],
    }


@dataclass
class PodArtifact:
    """What a pod needs for one artifact: volumes, init containers (download or modelcar sidecar), the server's
    mounts, and whether the pod must share its process namespace."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    init_containers: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    share_process_namespace: bool = False
    #: Where the server finds the model (for oci:// the link inside the modelcar volume).
    model_path: Optional[str] = None


def mounted_artifact(artifact: Artifact, model_dir: str, security_context: dict[str, Any], volume: str = "model") -> PodArtifact:
    """A pvc:// or oci:// artifact: nothing downloaded, mounted (pvc) or linked from a sidecar (oci)."""
    out = PodArtifact()
    if artifact.scheme == "pvc":
        claim, path = artifact.pvc_location()
        out.volumes.append({"name": volume, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
        mount: dict[str, Any] = {"name": volume, "mountPath": model_dir, "readOnly": True}
        if path:
            mount["subPath"] = path
        out.mounts.append(mount)
        out.model_path = model_dir
    elif artifact.scheme == "oci":
        out.volumes.append({"name": MODELCAR_VOLUME, "emptyDir": {"sizeLimit": "1Mi"}})
        out.init_containers.append(modelcar_container(artifact, security_context))
        out.mounts.append({"name": MODELCAR_VOLUME, "mountPath": MODELCAR_MOUNT, "readOnly": True})
        out.share_process_namespace = True
        out.model_path = f"{MODELCAR_MOUNT}/models"
    return out


def egress_rules(artifacts: list[Artifact]) -> list[dict[str, Any]]:
    """NetworkPolicy egress the downloads of these artifacts need, and no more: HTTPS for AWS S3, GCS and Hugging
    Face; an S3-compatible endpoint's port (in its namespace when it is an in-cluster Service); nothing for pvc://,
    oci:// (the kubelet pulls) and image://."""
    rules: list[dict[str, Any]] = []
    anywhere: list[dict[str, Any]] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]
    if any(a.aws_s3 or a.scheme in ("gs", "hf") for a in artifacts):
        rules.append({"to": anywhere, "ports": [{"protocol": "TCP", "port": 443}]})
    seen: set[tuple[Optional[str], int]] = set()
    for a in artifacts:
        if a.scheme != "s3" or a.endpoint is None:
            continue
        ep = parse_endpoint(a.endpoint)
        key = (ep.in_cluster_namespace, ep.port)
        if key in seen:
            continue
        seen.add(key)
        to: list[dict[str, Any]]
        if ep.in_cluster_namespace:
            to = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ep.in_cluster_namespace}}}]
        else:
            to = anywhere
        rules.append({"to": to, "ports": [{"protocol": "TCP", "port": ep.port}]})
    return rules


def s3_read_policy(artifacts: list[Artifact]) -> str:
    """IAM policy allowing reads of exactly the given s3:// prefixes (one model's versions), listing their buckets
    (HeadBucket needs it, see the module doc) and decrypting with their KMS keys through S3; nothing else."""
    by_bucket: dict[str, list[str]] = {}
    for a in artifacts:
        bucket, prefix = a.s3_location()
        prefixes = by_bucket.setdefault(bucket, [])
        if prefix not in prefixes:
            prefixes.append(prefix)
    statements: list[dict[str, Any]] = []
    for bucket, prefixes in sorted(by_bucket.items()):
        # No s3:prefix condition: HeadBucket (authorized as s3:ListBucket) carries no prefix and would be denied.
        statements.append({"Sid": f"List{_sid(bucket)}", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"})
        statements.append({
            "Sid": f"Read{_sid(bucket)}",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": sorted(f"arn:aws:s3:::{bucket}/{prefix}/*" for prefix in prefixes),
        })
    keys = sorted({a.kms_key_arn for a in artifacts if a.kms_key_arn})
    if keys:
        # SSE-KMS objects: S3 decrypts with the caller's kms:Decrypt on the bucket's key (also with S3 Bucket Keys);
        # only through S3, so the role cannot use the key directly.
        statements.append({
            "Sid": "DecryptArtifacts",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": keys,
            "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _sid(bucket: str) -> str:
    return "".join(part.capitalize() for part in bucket.replace(".", "-").split("-"))
