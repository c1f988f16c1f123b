"""Node pools: the system (CPU) pool and the GPU pools, as EKS managed node groups.

Labels and taints come from `serving.conventions`, the same place serving pods take their selectors and
tolerations from. On an existing cluster no AWS resource is created: the pools describe the labels and taints
the existing nodes are expected to carry.
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws

from .. import conventions
from ..config import PlatformConfig
from .cluster import Cluster

#: EKS node-group taint effects use the EKS API spelling.
_EKS_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
)


class NodePools(pulumi.ComponentResource):
    """`serving:nodepools:NodePools`: every pool of the platform."""

    def __init__(self, name: str, cfg: PlatformConfig, cluster: Cluster, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:nodepools:NodePools", name, None, opts)
        self.node_groups: dict[str, aws.eks.NodeGroup] = {}
        if cluster.eks_cluster is not None:
            child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
            role = aws.iam.Role(
                f"{name}-node-role",
                assume_role_policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                        ],
                    }
                ),
                opts=child,
            )
            attachments = [
                aws.iam.RolePolicyAttachment(f"{name}-node-{arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=arn, opts=child)
                for arn in _NODE_POLICIES
            ]
            access = aws.eks.AccessEntry(
                f"{name}-node-access", cluster_name=cluster.eks_cluster.name, principal_arn=role.arn, type="EC2_LINUX", opts=child
            )
            for pool in [cfg.node_pools.system, *cfg.node_pools.gpu]:
                self.node_groups[pool.name] = aws.eks.NodeGroup(
                    f"{name}-{pool.name}",
                    cluster_name=cluster.eks_cluster.name,
                    node_role_arn=role.arn,
                    subnet_ids=[s.id for s in cluster.private_subnets],
                    instance_types=pool.instance_types,
                    capacity_type=pool.capacity_type.upper().replace("-", "_"),
                    ami_type=pool.ami_type,
                    disk_size=pool.disk_size_gib,
                    scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                        min_size=pool.min_size, max_size=pool.max_size, desired_size=pool.initial_size
                    ),
                    labels=conventions.pool_labels(pool),
                    taints=[
                        aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=_EKS_EFFECT[t.effect])
                        for t in conventions.pool_taints(pool)
                    ],
                    update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                    opts=pulumi.ResourceOptions.merge(
                        child,
                        pulumi.ResourceOptions(
                            depends_on=[*attachments, access],
                            # The autoscaler owns the current size; a diff must not fight it.
                            ignore_changes=["scalingConfig.desiredSize"],
                        ),
                    ),
                )
        self.register_outputs({"pools": sorted(self.node_groups)})
