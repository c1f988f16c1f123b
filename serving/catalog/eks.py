"""EKS facts the cluster is built from: pinned managed add-on versions, cluster-autoscaler images, log types.

Add-on versions are pinned per Kubernetes minor version, so an upgrade of the control plane is one reviewed change
(the stack's `kubernetesVersion`) that moves every add-on with it. A stack can override single add-on versions with
`cluster.eks.addonVersions` (e.g. to take an `eksbuild` patch before this table is updated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

#: Tolerates every taint (`operator: Exists` with no key): the pod runs on every node, GPU nodes included.
TOLERATE_ALL: tuple[dict[str, str], ...] = ({"operator": "Exists"},)
LINUX = {"kubernetes.io/os": "linux"}


@dataclass(frozen=True)
class AddonWorkload:
    """A workload a managed add-on runs. AWS creates it, so the plan never sees it; `serving check` (placement and
    capacity) counts it from these facts: a DaemonSet's pod on every node it tolerates, a Deployment's replicas
    (plus the rollout surge) on the pools it can run on."""

    kind: str  # "DaemonSet" or "Deployment"
    name: str
    #: (container, CPU request, memory request) per container ("" where the manifest requests none).
    containers: tuple[tuple[str, str, str], ...]
    priority_class: str
    tolerations: tuple[dict[str, Any], ...] = TOLERATE_ALL
    node_selector: Mapping[str, str] = field(default_factory=lambda: dict(LINUX))
    replicas: int = 1
    #: Where this workload's block sits in the add-on's configuration values (`()`: top level; None: no block). Its
    #: `nodeSelector` adds to `node_selector`, its `tolerations` replace `tolerations` (Helm list values replace),
    #: `tolerateAllTaints: true` means TOLERATE_ALL (false: only the block's `tolerations`) and `replicaCount` sets
    #: `replicas`.
    config_path: Optional[tuple[str, ...]] = None
    #: DaemonSets only: the pods on a node that need this one there. "*": every pod (node networking);
    #: a CSI driver name: pods with a volume of that driver (its node plugin mounts it).
    needed_by: Optional[str] = None


#: Managed add-ons the platform installs. `before_compute`: installed before any node group exists (nodes need the
#: CNI, kube-proxy and the pod identity agent to become Ready); the others run Deployments and need nodes first.
#: `workloads`: what each runs, read at version `read_at` (tests/test_check_placement.py holds ADDON_VERSIONS to it:
#: moving an add-on to a new upstream version means reading its manifests again).
@dataclass(frozen=True)
class AddonSpec:
    name: str
    before_compute: bool
    read_at: str = ""
    workloads: tuple[AddonWorkload, ...] = ()


# vpc-cni: aws/amazon-vpc-cni-k8s charts/aws-vpc-cni at tag v1.21.1 (values.yaml, templates/daemonset.yaml, rendered
# with `enableNetworkPolicy: true` as the platform sets it): DaemonSet aws-node, containers aws-node and
# aws-eks-nodeagent (the network policy agent, rendered whatever the flag) at 25m CPU each, init container
# aws-vpc-cni-init 25m; `tolerations: [{operator: Exists}]`, system-node-critical, hostNetwork (a pod slot all the
# same: the kubelet's max-pods counts every pod). The EKS build's manifest itself is not verifiable offline.
VPC_CNI = AddonSpec("vpc-cni", before_compute=True, read_at="v1.21.1", workloads=(
    AddonWorkload("DaemonSet", "aws-node", (("aws-node", "25m", ""), ("aws-eks-nodeagent", "25m", "")),
                  "system-node-critical", needed_by="*"),
))
# kube-proxy: DaemonSet kube-proxy, one container requesting 100m CPU and no memory, `tolerations: [{operator:
# Exists}]`, system-node-critical, hostNetwork. From the EKS kube-proxy DaemonSet as dumped from EKS clusters in
# public material (the add-on's manifest is not published as source); NOT verifiable offline at v1.34.1-eksbuild.2.
KUBE_PROXY = AddonSpec("kube-proxy", before_compute=True, read_at="v1.34.1", workloads=(
    AddonWorkload("DaemonSet", "kube-proxy", (("kube-proxy", "100m", ""),), "system-node-critical", needed_by="*"),
))
# eks-pod-identity-agent: aws/eks-pod-identity-agent charts/eks-pod-identity-agent (chart 1.2.0, newest in a
# snapshot of 2026-03-17): DaemonSet eks-pod-identity-agent, `resources: {}` (no requests: a pod slot only),
# `tolerations: [{operator: Exists}]`, system-node-critical, hostNetwork. The chart's version does not follow the
# add-on's (v1.3.10-eksbuild.2): that the add-on keeps the chart's empty requests is not verifiable offline.
POD_IDENTITY_AGENT = AddonSpec("eks-pod-identity-agent", before_compute=True, read_at="v1.3.10", workloads=(
    AddonWorkload("DaemonSet", "eks-pod-identity-agent", (("eks-pod-identity-agent", "", ""),), "system-node-critical"),
))
# coredns: Deployment coredns, 2 replicas (EKS user guide, managing-coredns: "two replicas ... by default"), one
# container at 100m CPU / 70Mi (limit 170Mi), tolerations CriticalAddonsOnly and control-plane NoSchedule only (no
# custom taint), system-cluster-critical, rolling update maxSurge 25%: from eksctl's copy of the EKS 1.34 default
# manifest (eksctl-io/eksctl pkg/addons/default/assets/coredns-1.34.json, image v1.13.2-eksbuild.19; the same
# requests in every earlier minor's copy). The v1.12.4-eksbuild.1 build itself is not verifiable offline. The
# add-on's `nodeSelector`/`tolerations` (components/cluster.py) put it on the system pool.
COREDNS = AddonSpec("coredns", before_compute=False, read_at="v1.12.4", workloads=(
    AddonWorkload("Deployment", "coredns", (("coredns", "100m", "70Mi"),), "system-cluster-critical", replicas=2,
                  tolerations=({"key": "CriticalAddonsOnly", "operator": "Exists"},
                               {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}),
                  config_path=()),
))
# aws-ebs-csi-driver: kubernetes-sigs/aws-ebs-csi-driver charts/aws-ebs-csi-driver 2.54.0 (appVersion 1.54.0, tag
# helm-chart-aws-ebs-csi-driver-2.54.0), rendered with the platform's configuration values:
# - Deployment ebs-csi-controller, `controller.replicaCount: 2`, containers ebs-plugin, csi-provisioner,
#   csi-attacher, csi-resizer, liveness-probe at 10m / 40Mi each (sidecars default to `controller.resources`; the
#   snapshotter is off without the snapshot CRDs), tolerations CriticalAddonsOnly and NoExecute (300 s) only,
#   system-cluster-critical; maxUnavailable 1 and the default 25% surge;
# - DaemonSet ebs-csi-node, containers ebs-plugin, node-driver-registrar, liveness-probe at 10m / 40Mi each,
#   `node.tolerateAllTaints: true` (the chart's default, and set by the platform) -> every taint, system-node-critical;
# - DaemonSet ebs-csi-node-windows selects `kubernetes.io/os: windows`: no pool has such nodes, zero pods (left out).
# That the EKS build v1.54.0-eksbuild.1 keeps the chart's defaults is not verifiable offline.
_EBS_CONTAINER = ("10m", "40Mi")
EBS_CSI_DRIVER = AddonSpec("aws-ebs-csi-driver", before_compute=False, read_at="v1.54.0", workloads=(
    AddonWorkload("Deployment", "ebs-csi-controller",
                  tuple((c, *_EBS_CONTAINER) for c in ("ebs-plugin", "csi-provisioner", "csi-attacher", "csi-resizer",
                                                       "liveness-probe")),
                  "system-cluster-critical", replicas=2,
                  tolerations=({"key": "CriticalAddonsOnly", "operator": "Exists"},
                               {"effect": "NoExecute", "operator": "Exists", "tolerationSeconds": 300}),
                  config_path=("controller",)),
    AddonWorkload("DaemonSet", "ebs-csi-node",
                  tuple((c, *_EBS_CONTAINER) for c in ("ebs-plugin", "node-driver-registrar", "liveness-probe")),
                  "system-node-critical", config_path=("node",), needed_by="ebs.csi.aws.com"),
))
#: Mountpoint for Amazon S3 CSI driver v2: LLM replicas mount their weights from S3 (`components/shared_weights.py`).
# awslabs/mountpoint-s3-csi-driver charts/aws-mountpoint-s3-csi-driver 2.7.0 (tag v2.7.0), default values (the
# platform passes none: the add-on's configuration schema is not verifiable offline, containers-roadmap #2363):
# - DaemonSet s3-csi-node, containers s3-plugin, node-driver-registrar, liveness-probe at 10m / 40Mi each (sidecars
#   default to `node.resources`), `node.tolerateAllTaints: true` by default -> runs on GPU nodes, system-node-critical;
# - Deployment s3-csi-controller, 1 replica, no requests, NO tolerations (the chart's template: "TODO: Should we add
#   some default tolerations for controller?"): it runs on untainted pools only, system-cluster-critical.
# Not counted: the Mountpoint Pods the controller creates in `mount-s3` (one per node and shared volume, next to
# the workload that mounts it): no requests unless the volume asks for them (pkg/podmounter/mppod/creator.go),
# a pod slot each. That the EKS build v2.7.0-eksbuild.1 keeps the chart's defaults is not verifiable offline.
MOUNTPOINT_S3_CSI_DRIVER = AddonSpec("aws-mountpoint-s3-csi-driver", before_compute=False, read_at="v2.7.0", workloads=(
    AddonWorkload("DaemonSet", "s3-csi-node",
                  tuple((c, "10m", "40Mi") for c in ("s3-plugin", "node-driver-registrar", "liveness-probe")),
                  "system-node-critical", config_path=("node",), needed_by="s3.csi.aws.com"),
    AddonWorkload("Deployment", "s3-csi-controller", (("s3-csi-controller", "", ""),), "system-cluster-critical",
                  tolerations=(), config_path=("controller",)),
))
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
