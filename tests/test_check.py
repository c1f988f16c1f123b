"""`python -m serving check`: schemas and checkov on every object of the plan, the AWS side through a Terraform
plan; each mandatory finding fails the check, and the shipped stacks pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from serving.check import run_checks
from serving.check import checkov as checkov_check
from serving.check.objects import KubeObject
from serving.check.schema import check as schema_check
from serving.check.terraform import TF_TYPES, terraform_plan
from serving.plan.model import ResourceState

from .check_helpers import context, k8s, mutated
from .conftest import REPO, repo_plan, require_tool
from .schemas import reference_dir

STACKS = ["dev", "prod", "local"]


@pytest.fixture(scope="module")
def checkov() -> Path:
    return require_tool(checkov_check.CHECKOV, "tools")


def _obj(api_version: str, kind: str, name: str, **spec: object) -> KubeObject:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **spec}
    state = ResourceState(urn=f"urn:pulumi:t::p::kubernetes:{api_version}:{kind}::{name}", type=f"kubernetes:{api_version}:{kind}",
                          name=name, custom=True, inputs=obj)
    return KubeObject(state, obj, None)


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_of_the_shipped_stacks_passes_its_schema(stack: str) -> None:
    reference_dir()  # the reference CRDs (and the charts whose CRDs the plan renders): skip where absent
    ctx = context(stack)
    report = run_checks(ctx, ["schema"])
    assert report.findings == []
    assert report.checked["schema"] == len(ctx.objects) > 20


def test_an_unknown_field_is_a_schema_finding_naming_the_object() -> None:
    reference_dir()  # every other object must validate, which needs the reference CRDs
    plan = mutated(repo_plan("dev"), k8s("Deployment", "churn", "team-tabular"), lambda i: i["spec"].update(replicaz=2))
    report = run_checks(context("dev", plan), ["schema"])
    (finding,) = report.findings
    assert finding.resource == "Deployment team-tabular/churn" and finding.mandatory
    assert "replicaz" in finding.message and report.failed


def test_custom_resources_are_validated_against_the_crds_the_plan_installs() -> None:
    crd = _obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", spec={
        "group": "example.com", "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
        }}}],
    })
    good = _obj("example.com/v1", "Widget", "ok", spec={"size": 3})
    bad = _obj("example.com/v1", "Widget", "bad", spec={"size": "large", "colour": "red"})
    findings = schema_check([crd, good, bad], "1.34", None)
    assert {f.resource for f in findings} == {"Widget bad"}
    assert len(findings) == 2  # the wrong type and the unknown field
    # Without the CRD nothing can validate a Widget: that is a finding too.
    (orphan,) = schema_check([good], "1.34", None)
    assert "no schema" in orphan.message


def test_aws_resources_become_a_terraform_plan_with_references() -> None:
    plan = repo_plan("prod")
    doc, addresses = terraform_plan(plan)
    aws = [r for r in plan.resources if r.type.startswith("aws:") and r.custom]
    # Every AWS resource the platform creates has a Terraform type checkov knows.
    assert {r.type for r in aws} <= set(TF_TYPES)
    assert len(addresses) == len(aws)
    by_type = {c["type"]: c for c in doc["resource_changes"]}
    cluster = by_type["aws_eks_cluster"]["change"]["after"]
    assert cluster["vpc_config"][0]["endpoint_private_access"] is True  # blocks are one-element lists
    assert cluster["tags"] == {"Name": "ml-prod"}  # maps keep their keys
    flow = next(r for r in doc["configuration"]["root_module"]["resources"] if r["type"] == "aws_flow_log")
    assert "aws_vpc.prod-cluster-vpc" in flow["expressions"]["vpc_id"]["references"]


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_passes_on_every_object_and_aws_resource_of_the_shipped_stacks(stack: str, checkov: Path) -> None:
    ctx = context(stack)
    report = run_checks(ctx, ["checkov"])
    assert [f.line() for f in report.findings] == []
    assert report.checked["checkov"] >= len(ctx.objects)


def test_checkov_finds_a_key_without_rotation_and_a_privileged_container(checkov: Path) -> None:
    plan = mutated(repo_plan("dev"), lambda s: s.type == "aws:kms/key:Key" and s.name.endswith("-secrets"),
                   lambda i: i.update(enableKeyRotation=False))
    plan = mutated(plan, k8s("Deployment", "churn", "team-tabular"),
                   lambda i: i["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(privileged=True))
    report = run_checks(context("dev", plan), ["checkov"])
    found = {(f.resource, f.rule) for f in report.findings}
    assert ("aws:kms/key:Key dev-cluster-secrets", "CKV_AWS_7") in found
    assert ("Deployment team-tabular/churn", "CKV_K8S_16") in found
    assert report.failed


def test_every_checkov_skip_says_why() -> None:
    for check, applies_to, reason in checkov_check.all_skips():
        assert check.startswith("CKV") and applies_to and reason.strip()


def test_the_cli_prints_one_line_per_finding_and_a_summary() -> None:
    reference_dir()  # `ok` needs the reference CRDs
    proc = subprocess.run([sys.executable, "-m", "serving", "check", "--stack", "local", "--only", "schema"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("check local: ok: 0 mandatory")
    bad = subprocess.run([sys.executable, "-m", "serving", "check", "--stack", "nope"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
