"""Which input changes force a resource to be replaced (delete + create) rather than updated in place.

One row per resource type the platform creates, with where the fact comes from:

- AWS resources (pulumi-aws bridges the Terraform AWS provider): the fields marked `ForceNew: true` in the
  provider's schema, `internal/service/<service>/<resource>.go` of hashicorp/terraform-provider-aws, plus its
  `CustomizeDiff` `ForceNewIfChange` rules, in the camelCase pulumi-aws uses for inputs. The EKS rows (cluster,
  node group) were read in the provider source (2026 snapshot); the other AWS rows follow the provider docs'
  "Forces new resource" notes and were not re-read offline: check the named file when one matters.
- Kubernetes objects: pulumi-kubernetes' replace-on-change table `forceNewProperties` in
  `provider/pkg/provider/diff.go` (`.metadata.name` / `.metadata.namespace` for every kind, Deployment
  `.spec.selector`, Job `.spec.template`, PVC `.spec`, StorageClass `.parameters` / `.provisioner`, ...), which
  mirrors fields the Kubernetes API server rejects as immutable.
- Helm releases (`kubernetes:helm.sh/v3:Release`): `forceNewFields := []string{".name", ".namespace"}` in
  pulumi-kubernetes `provider/pkg/provider/helm_release.go` (Diff).

A resource's own `replaceOnChanges` option adds paths (see `serving.plan.diff`).

Not in the table on purpose: EKS `vpcConfig.subnetIds` / `securityGroupIds` lost `ForceNew` in the current
provider (EKS `UpdateClusterConfig` changes them in place); EKS `encryptionConfig` forces replacement only when it
is removed (`ForceNewIfChange`: envelope encryption cannot be disabled), which is the conditional rule below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

#: Marks "no value at this path" when comparing (distinct from an explicit null).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()

#: A condition on (old value, new value) at the rule's path: the change forces replacement only when it holds.
Condition = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Rule:
    #: Property path in camelCase, dot separated; `[*]` matches every list element.
    path: str
    #: Where the fact comes from.
    source: str
    #: Optional condition; None: any change at (or under) the path forces replacement.
    when: Optional[Condition] = None
    #: What the condition means, for the reason text (e.g. "removed").
    note: str = ""


_TF = "terraform-provider-aws internal/service/"
_K8S = "pulumi-kubernetes provider/pkg/provider/diff.go forceNewProperties"


def _tf(path_in_provider: str, *paths: str) -> tuple[Rule, ...]:
    return tuple(Rule(p, f"{_TF}{path_in_provider} (ForceNew)") for p in paths)


def _removed(old: Any, new: Any) -> bool:
    return old not in (MISSING, None, [], {}) and new in (MISSING, None, [], {})


def _external_name_transition(old: Any, new: Any) -> bool:
    # An ExternalName Service has no cluster IP; switching to or from it changes `.spec.clusterIP`, which
    # pulumi-kubernetes replaces on (diff.go: Service `.spec.clusterIP`).
    return (old == "ExternalName") != (new == "ExternalName") and old is not MISSING


#: Type token -> rules. Kubernetes kinds also get `KUBERNETES_METADATA` (every kind, including custom resources).
AWS_RULES: dict[str, tuple[Rule, ...]] = {
    "aws:eks/cluster:Cluster": (
        *_tf("eks/cluster.go", "name", "roleArn", "accessConfig.bootstrapClusterCreatorAdminPermissions",
             "bootstrapSelfManagedAddons", "kubernetesNetworkConfig.ipFamily", "kubernetesNetworkConfig.serviceIpv4Cidr",
             "outpostConfig.controlPlaneInstanceType"),
        Rule("encryptionConfig", f"{_TF}eks/cluster.go (CustomizeDiff ForceNewIfChange: encryption cannot be disabled)",
             when=_removed, note="removed"),
    ),
    "aws:eks/nodeGroup:NodeGroup": _tf(
        "eks/node_group.go", "amiType", "capacityType", "clusterName", "diskSize", "instanceTypes",
        "launchTemplate.id", "launchTemplate.name", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn",
        "remoteAccess", "subnetIds",
    ),
    "aws:eks/accessEntry:AccessEntry": _tf("eks/access_entry.go", "clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _tf(
        "eks/access_policy_association.go", "clusterName", "principalArn", "policyArn", "accessScope"
    ),
    "aws:eks/addon:Addon": _tf("eks/addon.go", "clusterName", "addonName"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _tf(
        "eks/pod_identity_association.go", "clusterName", "namespace", "serviceAccount"
    ),
    "aws:ec2/vpc:Vpc": _tf("ec2/vpc_.go", "cidrBlock", "instanceTenancy", "ipv4IpamPoolId"),
    "aws:ec2/subnet:Subnet": _tf(
        "ec2/vpc_subnet.go", "cidrBlock", "availabilityZone", "availabilityZoneId", "vpcId", "outpostArn"
    ),
    "aws:ec2/natGateway:NatGateway": _tf("ec2/vpc_nat_gateway.go", "allocationId", "subnetId", "connectivityType", "privateIp"),
    "aws:ec2/eip:Eip": _tf("ec2/ec2_eip.go", "domain", "publicIpv4Pool", "networkBorderGroup", "address"),
    "aws:ec2/routeTable:RouteTable": _tf("ec2/vpc_route_table.go", "vpcId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _tf("ec2/vpc_route_table_association.go", "subnetId", "gatewayId"),
    "aws:ec2/securityGroup:SecurityGroup": _tf("ec2/vpc_security_group.go", "name", "namePrefix", "description", "vpcId"),
    "aws:ec2/launchTemplate:LaunchTemplate": _tf("ec2/ec2_launch_template.go", "name", "namePrefix"),
    "aws:iam/role:Role": _tf("iam/role.go", "name", "namePrefix", "path"),
    "aws:iam/policy:Policy": _tf("iam/policy.go", "name", "namePrefix", "path", "description"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _tf("iam/role_policy_attachment.go", "role", "policyArn"),
    "aws:iam/instanceProfile:InstanceProfile": _tf("iam/instance_profile.go", "name", "namePrefix", "path"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _tf("iam/openid_connect_provider.go", "url"),
    "aws:kms/key:Key": _tf("kms/key.go", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId", "customKeyStoreId"),
    "aws:kms/alias:Alias": _tf("kms/alias.go", "name", "namePrefix"),
    "aws:s3/bucket:Bucket": _tf("s3/bucket.go", "bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:ecr/repository:Repository": _tf("ecr/repository.go", "name", "encryptionConfigurations"),
}

KUBERNETES_METADATA: tuple[Rule, ...] = (
    Rule("metadata.name", f"{_K8S} (every kind)"),
    Rule("metadata.namespace", f"{_K8S} (every kind)"),
)

_LABEL_SELECTOR = ("spec.selector",)  # matchLabels / matchExpressions live under it

#: Kubernetes kind (as in the type token `kubernetes:<group>/<version>:<Kind>`, group "core" for the core API)
#: -> rules beyond the metadata ones. Keyed by (group, kind): the table applies to every served version we use.
KUBERNETES_RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("apps", "Deployment"): tuple(Rule(p, _K8S) for p in _LABEL_SELECTOR),
    ("apps", "DaemonSet"): tuple(Rule(p, _K8S) for p in _LABEL_SELECTOR),
    ("apps", "StatefulSet"): tuple(
        Rule(p, _K8S)
        for p in ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName",
                  "spec.volumeClaimTemplates")
    ),
    ("batch", "Job"): tuple(Rule(p, _K8S) for p in ("spec.completions", "spec.parallelism", "spec.selector", "spec.template")),
    ("core", "ConfigMap"): tuple(Rule(p, _K8S) for p in ("binaryData", "data")),
    ("core", "Secret"): tuple(Rule(p, _K8S) for p in ("type", "stringData", "data")),
    ("core", "PersistentVolumeClaim"): (Rule("spec", _K8S),),
    ("core", "ResourceQuota"): (Rule("spec.scopes", _K8S),),
    ("core", "Service"): (
        Rule("spec.clusterIP", _K8S),
        Rule("spec.clusterIPs", f"{_K8S} (clusterIP is immutable; clusterIPs[0] is the same address)"),
        Rule("spec.type", f"{_K8S} (.spec.clusterIP is allocated or dropped)", when=_external_name_transition,
             note="changed to or from ExternalName"),
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): (Rule("roleRef", _K8S),),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (Rule("roleRef", _K8S),),
    ("storage.k8s.io", "StorageClass"): tuple(Rule(p, _K8S) for p in ("parameters", "provisioner")),
}

HELM_RELEASE_RULES: tuple[Rule, ...] = tuple(
    Rule(p, "pulumi-kubernetes provider/pkg/provider/helm_release.go Diff (forceNewFields)") for p in ("name", "namespace")
)

_K8S_TOKEN = re.compile(r"^kubernetes:(?P<group>[^/]+)/(?P<version>[^:]+):(?P<kind>.+)$")


def kubernetes_kind(type_: str) -> Optional[tuple[str, str]]:
    """`kubernetes:apps/v1:Deployment` -> ("apps", "Deployment"); None for non-Kubernetes types and Helm/YAML shells."""
    m = _K8S_TOKEN.match(type_)
    if not m or m["group"] in ("helm.sh", "yaml", "kustomize"):
        return None
    return m["group"], m["kind"]


def rules_for(type_: str) -> tuple[Rule, ...]:
    if type_ == "kubernetes:helm.sh/v3:Release":
        return HELM_RELEASE_RULES
    gk = kubernetes_kind(type_)
    if gk is not None:
        return KUBERNETES_METADATA + KUBERNETES_RULES.get(gk, ())
    return AWS_RULES.get(type_, ())


# -- reading values at a rule path -------------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    """"spec.template.spec.containers[*].image" -> ["spec", "template", "spec", "containers", "[*]", "image"]."""
    out: list[str] = []
    for part in path.split("."):
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                out.append(head)
            index, _, part = rest.partition("]")
            out.append(f"[{index}]")
        if part:
            out.append(part)
    return out


def value_at(value: Any, path: str) -> Any:
    """The value at `path` (MISSING when absent); `[*]` yields the list of every element's value."""

    def walk(v: Any, segs: list[str]) -> Any:
        if not segs:
            return v
        seg, rest = segs[0], segs[1:]
        if seg == "[*]":
            if not isinstance(v, (list, tuple)):
                return MISSING
            return [walk(item, rest) for item in v]
        if seg.startswith("["):
            if not isinstance(v, (list, tuple)):
                return MISSING
            i = int(seg[1:-1])
            return walk(v[i], rest) if 0 <= i < len(v) else MISSING
        if isinstance(v, Mapping):
            return walk(v[seg], rest) if seg in v else MISSING
        return MISSING

    return walk(value, _segments(path))


@dataclass(frozen=True)
class Replacement:
    """One reason a resource must be replaced."""

    path: str
    source: str
    note: str = ""

    @property
    def text(self) -> str:
        return f"{self.path} {self.note}" if self.note else f"{self.path} changed"


def replacements(
    type_: str,
    old_inputs: Mapping[str, Any],
    new_inputs: Mapping[str, Any],
    extra_paths: Iterable[str] = (),
    equal: Callable[[Any, Any], bool] = lambda a, b: a == b,
) -> list[Replacement]:
    """Every rule of `type_` (plus the resource's own `replaceOnChanges` paths) whose value differs."""
    out: list[Replacement] = []
    seen: set[str] = set()
    extra = tuple(Rule(p, "replaceOnChanges resource option") for p in extra_paths)
    for rule in (*rules_for(type_), *extra):
        if rule.path in seen:
            continue
        if rule.path == "*":
            old, new = dict(old_inputs), dict(new_inputs)
        else:
            old, new = value_at(old_inputs, rule.path), value_at(new_inputs, rule.path)
        if equal(old, new):
            continue
        if rule.when is not None and not rule.when(old, new):
            continue
        seen.add(rule.path)
        out.append(Replacement(rule.path, rule.source, rule.note))
    return out
