"""The Kubernetes cluster: an EKS cluster built with pulumi-aws, or an existing cluster from a kubeconfig.

Either way the component exposes one explicit Kubernetes provider that every other component uses.
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..config import PlatformConfig


def kubeconfig_for(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (the AWS CLI on the deployer's machine)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


class Cluster(pulumi.ComponentResource):
    """`serving:cluster:Cluster`: the cluster and the Kubernetes provider bound to it."""

    k8s_provider: k8s.Provider
    aws_provider: Optional[aws.Provider]
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(self, name: str, cfg: PlatformConfig, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:cluster:Cluster", name, None, opts)
        self.cfg = cfg
        self.aws_provider = None
        self.eks_cluster: Optional[aws.eks.Cluster] = None
        if cfg.cluster.mode == "eks":
            self._eks(name)
        else:
            self._existing(name)
        self.register_outputs({"clusterName": self.cluster_name, "endpoint": self.endpoint})

    # --- existing cluster -------------------------------------------------------------------------------------
    def _existing(self, name: str) -> None:
        ex = self.cfg.cluster.existing
        assert ex is not None  # enforced by ClusterConfig
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=ex.kubeconfig,
            context=ex.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_name = pulumi.Output.from_input(self.cfg.cluster.name)
        self.endpoint = pulumi.Output.from_input(ex.context or "current-context")

    # --- EKS --------------------------------------------------------------------------------------------------
    def _eks(self, name: str) -> None:
        eks_cfg = self.cfg.cluster.eks
        self.aws_provider = aws.Provider(
            f"{name}-aws",
            region=eks_cfg.region,
            default_tags=aws.ProviderDefaultTagsArgs(
                tags={"serving.platform/environment": self.cfg.environment, "serving.platform/cluster": self.cfg.cluster.name}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.aws_provider)
        tags = {"Name": self.cfg.cluster.name}

        azs = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(provider=self.aws_provider)
        ).names
        n_az = eks_cfg.availability_zones
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=eks_cfg.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True)),
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{self.cfg.cluster.name}-public"},
            opts=child,
        )
        import ipaddress

        blocks = list(ipaddress.ip_network(eks_cfg.vpc_cidr).subnets(new_prefix=20))
        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        nats: list[aws.ec2.NatGateway] = []
        for i in range(n_az):
            az = azs.apply(lambda names, i=i: names[i])
            pub = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[2 * i + 1]),
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, "kubernetes.io/role/elb": "1", "Name": f"{self.cfg.cluster.name}-public-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=pub.id, route_table_id=public_rt.id, opts=child)
            self.public_subnets.append(pub)
            if eks_cfg.nat_gateways == "perAz" or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags, opts=child)
                nats.append(
                    aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=pub.id, tags=tags, opts=child)
                )
            priv = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[2 * i]),
                availability_zone=az,
                tags={**tags, "kubernetes.io/role/internal-elb": "1", "Name": f"{self.cfg.cluster.name}-private-{i}"},
                opts=child,
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[-1].id)],
                tags={**tags, "Name": f"{self.cfg.cluster.name}-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=priv.id, route_table_id=rt.id, opts=child)
            self.private_subnets.append(priv)

        role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "eks.amazonaws.com"},
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                        }
                    ],
                }
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        public = bool(eks_cfg.public_access_cidrs)
        self.eks_cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=self.cfg.cluster.name,
            version=eks_cfg.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in self.private_subnets],
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=eks_cfg.public_access_cidrs if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, depends_on=[policy])),
        )
        for i, arn in enumerate(eks_cfg.admin_principals):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=self.eks_cluster.name, principal_arn=arn, type="STANDARD", opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=self.eks_cluster.name,
                principal_arn=arn,
                policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[entry])),
            )

        self.cluster_name = self.eks_cluster.name
        self.endpoint = self.eks_cluster.endpoint
        kubeconfig = pulumi.Output.all(
            self.eks_cluster.name, self.eks_cluster.endpoint, self.eks_cluster.certificate_authority.data
        ).apply(lambda a: kubeconfig_for(a[0], a[1], a[2], eks_cfg.region))
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.secret(kubeconfig),
            opts=pulumi.ResourceOptions(parent=self),
        )
