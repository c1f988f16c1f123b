"""Deterministic stand-ins for the cloud: what each resource and invoke returns in an offline plan.

`new_resource` returns the resource's inputs plus the outputs the program reads from it; `call` answers invokes.
Both are tables keyed by type token / function token: to support a new resource type or invoke, add a row with
the decorators `@resource_outputs("aws:...")` / `@invoke("aws:...")`. Every value derives only from the inputs,
the resource name and the region, so the same program and config always give the same plan.

Unmocked invokes return {} (as the SDK mock does): the program then sees missing values, so add a row.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
PARTITION = "aws"


def digest(*parts: Any, length: int = 16) -> str:
    """A stable hex string derived from `parts` (stands in for generated IDs)."""
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:length]


def plain(value: Any) -> Any:
    """An input value with secret wrappers removed (mock outputs are computed from the real values)."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _urn_type(provider_ref: str) -> str:
    """The (qualified) type of a provider reference `urn:pulumi:stack::project::type::name::id`."""
    parts = provider_ref.split("::")
    return parts[2] if len(parts) > 2 else ""


@dataclass
class MockContext:
    """What a mock may know beyond its own inputs: the providers registered so far and the stack config."""

    config: Mapping[str, str] = field(default_factory=dict)
    #: Provider reference ("urn::id") -> the provider's inputs.
    providers: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def region(self, provider_ref: Optional[str] = None, inputs: Optional[Mapping[str, Any]] = None) -> str:
        """The AWS region: the resource's own `region` input, else its provider's, else `aws:region`."""
        for source in (inputs or {}, self.providers.get(provider_ref or "", {})):
            region = plain(source.get("region"))
            if isinstance(region, str) and region:
                return region
        if self.config.get("aws:region"):
            return str(self.config["aws:region"])
        # e.g. a Kubernetes LoadBalancer Service: the region of the stack's AWS provider, if there is just one.
        regions = {plain(p.get("region")) for ref, p in list(self.providers.items()) if _urn_type(ref).endswith("pulumi:providers:aws")}
        regions.discard(None)
        return str(regions.pop()) if len(regions) == 1 else DEFAULT_REGION

    def arn(self, service: str, resource: str, region: str = "", account: str = ACCOUNT_ID) -> str:
        return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class ResourceCall:
    """What a resource mock gets: the SDK mock's arguments, plain inputs and the context."""

    args: MockResourceArgs
    inputs: dict[str, Any]
    ctx: MockContext

    @property
    def name(self) -> str:
        return self.args.name

    @property
    def region(self) -> str:
        return self.ctx.region(self.args.provider, self.inputs)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.inputs.get(key)
        return default if value is None else value


@dataclass(frozen=True)
class InvokeCall:
    args: MockCallArgs
    inputs: dict[str, Any]
    ctx: MockContext

    @property
    def region(self) -> str:
        return self.ctx.region(self.args.provider, self.inputs)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.inputs.get(key)
        return default if value is None else value


ResourceMock = Callable[[ResourceCall], dict[str, Any]]
InvokeMock = Callable[[InvokeCall], dict[str, Any]]

#: Type token -> extra outputs of a resource (merged over its inputs).
RESOURCE_OUTPUTS: dict[str, ResourceMock] = {}
#: Function token -> result of an invoke.
INVOKES: dict[str, InvokeMock] = {}


def resource_outputs(*tokens: str) -> Callable[[ResourceMock], ResourceMock]:
    def register(fn: ResourceMock) -> ResourceMock:
        for token in tokens:
            if token in RESOURCE_OUTPUTS:
                raise ValueError(f"two resource mocks for {token}")
            RESOURCE_OUTPUTS[token] = fn
        return fn

    return register


def invoke(*tokens: str) -> Callable[[InvokeMock], InvokeMock]:
    def register(fn: InvokeMock) -> InvokeMock:
        for token in tokens:
            if token in INVOKES:
                raise ValueError(f"two invoke mocks for {token}")
            INVOKES[token] = fn
        return fn

    return register


def deep_merge(base: Any, extra: Any) -> Any:
    """`extra` over `base`; objects merge key by key (secret-wrapped values are replaced, not merged)."""
    if (
        isinstance(base, dict)
        and isinstance(extra, dict)
        and not rpc.is_rpc_secret(base)
        and not rpc.is_rpc_secret(extra)
    ):
        out = dict(base)
        for key, value in extra.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return extra


class PlanMocks(Mocks):
    """The `Mocks` of an offline plan: inputs echoed back plus the table rows above."""

    def __init__(self, ctx: MockContext):
        self.ctx = ctx

    def new_resource(self, args: MockResourceArgs) -> tuple[Optional[str], dict]:
        inputs = dict(args.inputs)
        if not args.custom:
            return None, inputs  # components have no ID; their outputs are what they register
        call = ResourceCall(args=args, inputs=plain(inputs), ctx=self.ctx)
        mock = RESOURCE_OUTPUTS.get(args.typ)
        if mock is None and args.typ.startswith("aws:"):
            mock = _aws_generic
        extra = mock(call) if mock is not None else {}
        resource_id = args.resource_id or extra.pop("id", None) or f"{args.name}-id"
        return resource_id, deep_merge(inputs, extra)

    def call(self, args: MockCallArgs) -> dict:  # type: ignore[override]  # MockMonitor.Invoke accepts a dict
        mock = INVOKES.get(args.token)
        if mock is None:
            return {}
        return mock(InvokeCall(args=args, inputs=plain(dict(args.args)), ctx=self.ctx))


# ---------------------------------------------------------------------------------------------------------------
# AWS resources


def _service_of(token: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `ec2`."""
    module = token.split(":")[1]
    return module.split("/")[0]


def _aws_generic(r: ResourceCall) -> dict[str, Any]:
    """Any AWS resource without its own row: an ARN and `tagsAll`."""
    out: dict[str, Any] = {"arn": r.ctx.arn(_service_of(r.args.typ), f"{r.args.typ.rsplit(':', 1)[-1].lower()}/{r.name}", r.region)}
    if "tags" in r.inputs:
        out["tagsAll"] = r.inputs["tags"]
    return out


def _tags(r: ResourceCall) -> dict[str, Any]:
    return {"tagsAll": r.inputs["tags"]} if "tags" in r.inputs else {}


@resource_outputs("aws:eks/cluster:Cluster")
def _eks_cluster(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    oidc = digest("oidc", name, length=32).upper()
    vpc = r.get("vpcConfig", {})
    return {
        **_tags(r),
        "id": name,
        "name": name,
        "arn": r.ctx.arn("eks", f"cluster/{name}", r.region),
        "endpoint": f"https://{oidc}.gr7.{r.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(f"offline CA of {name}".encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{r.region}.amazonaws.com/id/{oidc}"}]}],
        "version": r.get("version", "1.34"),
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "clusterId": digest("cluster", name, length=8) + "-0000-0000-0000-" + digest("id", name, length=12),
        "vpcConfig": {
            "clusterSecurityGroupId": f"sg-{digest('cluster-sg', name, length=17)}",
            "vpcId": vpc.get("vpcId") or f"vpc-{digest('vpc', name, length=17)}",
        },
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"},
    }


@resource_outputs("aws:eks/nodeGroup:NodeGroup")
def _eks_node_group(r: ResourceCall) -> dict[str, Any]:
    cluster = r.get("clusterName", "cluster")
    name = r.get("nodeGroupName", r.name)
    return {
        **_tags(r),
        "nodeGroupName": name,
        "arn": r.ctx.arn("eks", f"nodegroup/{cluster}/{name}/{digest('ng', cluster, name, length=8)}", r.region),
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{digest('asg', cluster, name, length=8)}"}]}],
    }


@resource_outputs("aws:eks/addon:Addon")
def _eks_addon(r: ResourceCall) -> dict[str, Any]:
    cluster, addon = r.get("clusterName", "cluster"), r.get("addonName", r.name)
    return {
        **_tags(r),
        "arn": r.ctx.arn("eks", f"addon/{cluster}/{addon}/{digest('addon', cluster, addon, length=8)}", r.region),
        "addonVersion": r.get("addonVersion", "v1.0.0-eksbuild.1"),
    }


@resource_outputs("aws:eks/podIdentityAssociation:PodIdentityAssociation")
def _eks_pod_identity(r: ResourceCall) -> dict[str, Any]:
    cluster = r.get("clusterName", "cluster")
    assoc = f"a-{digest('pia', cluster, r.name, length=17)}"
    return {
        **_tags(r),
        "associationId": assoc,
        "associationArn": r.ctx.arn("eks", f"podidentityassociation/{cluster}/{assoc}", r.region),
    }


@resource_outputs("aws:eks/accessEntry:AccessEntry")
def _eks_access_entry(r: ResourceCall) -> dict[str, Any]:
    cluster = r.get("clusterName", "cluster")
    return {
        **_tags(r),
        "accessEntryArn": r.ctx.arn("eks", f"access-entry/{cluster}/{digest('ae', r.name, length=8)}", r.region),
        "type": r.get("type", "STANDARD"),
    }


@resource_outputs("aws:iam/role:Role")
def _iam_role(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {
        **_tags(r),
        "name": name,
        "arn": r.ctx.arn("iam", f"role{r.get('path', '/')}{name}"),
        "uniqueId": "AROA" + digest("role", name, length=17).upper(),
    }


@resource_outputs("aws:iam/policy:Policy")
def _iam_policy(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {
        **_tags(r),
        "name": name,
        "arn": r.ctx.arn("iam", f"policy{r.get('path', '/')}{name}"),
        "policyId": "ANPA" + digest("policy", name, length=17).upper(),
    }


@resource_outputs("aws:iam/instanceProfile:InstanceProfile")
def _iam_instance_profile(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {**_tags(r), "name": name, "arn": r.ctx.arn("iam", f"instance-profile/{name}")}


@resource_outputs("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _iam_oidc(r: ResourceCall) -> dict[str, Any]:
    url = str(r.get("url", r.name)).removeprefix("https://")
    return {**_tags(r), "arn": r.ctx.arn("iam", f"oidc-provider/{url}")}


@resource_outputs("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy")
def _iam_attachment(r: ResourceCall) -> dict[str, Any]:
    return {}


@resource_outputs("aws:ec2/vpc:Vpc")
def _vpc(r: ResourceCall) -> dict[str, Any]:
    vpc_id = f"vpc-{digest('vpc', r.name, length=17)}"
    return {
        **_tags(r),
        "id": vpc_id,
        "arn": r.ctx.arn("ec2", f"vpc/{vpc_id}", r.region, ACCOUNT_ID),
        "defaultSecurityGroupId": f"sg-{digest('default-sg', r.name, length=17)}",
        "mainRouteTableId": f"rtb-{digest('main-rtb', r.name, length=17)}",
        "defaultNetworkAclId": f"acl-{digest('acl', r.name, length=17)}",
        "ownerId": ACCOUNT_ID,
    }


def _ec2(prefix: str, kind: str, **extra: Callable[[ResourceCall, str], Any]) -> ResourceMock:
    def mock(r: ResourceCall) -> dict[str, Any]:
        rid = f"{prefix}-{digest(kind, r.name, length=17)}"
        out = {**_tags(r), "id": rid, "arn": r.ctx.arn("ec2", f"{kind}/{rid}", r.region, ACCOUNT_ID)}
        out.update({key: fn(r, rid) for key, fn in extra.items()})
        return out

    return mock


resource_outputs("aws:ec2/subnet:Subnet")(_ec2("subnet", "subnet", ownerId=lambda r, _: ACCOUNT_ID))
resource_outputs("aws:ec2/securityGroup:SecurityGroup")(_ec2("sg", "security-group", ownerId=lambda r, _: ACCOUNT_ID))
resource_outputs("aws:ec2/internetGateway:InternetGateway")(_ec2("igw", "internet-gateway"))
resource_outputs("aws:ec2/routeTable:RouteTable")(_ec2("rtb", "route-table"))
resource_outputs("aws:ec2/natGateway:NatGateway")(
    _ec2("nat", "natgateway", publicIp=lambda r, rid: "198.51.100." + str(int(digest("ip", r.name, length=2), 16) % 250 + 1))
)
resource_outputs("aws:ec2/eip:Eip")(
    _ec2(
        "eipalloc",
        "elastic-ip",
        allocationId=lambda r, rid: rid,
        publicIp=lambda r, rid: "198.51.100." + str(int(digest("eip", r.name, length=2), 16) % 250 + 1),
    )
)
resource_outputs("aws:ec2/launchTemplate:LaunchTemplate")(
    _ec2("lt", "launch-template", latestVersion=lambda r, rid: 1, defaultVersion=lambda r, rid: 1)
)
resource_outputs("aws:ec2/vpcEndpoint:VpcEndpoint")(_ec2("vpce", "vpc-endpoint"))


@resource_outputs("aws:kms/key:Key")
def _kms_key(r: ResourceCall) -> dict[str, Any]:
    h = digest("kms", r.name, length=32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return {**_tags(r), "id": key_id, "keyId": key_id, "arn": r.ctx.arn("kms", f"key/{key_id}", r.region)}


@resource_outputs("aws:kms/alias:Alias")
def _kms_alias(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", f"alias/{r.name}")
    return {"name": name, "arn": r.ctx.arn("kms", name, r.region), "targetKeyArn": r.get("targetKeyId", "")}


@resource_outputs("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _s3_bucket(r: ResourceCall) -> dict[str, Any]:
    bucket = r.get("bucket", f"{r.name}-{digest('bucket', r.name, length=7)}")
    return {
        **_tags(r),
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{r.region}.amazonaws.com",
        "region": r.region,
    }


@resource_outputs("aws:ecr/repository:Repository")
def _ecr_repository(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {
        **_tags(r),
        "name": name,
        "arn": r.ctx.arn("ecr", f"repository/{name}", r.region),
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{r.region}.amazonaws.com/{name}",
    }


@resource_outputs("aws:acm/certificate:Certificate")
def _acm_certificate(r: ResourceCall) -> dict[str, Any]:
    domain = r.get("domainName", r.name)
    names = [domain, *r.get("subjectAlternativeNames", [])]
    return {
        **_tags(r),
        "arn": r.ctx.arn("acm", f"certificate/{digest('acm', domain, length=32)}", r.region),
        "status": "PENDING_VALIDATION",
        "domainValidationOptions": [
            {
                "domainName": n,
                "resourceRecordName": f"_{digest('rr', n, length=32)}.{n.removeprefix('*.')}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{digest('rv', n, length=32)}.acm-validations.aws.",
            }
            for n in names
        ],
    }


@resource_outputs("aws:route53/zone:Zone")
def _route53_zone(r: ResourceCall) -> dict[str, Any]:
    zone_id = "Z" + digest("zone", r.get("name", r.name), length=20).upper()
    return {
        **_tags(r),
        "id": zone_id,
        "zoneId": zone_id,
        "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}",
        "nameServers": [f"ns-{i}.awsdns-00.{tld}" for i, tld in enumerate(("com", "net", "org", "co.uk"))],
    }


@resource_outputs("aws:route53/record:Record")
def _route53_record(r: ResourceCall) -> dict[str, Any]:
    return {"fqdn": str(r.get("name", r.name)).rstrip(".")}


@resource_outputs("aws:cloudwatch/logGroup:LogGroup")
def _log_group(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {**_tags(r), "name": name, "arn": r.ctx.arn("logs", f"log-group:{name}", r.region)}


@resource_outputs("aws:sqs/queue:Queue")
def _sqs_queue(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {
        **_tags(r),
        "name": name,
        "arn": r.ctx.arn("sqs", name, r.region),
        "url": f"https://sqs.{r.region}.amazonaws.com/{ACCOUNT_ID}/{name}",
    }


@resource_outputs("aws:secretsmanager/secret:Secret")
def _sm_secret(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {**_tags(r), "name": name, "arn": r.ctx.arn("secretsmanager", f"secret:{name}-{digest('sm', name, length=6)}", r.region)}


@resource_outputs("aws:efs/fileSystem:FileSystem")
def _efs(r: ResourceCall) -> dict[str, Any]:
    fs_id = f"fs-{digest('efs', r.name, length=17)}"
    return {
        **_tags(r),
        "id": fs_id,
        "arn": r.ctx.arn("elasticfilesystem", f"file-system/{fs_id}", r.region),
        "dnsName": f"{fs_id}.efs.{r.region}.amazonaws.com",
    }


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes, Helm, random


@resource_outputs("kubernetes:core/v1:Service")
def _k8s_service(r: ResourceCall) -> dict[str, Any]:
    spec = r.get("spec", {})
    meta = r.get("metadata", {})
    name, namespace = meta.get("name", r.name), meta.get("namespace", "default")
    out: dict[str, Any] = {}
    if spec.get("type") != "ExternalName":
        out["spec"] = {"clusterIP": "172.20." + ".".join(str(int(digest("ip", namespace, name, k, length=2), 16)) for k in "ab")}
    if spec.get("type") == "LoadBalancer":
        host = f"k8s-{namespace[:8]}-{name[:8]}-{digest('elb', namespace, name, length=10)}.elb.{r.region}.amazonaws.com"
        out["status"] = {"loadBalancer": {"ingress": [{"hostname": host}]}}
    return out


@resource_outputs("kubernetes:helm.sh/v3:Release")
def _helm_release(r: ResourceCall) -> dict[str, Any]:
    name = r.get("name", r.name)
    return {
        "name": name,
        "status": {
            "name": name,
            "namespace": r.get("namespace", "default"),
            "chart": r.get("chart", ""),
            "version": r.get("version", ""),
            "revision": 1,
            "status": "deployed",
        },
    }


@resource_outputs("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString")
def _random_string(r: ResourceCall) -> dict[str, Any]:
    length = int(r.get("length", 16))
    result = (digest("random", r.name, length=64) * (length // 64 + 1))[:length]
    out: dict[str, Any] = {"result": result}
    if r.args.typ == "random:index/randomPassword:RandomPassword":
        out["bcryptHash"] = "$2a$10$" + digest("bcrypt", r.name, length=53)
    return out


@resource_outputs("random:index/randomId:RandomId")
def _random_id(r: ResourceCall) -> dict[str, Any]:
    raw = bytes.fromhex(digest("randomid", r.name, length=2 * int(r.get("byteLength", 8))))
    return {
        "hex": raw.hex(),
        "dec": str(int.from_bytes(raw, "big")),
        "b64Std": base64.standard_b64encode(raw).decode(),
        "b64Url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


@resource_outputs("random:index/randomPet:RandomPet")
def _random_pet(r: ResourceCall) -> dict[str, Any]:
    words = ["calm", "brave", "quick", "bold", "kind"]
    pet = words[int(digest("pet", r.name, length=2), 16) % len(words)] + "-otter"
    return {"id": f"{r.get('prefix')}-{pet}" if r.get("prefix") else pet}


@resource_outputs("random:index/randomUuid:RandomUuid")
def _random_uuid(r: ResourceCall) -> dict[str, Any]:
    h = digest("uuid", r.name, length=32)
    return {"result": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"}


# ---------------------------------------------------------------------------------------------------------------
# Invokes


def _zone_prefix(region: str) -> str:
    """us-east-1 -> use1 (the AZ ID prefix)."""
    parts = region.split("-")
    return parts[0] + "".join(p[0] for p in parts[1:-1]) + parts[-1] if len(parts) >= 3 else region


@invoke("aws:index/getAvailabilityZones:getAvailabilityZones")
def _get_azs(c: InvokeCall) -> dict[str, Any]:
    region = c.region
    return {
        "id": region,
        "names": [f"{region}{s}" for s in "abc"],
        "zoneIds": [f"{_zone_prefix(region)}-az{i}" for i in (1, 2, 3)],
        "groupNames": [region] * 3,
        "state": c.get("state", "available"),
    }


@invoke("aws:index/getCallerIdentity:getCallerIdentity")
def _get_caller_identity(c: InvokeCall) -> dict[str, Any]:
    return {
        "id": ACCOUNT_ID,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/offline-plan",
        "userId": "AIDAOFFLINEPLAN000000",
    }


@invoke("aws:index/getRegion:getRegion")
def _get_region(c: InvokeCall) -> dict[str, Any]:
    region = c.get("region") or c.get("name") or c.region
    return {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    }


@invoke("aws:index/getPartition:getPartition")
def _get_partition(c: InvokeCall) -> dict[str, Any]:
    return {"id": PARTITION, "partition": PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


def _one_or_list(values: list[Any]) -> Any:
    """The provider renders a one-element list as a plain string."""
    return values[0] if len(values) == 1 else sorted(values) if all(isinstance(v, str) for v in values) else values


def policy_document(statements: list[Mapping[str, Any]], version: str = "2012-10-17", policy_id: str = "") -> dict[str, Any]:
    """The IAM policy JSON `aws.iam.get_policy_document` renders from its `statements`."""
    out_statements = []
    for s in statements:
        stmt: dict[str, Any] = {}
        if s.get("sid"):
            stmt["Sid"] = s["sid"]
        stmt["Effect"] = s.get("effect") or "Allow"
        for key, out_key in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(key):
                stmt[out_key] = _one_or_list(list(s[key]))
        for key, out_key in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if s.get(key):
                principals: dict[str, Any] = {}
                for p in s[key]:
                    ids = principals.setdefault(p["type"], [])
                    ids.extend(p.get("identifiers", []))
                stmt[out_key] = {t: _one_or_list(ids) for t, ids in principals.items()}
        if s.get("conditions"):
            cond: dict[str, dict[str, Any]] = {}
            for c in s["conditions"]:
                cond.setdefault(c["test"], {})[c["variable"]] = _one_or_list(list(c.get("values", [])))
            stmt["Condition"] = cond
        out_statements.append(stmt)
    doc: dict[str, Any] = {"Version": version}
    if policy_id:
        doc["Id"] = policy_id
    doc["Statement"] = out_statements
    return doc


@invoke("aws:iam/getPolicyDocument:getPolicyDocument")
def _get_policy_document(c: InvokeCall) -> dict[str, Any]:
    doc = policy_document(c.get("statements", []), c.get("version", "2012-10-17"), c.get("policyId", ""))
    text = json.dumps(doc, indent=2)
    return {"id": digest("policy", text, length=10), "json": text, "minifiedJson": json.dumps(doc, separators=(",", ":"))}


@invoke("aws:ssm/getParameter:getParameter")
def _get_ssm_parameter(c: InvokeCall) -> dict[str, Any]:
    name = c.get("name", "")
    value = f"ami-{digest('ami', name, length=17)}" if "/ami" in name or "image_id" in name else f"offline-{digest('ssm', name, length=8)}"
    return {
        "id": name,
        "name": name,
        "arn": c.ctx.arn("ssm", f"parameter{name if name.startswith('/') else '/' + name}", c.region),
        "type": "String",
        "value": value,
        "insecureValue": value,
        "version": 1,
    }


@invoke("aws:ec2/getAmi:getAmi")
def _get_ami(c: InvokeCall) -> dict[str, Any]:
    ami = f"ami-{digest('ami', json.dumps(c.inputs, sort_keys=True), length=17)}"
    return {"id": ami, "imageId": ami, "name": "offline-ami", "architecture": "x86_64", "ownerId": ACCOUNT_ID}


@invoke("aws:ec2/getVpc:getVpc")
def _get_vpc(c: InvokeCall) -> dict[str, Any]:
    vpc_id = c.get("id") or f"vpc-{digest('default-vpc', c.region, length=17)}"
    return {"id": vpc_id, "cidrBlock": "172.31.0.0/16", "arn": c.ctx.arn("ec2", f"vpc/{vpc_id}", c.region, ACCOUNT_ID)}


@invoke("aws:ec2/getSubnets:getSubnets")
def _get_subnets(c: InvokeCall) -> dict[str, Any]:
    key = json.dumps(c.inputs, sort_keys=True)
    return {"id": c.region, "ids": [f"subnet-{digest('subnet', key, i, length=17)}" for i in range(3)]}


@invoke("aws:route53/getZone:getZone")
def _get_zone(c: InvokeCall) -> dict[str, Any]:
    name = str(c.get("name", "example.com")).rstrip(".")
    zone_id = c.get("zoneId") or "Z" + digest("zone", name, length=20).upper()
    return {"id": zone_id, "zoneId": zone_id, "name": name, "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}"}


@invoke("aws:eks/getAddonVersion:getAddonVersion")
def _get_addon_version(c: InvokeCall) -> dict[str, Any]:
    return {"id": c.get("addonName", "addon"), "addonName": c.get("addonName", ""), "version": "v1.0.0-eksbuild.1"}


@invoke("aws:eks/getClusterAuth:getClusterAuth")
def _get_cluster_auth(c: InvokeCall) -> dict[str, Any]:
    return {"id": c.get("name", ""), "name": c.get("name", ""), "token": "k8s-aws-v1.offline"}
