"""Which input changes force a resource to be replaced (delete + create) rather than updated in place.

One row per resource type the platform creates (`CREATED_TYPES` lists them; a test keeps the list equal to what
the dev, prod and local plans register), each rule naming the file and commit it was read in:

- AWS resources (pulumi-aws bridges the Terraform AWS provider): the attributes marked `ForceNew: true` (SDKv2) or
  `RequiresReplace()` (plugin framework) in hashicorp/terraform-provider-aws `internal/service/<service>/<file>.go`,
  plus `CustomizeDiff` `ForceNewIf...` rules, in the camelCase pulumi-aws uses for inputs. Every row was read in
  the provider source through the code index; the commit is the stored version read (for files found by a
  string search, the version the index lists for that path).
- `random:index/randomPassword:RandomPassword`: every attribute has `RequiresReplace()` in
  hashicorp/terraform-provider-random `internal/provider/resource_password.go`.
- Kubernetes objects: pulumi-kubernetes `provider/pkg/provider/diff.go` `forceNewProperties` (commit
  94977969d641, 2026-07-01): `.metadata.name` / `.metadata.namespace` for every kind (also custom resources),
  the per-kind table `forceNew` (keyed by group and version: e.g. PodDisruptionBudget only in policy/v1beta1), and
  Secret / ConfigMap data: `.type`, `.stringData`, `.data` of a Secret unless the provider has
  `enableSecretMutable` (then only `.type`); `.binaryData`, `.data` of a ConfigMap unless the provider has
  `enableConfigMapMutable`; either way an object with `immutable: true` is replaced on a data change. The
  provider flags can also come from `PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE` / `PULUMI_K8S_ENABLE_SECRET_MUTABLE` in
  the deployer's environment, which an offline plan cannot see: the plan follows the provider's inputs.
- Helm releases (`kubernetes:helm.sh/v3:Release`): `forceNewFields := []string{".name", ".namespace"}` in
  pulumi-kubernetes `provider/pkg/provider/helm_release.go` (Diff, same commit).

A resource's own `replaceOnChanges` option adds paths (see `serving.plan.compute.diff`).

`IN_PLACE` names the created types whose inputs (as the program sets them) all update in place, and why; a
Kubernetes field the API server rejects as immutable but pulumi-kubernetes does not replace on (PriorityClass
`value`, Service `clusterIPs`, ...) makes `pulumi up` fail rather than replace: noted there, not a rule.

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


_TF_AWS = "hashicorp/terraform-provider-aws"
_K8S_COMMIT = "94977969d64112b04e19945818a7d5d5f38f631d"
_K8S = f"pulumi/pulumi-kubernetes provider/pkg/provider/diff.go forceNewProperties @{_K8S_COMMIT[:12]}"


def _tf(path_in_provider: str, commit: str, *paths: str, repo: str = _TF_AWS, marker: str = "ForceNew") -> tuple[Rule, ...]:
    """Rules read in `repo`'s `path_in_provider` at `commit` (`internal/service/` is implied for the AWS provider)."""
    where = path_in_provider if repo != _TF_AWS else f"internal/service/{path_in_provider}"
    return tuple(Rule(p, f"{repo} {where} @{commit[:12]} ({marker})") for p in paths)


def _removed(old: Any, new: Any) -> bool:
    return old not in (MISSING, None, [], {}) and new in (MISSING, None, [], {})


#: Type token -> rules. Kubernetes kinds also get `KUBERNETES_METADATA` (every kind, including custom resources).
AWS_RULES: dict[str, tuple[Rule, ...]] = {
    # EKS cluster and node group: read in the provider source when the table was first written; the commit is the
    # version the code index stores for the file (not re-read in the verification pass).
    "aws:eks/cluster:Cluster": (
        *_tf("eks/cluster.go", "e33a89d079930e92c79a986c9c041c5ed5191639", "name", "roleArn",
             "accessConfig.bootstrapClusterCreatorAdminPermissions", "bootstrapSelfManagedAddons",
             "kubernetesNetworkConfig.ipFamily", "kubernetesNetworkConfig.serviceIpv4Cidr",
             "outpostConfig.controlPlaneInstanceType"),
        Rule("encryptionConfig", f"{_TF_AWS} internal/service/eks/cluster.go @e33a89d07993 "
             "(CustomizeDiff ForceNewIfChange: encryption cannot be disabled)", when=_removed, note="removed"),
    ),
    "aws:eks/nodeGroup:NodeGroup": _tf(
        "eks/node_group.go", "b11fc0fdd2efcc87bbff031692818008455bd048", "amiType", "capacityType", "clusterName",
        "diskSize", "instanceTypes", "launchTemplate.id", "launchTemplate.name", "nodeGroupName",
        "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds",
    ),
    "aws:eks/accessEntry:AccessEntry": _tf(
        "eks/access_entry.go", "01f431114674c27cf790fafb67ac274bf8f765e1", "clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _tf(
        "eks/access_policy_association.go", "01f431114674c27cf790fafb67ac274bf8f765e1",
        "clusterName", "principalArn", "policyArn", "accessScope"),
    "aws:eks/addon:Addon": _tf("eks/addon.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39", "clusterName", "addonName"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _tf(
        "eks/pod_identity_association.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39",
        "clusterName", "namespace", "serviceAccount", marker="RequiresReplace"),
    # instanceTenancy is not ForceNew (resourceVPCUpdate calls modifyVPCTenancy); ipv4NetmaskLength is.
    "aws:ec2/vpc:Vpc": _tf("ec2/vpc_.go", "00081ce41cc691433ac19bf42227cdabffd0454d",
                           "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    "aws:ec2/subnet:Subnet": (
        *_tf("ec2/vpc_subnet.go", "00cda125a19d31754cb0d073cf551264c57955cb", "availabilityZone",
             "availabilityZoneId", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength", "ipv6IpamPoolId",
             "ipv6Native", "ipv6NetmaskLength", "outpostArn", "vpcId"),
        # CustomizeDiff ForceNewIf("ipv6_cidr_block"): only when the subnet assigned IPv6 addresses on creation.
    ),
    "aws:ec2/natGateway:NatGateway": _tf(
        "ec2/vpc_nat_gateway.go", "04088eaa54948421bf1ef7494ae2b2c01d9243e3", "allocationId", "connectivityType",
        "privateIp", "secondaryPrivateIpAddressCount", "subnetId"),
    "aws:ec2/eip:Eip": _tf("ec2/ec2_eip.go", "01606926a0c0ab9174aec440f976a48b0baee722",
                           "address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"),
    "aws:ec2/routeTable:RouteTable": _tf("ec2/vpc_route_table.go", "022092419b7cda11527df3c6b51cbfe1876c1722", "vpcId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _tf(
        "ec2/vpc_route_table_association.go", "0be71beb458ad8875e0acc5c91519c0ceeb214aa", "subnetId", "gatewayId"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _tf(
        "ec2/vpc_default_security_group.go", "af55dfb90500e80afb9d9ba64a76024e500c948a", "vpcId"),
    "aws:ec2/launchTemplate:LaunchTemplate": _tf(
        "ec2/ec2_launch_template.go", "c49358f89b43a4d9c8e533cd0610cd72cbd11eb3", "name", "namePrefix"),
    "aws:autoscaling/tag:Tag": _tf(
        "autoscaling/group_tag.go", "050ac11163cab8cdae5936a7f40b0e528ff780df", "autoscalingGroupName", "tag.key"),
    # Every attribute but tags is ForceNew (the update function is "Tags only").
    "aws:ec2/flowLog:FlowLog": _tf(
        "ec2/vpc_flow_log.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39", "deliverCrossAccountRole",
        "destinationOptions", "eniId", "iamRoleArn", "logDestination", "logDestinationType", "logFormat",
        "maxAggregationInterval", "regionalNatGatewayId", "subnetId", "trafficType", "transitGatewayAttachmentId",
        "transitGatewayId", "vpcId"),
    "aws:cloudwatch/logGroup:LogGroup": _tf(
        "logs/group.go", "b11fc0fdd2efcc87bbff031692818008455bd048", "logGroupClass", "name", "namePrefix"),
    "aws:iam/role:Role": _tf("iam/role.go", "3277329285f5730eeff9c56fbe69836c9448ab78", "name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": _tf(
        "iam/role_policy.go", "33aa0b5e1401dc9bb1c862c51471506512abc050", "name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _tf(
        "iam/role_policy_attachment.go", "81ae62fe1923da7df3e2e3d1444f883c64396a12", "role", "policyArn"),
    "aws:kms/key:Key": _tf("kms/key.go", "0964ed39dadd350ec504a9535b4f507e649153d9", "customKeyStoreId",
                           "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
    "aws:kms/alias:Alias": _tf("kms/alias.go", "4c72bcc7dc2f5ace40ce61f2a90e12a62cf4ec9a", "name", "namePrefix"),
    "random:index/randomPassword:RandomPassword": _tf(
        "internal/provider/resource_password.go", "c054b4769837f07ce6dcff3eeaea47f16f1000b6", "keepers", "length",
        "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number", "numeric", "overrideSpecial",
        "special", "upper", repo="hashicorp/terraform-provider-random", marker="RequiresReplace"),
}

KUBERNETES_METADATA: tuple[Rule, ...] = (
    Rule("metadata.name", f"{_K8S} (every kind)"),
    Rule("metadata.namespace", f"{_K8S} (every kind)"),
)

_LABEL_SELECTOR = ("spec.selector",)  # matchLabels / matchExpressions live under it

#: Kubernetes kind (as in the type token `kubernetes:<group>/<version>:<Kind>`, group "core" for the core API)
#: -> rules beyond the metadata ones. Keyed by (group, kind): diff.go has the same rows for every version we use
#: (apps/v1, batch/v1, core/v1, rbac/v1, storage.k8s.io/v1). Secret and ConfigMap data: `data_rules`.
KUBERNETES_RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("apps", "Deployment"): tuple(Rule(p, _K8S) for p in _LABEL_SELECTOR),
    ("apps", "DaemonSet"): tuple(Rule(p, _K8S) for p in _LABEL_SELECTOR),
    ("apps", "StatefulSet"): tuple(
        Rule(p, _K8S)
        for p in ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName",
                  "spec.volumeClaimTemplates")
    ),
    ("batch", "Job"): tuple(Rule(p, _K8S) for p in ("spec.completions", "spec.parallelism", "spec.selector", "spec.template")),
    # Not `.spec`: a storage request can grow in place (volume expansion).
    ("core", "PersistentVolumeClaim"): tuple(
        Rule(p, _K8S) for p in ("spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName")
    ),
    # Every volume source of a PV replaces it; the platform's PVs use `csi` (Mountpoint for S3, shared_weights.py).
    ("core", "PersistentVolume"): (Rule("spec.csi", _K8S),),
    ("core", "ResourceQuota"): (Rule("spec.scopes", _K8S),),
    ("core", "Service"): (Rule("spec.clusterIP", _K8S),),
    ("rbac.authorization.k8s.io", "RoleBinding"): (Rule("roleRef", _K8S),),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (Rule("roleRef", _K8S),),
    ("storage.k8s.io", "StorageClass"): tuple(Rule(p, _K8S) for p in ("parameters", "provisioner")),
}

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_RELEASE_RULES: tuple[Rule, ...] = tuple(
    Rule(p, f"pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go Diff (forceNewFields) @{_K8S_COMMIT[:12]}")
    for p in ("name", "namespace")
)


def _flag(provider_inputs: Optional[Mapping[str, Any]], key: str) -> bool:
    value = (provider_inputs or {}).get(key)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def data_rules(kind: tuple[str, str], inputs: Mapping[str, Any],
               provider_inputs: Optional[Mapping[str, Any]] = None) -> tuple[Rule, ...]:
    """Secret / ConfigMap data rules, which depend on the object's `immutable` and the provider's flags."""
    immutable = inputs.get("immutable") is True
    if kind == ("core", "Secret"):
        if _flag(provider_inputs, "enableSecretMutable") and not immutable:
            return (Rule("type", _K8S),)
        why = "immutable Secret" if immutable else "Secrets are replaced unless the provider sets enableSecretMutable"
        return tuple(Rule(p, f"{_K8S} ({why})") for p in ("type", "stringData", "data"))
    if kind == ("core", "ConfigMap"):
        if _flag(provider_inputs, "enableConfigMapMutable") and not immutable:
            return ()
        why = ("immutable ConfigMap" if immutable
               else "ConfigMaps are replaced unless the provider sets enableConfigMapMutable")
        return tuple(Rule(p, f"{_K8S} ({why})") for p in ("binaryData", "data"))
    return ()


#: Created types with no replacement-forcing input as the program sets them (beyond Kubernetes metadata), and why.
IN_PLACE: dict[str, str] = {
    "aws:ec2/internetGateway:InternetGateway": (
        f"{_TF_AWS} internal/service/ec2/vpc_internet_gateway.go @08923b68b5ad: no ForceNew; a vpcId change "
        "detaches and attaches in place"),
    "kubernetes:core/v1:Namespace": f"{_K8S}: metadata only",
    "kubernetes:core/v1:ServiceAccount": f"{_K8S}: metadata only",
    "kubernetes:core/v1:LimitRange": f"{_K8S}: metadata only",
    "kubernetes:policy/v1:PodDisruptionBudget": f"{_K8S}: `.spec` replaces only in policy/v1beta1",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": f"{_K8S}: metadata only",
    "kubernetes:rbac.authorization.k8s.io/v1:Role": f"{_K8S}: metadata only (only bindings replace on roleRef)",
    "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition": (
        f"{_K8S}: metadata only; the API server rejects a change of `spec.group`/`names`/`scope` instead"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": f"{_K8S}: metadata only",
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": (
        f"{_K8S}: metadata only; the API server rejects a change of `value` (immutable), so `pulumi up` fails "
        "instead of replacing: rename the class to change its value"),
}
#: Custom resources: pulumi-kubernetes replaces them only on metadata.name / namespace (diff.go has no CRD rows).
CUSTOM_RESOURCE_GROUPS = (
    "cert-manager.io", "gateway.envoyproxy.io", "gateway.networking.k8s.io", "keda.sh", "monitoring.coreos.com",
    "inference.networking.k8s.io", "aigateway.envoyproxy.io", "http.keda.sh",
)


def is_covered(type_: str) -> bool:
    """The table says something about `type_`: rules, a documented in-place row, or a custom resource group."""
    gk = kubernetes_kind(type_)
    return (
        type_ in AWS_RULES or type_ in IN_PLACE or type_ == HELM_RELEASE
        or (gk is not None and (gk in KUBERNETES_RULES or gk in (("core", "Secret"), ("core", "ConfigMap"))
                                or gk[0] in CUSTOM_RESOURCE_GROUPS))
    )


_K8S_TOKEN = re.compile(r"^kubernetes:(?P<group>[^/]+)/(?P<version>[^:]+):(?P<kind>.+)$")


def kubernetes_kind(type_: str) -> Optional[tuple[str, str]]:
    """`kubernetes:apps/v1:Deployment` -> ("apps", "Deployment"); None for non-Kubernetes types and Helm/YAML shells."""
    m = _K8S_TOKEN.match(type_)
    if not m or m["group"] in ("helm.sh", "yaml", "kustomize"):
        return None
    return m["group"], m["kind"]


def rules_for(type_: str, inputs: Optional[Mapping[str, Any]] = None,
              provider_inputs: Optional[Mapping[str, Any]] = None) -> tuple[Rule, ...]:
    """The rules of `type_`; `inputs` (the new inputs) and `provider_inputs` decide Secret / ConfigMap data."""
    if type_ == HELM_RELEASE:
        return HELM_RELEASE_RULES
    gk = kubernetes_kind(type_)
    if gk is not None:
        return KUBERNETES_METADATA + KUBERNETES_RULES.get(gk, ()) + data_rules(gk, inputs or {}, provider_inputs)
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
    provider_inputs: Optional[Mapping[str, Any]] = None,
) -> list[Replacement]:
    """Every rule of `type_` (plus the resource's own `replaceOnChanges` paths) whose value differs.
    `provider_inputs`: the inputs of the resource's provider (pulumi-kubernetes' enableConfigMapMutable ...)."""
    out: list[Replacement] = []
    seen: set[str] = set()
    extra = tuple(Rule(p, "replaceOnChanges resource option") for p in extra_paths)
    for rule in (*rules_for(type_, new_inputs, provider_inputs), *extra):
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
