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
