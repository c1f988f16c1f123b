"""Optional outputs of pulumi-aws the program reads: a clear error when AWS reports none, not a TypeError on None."""

from __future__ import annotations

import pulumi_aws as aws
import pytest

from serving.components.cluster import oidc_issuer
from serving.components.nodepools import autoscaling_group_name

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"


def test_the_oidc_issuer_is_read_from_the_cluster_identity() -> None:
    identities = [aws.eks.outputs.ClusterIdentity(oidcs=[aws.eks.outputs.ClusterIdentityOidc(issuer=ISSUER)])]
    assert oidc_issuer("dev", identities) == ISSUER


@pytest.mark.parametrize("identities", [None, [], [aws.eks.outputs.ClusterIdentity(oidcs=None)]])
def test_a_cluster_without_oidc_issuer_is_a_clear_error(identities: list | None) -> None:
    with pytest.raises(ValueError, match="EKS cluster dev reports no OIDC issuer"):
        oidc_issuer("dev", identities)


def test_the_node_groups_auto_scaling_group_is_read_from_its_resources() -> None:
    resources = [aws.eks.outputs.NodeGroupResource(
        autoscaling_groups=[aws.eks.outputs.NodeGroupResourceAutoscalingGroup(name="eks-gpu-1234")])]
    assert autoscaling_group_name("dev-gpu", resources) == "eks-gpu-1234"


@pytest.mark.parametrize("resources", [None, [], [aws.eks.outputs.NodeGroupResource(autoscaling_groups=None)]])
def test_a_node_group_without_auto_scaling_group_is_a_clear_error(resources: list | None) -> None:
    with pytest.raises(ValueError, match="EKS node group dev-gpu reports no Auto Scaling group"):
        autoscaling_group_name("dev-gpu", resources)
