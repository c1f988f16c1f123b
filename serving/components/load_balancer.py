"""AWS Load Balancer Controller: turns the gateway's `LoadBalancer` Service into an AWS Network Load Balancer.

Why the controller and not the Service annotations alone: without it, EKS's built-in (legacy "in-tree") service
controller handles `LoadBalancer` Services; it only receives critical fixes, registers node ports (instance targets)
instead of pods, and ignores the `aws-load-balancer-scheme`/`-nlb-target-type` annotations. AWS recommends the
controller for NLBs (https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html). The gateway's
Service sets `loadBalancerClass: service.k8s.aws/nlb`, so only this controller acts on it.

Credentials come from EKS Pod Identity (`components/iam.py`), with the policy of the controller's install guide
(`catalog/aws_policies.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import pulumi

from .. import conventions as cv
from ..catalog import charts
from ..catalog.aws_policies import aws_load_balancer_controller_policy
from .helm import chart_release
from .iam import pod_identity_role

if TYPE_CHECKING:
    from .cluster import Cluster

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
#: The class the controller owns (chart value `loadBalancerClass` default, https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/nlb/).
LOAD_BALANCER_CLASS = "service.k8s.aws/nlb"


def controller_values(cluster_name: Any, region: str, vpc_id: Any) -> dict[str, Any]:
    return {
        "clusterName": cluster_name,
        # Region and VPC are given: with IMDSv2 limited to the node (hop limit 1) pods cannot look them up.
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        # The platform uses the Gateway API, not Ingress: no IngressClass.
        "createIngressClassResource": False,
        # VPC CNI gives pods VPC addresses: NLB targets are the Envoy pods themselves.
        "defaultTargetType": "ip",
        "serviceMonitor": {"enabled": True, "additionalLabels": dict(cv.MONITORING_SELECTOR)},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        # The chart's defaults (read-only root, non-root, no escalation) plus no capabilities and RuntimeDefault
        # seccomp (Pod Security restricted).
        "podSecurityContext": {"fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }


class AwsLoadBalancerController(pulumi.ComponentResource):
    """`serving:load_balancer:AwsLoadBalancerController` (EKS only)."""

    def __init__(self, name: str, cluster: "Cluster", depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        # Its first token was `serving:gateway:...`; the alias keeps stacks created with it from replacing it.
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="serving:gateway:AwsLoadBalancerController")])
        )
        super().__init__("serving:load_balancer:AwsLoadBalancerController", name, None, opts)
        assert cluster.eks_cluster is not None
        identity = pod_identity_role(
            f"{name}-identity", cluster, NAMESPACE, SERVICE_ACCOUNT,
            policy_json=aws_load_balancer_controller_policy(), parent=self,
        )
        self.release = chart_release(
            f"{name}-release",
            charts.AWS_LOAD_BALANCER_CONTROLLER,
            NAMESPACE,
            controller_values(cluster.eks_cluster.name, cluster.cfg.cluster.eks.region, cluster.vpc.id),
            pulumi.ResourceOptions(parent=self, provider=cluster.k8s_provider, depends_on=[identity.association, *depends_on]),
            release_name="aws-load-balancer-controller",
            create_namespace=False,
        )
        self.register_outputs({"release": self.release.name, "roleArn": identity.role_arn})
