"""checkov on every Kubernetes object of the plan and, through a Terraform-plan-shaped JSON
(`serving.check.terraform`), on the AWS resources.

checkov runs from `.venv-tools` (its pins clash with the program's; `make tools` installs it), offline
(`--skip-download`, `BC_SKIP_MAPPING`), once per stack on a temporary folder holding one YAML file per Kubernetes
object and `aws.tfplan.json`. Every skip below says why the check does not apply, next to what it skips.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from ..stackfile import REPO_ROOT
from .findings import Finding
from .objects import KubeObject
from .runner import CheckContext, ToolUnavailable
from .terraform import terraform_plan

KIND = "checkov"
CHECKOV = REPO_ROOT / ".venv-tools" / "bin" / "checkov"

#: Checks that do not apply to any resource of the platform, each with the reason.
SKIPS: dict[str, str] = {
    # Runtime presets and charts pin images by version tag; digests of upstream images cannot be looked up offline
    # and a made-up one would break a real `pulumi up`. The policy pack's `images-pinned` rule asks for a digest
    # in prod and reports a stack that explicitly allows tags there (platform.policy.allowTaggedImages).
    "CKV_K8S_43": "image should use digest",
    # Serving images are several GB and pinned: IfNotPresent starts a replica from the node's cache instead of
    # depending on the registry at every start (and scale-out during a registry outage still works).
    "CKV_K8S_15": "image pull policy Always",
    # No CPU limit by default (a model's resources.cpuLimit sets one): CFS throttling of a latency-critical server
    # hurts more than it protects; the request guarantees the share, the team quota caps it, memory is limited.
    "CKV_K8S_11": "CPU limits",
}


@dataclass(frozen=True)
class ResourceSkip:
    """A check skipped for some resources only: `match` is a glob on the finding's resource label; not skipped in
    stacks of the `enforced_in` environments."""

    check: str
    match: str
    reason: str
    enforced_in: tuple[str, ...] = ()


#: Checks skipped for some resources, each with the reason.
RESOURCE_SKIPS: list[ResourceSkip] = [
    # -- chart objects (`Kind ns/name (release R)`) --------------------------------------------------------------
    ResourceSkip(
        "CKV_K8S_38", "* (release *)",
        # Controllers, operators and agents watch the Kubernetes API: they need their service account token
        # (model pods, which do not, have automountServiceAccountToken false: the policy pack's sa-token-not-mounted).
        "platform controllers use the Kubernetes API",
    ),
    ResourceSkip(
        "CKV_K8S_40", "* (release *)",
        # Upstream images run as their own non-root UIDs (cert-manager 1000, Envoy Gateway and KEDA 65532/1000,
        # distroless 65532); a UID above 10000 would not match their file ownership. Non-root itself is enforced by
        # the policy pack's run-as-non-root rule.
        "upstream images' own non-root UIDs",
    ),
    ResourceSkip(
        "CKV_K8S_155", "ClusterRole * (release *)",
        # cert-manager's cainjector, Envoy Gateway's certgen and KEDA's operator patch the CA bundle of their own
        # admission webhooks and APIServices: that is their job (upstream RBAC, chart templates).
        "CA injectors patch their own webhook configurations",
    ),
    ResourceSkip(
        "CKV2_K8S_5", "RoleBinding envoy-gateway-system/* (release envoy-gateway)",
        # The certgen Job writes the control plane's TLS Secrets in its own namespace (gateway-helm
        # templates/certgen-rbac.yaml), once, at install.
        "Envoy Gateway certgen writes its own TLS Secrets",
    ),
    ResourceSkip(
        "CKV2_K8S_5", "RoleBinding monitoring/kube-prometheus-stack-admission (release kube-prometheus-stack)",
        # The admission webhook's certgen Jobs create and read the webhook's TLS Secret in their own namespace
        # (kube-prometheus-stack 88.5.3 templates/prometheus-operator/admission-webhooks/job-patch/role.yaml: secrets
        # get/create, nothing else), as install/upgrade hooks deleted when they succeed.
        "Prometheus operator certgen writes its own webhook TLS Secret",
    ),
    ResourceSkip(
        "CKV_K8S_49", "ClusterRole kube-prometheus-stack-operator (release kube-prometheus-stack)",
        # The wildcards are verbs on what the operator reconciles: its own monitoring.coreos.com resources, the
        # StatefulSets it makes of Prometheus and Alertmanager and their config Secrets/ConfigMaps (88.5.3
        # templates/prometheus-operator/clusterrole.yaml, from the operator's Documentation/platform/rbac.md).
        "the Prometheus operator manages its own custom resources and the StatefulSets made of them",
    ),
    ResourceSkip(
        "CKV_K8S_8", "Job * (release *)",
        # Install hooks (cert-manager startupapicheck, Envoy Gateway certgen) run once and exit: no probes.
        "one-off install Jobs",
    ),
    ResourceSkip("CKV_K8S_9", "Job * (release *)", "one-off install Jobs"),
    ResourceSkip(
        "CKV_K8S_9", "Deployment * (release *)",
        # Leader-elected controllers (cert-manager, cainjector, cluster-autoscaler) serve no traffic, so upstream
        # ships no readiness probe; their liveness (where upstream has one) restarts a hung process.
        "controllers serving no traffic have no readiness probe upstream",
    ),
    *(
        ResourceSkip(check, match, reason)
        for match, (reason, checks) in {
            # The NVIDIA device plugin (and its MPS daemon, dormant: see placement.DORMANT_DAEMONSETS) registers
            # with the kubelet through the hostPath /var/lib/kubelet/device-plugins as root, privileged for MPS; its
            # config-manager init/sidecar have no resources value in chart 0.20.0, and the plugin no health endpoint.
            # Its namespace is Pod Security `privileged` for this; the policy pack shows the waivers as advisory.
            "DaemonSet gpu-system/nvidia-device-plugin* (release nvidia-device-plugin)": (
                "NVIDIA device plugin: root on the kubelet's device-plugin socket", (
                    "CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13", "CKV_K8S_16", "CKV_K8S_17",
                    "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_25", "CKV_K8S_28", "CKV_K8S_30", "CKV_K8S_31",
                    "CKV_K8S_37", "CKV_K8S_39")),
            # DCGM profiling metrics need root with CAP_SYS_ADMIN and a writable root (chart 4.8.2 values).
            "DaemonSet gpu-system/dcgm-exporter (release dcgm-exporter)": (
                "DCGM exporter: root with SYS_ADMIN for profiling metrics", (
                    "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_25", "CKV_K8S_29", "CKV_K8S_39")),
            # Fluent Bit reads the node's root-owned container logs (0640 under /var/log/pods) as root, without
            # capabilities; the chart has no pod-level securityContext default.
            "DaemonSet logging/fluent-bit (release fluent-bit)": (
                "Fluent Bit: root reads the node's container logs", ("CKV_K8S_23", "CKV_K8S_29")),
        }.items()
        for check in checks
    ),
    ResourceSkip(
        "CKV_K8S_8", "Deployment cert-manager/cert-manager-cainjector (release cert-manager)",
        # cert-manager's cainjector exposes no health endpoint (chart v1.21.1 templates/cainjector-deployment.yaml).
        "cainjector has no health endpoint",
    ),
    ResourceSkip(
        "CKV_AWS_39", "aws:eks/cluster:Cluster *",
        # The private endpoint is always on; the public one only when cluster.eks.publicAccessCidrs lists CIDRs
        # (config refuses 0.0.0.0/0), which checkov CKV_AWS_38 and the policy pack's `eks-endpoint` rule check.
        # EKS Best Practices accept a CIDR-limited public endpoint for operators outside the VPC.
        "public endpoint limited to cluster.eks.publicAccessCidrs",
    ),
    ResourceSkip(
        "CKV_AWS_355", "aws:iam/rolePolicy:RolePolicy *-lbc-identity-policy",
        # The AWS Load Balancer Controller's own policy, verbatim (serving/catalog/aws_policies.py): its "*"
        # statements are Describe calls and tag-conditioned writes; narrowing it is the upstream's call.
        "upstream aws-load-balancer-controller IAM policy",
    ),
    ResourceSkip(
        "CKV_AWS_290", "aws:iam/rolePolicy:RolePolicy *-lbc-identity-policy",
        # Same policy: its writes carry the `elbv2.k8s.aws/cluster` tag conditions upstream wrote.
        "upstream aws-load-balancer-controller IAM policy",
    ),
    ResourceSkip(
        "CKV_AWS_338", "aws:cloudwatch/logGroup:LogGroup *",
        # Retention is per stack (cluster.eks.logRetentionDays, logging.retentionDays): dev and local keep logs for
        # days on purpose; a prod stack keeps them for at least a year, which this check then enforces.
        "short log retention outside prod", enforced_in=("prod",),
    ),
]


def checkov_binary() -> Path:
    path = Path(os.environ.get("SERVING_CHECKOV", CHECKOV))
    if not path.exists():
        raise ToolUnavailable(f"{path} missing: run `make tools` (checkov in .venv-tools)")
    return path


def run_checkov(directory: Path, *extra: str, binary: Optional[Path] = None) -> list[dict[str, Any]]:
    """checkov's JSON reports (one per framework) for `directory`."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE", "LOG_LEVEL": "ERROR"}
    proc = subprocess.run(
        [str(binary or checkov_binary()), "-d", str(directory), "--skip-download", "--compact", "-o", "json", *extra],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    return report if isinstance(report, list) else [report]


def _skipped(check_id: str, label: str, environment: str) -> bool:
    return any(
        s.check == check_id and fnmatch.fnmatchcase(label, s.match) and environment not in s.enforced_in
        for s in RESOURCE_SKIPS
    )


def check(ctx: CheckContext) -> list[Finding]:
    binary = checkov_binary()
    with tempfile.TemporaryDirectory(prefix="serving-checkov-") as tmp:
        root = Path(tmp)
        files: dict[str, str] = {}
        for i, o in enumerate(ctx.objects):
            path = root / f"k8s-{i:04d}.yaml"
            path.write_text(yaml.safe_dump(o.obj, sort_keys=False))
            files[path.name] = o.label
        tfplan, addresses = terraform_plan(ctx.plan)
        frameworks = ["kubernetes"]
        if addresses:
            (root / "aws.tfplan.json").write_text(json.dumps(tfplan))
            frameworks.append("terraform_plan")
        reports = run_checkov(root, "--framework", *frameworks, "--skip-check", ",".join(SKIPS), binary=binary)
    labels = {a: f"{r.type} {r.name}" for a, r in addresses.items()}
    findings = []
    passed = 0
    for report in reports:
        results = report.get("results") or {}
        passed += len(results.get("passed_checks") or [])
        for c in results.get("failed_checks") or []:
            label = files.get(Path(c.get("file_path", "")).name) if report.get("check_type") == "kubernetes" \
                else labels.get(c.get("resource", ""))
            label = label or str(c.get("resource"))
            if _skipped(c["check_id"], label, ctx.cfg.environment):
                continue
            findings.append(Finding(KIND, label, c["check_id"], c.get("check_name", "")))
    ctx.checked["checkov"] = len(ctx.objects) + len(addresses)
    # De-duplicate: checkov reports a Deployment's pod template again as a Pod of the same file.
    return sorted(set(findings))


def all_skips() -> list[tuple[str, str, str]]:
    """(check, applies to, reason) of every skip, for the docs and the tests."""
    return [(c, "*", r) for c, r in SKIPS.items()] + [(s.check, s.match, s.reason) for s in RESOURCE_SKIPS]


__all__ = ["CHECKOV", "RESOURCE_SKIPS", "ResourceSkip", "SKIPS", "all_skips", "check", "run_checkov", "KubeObject"]
