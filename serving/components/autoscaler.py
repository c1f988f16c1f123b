"""cluster-autoscaler: grows a node pool when pods are pending, including a GPU pool at zero nodes, and shrinks it.

Why cluster-autoscaler and not Karpenter: the pools are EKS managed node groups with config-owned min/max (prod
keeps a warm floor of GPU nodes; dev sits at zero), and cluster-autoscaler scales exactly those groups within those
bounds. Scale from zero works through the node-template tags `NodePools` puts on each group's Auto Scaling group
(labels, taints, `nvidia.com/gpu` count) and `eks:DescribeNodegroup`. Karpenter would replace the node groups by
its own NodePools (no minimum size, a second scaling model, plus an SQS interruption queue and EventBridge rules).

Wiring: an IAM role through EKS Pod Identity for `kube-system/cluster-autoscaler` (describe calls on everything,
scaling calls only on this cluster's groups), the chart pinned in serving/catalog/charts.py, the image matching the
control-plane minor version (serving/catalog/eks.py), auto-discovery by the tags EKS puts on managed node groups.
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi

from .. import conventions as cv
from ..catalog import charts
from ..catalog import eks as eks_catalog
from ..config import PlatformConfig
from .cluster import Cluster
from .helm import chart_release

SERVICE_ACCOUNT = "cluster-autoscaler"
RELEASE_NAME = "cluster-autoscaler"


def autoscaler_policy(cluster_name: str) -> str:
    """The "full features" policy of cloudprovider/aws/README.md, with the scaling actions limited to the Auto
    Scaling groups EKS tagged `k8s.io/cluster-autoscaler/<cluster>=owned` (this cluster's managed node groups)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Describe",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    # Describe/Get calls that IAM cannot limit to a resource (Service Authorization Reference:
                    # no resource type for these actions).
                    "Resource": "*",
                },
                {
                    "Sid": "DescribeOwnNodegroups",
                    "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup"],
                    "Resource": f"arn:aws:eks:*:*:nodegroup/{cluster_name}/*/*",
                },
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    # EKS names a managed node group's Auto Scaling group `eks-<nodegroup>-<uuid>`.
                    "Resource": "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/eks-*",
                    "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
                },
            ],
        },
        sort_keys=True,
    )


def autoscaler_values(cfg: PlatformConfig, region: str) -> dict:
    """Helm values of the cluster-autoscaler chart (keys checked against the chart's values.yaml in tests)."""
    system = cfg.node_pools.system
    opts = cfg.node_pools.autoscaler
    return {
        "cloudProvider": "aws",
        "awsRegion": region,  # AWS_REGION: no IMDS lookup (IMDS is closed to pods, hop limit 1)
        "autoDiscovery": {"clusterName": cfg.cluster.name},
        "fullnameOverride": RELEASE_NAME,
        "image": {
            "repository": eks_catalog.CLUSTER_AUTOSCALER_IMAGE,
            "tag": eks_catalog.CLUSTER_AUTOSCALER_TAGS[cfg.cluster.eks.kubernetes_version],
        },
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        "replicaCount": 1,  # leader election makes more replicas standbys only; one restarts quickly
        "nodeSelector": cv.pool_node_selector(system),
        "tolerations": cv.pool_tolerations(system),
        "priorityClassName": "system-cluster-critical",
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
        # Scraped by the platform's Prometheus: the chart's ServiceMonitor (templates/servicemonitor.yaml) carries
        # `serviceMonitor.selector` as its labels. Helm merges the chart's default `release: prometheus-operator`
        # into them (a null cannot remove it: Pulumi drops None values); Prometheus ignores it.
        "serviceMonitor": {"enabled": True, "namespace": cv.CLUSTER_AUTOSCALER_NAMESPACE,
                           "selector": dict(cv.MONITORING_SELECTOR)},
        # Flags (https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/FAQ.md).
        "customArgs": [
            f"--expander={opts.expander}",
            "--balance-similar-node-groups=true",
            # Model pods keep weights in emptyDir: without this a GPU node running one would never scale down.
            "--skip-nodes-with-local-storage=false",
            "--skip-nodes-with-system-pods=false",
            f"--scale-down-unneeded-time={opts.scale_down_unneeded_time}",
            f"--scale-down-delay-after-add={opts.scale_down_delay_after_add}",
            f"--max-node-provision-time={opts.max_node_provision_time}",
        ],
    }


def _depends_on(opts: Optional[pulumi.ResourceOptions]) -> list:
    deps = opts.depends_on if opts else None
    return [] if not deps else list(deps) if isinstance(deps, (list, tuple)) else [deps]


class ClusterAutoscaler(pulumi.ComponentResource):
    """`serving:autoscaler:ClusterAutoscaler`."""

    def __init__(self, name: str, cfg: PlatformConfig, cluster: Cluster, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:autoscaler:ClusterAutoscaler", name, None, opts)
        assert cluster.eks_cluster is not None and cluster.region is not None
        self.identity = cluster.pod_identity_role(
            name,
            cv.CLUSTER_AUTOSCALER_NAMESPACE,
            SERVICE_ACCOUNT,
            policy_json=autoscaler_policy(cfg.cluster.name),
            parent=self,
        )
        self.release = chart_release(
            f"{name}-release",
            charts.CLUSTER_AUTOSCALER,
            cv.CLUSTER_AUTOSCALER_NAMESPACE,
            autoscaler_values(cfg, cluster.region),
            pulumi.ResourceOptions(
                parent=self,
                provider=cluster.k8s_provider,
                # Credentials before the pod starts; node groups (and their template tags) before it scans them;
                # what the platform makes this component wait for (the ServiceMonitor CRD) passed on.
                depends_on=[self.identity.association, cluster.node_pools, *_depends_on(opts)],
            ),
            release_name=RELEASE_NAME,
            create_namespace=False,
        )
        self.register_outputs({"release": self.release.name})


__all__ = ["ClusterAutoscaler", "autoscaler_policy", "autoscaler_values"]
