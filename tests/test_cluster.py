"""The cluster: EKS (network, control plane, access, add-ons, storage, Kubernetes provider) or an existing cluster.

Everything is checked on the plan of the real program (`capture_plan`) for the repository's stacks or a modified
copy of them, plus the config errors a user gets for bad cluster input.
"""

from __future__ import annotations

import re
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from serving.catalog import eks as eks_catalog
from serving.config.cluster import subnet_cidrs
from serving.plan import Plan

from .cluster_plans import dependency_names, manifest, named, of_type, plain, plan_with, platform_errors, write_root
from .conftest import REPO, platform_of, repo_stack
from .schemas import validate_object

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


# -- control plane -------------------------------------------------------------------------------------------------


def test_eks_control_plane_is_locked_down(dev: Plan) -> None:
    cfg = platform_of(repo_stack("dev"))["cluster"]
    (cluster,) = of_type(dev, CLUSTER)
    inputs = plain(cluster)
    assert inputs["name"] == cfg["name"] and inputs["version"] == cfg["eks"]["kubernetesVersion"]
    assert inputs["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert sorted(inputs["enabledClusterLogTypes"]) == sorted(eks_catalog.CONTROL_PLANE_LOG_TYPES)
    vpc = inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == cfg["eks"]["publicAccessCidrs"]
    # Managed add-ons replace the self-managed ones EKS would otherwise install.
    assert inputs["bootstrapSelfManagedAddons"] is False


def test_secrets_are_envelope_encrypted_with_a_rotating_key(dev: Plan) -> None:
    (cluster,) = of_type(dev, CLUSTER)
    key = named(dev, "aws:kms/key:Key", "-secrets")
    assert plain(key)["enableKeyRotation"] is True
    # A key policy of its own, written out: the account administers it (no principal from elsewhere).
    (statement,) = json.loads(plain(key)["policy"])["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    encryption = plain(cluster)["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"] == key.outputs["arn"]
    # The cluster role may use that key.
    kms_policy = named(dev, "aws:iam/rolePolicy:RolePolicy", "-cluster-kms")
    statement = json.loads(plain(kms_policy)["policy"])["Statement"][0]
    assert statement["Resource"] == key.outputs["arn"] and "kms:Encrypt" in statement["Action"]


def test_control_plane_logs_have_a_retention_before_the_cluster_exists(dev: Plan, prod: Plan) -> None:
    for plan, stack in ((dev, "dev"), (prod, "prod")):
        (cluster,) = of_type(plan, CLUSTER)
        name = platform_of(repo_stack(stack))["cluster"]["name"]
        group = next(g for g in of_type(plan, "aws:cloudwatch/logGroup:LogGroup") if plain(g)["name"] == f"/aws/eks/{name}/cluster")
        assert plain(group)["retentionInDays"] == platform_of(repo_stack(stack))["cluster"]["eks"]["logRetentionDays"]
        assert group.urn in cluster.dependencies


def test_every_log_group_is_encrypted_with_the_rotating_logs_key(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        key = named(plan, "aws:kms/key:Key", "-logs")
        assert plain(key)["enableKeyRotation"] is True
        logs = json.loads(plain(key)["policy"])["Statement"][1]
        # Only CloudWatch Logs, only for this account's log groups.
        assert logs["Principal"]["Service"].startswith("logs.") and "ArnLike" in logs["Condition"]
        groups = of_type(plan, "aws:cloudwatch/logGroup:LogGroup")
        assert len(groups) >= 3  # control plane, VPC flow logs, containers
        assert all(plain(g)["kmsKeyId"] == key.outputs["arn"] for g in groups)


def test_vpc_flow_logs_record_all_traffic(dev: Plan) -> None:
    (vpc,) = of_type(dev, "aws:ec2/vpc:Vpc")
    (flow,) = of_type(dev, "aws:ec2/flowLog:FlowLog")
    inputs = plain(flow)
    assert inputs["vpcId"] == vpc.id and inputs["trafficType"] == "ALL"
    group = next(g for g in of_type(dev, "aws:cloudwatch/logGroup:LogGroup") if g.outputs["arn"] == inputs["logDestination"])
    assert plain(group)["name"].endswith("/flow-logs")


def test_public_endpoint_is_off_without_cidrs(tmp_path: Path) -> None:
    plan = plan_with(tmp_path, lambda p: p["cluster"]["eks"].update(publicAccessCidrs=[]))
    vpc = plain(of_type(plan, CLUSTER)[0])["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc


def test_only_configured_admins_get_cluster_access(prod: Plan) -> None:
    admins = platform_of(repo_stack("prod"))["cluster"]["eks"]["adminPrincipals"]
    entries = of_type(prod, "aws:eks/accessEntry:AccessEntry")
    assert sorted(plain(e)["principalArn"] for e in entries) == sorted(admins)
    associations = of_type(prod, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert sorted(plain(a)["principalArn"] for a in associations) == sorted(admins)
    for a in associations:
        assert plain(a)["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
        assert plain(a)["accessScope"] == {"type": "cluster"}
    # No aws-auth ConfigMap anywhere: authentication mode API only.
    assert not [r for r in prod.by_type("kubernetes:core/v1:ConfigMap") if plain(r)["metadata"]["name"] == "aws-auth"]


def test_cluster_key_and_vpc_are_protected(dev: Plan) -> None:
    protected = {r.type for r in dev.resources if r.protect}
    assert {CLUSTER, "aws:kms/key:Key", "aws:ec2/vpc:Vpc"} <= protected


def test_every_resource_uses_an_explicit_provider(dev: Plan, prod: Plan, local: Plan) -> None:
    for plan in (dev, prod, local):
        assert not [d for d in plan.diagnostics if d.severity == "error"], plan.diagnostics
        for r in plan.resources:
            if r.custom and not r.is_provider:
                assert r.provider, f"{r.type} {r.name} uses a default provider"
        aws_providers = {r.urn for r in plan.resources if r.type == "pulumi:providers:aws"}
        for r in plan.resources:
            if r.type.startswith("aws:"):
                assert r.provider_urn in aws_providers


# -- network -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack, azs, nats", [("dev", 2, 1), ("prod", 3, 3)])
def test_private_subnets_span_the_azs_with_nat(stack: str, azs: int, nats: int, dev: Plan, prod: Plan) -> None:
    plan = {"dev": dev, "prod": prod}[stack]
    eks_cfg = platform_of(repo_stack(stack))["cluster"]["eks"]
    assert eks_cfg["availabilityZones"] == azs
    subnets = [plain(s) for s in of_type(plan, "aws:ec2/subnet:Subnet")]
    private = [s for s in subnets if s["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    public = [s for s in subnets if s["tags"].get("kubernetes.io/role/elb") == "1"]
    assert len(private) == len(public) == azs
    assert len({s["availabilityZone"] for s in private}) == azs
    vpc = ipaddress.ip_network(eks_cfg.get("vpcCidr", "10.0.0.0/16"))
    nets = [ipaddress.ip_network(s["cidrBlock"]) for s in subnets]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert len(of_type(plan, "aws:ec2/natGateway:NatGateway")) == nats
    # The cluster (and so its nodes) lives in the private subnets.
    private_ids = {next(r for r in of_type(plan, "aws:ec2/subnet:Subnet") if plain(r) == s).id for s in private}
    assert set(plain(of_type(plan, CLUSTER)[0])["vpcConfig"]["subnetIds"]) == private_ids
    # Private subnets reach the internet only through a NAT gateway.
    nat_ids = {n.id for n in of_type(plan, "aws:ec2/natGateway:NatGateway")}
    private_tables = [plain(t) for t in of_type(plan, "aws:ec2/routeTable:RouteTable") if "-private-" in t.name]
    assert len(private_tables) == azs
    assert all(t["routes"][0]["natGatewayId"] in nat_ids for t in private_tables)
    if nats == azs:
        assert len({t["routes"][0]["natGatewayId"] for t in private_tables}) == azs


def test_explicit_subnets_are_used(tmp_path: Path) -> None:
    plan = plan_with(tmp_path, lambda p: p["cluster"]["eks"].update(
        vpcCidr="10.20.0.0/16", privateSubnetCidrs=["10.20.0.0/18", "10.20.64.0/18"],
        publicSubnetCidrs=["10.20.192.0/24", "10.20.193.0/24"],
    ))
    cidrs = sorted(plain(s)["cidrBlock"] for s in of_type(plan, "aws:ec2/subnet:Subnet"))
    assert cidrs == ["10.20.0.0/18", "10.20.192.0/24", "10.20.193.0/24", "10.20.64.0/18"]


# -- add-ons, storage, provider ------------------------------------------------------------------------------------


def test_managed_addons_are_pinned_and_ordered_around_the_nodes(dev: Plan) -> None:
    addons = {plain(a)["addonName"]: a for a in of_type(dev, ADDON)}
    expected = eks_catalog.addon_versions("1.34", {})
    assert {n: plain(a)["addonVersion"] for n, a in addons.items()} == expected
    cni = json.loads(plain(addons["vpc-cni"])["configurationValues"])
    assert cni["enableNetworkPolicy"] == "true"
    groups = of_type(dev, NODE_GROUP)
    system = named(dev, NODE_GROUP, "-system")
    for spec in eks_catalog.ADDONS:
        addon = addons[spec.name]
        if spec.before_compute:  # nodes need it to become Ready
            assert all(addon.urn in g.dependencies for g in groups), spec.name
        else:  # it runs a Deployment: needs nodes
            assert system.urn in addon.dependencies, spec.name


def test_ebs_csi_driver_gets_iam_through_pod_identity(dev: Plan) -> None:
    addon = next(a for a in of_type(dev, ADDON) if plain(a)["addonName"] == "aws-ebs-csi-driver")
    assoc = next(a for a in of_type(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
                 if plain(a)["serviceAccount"] == "ebs-csi-controller-sa")
    assert plain(assoc)["namespace"] == "kube-system"
    assert assoc.urn in addon.dependencies  # credentials exist before the controller starts
    role = next(r for r in of_type(dev, "aws:iam/role:Role") if r.outputs["arn"] == plain(assoc)["roleArn"])
    trust = json.loads(plain(role)["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == "ebs-csi-controller-sa"
    attachments = [plain(a) for a in of_type(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert {"role": role.outputs["name"], "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"} in attachments
    # Pod identity needs its agent add-on first.
    agent = next(a for a in of_type(dev, ADDON) if plain(a)["addonName"] == "eks-pod-identity-agent")
    assert agent.urn in assoc.dependencies


#: Releases whose pods call AWS APIs: (namespace, values path of the service account name, values path of the region
#: they would otherwise look up in IMDS). With a hop limit of 1 pods reach neither IMDS nor the node's role.
AWS_CALLING_RELEASES = {
    "cluster-autoscaler": ("kube-system", ("rbac", "serviceAccount", "name"), ("awsRegion",)),
    "aws-load-balancer-controller": ("kube-system", ("serviceAccount", "name"), ("region",)),
}


def test_pods_calling_aws_use_pod_identity_and_never_imds(dev: Plan) -> None:
    region = platform_of(repo_stack("dev"))["cluster"]["eks"]["region"]
    associations = {(plain(a)["namespace"], plain(a)["serviceAccount"])
                    for a in of_type(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    releases = {plain(r)["name"]: plain(r) for r in dev.by_type("kubernetes:helm.sh/v3:Release")}
    for name, (namespace, sa_path, region_path) in AWS_CALLING_RELEASES.items():
        release = releases[name]
        values = release["values"]
        sa = values
        for key in sa_path:
            sa = sa[key]
        assert release["namespace"] == namespace and (namespace, sa) in associations, name
        where = values
        for key in region_path:
            where = where[key]
        assert where == region, name
    # The AWS Load Balancer Controller also looks up its VPC in IMDS unless given.
    (vpc,) = of_type(dev, "aws:ec2/vpc:Vpc")
    assert releases["aws-load-balancer-controller"]["values"]["vpcId"] == vpc.id
    # The EBS CSI controller's service account (the add-on's) and the launch templates' hop limit.
    assert ("kube-system", "ebs-csi-controller-sa") in associations
    for lt in of_type(dev, "aws:ec2/launchTemplate:LaunchTemplate"):
        assert plain(lt)["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_system_addons_follow_a_tainted_system_pool(tmp_path: Path) -> None:
    """CoreDNS and the EBS CSI controller are Deployments on the system pool: with a taint there they must tolerate
    it, or they stay Pending and the add-on's creation times out. The EBS CSI node plugin runs on every node."""
    taint = {"key": "dedicated", "value": "system", "effect": "NoSchedule"}
    plan = plan_with(tmp_path, lambda p: p["nodePools"]["system"].update(taints=[taint]))
    addons = {plain(a)["addonName"]: json.loads(plain(a).get("configurationValues") or "{}") for a in of_type(plan, ADDON)}
    toleration = {"key": "dedicated", "operator": "Equal", "value": "system", "effect": "NoSchedule"}
    selector = {"serving.platform/pool": "system"}
    assert addons["coredns"] == {"nodeSelector": selector, "tolerations": [toleration]}
    assert addons["aws-ebs-csi-driver"]["controller"] == {"nodeSelector": selector, "tolerations": [toleration]}
    assert addons["aws-ebs-csi-driver"]["node"] == {"tolerateAllTaints": True}


def test_default_storage_class_is_encrypted_gp3(dev: Plan) -> None:
    (sc,) = dev.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    doc = manifest(sc)
    assert validate_object(doc) == []
    assert doc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert doc["provisioner"] == "ebs.csi.aws.com"
    assert doc["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert doc["volumeBindingMode"] == "WaitForFirstConsumer"


def test_kubernetes_provider_is_a_secret_kubeconfig_ready_after_the_system_pool(dev: Plan) -> None:
    (provider,) = dev.by_type("pulumi:providers:kubernetes")
    assert plain(provider)["kubeconfig"] == "[secret]"
    deps = dependency_names(dev, provider)
    system = named(dev, NODE_GROUP, "-system")
    coredns = next(a for a in of_type(dev, ADDON) if plain(a)["addonName"] == "coredns")
    assert {system.name, coredns.name} <= deps
    # The deployer gets cluster access through an admin access entry (no implicit creator admin): wait for it.
    admins = {a.name for a in of_type(dev, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    assert admins and admins <= deps
    # Every Kubernetes object goes through it.
    for r in dev.resources:
        if r.type.startswith("kubernetes:") and r.custom and not r.is_provider:
            assert r.provider_urn == provider.urn, r.name


# -- existing cluster ----------------------------------------------------------------------------------------------


def test_local_stack_creates_no_aws_resource(local: Plan) -> None:
    assert platform_of(repo_stack("local"))["cluster"]["mode"] == "existing"
    assert not [r for r in local.resources if r.package == "aws" or r.type == "pulumi:providers:aws"]
    (provider,) = local.by_type("pulumi:providers:kubernetes")
    assert plain(provider)["context"] == platform_of(repo_stack("local"))["cluster"]["existing"]["context"]
    assert not local.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert not [r for r in local.resources if r.type == "serving:autoscaler:ClusterAutoscaler"]


def test_existing_cluster_with_gpu_pool_gets_gpu_software_and_the_node_contract(tmp_path: Path) -> None:
    def change(p: dict) -> None:
        p["nodePools"]["gpu"] = [{"name": "gpu", "instanceTypes": ["g5.12xlarge"], "maxSize": 2}]
    plan = plan_with(tmp_path, change, base="local")
    assert not [r for r in plan.resources if r.package == "aws"]
    releases = {plain(r)["name"] for r in plan.by_type("kubernetes:helm.sh/v3:Release")}
    assert {"nvidia-device-plugin", "dcgm-exporter"} <= releases
    pools = next(r for r in plan.resources if r.type == "serving:nodepools:NodePools").outputs["pools"]
    gpu = pools["gpu"]
    assert gpu["labels"]["serving.platform/pool"] == "gpu" and gpu["labels"]["nvidia.com/gpu.present"] == "true"
    assert gpu["taints"] == ["nvidia.com/gpu=true:NoSchedule"]
    assert gpu["gpusPerNode"] == 4


# -- bad input -----------------------------------------------------------------------------------------------------


def test_fewer_subnets_than_azs_is_an_error() -> None:
    errors = platform_errors(lambda p: p["cluster"]["eks"].update(privateSubnetCidrs=["10.0.0.0/19"]))
    assert errors == [
        "Pulumi.dev.yaml: serving:platform.cluster.eks.privateSubnetCidrs: 1 subnets for availabilityZones 2: "
        "give exactly one subnet per availability zone"
    ]


def test_subnet_outside_the_vpc_is_an_error() -> None:
    errors = platform_errors(lambda p: p["cluster"]["eks"].update(publicSubnetCidrs=["10.0.250.0/24", "192.168.0.0/24"]))
    assert "Pulumi.dev.yaml: serving:platform.cluster.eks.publicSubnetCidrs[1]: 192.168.0.0/24 is not inside vpcCidr 10.0.0.0/16" in errors


@pytest.mark.parametrize(
    "change, location, words",
    [
        (lambda e: e.update(publicAccessCidrs=["0.0.0.0/0"]), "cluster.eks.publicAccessCidrs", "whole internet"),
        (lambda e: e.update(kubernetesVersion="1.29"), "cluster.eks.kubernetesVersion", "no pinned add-on versions"),
        (lambda e: e.update(addonVersions={"coredns": "latest"}), "cluster.eks.addonVersions", "vX.Y.Z-eksbuild.N"),
        (lambda e: e.update(addonVersions={"metrics-server": "v0.8.0-eksbuild.1"}), "cluster.eks.addonVersions", "unknown add-on"),
        (lambda e: e.update(adminPrincipals=["platform-admin"]), "cluster.eks.adminPrincipals", "not an IAM role or user ARN"),
        (lambda e: e.update(adminPrincipals=[]), "cluster.eks.adminPrincipals", "at least one IAM role or user ARN"),
        (lambda e: e.update(vpcCidr="10.0.0.0/24"), "cluster.eks.vpcCidr", "between a /16 and a /20"),
    ],
)
def test_bad_eks_input_names_the_key(change, location: str, words: str) -> None:
    errors = platform_errors(lambda p: change(p["cluster"]["eks"]))
    assert any(e.startswith(f"Pulumi.dev.yaml: serving:platform.{location}") and words in e for e in errors), errors


def test_a_version_pin_override_makes_another_kubernetes_version_plannable() -> None:
    versions = {"vpc-cni": "v1.20.4-eksbuild.2", "kube-proxy": "v1.33.5-eksbuild.2", "eks-pod-identity-agent": "v1.3.10-eksbuild.2",
                "coredns": "v1.12.4-eksbuild.1", "aws-ebs-csi-driver": "v1.54.0-eksbuild.1",
                "aws-mountpoint-s3-csi-driver": "v2.7.0-eksbuild.1"}
    from serving.config import parse_platform

    raw = platform_of(repo_stack("dev"))
    raw["cluster"]["eks"].update(kubernetesVersion="1.33", addonVersions=versions)
    assert parse_platform(raw, "Pulumi.dev.yaml").cluster.eks.kubernetes_version == "1.33"


def test_prod_must_span_three_azs_with_a_nat_each() -> None:
    errors = platform_errors(lambda p: p["cluster"]["eks"].update(availabilityZones=2, natGateways="single"), base="prod")
    assert "Pulumi.prod.yaml: serving:platform.cluster.eks.availabilityZones: prod runs in at least 3 availability zones" in errors
    assert any(e.startswith("Pulumi.prod.yaml: serving:platform.cluster.eks.natGateways: ") for e in errors)


def test_existing_mode_rejects_eks_settings_and_the_autoscaler() -> None:
    def change(p: dict) -> None:
        p["cluster"]["eks"] = {"region": "eu-west-1"}
        p["nodePools"]["autoscaler"] = {"enabled": True}
    errors = platform_errors(change, base="local")
    assert any(e.startswith("Pulumi.local.yaml: serving:platform.cluster.eks: ") for e in errors)
    assert any(e.startswith("Pulumi.local.yaml: serving:platform.nodePools.autoscaler.enabled: ") for e in errors)


def test_bad_cluster_config_exits_2_from_the_cli(tmp_path: Path) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["cluster"]["eks"]["privateSubnetCidrs"] = ["10.0.0.0/19"]
    root = write_root(tmp_path, bad=doc)
    result = subprocess.run([sys.executable, "-m", "serving", "plan", "--stack", "bad", "--root", str(root)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert re.search(r"Pulumi.bad.yaml:\d+:\d+: serving:platform.cluster.eks.privateSubnetCidrs: ", result.stderr)
    assert "Traceback" not in result.stderr


def test_computed_subnets_fit_six_azs() -> None:
    from serving.config.cluster import EksConfig

    private, public = subnet_cidrs(EksConfig(vpc_cidr="10.0.0.0/20", availability_zones=6))
    nets = [ipaddress.ip_network(c) for c in private + public]
    assert len(private) == len(public) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
