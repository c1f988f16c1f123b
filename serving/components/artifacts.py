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
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..catalog.runtimes import STORAGE_INITIALIZER_ENTRYPOINT
from ..config.models import Artifact

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
) -> dict[str, Any]:
    """The init container (storage-initializer `image`) downloading `artifact` into the cache volume."""
    env = [
        {"name": "ARTIFACT_URI", "value": artifact.download_uri},
        {"name": "HOME", "value": "/tmp"},
        {"name": "HF_HOME", "value": "/tmp/huggingface"},
    ]
    mounts: list[dict[str, Any]] = [{"name": volume_name, "mountPath": STORE_MOUNT}, {"name": "tmp", "mountPath": "/tmp"}]
    if aws_region and artifact.scheme == "s3":
        env.append({"name": "AWS_DEFAULT_REGION", "value": aws_region})
    if artifact.scheme == "hf":
        # hf-xet (1.1.3 in the initializer) keeps a chunk cache under HF_HOME, 10 GB by default: on the small /tmp
        # emptyDir that would evict the pod. The files land in the cache volume anyway.
        env.append({"name": "HF_XET_CHUNK_CACHE_SIZE_BYTES", "value": "0"})
    if hf_token_volume:
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/{HF_TOKEN_KEY}"})
        mounts.append({"name": hf_token_volume, "mountPath": HF_TOKEN_DIR, "readOnly": True})
    return {
        "name": "storage-initializer",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", DOWNLOAD_SCRIPT],
        "env": env,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "securityContext": security_context,
        "volumeMounts": mounts,
    }


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
