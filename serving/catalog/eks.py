"""EKS facts the cluster is built from: pinned managed add-on versions, cluster-autoscaler images, log types.

Add-on versions are pinned per Kubernetes minor version, so an upgrade of the control plane is one reviewed change
(the stack's `kubernetesVersion`) that moves every add-on with it. A stack can override single add-on versions with
`cluster.eks.addonVersions` (e.g. to take an `eksbuild` patch before this table is updated).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Managed add-ons the platform installs. `before_compute`: installed before any node group exists (nodes need the
#: CNI, kube-proxy and the pod identity agent to become Ready); the others run Deployments and need nodes first.
@dataclass(frozen=True)
class AddonSpec:
    name: str
    before_compute: bool


VPC_CNI = AddonSpec("vpc-cni", before_compute=True)
KUBE_PROXY = AddonSpec("kube-proxy", before_compute=True)
POD_IDENTITY_AGENT = AddonSpec("eks-pod-identity-agent", before_compute=True)
COREDNS = AddonSpec("coredns", before_compute=False)
EBS_CSI_DRIVER = AddonSpec("aws-ebs-csi-driver", before_compute=False)
#: Mountpoint for Amazon S3 CSI driver v2: LLM replicas mount their weights from S3 (`components/shared_weights.py`).
MOUNTPOINT_S3_CSI_DRIVER = AddonSpec("aws-mountpoint-s3-csi-driver", before_compute=False)
ADDONS = (VPC_CNI, KUBE_PROXY, POD_IDENTITY_AGENT, COREDNS, EBS_CSI_DRIVER, MOUNTPOINT_S3_CSI_DRIVER)

#: Kubernetes minor -> add-on name -> version. Checked offline (no `aws eks describe-addon-versions` here), Nov 2026:
#: - kube-proxy v1.34.1-eksbuild.2 and coredns v1.12.4-eksbuild.1: the 1.34 rows of the EKS user guide's version
#:   tables (managing-kube-proxy.html, managing-coredns.html; later revisions list newer coredns builds, e.g.
#:   v1.13.2-eksbuild.4, older builds stay installable);
#: - vpc-cni v1.21.1-eksbuild.1, eks-pod-identity-agent v1.3.10-eksbuild.2, aws-ebs-csi-driver v1.54.0-eksbuild.1:
#:   not in a doc table; seen pinned together with kube-proxy v1.34.1-eksbuild.2 in public EKS 1.34 configurations
#:   (Terraform/CDK), i.e. they existed for 1.34, but whether each is still offered is not verifiable offline.
#: - aws-mountpoint-s3-csi-driver v2.7.0-eksbuild.1: the driver's newest release in a snapshot of
#:   awslabs/mountpoint-s3-csi-driver (tag v2.7.0, 2026-06-11; chart 2.7.0, `kubeVersion >=1.30`); the add-on build
#:   suffix is not verifiable offline. v2 is needed: pod-level credentials with EKS Pod Identity, Mountpoint Pod
#:   sharing and the `cache: emptyDir` volume attribute.
#: Before a real `pulumi up`, confirm with `aws eks describe-addon-versions --kubernetes-version 1.34 --addon-name
#: <name>`; bump them the same way when moving the control plane.
ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.21.1-eksbuild.1",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.2",
        "coredns": "v1.12.4-eksbuild.1",
        "aws-ebs-csi-driver": "v1.54.0-eksbuild.1",
        "aws-mountpoint-s3-csi-driver": "v2.7.0-eksbuild.1",
    },
}

#: cluster-autoscaler must match the cluster's Kubernetes minor version (its README: "use the matching minor
#: release"). Kubernetes minor -> image tag: the newest `cluster-autoscaler-1.3x.y` release tag of each minor in
#: kubernetes/autoscaler (checked in a snapshot of 2026-08-22: 1.33.6, 1.34.5, 1.35.2, all tagged 2026-07-22).
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_TAGS: dict[str, str] = {
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
}

#: Every control-plane log type (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

#: AMI types (EKS `amiType`) per pool kind. https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html
SYSTEM_AMI_TYPES = ("AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64")
GPU_AMI_TYPES = ("AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA")


def is_bottlerocket(ami_type: str) -> bool:
    return ami_type.startswith("BOTTLEROCKET")


def root_device(ami_type: str) -> str:
    """The block device that holds images and pod data: Bottlerocket keeps the OS on /dev/xvda and containers on the
    data volume /dev/xvdb (https://bottlerocket.dev/en/os/latest/concepts/); AL2023 uses /dev/xvda for both."""
    return "/dev/xvdb" if is_bottlerocket(ami_type) else "/dev/xvda"


def addon_versions(kubernetes_version: str, overrides: dict[str, str]) -> dict[str, str]:
    """The pinned version of every add-on for a control-plane version; KeyError if one is missing."""
    table = dict(ADDON_VERSIONS.get(kubernetes_version, {}))
    table.update(overrides)
    missing = [a.name for a in ADDONS if a.name not in table]
    if missing:
        raise KeyError(", ".join(missing))
    return {a.name: table[a.name] for a in ADDONS}
