"""The Kubernetes cluster, ready for workloads: an EKS cluster built with pulumi-aws, or an existing cluster.

EKS, in creation order:
1. network: a KMS key (rotation on, key policy) for the platform's CloudWatch log groups, a VPC with flow logs
   (all traffic, to an encrypted log group with the control-plane retention), a private and a public subnet per AZ,
   an internet gateway, NAT (one, or one per AZ), the default security group stripped of its rules;
2. control plane: a KMS key (rotation on, key policy) for envelope encryption of Secrets, the control-plane log
   group with retention, encrypted with the logs key, the cluster role, the cluster itself (version pinned, API authentication mode with access entries for
   the configured admins only, every control-plane log type, private endpoint on, public endpoint limited to the
   configured CIDRs or off, no self-managed default add-ons);
3. the add-ons nodes need to become Ready (vpc-cni with network policy enforcement, kube-proxy,
   eks-pod-identity-agent), pinned (serving/catalog/eks.py);
4. the node pools (`NodePools`, a child component);
5. the add-ons that run Deployments and so need nodes (coredns, aws-ebs-csi-driver with its pod identity);
6. the Kubernetes provider, from the cluster's kubeconfig (a secret), available once the system pool and CoreDNS
   are up, so no workload is sent to a cluster without nodes; then the default gp3 StorageClass.

`protect` is set on the VPC, the KMS key and the cluster: deleting them takes an explicit `pulumi state unprotect`.

Existing: no AWS resource; the Kubernetes provider from the configured kubeconfig/context; the node pools describe
the labels and taints the existing nodes must carry.
"""

from __future__ import annotations

import functools
import json
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog import eks as eks_catalog
from ..config import PlatformConfig
from ..config.cluster import subnet_cidrs
from .iam import PodIdentity, assume_role_policy
from .k8s import meta

#: The EBS CSI driver's controller service account (aws-ebs-csi-driver add-on, namespace kube-system).
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
#: Pod-identity role policy for the EBS CSI driver (https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html).
EBS_CSI_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"


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


def key_policy(partition: str, account_id: str, *, logs_region: Optional[str] = None) -> str:
    """A KMS key policy: the account administers the key and grants its use through IAM policies (the default key
    policy, written out so that it is reviewed and versioned: CIS/checkov CKV2_AWS_64); for the logs key, CloudWatch
    Logs of the region may use it for this account's log groups only
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)."""
    statements: list[dict] = [{
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }]
    if logs_region is not None:
        statements.append({
            "Sid": "CloudWatchLogsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{logs_region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{logs_region}:{account_id}:log-group:*",
            }},
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class Cluster(pulumi.ComponentResource):
    """`serving:cluster:Cluster`: the cluster, its node pools, and the Kubernetes provider bound to it.

    Attributes other components use:
    - `k8s_provider`: the explicit Kubernetes provider (every Kubernetes object goes through it);
    - `aws_provider`: the explicit AWS provider of the cluster's region (None for `existing`);
    - `cluster_name`, `endpoint`: outputs;
    - `eks_cluster`: the `aws.eks.Cluster` (None for `existing`); its `arn`, `name`, `identities[0].oidcs[0].issuer`;
    - `account_id`, `region`, `vpc`, `private_subnets`, `cluster_security_group_id` (EKS only);
    - `node_pools`: the `NodePools` component;
    - `pod_identity_ready`: resources a PodIdentityAssociation must wait for (the pod identity agent);
    - `pod_identity_role(...)`: IAM for a pod's service account (see `serving/components/iam.py`).
    """

    k8s_provider: k8s.Provider
    aws_provider: Optional[aws.Provider]
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(self, name: str, cfg: PlatformConfig, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:cluster:Cluster", name, None, opts)
        from .nodepools import NodePools  # nodepools imports this module

        self.cfg = cfg
        self.aws_provider = None
        self.eks_cluster: Optional[aws.eks.Cluster] = None
        self.addons: dict[str, aws.eks.Addon] = {}
        self.pod_identity_ready: list[pulumi.Resource] = []
        self.admin_access: list[aws.eks.AccessPolicyAssociation] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        self.public_subnets: list[aws.ec2.Subnet] = []
        self.region: Optional[str] = None
        #: The KMS key of the platform's CloudWatch log groups (EKS only).
        self.logs_kms_key: Optional[aws.kms.Key] = None
        if cfg.cluster.mode == "eks":
            self._network(name)
            self._control_plane(name)
            self._addons(name, before_compute=True)
        self.node_pools = NodePools(f"{name}-nodepools", cfg, self, opts=pulumi.ResourceOptions(parent=self))
        if cfg.cluster.mode == "eks":
            self._addons(name, before_compute=False)
            self._eks_provider(name)
            self._storage_class(name)
        else:
            self._existing(name)
        self.register_outputs(
            {"clusterName": self.cluster_name, "endpoint": self.endpoint, "mode": cfg.cluster.mode}
        )

    # --- helpers for other components -------------------------------------------------------------------------
    def pod_identity_role(
        self,
        name: str,
        namespace: str,
        service_account: str,
        *,
        parent: pulumi.Resource,
        policy_json: Optional[pulumi.Input[str]] = None,
        managed_policy_arns: Sequence[str] = (),
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> PodIdentity:
        """IAM role + PodIdentityAssociation for `namespace/service_account` (EKS only); see `iam.pod_identity_role`."""
        from .iam import pod_identity_role

        return pod_identity_role(
            name, self, namespace, service_account, policy_json=policy_json,
            managed_policy_arns=managed_policy_arns, parent=parent, depends_on=depends_on,
        )

    # --- existing cluster -------------------------------------------------------------------------------------
    def _existing(self, name: str) -> None:
        ex = self.cfg.cluster.existing
        assert ex is not None  # enforced by the cluster config checks
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=ex.kubeconfig,
            context=ex.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_name = pulumi.Output.from_input(self.cfg.cluster.name)
        self.endpoint = pulumi.Output.from_input(ex.context or "current-context")

    # --- EKS: network -----------------------------------------------------------------------------------------
    def _network(self, name: str) -> None:
        eks_cfg = self.cfg.cluster.eks
        cluster_name = self.cfg.cluster.name
        self.region = eks_cfg.region
        self.aws_provider = aws.Provider(
            f"{name}-aws",
            region=eks_cfg.region,
            default_tags=aws.ProviderDefaultTagsArgs(
                tags={"serving.platform/environment": self.cfg.environment, "serving.platform/cluster": cluster_name}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._child = pulumi.ResourceOptions(parent=self, provider=self.aws_provider)
        child = self._child
        invoke = pulumi.InvokeOutputOptions(provider=self.aws_provider)
        self.account_id = aws.get_caller_identity_output(opts=invoke).account_id
        self.partition = aws.get_partition_output(opts=invoke).partition
        tags = {"Name": cluster_name}
        n_az = eks_cfg.availability_zones

        def zone(names: Sequence[str], i: int) -> str:
            if len(names) < n_az:
                raise ValueError(
                    f"region {eks_cfg.region} has {len(names)} available AZs, cluster.eks.availabilityZones asks for {n_az}"
                )
            return names[i]

        azs = aws.get_availability_zones_output(state="available", opts=invoke).names
        self.logs_kms_key = self._logs_key(name)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=eks_cfg.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True)),
        )
        self._flow_logs(name)
        # No rule in the default security group: nothing can use it by accident (CIS AWS 5.4).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, tags={**tags, "Name": f"{cluster_name}-default-unused"}, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{cluster_name}-public"},
            opts=child,
        )
        private_cidrs, public_cidrs = subnet_cidrs(eks_cfg)
        # Subnet discovery tags: internal / internet-facing load balancers (AWS Load Balancer Controller) and the
        # cluster ownership tag.
        owned = {f"kubernetes.io/cluster/{cluster_name}": "shared"}
        nats: list[aws.ec2.NatGateway] = []
        for i in range(n_az):
            az = azs.apply(functools.partial(zone, i=i))
            pub = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, **owned, "kubernetes.io/role/elb": "1", "Name": f"{cluster_name}-public-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=pub.id, route_table_id=public_rt.id, opts=child)
            self.public_subnets.append(pub)
            if eks_cfg.nat_gateways == "perAz" or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags={**tags, "Name": f"{cluster_name}-nat-{i}"}, opts=child)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=pub.id,
                        tags={**tags, "Name": f"{cluster_name}-nat-{i}"},
                        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
                    )
                )
            priv = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=az,
                tags={**tags, **owned, "kubernetes.io/role/internal-elb": "1", "Name": f"{cluster_name}-private-{i}"},
                opts=child,
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                # Per-AZ NAT: each AZ egresses through its own NAT, so losing an AZ does not cut the others off.
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[-1].id)],
                tags={**tags, "Name": f"{cluster_name}-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=priv.id, route_table_id=rt.id, opts=child)
            self.private_subnets.append(priv)

    def _logs_key(self, name: str) -> aws.kms.Key:
        """The KMS key of the platform's CloudWatch log groups (control plane, VPC flow logs, containers)."""
        cluster_name = self.cfg.cluster.name
        region = self.cfg.cluster.eks.region
        key = aws.kms.Key(
            f"{name}-logs",
            description=f"Encryption of the CloudWatch log groups of EKS cluster {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(self.partition, self.account_id).apply(
                lambda a: key_policy(a[0], a[1], logs_region=region)
            ),
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(protect=True)),
        )
        aws.kms.Alias(f"{name}-logs", name=f"alias/eks/{cluster_name}-logs", target_key_id=key.key_id, opts=self._child)
        return key

    def _log_group(self, name: str, path: str) -> aws.cloudwatch.LogGroup:
        """A CloudWatch log group of the cluster: the control-plane retention, encrypted with the logs key."""
        return aws.cloudwatch.LogGroup(
            name, name=path, retention_in_days=self.cfg.cluster.eks.log_retention_days,
            kms_key_id=self.logs_kms_key.arn if self.logs_kms_key is not None else None, opts=self._child,
        )

    def _flow_logs(self, name: str) -> None:
        """VPC flow logs (all traffic) to an encrypted CloudWatch log group (CIS AWS 3.9; checkov CKV2_AWS_11)."""
        eks_cfg = self.cfg.cluster.eks
        cluster_name = self.cfg.cluster.name
        child = self._child
        group = self._log_group(f"{name}-flow-logs", f"/aws/vpc/{cluster_name}/flow-logs")
        # The delivery role (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html), limited to
        # this log group.
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"),
            description=f"VPC flow log delivery of EKS cluster {cluster_name}",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.name,
            policy=group.arn.apply(lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                               "logs:DescribeLogStreams"],
                    "Resource": [arn, f"{arn}:*"],
                }],
            }, sort_keys=True)),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            tags={"Name": f"{cluster_name}-flow-logs"},
            opts=child,
        )

    # --- EKS: control plane -----------------------------------------------------------------------------------
    def _control_plane(self, name: str) -> None:
        eks_cfg = self.cfg.cluster.eks
        cluster_name = self.cfg.cluster.name
        child = self._child
        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes Secrets of EKS cluster {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(self.partition, self.account_id).apply(lambda a: key_policy(a[0], a[1])),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True)),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{cluster_name}-secrets", target_key_id=self.kms_key.key_id, opts=child)
        # EKS writes control-plane logs to this group; created first so it has a retention (EKS would create it
        # without one).
        log_group = self._log_group(f"{name}-control-plane-logs", f"/aws/eks/{cluster_name}/cluster")
        role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=assume_role_policy("eks.amazonaws.com", tag_session=True),
            description=f"EKS control plane of {cluster_name}",
            opts=child,
        )
        policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        # The cluster role uses the key for envelope encryption (terraform-aws-eks `cluster_encryption` policy).
        kms_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            role=role.name,
            policy=self.kms_key.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                                "Resource": arn,
                            }
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=child,
        )
        public = bool(eks_cfg.public_access_cidrs)
        self.eks_cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
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
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(eks_catalog.CONTROL_PLANE_LOG_TYPES),
            # The managed add-ons below replace the self-managed defaults (vpc-cni, kube-proxy, coredns).
            bootstrap_self_managed_addons=False,
            # Standard support only: an unplanned, paid extended-support period is not a way to skip upgrades.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            tags={"Name": cluster_name},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=True, depends_on=[policy, kms_policy, log_group])
            ),
        )
        for i, arn in enumerate(eks_cfg.admin_principals):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=self.eks_cluster.name, principal_arn=arn, type="STANDARD", opts=child
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=self.eks_cluster.name,
                principal_arn=arn,
                policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[entry])),
            )
            self.admin_access.append(association)
        self.cluster_name = self.eks_cluster.name
        self.endpoint = self.eks_cluster.endpoint
        self.cluster_security_group_id = self.eks_cluster.vpc_config.cluster_security_group_id
        self.oidc_issuer = self.eks_cluster.identities.apply(functools.partial(oidc_issuer, cluster_name))

    # --- EKS: managed add-ons ---------------------------------------------------------------------------------
    def _addons(self, name: str, before_compute: bool) -> None:
        assert self.eks_cluster is not None
        eks_cfg = self.cfg.cluster.eks
        versions = eks_catalog.addon_versions(eks_cfg.kubernetes_version, eks_cfg.addon_versions)
        after: list[pulumi.Resource] = []
        if not before_compute:
            # Deployments: nodes must exist (system pool) or the add-on stays DEGRADED and its creation times out.
            after = [self.node_pools.node_groups[self.cfg.node_pools.system.name]]
        for spec in eks_catalog.ADDONS:
            if spec.before_compute != before_compute:
                continue
            configuration = None
            depends = list(after)
            if spec is eks_catalog.VPC_CNI:
                # Enforce Kubernetes NetworkPolicy (the VPC CNI network policy agent; team namespaces rely on it).
                configuration = json.dumps({"enableNetworkPolicy": "true"})
            if spec is eks_catalog.EBS_CSI_DRIVER:
                identity = self.pod_identity_role(
                    f"{name}-ebs-csi", "kube-system", EBS_CSI_SERVICE_ACCOUNT,
                    managed_policy_arns=[EBS_CSI_POLICY_ARN], parent=self,
                )
                depends.append(identity.association)  # credentials exist before the controller starts
                # The add-on's schema has separate `controller` (Deployment) and `node` (DaemonSet) blocks. The
                # controller runs on the system pool and tolerates its taints: with its default tolerations it stays
                # Pending on a tainted pool and the add-on DEGRADED (terraform-aws-eks issue #3067); the schema's
                # controller block has `nodeSelector` (quoted in containers-roadmap #2582) and `tolerations`. The
                # node plugin must run on every node, GPU nodes included, to mount volumes there. Pods cannot reach
                # IMDS (hop limit 1): the driver then reads instance ID, zone and region from the Node object
                # (providerID, topology labels; aws-ebs-csi-driver docs/install.md "Metadata"), and its AWS calls
                # use the pod identity above.
                configuration = json.dumps(
                    {"controller": self._system_pool_placement(), "node": {"tolerateAllTaints": True}}, sort_keys=True
                )
            if spec is eks_catalog.COREDNS:
                # CoreDNS on the system pool (it tolerates the system pool's taints, if any).
                configuration = json.dumps(self._system_pool_placement(), sort_keys=True)
            addon = aws.eks.Addon(
                f"{name}-{spec.name}",
                cluster_name=self.eks_cluster.name,
                addon_name=spec.name,
                addon_version=versions[spec.name],
                configuration_values=configuration,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=depends)),
            )
            self.addons[spec.name] = addon
            if spec is eks_catalog.POD_IDENTITY_AGENT:
                self.pod_identity_ready.append(addon)

    def _system_pool_placement(self) -> dict:
        """`nodeSelector` (and `tolerations` if the system pool is tainted) of an add-on's Deployment: the system pool."""
        system = self.cfg.node_pools.system
        placement: dict = {"nodeSelector": cv.pool_node_selector(system)}
        if system.taints:
            placement["tolerations"] = cv.pool_tolerations(system)
        return placement

    # --- EKS: Kubernetes provider and storage -----------------------------------------------------------------
    def _eks_provider(self, name: str) -> None:
        assert self.eks_cluster is not None
        region = self.cfg.cluster.eks.region
        system_group = self.node_pools.node_groups[self.cfg.node_pools.system.name]
        coredns = self.addons[eks_catalog.COREDNS.name]
        # The kubeconfig waits for the admins' access (the deployer is one of them: there is no implicit creator
        # admin), the system pool and CoreDNS: every Kubernetes object goes through this provider, so nothing is
        # applied to a cluster that cannot run it yet or before the deployer may.
        kubeconfig = pulumi.Output.all(
            self.eks_cluster.name, self.eks_cluster.endpoint, self.eks_cluster.certificate_authority.data,
            system_group.arn, coredns.arn, *[a.id for a in self.admin_access],
        ).apply(lambda a: kubeconfig_for(a[0], a[1], a[2], region))
        # Annotated: mypy cannot pick `U` in `Output.secret(val: Input[U])` from an Output alone.
        secret_kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=secret_kubeconfig,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _storage_class(self, name: str) -> None:
        # The default StorageClass: encrypted gp3 through the EBS CSI driver, bound where the pod lands (its AZ).
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=meta(cv.DEFAULT_STORAGE_CLASS, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.k8s_provider, depends_on=[self.addons[eks_catalog.EBS_CSI_DRIVER.name]]
            ),
        )


def oidc_issuer(cluster_name: str, identities: Optional[Sequence[aws.eks.outputs.ClusterIdentity]]) -> str:
    """The cluster's OIDC issuer URL; EKS reports it once the cluster exists, so its absence is an error."""
    issuers = [o.issuer for identity in identities or [] for o in identity.oidcs or [] if o.issuer]
    if not issuers:
        raise ValueError(f"EKS cluster {cluster_name} reports no OIDC issuer (identities: {identities!r})")
    return issuers[0]
