"""Weights shared by every replica: the model's S3 prefix mounted read-only with Mountpoint for Amazon S3.

Why Mountpoint (the Mountpoint for Amazon S3 CSI driver v2, `s3.csi.aws.com`, an EKS add-on) rather than a volume
filled once and mounted by many pods:
- start-up: a new replica starts reading at once; vLLM reads the safetensors files sequentially while it loads, and
  Mountpoint streams them from S3 with parallel ranged GETs (its documented use: "high aggregate throughput"), so
  loading costs about what a download costs but the replica does not first copy 16-300 GB to a volume of its own
  and then read it again. A second replica on the same node shares the Mountpoint instance and its node-local cache
  (Mountpoint Pod sharing: same PV, same service account, same fsGroup), and reads the weights from local disk.
- cost: no EBS/EFS volume per replica or per model, no per-replica copy; S3 GETs within the region only (the
  metadata cache is `indefinite`: a version's prefix is immutable, so listings are made once per mount).
- a shared ReadOnlyMany volume filled by a Job (EFS, or an EBS snapshot) would need a filesystem and a fill Job per
  version, and EBS is single-AZ; FSx for Lustre is faster but costs per provisioned TiB around the clock.
- `existing` clusters: the same driver installs from its Helm chart or EKS add-on on any cluster with EC2 nodes; the
  stack declares it (`cluster.existing.s3MountpointDriver`), else the replicas download as before.

Per track whose artifact is mounted (`config/llm.mounts_weights`), cluster-scoped PersistentVolume
`<namespace>-<model>[-track]-weights` bound (claimRef) to the PVC `<model>[-track]-weights` in the model's
namespace: static provisioning (the driver has no dynamic provisioning), ReadOnlyMany, `authenticationSource: pod`
so Mountpoint signs S3 requests with the model's own ServiceAccount (EKS Pod Identity): the IAM role stays the
model's, limited to its prefixes (`artifacts.s3_read_policy`), and the mount is limited to the prefix as well
(`prefix` option). The local cache is an emptyDir of the Mountpoint pod sized for the model (`cache: emptyDir`).
"""

from __future__ import annotations

from typing import Any, Optional, cast

import pulumi
import pulumi_kubernetes as k8s

from ..config import PlatformConfig
from ..config.models import Artifact
from .k8s import meta

CSI_DRIVER = "s3.csi.aws.com"
#: The PV capacity is required by Kubernetes and ignored by the driver (docs/CONFIGURATION.md).
NOMINAL_CAPACITY = "1Gi"
#: Extra seconds per GiB of weights when a replica reads them through Mountpoint instead of a local copy. A g5/g6
#: node reads from S3 at well above 500 MB/s with Mountpoint's parallel ranged GETs; budgeting 5 s/GiB (~200 MB/s)
#: leaves room for a cold node cache and throttled networks. The download path it replaces cost the same bytes
#: before the container even started (outside the startup probe).
MOUNT_READ_SECONDS_PER_GIB = 5


def volume_names(namespace: str, workload: str) -> tuple[str, str]:
    """(PersistentVolume name, PersistentVolumeClaim name) of a track's mounted weights."""
    return f"{namespace}-{workload}-weights", f"{workload}-weights"


def persistent_volume_spec(artifact: Artifact, cfg: PlatformConfig, namespace: str, workload: str) -> dict[str, Any]:
    bucket, prefix = artifact.s3_location()
    pv, pvc = volume_names(namespace, workload)
    options = [
        # Only the model's prefix is visible; a trailing `/` so `.../v1` does not also expose `.../v12`.
        f"prefix {prefix}/",
        # A version's objects never change: cache listings and attributes for the life of the mount.
        "metadata-ttl indefinite",
    ]
    if cfg.cluster.mode == "eks":
        options.insert(0, f"region {cfg.cluster.eks.region}")
    return {
        "capacity": {"storage": NOMINAL_CAPACITY},
        "accessModes": ["ReadOnlyMany"],
        "persistentVolumeReclaimPolicy": "Retain",  # deleting the PV never touches the bucket; Retain says so
        "storageClassName": "",
        "claimRef": {"namespace": namespace, "name": pvc},
        "mountOptions": options,
        "csi": {
            "driver": CSI_DRIVER,
            "volumeHandle": pv,
            "readOnly": True,
            "volumeAttributes": {
                "bucketName": bucket,
                "authenticationSource": "pod",
                "cache": "emptyDir",
                "cacheEmptyDirSizeLimit": f"{artifact.cache_size_gi}Gi",
            },
        },
    }


def persistent_volume_claim_spec(namespace: str, workload: str) -> dict[str, Any]:
    pv, _ = volume_names(namespace, workload)
    return {
        "accessModes": ["ReadOnlyMany"],
        "storageClassName": "",
        "volumeName": pv,
        "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
    }


def pod_volume(volume_name: str, namespace: str, workload: str) -> dict[str, Any]:
    _, pvc = volume_names(namespace, workload)
    return {"name": volume_name, "persistentVolumeClaim": {"claimName": pvc, "readOnly": True}}


def shared_weights(
    name: str, artifact: Artifact, cfg: PlatformConfig, namespace: str, workload: str, labels: dict[str, str],
    opts: pulumi.ResourceOptions, depends_on: Optional[list[pulumi.Resource]] = None,
) -> k8s.core.v1.PersistentVolumeClaim:
    """The PV and PVC of one track's mounted weights. `depends_on`: the model's pod identity association (Mountpoint
    authenticates as the pod's ServiceAccount)."""
    pv_name, pvc_name = volume_names(namespace, workload)
    pv = k8s.core.v1.PersistentVolume(
        f"{name}-weights-pv",
        metadata=meta(pv_name, labels=labels),
        # Kubernetes JSON (camelCase keys, passed through unchanged) cast to the SDK's TypedDict.
        spec=cast(k8s.core.v1.PersistentVolumeSpecArgsDict, persistent_volume_spec(artifact, cfg, namespace, workload)),
        opts=opts,
    )
    return k8s.core.v1.PersistentVolumeClaim(
        f"{name}-weights",
        metadata=meta(pvc_name, namespace, labels),
        spec=cast(k8s.core.v1.PersistentVolumeClaimSpecArgsDict, persistent_volume_claim_spec(namespace, workload)),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[pv, *(depends_on or [])])),
    )
