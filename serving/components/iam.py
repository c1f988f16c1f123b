"""IAM for pods through EKS Pod Identity: one role per Kubernetes service account.

`pod_identity_role(...)` is what every component that needs AWS from a pod calls (the EBS CSI driver, the
cluster-autoscaler, model pods reading S3, log shippers, cert-manager for Route 53): an IAM role only
`pods.eks.amazonaws.com` can assume, only for this cluster and account, its permissions, and the
PodIdentityAssociation binding it to `namespace/service_account`. The eks-pod-identity-agent add-on (installed by
`Cluster` before any node) hands the credentials to the pod; no OIDC provider or service-account annotation is needed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from .cluster import Cluster

#: The service principal of EKS Pod Identity (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def assume_role_policy(service: str, tag_session: bool = False) -> str:
    """Trust policy letting an AWS service principal assume a role (e.g. eks.amazonaws.com, ec2.amazonaws.com)."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}]},
        sort_keys=True,
    )


def pod_identity_trust_policy(account_id: str, cluster_name: str, namespace: str, service_account: str) -> str:
    """Trust policy of a pod identity role: the EKS Pod Identity service, only for this account, cluster, namespace
    and service account. The conditions use the session tags Pod Identity adds to every AssumeRole
    (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html), as the pod-id-role page shows."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
                    "Effect": "Allow",
                    "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {
                            "aws:SourceAccount": account_id,
                            "aws:RequestTag/eks-cluster-name": cluster_name,
                            "aws:RequestTag/kubernetes-namespace": namespace,
                            "aws:RequestTag/kubernetes-service-account": service_account,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


@dataclass
class PodIdentity:
    role: aws.iam.Role
    association: aws.eks.PodIdentityAssociation

    @property
    def role_arn(self) -> pulumi.Output[str]:
        return self.role.arn


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def pod_identity_role(
    name: str,
    cluster: "Cluster",
    namespace: str,
    service_account: str,
    *,
    policy_json: Optional[pulumi.Input[str]] = None,
    managed_policy_arns: Sequence[str] = (),
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> PodIdentity:
    """An IAM role for `namespace/service_account` on the EKS cluster, with an inline policy (`policy_json`) and/or
    AWS managed policies, bound by a PodIdentityAssociation. Resources are named `<name>-role`, `<name>-policy`,
    `<name>-<managed policy>` and `<name>-association`, children of `parent`, on the cluster's AWS provider.
    Only valid for `cluster.mode == "eks"` (an existing cluster has no pod identity agent we manage)."""
    if cluster.eks_cluster is None or cluster.aws_provider is None:
        raise ValueError("pod_identity_role needs an EKS cluster (cluster.mode 'eks')")
    opts = pulumi.ResourceOptions(parent=parent, provider=cluster.aws_provider)
    trust = pulumi.Output.all(cluster.account_id, cluster.eks_cluster.name).apply(
        lambda a: pod_identity_trust_policy(a[0], a[1], namespace, service_account)
    )
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=trust,
        description=f"Pod identity of {namespace}/{service_account} on EKS cluster {cluster.cfg.cluster.name}",
        opts=opts,
    )
    grants: list[pulumi.Resource] = []
    if policy_json is not None:
        grants.append(aws.iam.RolePolicy(f"{name}-policy", role=role.name, policy=policy_json, opts=opts))
    for arn in managed_policy_arns:
        grants.append(
            aws.iam.RolePolicyAttachment(f"{name}-{_slug(arn.rsplit('/', 1)[-1])}", role=role.name, policy_arn=arn, opts=opts)
        )
    association = aws.eks.PodIdentityAssociation(
        f"{name}-association",
        cluster_name=cluster.eks_cluster.name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[*grants, *depends_on, *cluster.pod_identity_ready])
        ),
    )
    return PodIdentity(role=role, association=association)
