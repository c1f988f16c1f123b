"""The platform's policy rules, as plain functions over resources (no Pulumi runtime needed).

Each `Rule` checks one thing the platform promises (EKS Best Practices, CIS EKS, Pod Security "restricted") and
yields a message per violation. `policies.py` turns the rules into pulumi-policy policies for `pulumi preview
--policy-pack policy`; `evaluate.py` runs the same rules offline on a captured plan (`python -m serving check`).

A rule is weakened only by an explicit, visible choice: the stack's `policyWaivers` (`<rule>: <reason>` in the stack
file, registered as inputs of the `serving:platform:Platform` component), or an annotation
`policy.serving.platform/<rule>: <reason>` on one object (or its pod template), or a tag of that key on an AWS
resource. A waived violation is still reported, as advisory, with the reason; a waiver shows in the stack file and in
the plan diff.

The label and annotation names here are the ones `serving/conventions.py` spells (the pack runs in a virtualenv of
its own, without the program's packages; tests/test_policy.py keeps them equal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

MANDATORY = "mandatory"
ADVISORY = "advisory"

#: Annotation (Kubernetes) or tag (AWS) key prefix of a waiver: `policy.serving.platform/<rule>: <reason>`.
WAIVER_PREFIX = "policy.serving.platform/"
#: serving.conventions.MODEL_LABEL / TEAM_LABEL / POOL_LABEL / GPU_RESOURCE / GPU_NODE_LABEL.
MODEL_LABEL = "serving.platform/model"
TEAM_LABEL = "serving.platform/team"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODE_LABEL = "nvidia.com/gpu.present"
#: Every control-plane log type EKS has (aws eks CreateCluster `logging.clusterLogging.types`).
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
#: S3 actions on objects: they must name a prefix (`bucket/prefix/*`), never a whole bucket or "*".
S3_OBJECT_ACTIONS = re.compile(r"^s3:(Get|Put|Delete|Restore)Object", re.I)


@dataclass(frozen=True)
class Resource:
    """A resource as a policy sees it: type token, name, URN, inputs (camelCase), parent and dependencies."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    parent: str = ""
    dependencies: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1] if self.type.startswith("kubernetes:") else ""

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.props.get("metadata") or {}

    @property
    def label(self) -> str:
        if self.type.startswith("kubernetes:"):
            ns = self.metadata.get("namespace")
            name = self.metadata.get("name") or self.name
            return f"{self.kind} {ns}/{name}" if ns else f"{self.kind} {name}"
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Stack:
    """Every resource of the stack; `stack` is the stack name (from the URNs)."""

    resources: tuple[Resource, ...]

    @property
    def stack(self) -> str:
        for r in self.resources:
            if r.urn.startswith("urn:pulumi:"):
                return r.urn.split("::", 1)[0][len("urn:pulumi:"):]
        return ""

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def kube(self, *kinds: str) -> list[Resource]:
        return [r for r in self.resources if r.type.startswith("kubernetes:") and r.kind in kinds]


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: Resource
    message: str
    level: str
    #: The waiver's reason when the violation was waived (then advisory).
    waived: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    #: (resource, stack, config) -> violation messages. Config: the pack's config for this rule.
    check: Callable[[Resource, Stack, Mapping[str, Any]], Iterable[str]]
    level: str = MANDATORY
    #: Type tokens (or `kubernetes:*:<Kind>` patterns) the rule looks at; empty: every resource.
    applies_to: tuple[str, ...] = ()
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def applies(self, r: Resource) -> bool:
        if not self.applies_to:
            return True
        return any(r.type == t or (t.startswith("kubernetes:*:") and r.kind == t.rsplit(":", 1)[-1]) for t in self.applies_to)


# -- helpers -----------------------------------------------------------------------------------------------------


PLATFORM_TYPE = "serving:platform:Platform"


def waiver(r: Resource, rule: str, stack: Optional[Stack] = None) -> Optional[str]:
    """The reason a rule is waived for `r`: the stack's waivers, an annotation on the object or its pod template, or
    an AWS tag."""
    for platform in stack.of_type(PLATFORM_TYPE) if stack is not None else []:
        reason = (platform.props.get("policyWaivers") or {}).get(rule)
        if reason:
            return f"stack policyWaivers: {reason}"
    key = WAIVER_PREFIX + rule
    sources: list[Mapping[str, Any]] = [r.metadata.get("annotations") or {}, r.props.get("tags") or {}]
    template = _template(r.props)
    if template is not None:
        sources.append((template.get("metadata") or {}).get("annotations") or {})
    for source in sources:
        if isinstance(source, Mapping) and source.get(key):
            return str(source[key])
    return None


def _template(props: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    spec = props.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template")


def pod_spec(r: Resource) -> Optional[Mapping[str, Any]]:
    if r.kind not in WORKLOAD_KINDS:
        return None
    if r.kind == "Pod":
        return r.props.get("spec") or {}
    template = _template(r.props)
    return (template or {}).get("spec") or {}


def pod_labels(r: Resource) -> Mapping[str, Any]:
    if r.kind == "Pod":
        return r.metadata.get("labels") or {}
    return ((_template(r.props) or {}).get("metadata") or {}).get("labels") or {}


def containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers"):
        yield from spec.get(key) or []


def _security(spec: Mapping[str, Any], c: Mapping[str, Any], key: str) -> Any:
    """A container's security setting, falling back to the pod's (runAsNonRoot, seccompProfile, runAsUser)."""
    own = (c.get("securityContext") or {}).get(key)
    return own if own is not None else (spec.get("securityContext") or {}).get(key)


def is_model(r: Resource) -> bool:
    return MODEL_LABEL in pod_labels(r)


def _policy_statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    statements = (document or {}).get("Statement") or []
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


# -- AWS rules ---------------------------------------------------------------------------------------------------


def eks_endpoint(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    vpc = r.props.get("vpcConfig") or {}
    if vpc.get("endpointPrivateAccess") is not True:
        yield "the private API endpoint is off: nodes and pods reach the API server over the internet"
    if vpc.get("endpointPublicAccess") is not False:
        cidrs = vpc.get("publicAccessCidrs") or []
        if not cidrs or any(str(c).endswith("/0") for c in cidrs):
            yield "the public API endpoint is open to the internet: turn it off or list the CIDRs that need it"


def eks_secrets_encryption(r: Resource, s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    enc = r.props.get("encryptionConfig") or {}
    if "secrets" not in (enc.get("resources") or []) or not (enc.get("provider") or {}).get("keyArn"):
        yield "Secrets are not envelope-encrypted with a KMS key (encryptionConfig)"
        return
    keys = [k for k in s.of_type("aws:kms/key:Key") if k.urn in r.dependencies]
    if not keys:
        yield "the envelope-encryption key is not created by this stack: its rotation and key policy are unchecked"
    for key in keys:
        yield from (f"its key {key.name}: {m}" for m in kms_key(key, s, {}))


def kms_key(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("enableKeyRotation") is not True:
        yield "automatic key rotation is off"
    if not r.props.get("policy"):
        yield "no key policy: the key's access is whatever the account default gives"


def eks_control_plane_logs(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    missing = [t for t in CONTROL_PLANE_LOGS if t not in (r.props.get("enabledClusterLogTypes") or [])]
    if missing:
        yield f"control-plane log types not enabled: {', '.join(missing)}"


def imdsv2(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    md = r.props.get("metadataOptions") or {}
    if md.get("httpTokens") != "required":
        yield "IMDSv1 allowed (metadataOptions.httpTokens is not 'required')"
    if md.get("httpPutResponseHopLimit") != 1:
        yield "IMDS hop limit is not 1: pods can reach the node's instance role"


def no_ssh(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    if r.type == "aws:eks/nodeGroup:NodeGroup" and r.props.get("remoteAccess"):
        yield "SSH remote access is configured on the node group"
    if r.type == "aws:ec2/launchTemplate:LaunchTemplate" and r.props.get("keyName"):
        yield "the launch template sets an SSH key pair"
    if r.type in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/securityGroupRule:SecurityGroupRule",
                  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        rules = r.props.get("ingress") or [r.props]
        for rule in rules:
            low, high = rule.get("fromPort"), rule.get("toPort")
            if rule.get("type", "ingress") == "ingress" and isinstance(low, (int, float)) and isinstance(high, (int, float)) \
                    and low <= 22 <= high:
                yield "ingress open on port 22 (SSH)"


def iam_limited_to_prefix(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    for st in _policy_statements(r.props.get("policy")):
        if st.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(st.get("Action"))]
        resources = [str(x) for x in _as_list(st.get("Resource"))]
        if any(a in ("*", "s3:*") for a in actions):
            yield "allows every S3 action (s3:* or *)"
        if any(S3_OBJECT_ACTIONS.match(a) for a in actions):
            for res in resources:
                key = res.split(":::", 1)[1].split("/", 1)[1] if ":::" in res and "/" in res else ""
                if res == "*" or key in ("", "*"):
                    yield f"object access on {res}: limit it to the model's prefix (bucket/prefix/*)"
        if any(a.lower() == "s3:listbucket" for a in actions) and "*" in resources:
            yield "s3:ListBucket on every bucket"


def network_policy_enforcement(r: Resource, s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    cni = [a for a in s.of_type("aws:eks/addon:Addon") if a.props.get("addonName") == "vpc-cni"]
    for addon in cni:
        try:
            values = json.loads(addon.props.get("configurationValues") or "{}")
        except ValueError:
            values = {}
        if str(values.get("enableNetworkPolicy")).lower() == "true":
            return
    yield "no vpc-cni add-on with enableNetworkPolicy: NetworkPolicies would not be enforced"


def gpu_pool_tainted(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    if (r.props.get("labels") or {}).get(GPU_NODE_LABEL) != "true":
        return
    taints = r.props.get("taints") or []
    if not any(t.get("key") == GPU_RESOURCE and t.get("effect") in ("NO_SCHEDULE", "NoSchedule") for t in taints):
        yield f"GPU node group without the {GPU_RESOURCE} NoSchedule taint: CPU pods would take GPU nodes"


# -- Kubernetes rules: pods --------------------------------------------------------------------------------------


def _each_container(r: Resource, test: Callable[[Mapping[str, Any], Mapping[str, Any]], Optional[str]]) -> Iterator[str]:
    spec = pod_spec(r)
    if spec is None:
        return
    for c in containers(spec):
        problem = test(spec, c)
        if problem:
            yield f"container {c.get('name')}: {problem}"


def run_as_non_root(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        user = _security(spec, c, "runAsUser")
        if _security(spec, c, "runAsNonRoot") is not True and not (isinstance(user, (int, float)) and user > 0):
            return "may run as root (runAsNonRoot is not true)"
        if user == 0:
            return "runs as root (runAsUser 0)"
        return None
    yield from _each_container(r, test)


def no_privilege_escalation(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            return "privileged"
        return None if sc.get("allowPrivilegeEscalation") is False else "allowPrivilegeEscalation is not false"
    yield from _each_container(r, test)


def drop_capabilities(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        caps = (c.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            return "does not drop ALL capabilities"
        added = [a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"]
        return f"adds capabilities {added}" if added else None
    yield from _each_container(r, test)


def seccomp(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        profile = _security(spec, c, "seccompProfile") or {}
        return None if profile.get("type") in ("RuntimeDefault", "Localhost") else "no RuntimeDefault seccomp profile"
    yield from _each_container(r, test)


def read_only_root_fs(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        return None if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is True else "writable root filesystem"
    yield from _each_container(r, test)


def requests_and_limits(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    # CPU limits are not required: CFS throttling hurts a latency-critical server more than it protects; the CPU
    # request guarantees the share and the team's ResourceQuota caps the total. Memory is always limited.
    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        res = c.get("resources") or {}
        missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in (res.get("requests") or {})]
        missing += [] if "memory" in (res.get("limits") or {}) else ["limits.memory"]
        return f"no {', '.join(missing)}" if missing else None
    yield from _each_container(r, test)


def images_pinned(r: Resource, s: Stack, config: Mapping[str, Any]) -> Iterator[str]:
    digest_stacks = config.get("digestStacks", ["prod"])

    def test(spec: Mapping[str, Any], c: Mapping[str, Any]) -> Optional[str]:
        image = str(c.get("image") or "")
        if "@sha256:" in image:
            return None
        if s.stack in digest_stacks:
            return f"image {image} is not pinned by digest (required in stack {s.stack})"
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        return None if tag and tag != "latest" else f"image {image} has no pinned tag"
    yield from _each_container(r, test)


def sa_token_not_mounted(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(r)
    if spec is not None and is_model(r) and spec.get("automountServiceAccountToken") is not False:
        yield "model pods mount a service account token (automountServiceAccountToken is not false)"


def probes(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(r)
    if spec is None or r.kind not in ("Deployment", "StatefulSet") or not is_model(r):
        return
    for c in spec.get("containers") or []:
        missing = [p for p in ("readinessProbe", "livenessProbe") if not c.get(p)]
        if missing:
            yield f"container {c.get('name')}: no {' or '.join(missing)}"


def gpu_pods_tolerate(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(r)
    if spec is None:
        return
    wants_gpu = any(GPU_RESOURCE in ((c.get("resources") or {}).get("limits") or {}) for c in containers(spec))
    if not wants_gpu:
        return
    tolerations = spec.get("tolerations") or []
    if not any(t.get("key") == GPU_RESOURCE or (not t.get("key") and t.get("operator") == "Exists") for t in tolerations):
        yield f"requests {GPU_RESOURCE} but does not tolerate the GPU pools' {GPU_RESOURCE} taint"


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    match = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values or op == "NotIn" and labels.get(key) in values \
                or op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return bool(match or selector.get("matchExpressions"))


def pdb(r: Resource, s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    if r.kind not in ("Deployment", "StatefulSet") or not is_model(r):
        return
    ns, labels = r.metadata.get("namespace"), pod_labels(r)
    for p in s.kube("PodDisruptionBudget"):
        if p.metadata.get("namespace") == ns and _selects((p.props.get("spec") or {}).get("selector") or {}, labels):
            return
    yield "no PodDisruptionBudget selects its pods: a node drain may take every replica at once"


# -- Kubernetes rules: namespaces, gateway -----------------------------------------------------------------------


def default_deny(r: Resource, s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    if TEAM_LABEL not in (r.metadata.get("labels") or {}):
        return
    name = r.metadata.get("name")
    for np in s.kube("NetworkPolicy"):
        spec = np.props.get("spec") or {}
        if np.metadata.get("namespace") == name and not (spec.get("podSelector") or {}) \
                and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or []) \
                and not spec.get("ingress") and not spec.get("egress"):
            return
    yield "model namespace without a default-deny NetworkPolicy (empty podSelector, no ingress/egress rules)"


def pod_security_pinned(r: Resource, _s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    labels = r.metadata.get("labels") or {}
    level = labels.get("pod-security.kubernetes.io/enforce")
    if TEAM_LABEL in labels and level != "restricted":
        yield f"model namespace enforces Pod Security '{level}', not 'restricted'"
    if level is None:
        return
    version = labels.get("pod-security.kubernetes.io/enforce-version")
    if not version or version == "latest":
        yield f"Pod Security enforce-version is {version or 'unset'} ('latest'): pin it (e.g. v1.34) so an upgrade does not change what is admitted"


def https_only(r: Resource, s: Stack, _c: Mapping[str, Any]) -> Iterator[str]:
    """Every listener is HTTPS/TLS, except a plain-HTTP one whose routes only redirect to https."""
    name, ns = r.metadata.get("name"), r.metadata.get("namespace")
    for listener in (r.props.get("spec") or {}).get("listeners") or []:
        if listener.get("protocol") in ("HTTPS", "TLS"):
            continue
        routes = [
            route for route in s.kube("HTTPRoute", "GRPCRoute")
            if any(ref.get("name") == name and (ref.get("namespace") or route.metadata.get("namespace")) == ns
                   and ref.get("sectionName") in (None, listener.get("name"))
                   for ref in (route.props.get("spec") or {}).get("parentRefs") or [])
        ]
        for route in routes:
            for rule in (route.props.get("spec") or {}).get("rules") or []:
                redirect = [f for f in rule.get("filters") or [] if f.get("type") == "RequestRedirect"
                            and (f.get("requestRedirect") or {}).get("scheme") == "https"]
                if not redirect or rule.get("backendRefs"):
                    yield f"listener {listener.get('name')} ({listener.get('protocol')}) serves {route.label} in clear text"
                    break


# -- the rules ---------------------------------------------------------------------------------------------------

_K = "kubernetes:*:"
WORKLOADS = tuple(_K + k for k in WORKLOAD_KINDS)

RULES: tuple[Rule, ...] = (
    Rule("eks-endpoint", "EKS API endpoint private, or public only for listed CIDRs", eks_endpoint,
         applies_to=("aws:eks/cluster:Cluster",)),
    Rule("eks-secrets-encryption", "EKS Secrets envelope-encrypted with a rotating KMS key that has a key policy",
         eks_secrets_encryption, applies_to=("aws:eks/cluster:Cluster",)),
    Rule("kms-key-rotation-and-policy", "Every KMS key rotates and has a key policy", kms_key,
         applies_to=("aws:kms/key:Key",)),
    Rule("eks-control-plane-logs", "Every EKS control-plane log type enabled", eks_control_plane_logs,
         applies_to=("aws:eks/cluster:Cluster",)),
    Rule("imdsv2-hop-limit-1", "Nodes require IMDSv2 with a hop limit of 1", imdsv2,
         applies_to=("aws:ec2/launchTemplate:LaunchTemplate",)),
    Rule("no-ssh", "No SSH access to nodes", no_ssh, applies_to=(
        "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")),
    Rule("iam-limited-to-prefix", "IAM policies read S3 objects only under a prefix, never a whole bucket",
         iam_limited_to_prefix, applies_to=("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")),
    Rule("network-policy-enforcement", "NetworkPolicies are enforced (vpc-cni network policy agent)",
         network_policy_enforcement, applies_to=("aws:eks/cluster:Cluster",)),
    Rule("gpu-pools-tainted", "GPU node groups carry the nvidia.com/gpu NoSchedule taint", gpu_pool_tainted,
         applies_to=("aws:eks/nodeGroup:NodeGroup",)),
    Rule("run-as-non-root", "Containers run as a non-root user", run_as_non_root, applies_to=WORKLOADS),
    Rule("no-privilege-escalation", "Containers are not privileged and cannot escalate", no_privilege_escalation,
         applies_to=WORKLOADS),
    Rule("drop-capabilities", "Containers drop ALL capabilities (NET_BIND_SERVICE may be added back)",
         drop_capabilities, applies_to=WORKLOADS),
    Rule("seccomp", "Containers run with the RuntimeDefault seccomp profile", seccomp, applies_to=WORKLOADS),
    Rule("read-only-root-fs", "Containers have a read-only root filesystem", read_only_root_fs, applies_to=WORKLOADS),
    Rule("requests-and-limits", "Containers request CPU and memory and limit memory", requests_and_limits,
         applies_to=WORKLOADS),
    Rule("images-pinned", "Images pinned by tag, by digest in the listed stacks", images_pinned, applies_to=WORKLOADS,
         config_schema={"digestStacks": {"type": "array", "items": {"type": "string"}}},
         defaults={"digestStacks": ["prod"]}),
    Rule("sa-token-not-mounted", "Model pods do not mount a service account token", sa_token_not_mounted,
         applies_to=WORKLOADS),
    Rule("probes", "Model servers have readiness and liveness probes", probes, applies_to=WORKLOADS),
    Rule("pdb", "Every model Deployment has a PodDisruptionBudget", pdb, applies_to=WORKLOADS),
    Rule("gpu-pods-tolerate", "Pods that request GPUs tolerate the GPU pools' taint", gpu_pods_tolerate,
         applies_to=WORKLOADS),
    Rule("default-deny", "Model namespaces have a default-deny NetworkPolicy", default_deny,
         applies_to=(_K + "Namespace",)),
    Rule("pod-security-pinned", "Model namespaces enforce Pod Security 'restricted'; every enforced level has a pinned version",
         pod_security_pinned, applies_to=(_K + "Namespace",)),
    Rule("https-only-listeners", "Gateway listeners serve HTTPS only (plain HTTP only redirects)", https_only,
         applies_to=(_K + "Gateway",)),
)


def evaluate(stack: Stack, config: Optional[Mapping[str, Mapping[str, Any]]] = None,
             rules: Iterable[Rule] = RULES) -> list[Violation]:
    """Every violation of `rules` on `stack`; a waived one is advisory and carries the waiver's reason."""
    out = []
    for rule in rules:
        rule_config = {**rule.defaults, **((config or {}).get(rule.name) or {})}
        for r in stack.resources:
            if not rule.applies(r):
                continue
            for message in rule.check(r, stack, rule_config):
                reason = waiver(r, rule.name, stack)
                level = ADVISORY if reason else rule.level
                out.append(Violation(rule.name, r, message, level, reason or ""))
    return out
