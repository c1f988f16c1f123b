"""IAM policies of third-party controllers the platform installs, as data.

AWS Load Balancer Controller: the policy its install guide tells you to create, `docs/install/iam_policy.json` of
kubernetes-sigs/aws-load-balancer-controller at tag v3.5.0 (the app version of chart 3.5.0 in `charts.py`). When the
chart pin moves, compare that file at the new tag.
"""

from __future__ import annotations

import json
from typing import Any

_ELB = "elasticloadbalancing"
_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
_TAGGED_RESOURCE = {"Null": {f"aws:ResourceTag/{_CLUSTER_TAG}": "false"}}
_TAGGED_REQUEST = {"Null": {f"aws:RequestTag/{_CLUSTER_TAG}": "false"}}
_RETAG_OWN = {"Null": {f"aws:RequestTag/{_CLUSTER_TAG}": "true", f"aws:ResourceTag/{_CLUSTER_TAG}": "false"}}
_LB_AND_TG = [
    "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
    "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
    "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
]


def _stmt(actions: list[str], resource: Any = "*", condition: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        out["Condition"] = condition
    return out


def _elb(*names: str) -> list[str]:
    return [f"{_ELB}:{n}" for n in names]


def _ec2(*names: str) -> list[str]:
    return [f"ec2:{n}" for n in names]


AWS_LOAD_BALANCER_CONTROLLER_STATEMENTS: list[dict[str, Any]] = [
    _stmt(["iam:CreateServiceLinkedRole"], condition={"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
    _stmt(
        _ec2("DescribeAccountAttributes", "DescribeAddresses", "DescribeAvailabilityZones", "DescribeInternetGateways",
             "DescribeVpcs", "DescribeVpcPeeringConnections", "DescribeSubnets", "DescribeSecurityGroups",
             "DescribeInstances", "DescribeNetworkInterfaces", "DescribeTags", "GetCoipPoolUsage", "DescribeCoipPools",
             "GetSecurityGroupsForVpc", "DescribeIpamPools", "DescribeRouteTables")
        + _elb("DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeListeners",
               "DescribeListenerCertificates", "DescribeSSLPolicies", "DescribeRules", "DescribeTargetGroups",
               "DescribeTargetGroupAttributes", "DescribeTargetHealth", "DescribeTags", "DescribeTrustStores",
               "DescribeListenerAttributes", "DescribeCapacityReservation")
    ),
    _stmt([
        "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
        "iam:ListServerCertificates", "iam:GetServerCertificate", "waf-regional:GetWebACL",
        "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL",
        "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
        "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection", "shield:DeleteProtection",
    ]),
    _stmt(_ec2("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress")),
    _stmt(_ec2("CreateSecurityGroup")),
    _stmt(_ec2("CreateTags"), "arn:aws:ec2:*:*:security-group/*",
          {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **_TAGGED_REQUEST}),
    _stmt(_ec2("CreateTags", "DeleteTags"), "arn:aws:ec2:*:*:security-group/*", _RETAG_OWN),
    _stmt(_ec2("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "DeleteSecurityGroup"), condition=_TAGGED_RESOURCE),
    _stmt(_elb("CreateLoadBalancer", "CreateTargetGroup"), condition=_TAGGED_REQUEST),
    _stmt(_elb("CreateListener", "DeleteListener", "CreateRule", "DeleteRule")),
    _stmt(_elb("AddTags", "RemoveTags"), _LB_AND_TG, _RETAG_OWN),
    _stmt(_elb("AddTags", "RemoveTags"), [
        "arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
        "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
        "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
        "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
    ]),
    _stmt(
        _elb("ModifyLoadBalancerAttributes", "SetIpAddressType", "SetSecurityGroups", "SetSubnets", "DeleteLoadBalancer",
             "ModifyTargetGroup", "ModifyTargetGroupAttributes", "DeleteTargetGroup", "ModifyListenerAttributes",
             "ModifyCapacityReservation", "ModifyIpPools"),
        condition=_TAGGED_RESOURCE,
    ),
    _stmt(_elb("AddTags"), _LB_AND_TG,
          {"StringEquals": {f"{_ELB}:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]}, **_TAGGED_REQUEST}),
    _stmt(_elb("RegisterTargets", "DeregisterTargets"), "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*"),
    _stmt(_elb("SetWebAcl", "ModifyListener", "AddListenerCertificates", "RemoveListenerCertificates", "ModifyRule",
               "SetRulePriorities")),
]


def aws_load_balancer_controller_policy() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": AWS_LOAD_BALANCER_CONTROLLER_STATEMENTS}, sort_keys=True)
