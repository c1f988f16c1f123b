"""The AWS side of a plan as a Terraform plan (`terraform show -json` shape), so checkov's `terraform_plan`
framework can check it: each pulumi-aws resource becomes the Terraform resource its provider bridges (pulumi-aws is
generated from the Terraform AWS provider; its input names are the Terraform attribute names in camelCase).

- type: `TF_TYPES` maps each pulumi-aws type token the platform uses to its Terraform resource type;
- attributes: camelCase keys -> snake_case; a nested object becomes a one-element list (a Terraform block), except
  free-form maps (`tags`, `labels`, ...), which stay maps;
- references: the plan's property dependencies become `configuration` expression references, which is how checkov
  connects resources (a flow log to its VPC, a key policy to its key) in its graph checks.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..plan import Plan, ResourceState
from .objects import plain

#: pulumi-aws type token -> Terraform resource type (the bridged resource of the Terraform AWS provider).
TF_TYPES: dict[str, str] = {
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/accessEntry:AccessEntry": "aws_eks_access_entry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "aws_eks_access_policy_association",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "aws_eks_pod_identity_association",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:autoscaling/tag:Tag": "aws_autoscaling_group_tag",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
}

#: Attributes that are maps in Terraform (not blocks): kept as they are.
MAP_ATTRIBUTES = frozenset({"tags", "tags_all", "labels", "parameters", "variables", "environment"})

PROVIDER = "registry.terraform.io/hashicorp/aws"


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def tf_values(value: Any) -> Any:
    """camelCase attribute names -> snake_case, all the way down; the keys of free-form maps (tags) kept."""
    if isinstance(value, Mapping):
        return {snake(k): (dict(v) if snake(k) in MAP_ATTRIBUTES and isinstance(v, Mapping) else tf_values(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [tf_values(v) for v in value]
    return value


def _blocks(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nested objects as Terraform blocks (one-element lists), free-form maps left as maps."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and key not in MAP_ATTRIBUTES:
            out[key] = [_blocks(value)]
        elif isinstance(value, list):
            out[key] = [_blocks(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return out


def address_name(state: ResourceState) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", state.name)


def terraform_plan(plan: Plan) -> tuple[dict[str, Any], dict[str, ResourceState]]:
    """(Terraform plan JSON, address -> the pulumi resource it stands for) for every AWS resource of `plan`."""
    states = [r for r in plan.resources if r.custom and r.type in TF_TYPES and not r.external]
    addresses = {r.urn: f"{TF_TYPES[r.type]}.{address_name(r)}" for r in states}
    planned, changes, config = [], [], []
    by_address: dict[str, ResourceState] = {}
    for r in states:
        address = addresses[r.urn]
        by_address[address] = r
        tf_type, name = address.split(".", 1)
        values = _blocks(tf_values(plain(dict(r.inputs))))
        planned.append({
            "address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": PROVIDER,
            "schema_version": 0, "values": values, "sensitive_values": {},
        })
        changes.append({
            "address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": PROVIDER,
            "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": {}},
        })
        expressions: dict[str, Any] = {}
        for key, deps in r.property_dependencies.items():
            refs = [addresses[d] for d in deps if d in addresses]
            if refs:
                expressions[snake(key)] = {"references": [x for a in refs for x in (f"{a}.id", a)]}
        config.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                       "provider_config_key": "aws", "expressions": expressions, "schema_version": 0})
    doc = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
                          "root_module": {"resources": config}},
    }
    return doc, by_address
