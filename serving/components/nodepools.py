"""Node pools: the system (CPU) pool and the GPU pools, as EKS managed node groups with launch templates.

Labels and taints come from `serving.conventions` (`pool_labels` / `pool_taints`), the same place serving pods take
their node selectors and tolerations from. On an existing cluster no AWS resource is created: the component only
reports the labels and taints each pool's nodes must already carry.

Per pool on EKS:
- a launch template: IMDSv2 required with a hop limit of 1 (pods cannot reach the node's instance role; they use
  pod identity), an encrypted gp3 root (AL2023) or data (Bottlerocket) volume of `diskSizeGib`, no SSH key, and for a
  time-sliced Bottlerocket pool the device plugin settings as Bottlerocket user data;
- a managed node group in the private subnets, with node auto repair (`autoRepair`, on by default), autonamed: a
  change that replaces it (instance types, capacity type, AMI type) creates the new group before the old one is
  deleted, so the pool never drops to zero nodes first; the autoscaler owns `desiredSize` (`ignore_changes`);
- the cluster-autoscaler node-template tags on the group's Auto Scaling group (labels, taints, GPUs), which is how
  the autoscaler knows a pool at zero nodes can run a pending GPU pod.
"""

from __future__ import annotations

import base64
import functools
import re
from typing import TYPE_CHECKING, Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from .. import conventions
from ..catalog import eks as eks_catalog
from ..config import PlatformConfig
from ..config.cluster import GpuPoolConfig, NodePoolConfig, autoscaler_enabled

from .iam import assume_role_policy

if TYPE_CHECKING:
    from .cluster import Cluster

#: EKS node-group taint effects use the EKS API spelling.
_EKS_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
)

#: Prefix of cluster-autoscaler's node-template ASG tags (cloudprovider/aws/README.md, "Auto-Discovery Setup").
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


def autoscaler_node_template_tags(pool: NodePoolConfig) -> dict[str, str]:
    """The ASG tags telling cluster-autoscaler what a node of `pool` will look like before one exists: every label,
    every taint (`<value>:<effect>`), the GPUs it advertises and its ephemeral storage."""
    tags = {f"{NODE_TEMPLATE}/label/{key}": value for key, value in conventions.pool_labels(pool).items()}
    for taint in conventions.pool_taints(pool):
        tags[f"{NODE_TEMPLATE}/taint/{taint.key}"] = f"{taint.value}:{taint.effect}"
    if isinstance(pool, GpuPoolConfig):  # `nvidia.com/gpu`, and the MIG devices of a MIG mixed pool
        for resource, count in conventions.pool_gpu_resources(pool).items():
            tags[f"{NODE_TEMPLATE}/resources/{resource}"] = str(count)
    tags[f"{NODE_TEMPLATE}/resources/ephemeral-storage"] = f"{pool.disk_size_gib}Gi"
    return tags


def bottlerocket_user_data(pool: NodePoolConfig) -> Optional[str]:
    """Bottlerocket settings (TOML, merged by EKS with its own) for a time-sliced Bottlerocket GPU pool: its built-in
    NVIDIA device plugin does the time-slicing (https://bottlerocket.dev/en/os/1.54.x/api/settings/kubelet-device-plugins/)."""
    if not (isinstance(pool, GpuPoolConfig) and eks_catalog.is_bottlerocket(pool.ami_type) and pool.time_slicing):
        return None
    toml = (
        "[settings.kubelet-device-plugins.nvidia]\n"
        'device-sharing-strategy = "time-slicing"\n'
        "\n"
        "[settings.kubelet-device-plugins.nvidia.time-slicing]\n"
        f"replicas = {pool.time_slicing.replicas}\n"
        "rename-by-default = false\n"
        "fail-requests-greater-than-one = true\n"
    )
    return base64.b64encode(toml.encode()).decode()


def expected_node_setup(pool: NodePoolConfig) -> dict[str, Any]:
    """What every node of the pool carries (reported for existing clusters, where nodes are labelled by hand)."""
    out: dict[str, Any] = {
        "labels": conventions.pool_labels(pool),
        "taints": [f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in conventions.pool_taints(pool)],
    }
    if isinstance(pool, GpuPoolConfig):
        out["gpusPerNode"] = pool.gpus_per_node
        out["allocatableGpusPerNode"] = pool.allocatable_gpus_per_node
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class NodePools(pulumi.ComponentResource):
    """`serving:nodepools:NodePools`: every pool of the platform."""

    def __init__(self, name: str, cfg: PlatformConfig, cluster: "Cluster", opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:nodepools:NodePools", name, None, opts)
        self.cfg = cfg
        self.node_groups: dict[str, aws.eks.NodeGroup] = {}
        self.launch_templates: dict[str, aws.ec2.LaunchTemplate] = {}
        self.node_role: Optional[aws.iam.Role] = None
        if cluster.eks_cluster is not None:
            self._eks(name, cluster)
        self.expected = {pool.name: expected_node_setup(pool) for pool in cfg.node_pools.all}
        self.register_outputs({"pools": self.expected})

    def _eks(self, name: str, cluster: "Cluster") -> None:
        cfg = self.cfg
        eks_cluster = cluster.eks_cluster
        assert eks_cluster is not None
        child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        cluster_name = cfg.cluster.name
        # One node role for every pool. EKS creates the EC2_LINUX access entry of a managed node group's role
        # itself (authentication mode API), so there is no aws-auth entry and no access entry to manage here.
        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            description=f"Nodes of EKS cluster {cluster_name}",
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{arn.rsplit('/', 1)[1]}", role=self.node_role.name, policy_arn=arn, opts=child
            )
            for arn in _NODE_POLICIES
        ]
        # Nodes need the CNI, kube-proxy and the pod identity agent to become Ready.
        before_compute = [a for n, a in cluster.addons.items()]
        tag_asgs = autoscaler_enabled(cfg)
        for pool in cfg.node_pools.all:
            ami_type = pool.ami_type  # type: ignore[attr-defined]
            pool_tags = {"Name": f"{cluster_name}-{pool.name}", conventions.POOL_LABEL: pool.name}
            lt = aws.ec2.LaunchTemplate(
                f"{name}-{pool.name}",
                description=f"Node pool {pool.name} of EKS cluster {cluster_name}",
                update_default_version=True,
                metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                    http_endpoint="enabled",
                    http_tokens="required",
                    http_put_response_hop_limit=1,
                    instance_metadata_tags="disabled",
                ),
                block_device_mappings=[
                    aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                        device_name=eks_catalog.root_device(ami_type),
                        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                            volume_size=pool.disk_size_gib,
                            volume_type="gp3",
                            encrypted="true",
                            delete_on_termination="true",
                        ),
                    )
                ],
                user_data=bottlerocket_user_data(pool),
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=pool_tags)
                    for kind in ("instance", "volume", "network-interface")
                ],
                tags=pool_tags,
                opts=child,
            )
            self.launch_templates[pool.name] = lt
            group = aws.eks.NodeGroup(
                f"{name}-{pool.name}",
                # No node_group_name: autonamed, so a replacement is created before the old group is deleted.
                cluster_name=eks_cluster.name,
                node_role_arn=self.node_role.arn,
                subnet_ids=[s.id for s in cluster.private_subnets],
                instance_types=list(pool.instance_types),
                capacity_type=pool.capacity_type.upper().replace("-", "_"),
                ami_type=ami_type,
                version=cfg.cluster.eks.kubernetes_version,
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=lt.id, version=lt.latest_version.apply(lambda v: str(int(v)))
                ),
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=pool.min_size, max_size=pool.max_size, desired_size=pool.initial_size
                ),
                labels=conventions.pool_labels(pool),
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=_EKS_EFFECT[t.effect])
                    for t in conventions.pool_taints(pool)
                ],
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                # Always explicit (also when off), so switching it is an in-place update in the diff.
                node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=pool.auto_repair),
                tags=pool_tags,
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[*attachments, *before_compute],
                        # The autoscaler owns the current size; a diff must not fight it.
                        ignore_changes=["scalingConfig.desiredSize"],
                    ),
                ),
            )
            self.node_groups[pool.name] = group
            if tag_asgs:
                asg_name = group.resources.apply(functools.partial(autoscaling_group_name, f"{name}-{pool.name}"))
                for key, value in autoscaler_node_template_tags(pool).items():
                    aws.autoscaling.Tag(
                        f"{name}-{pool.name}-ca-{_slug(key.removeprefix(NODE_TEMPLATE + '/'))}",
                        autoscaling_group_name=asg_name,
                        tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                        opts=child,
                    )


def autoscaling_group_name(group: str, resources: Optional[Sequence[aws.eks.outputs.NodeGroupResource]]) -> str:
    """The Auto Scaling group behind the EKS managed node group `group` (EKS reports it once the group exists)."""
    names = [asg.name for r in resources or [] for asg in r.autoscaling_groups or [] if asg.name]
    if not names:
        raise ValueError(f"EKS node group {group} reports no Auto Scaling group to tag (resources: {resources!r})")
    return names[0]
