"""The policy pack (policy/): every mandatory rule fails on a plan mutated to break it and passes on the shipped
stacks; a waiver turns a rule's violations advisory, visibly. The rules are plain Python (policy/rules.py) and run
here in-process; the pack itself (pulumi-policy, its own virtualenv) runs on a plan through policy/evaluate.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from serving import conventions as cv
from serving.check import run_checks
from serving.check.objects import plain
from serving.plan import Plan

from .check_helpers import context, k8s, mutated
from .conftest import REPO, repo_plan, require_tool

POLICY_PYTHON = REPO / "policy" / "venv" / "bin" / "python"


def _load_rules() -> Any:
    spec = importlib.util.spec_from_file_location("policy_rules", REPO / "policy" / "rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["policy_rules"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rules = _load_rules()


def stack_of(plan: Plan) -> Any:
    return rules.Stack(tuple(
        rules.Resource(type=r.type, name=r.name, urn=r.urn, props=plain(dict(r.inputs)), parent=r.parent,
                       dependencies=r.dependencies)
        for r in plan.resources
    ))


def violations(plan: Plan) -> list[Any]:
    return rules.evaluate(stack_of(plan))


def _aws(type_: str, suffix: str = "") -> Callable[[Any], bool]:
    return lambda s: s.type == type_ and s.name.endswith(suffix)


def _server(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Edit the server container of a Deployment."""
    return lambda i: change(i["spec"]["template"]["spec"]["containers"][0])


def _security(**values: Any) -> Callable[[dict[str, Any]], None]:
    return _server(lambda c: c["securityContext"].update(values))


def _pod(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda i: change(i["spec"]["template"]["spec"])


def _no_seccomp(i: dict[str, Any]) -> None:
    spec = i["spec"]["template"]["spec"]
    (spec.get("securityContext") or {}).pop("seccompProfile", None)
    for c in spec["containers"] + spec.get("initContainers", []):
        c["securityContext"].pop("seccompProfile", None)


CHURN = k8s("Deployment", "churn", "team-tabular")
LLAMA = k8s("Deployment", "llama-chat", "team-nlp")

#: rule -> (stack, what to break, how). One row per mandatory rule.
BREAKS: dict[str, tuple[str, Callable[[Any], bool], Callable[[dict[str, Any]], None]]] = {
    "eks-endpoint": ("dev", _aws("aws:eks/cluster:Cluster"), lambda i: i["vpcConfig"].update(publicAccessCidrs=["0.0.0.0/0"])),
    "eks-secrets-encryption": ("dev", _aws("aws:eks/cluster:Cluster"), lambda i: i.pop("encryptionConfig")),
    "kms-key-rotation-and-policy": ("dev", _aws("aws:kms/key:Key", "-secrets"), lambda i: i.pop("policy")),
    "eks-control-plane-logs": ("dev", _aws("aws:eks/cluster:Cluster"), lambda i: i.update(enabledClusterLogTypes=["api"])),
    "imdsv2-hop-limit-1": ("dev", _aws("aws:ec2/launchTemplate:LaunchTemplate", "-system"),
                           lambda i: i["metadataOptions"].update(httpPutResponseHopLimit=2)),
    "no-ssh": ("dev", _aws("aws:eks/nodeGroup:NodeGroup", "-system"), lambda i: i.update(remoteAccess={"ec2SshKey": "ops"})),
    "iam-limited-to-prefix": ("dev", _aws("aws:iam/rolePolicy:RolePolicy", "-churn-artifacts-policy"),
                              lambda i: i.update(policy='{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
                                                        '"Resource": "arn:aws:s3:::example-models-dev/*"}]}')),
    "network-policy-enforcement": ("dev", _aws("aws:eks/addon:Addon", "-vpc-cni"), lambda i: i.update(configurationValues="{}")),
    "gpu-pools-tainted": ("dev", lambda s: s.type == "aws:eks/nodeGroup:NodeGroup" and not s.name.endswith("-system"),
                          lambda i: i.update(taints=[])),
    "run-as-non-root": ("dev", CHURN, _security(runAsNonRoot=False, runAsUser=0)),
    "no-privilege-escalation": ("dev", CHURN, _security(allowPrivilegeEscalation=True)),
    "drop-capabilities": ("dev", CHURN, _security(capabilities={"add": ["SYS_ADMIN"]})),
    "seccomp": ("dev", CHURN, _no_seccomp),
    "read-only-root-fs": ("dev", CHURN, _security(readOnlyRootFilesystem=False)),
    "requests-and-limits": ("dev", CHURN, _server(lambda c: c.update(resources={"requests": {"cpu": "1"}}))),
    "images-pinned": ("dev", CHURN, _server(lambda c: c.update(image="seldonio/mlserver:latest"))),
    "sa-token-not-mounted": ("dev", CHURN, _pod(lambda p: p.update(automountServiceAccountToken=True))),
    "probes": ("dev", CHURN, _server(lambda c: c.pop("readinessProbe"))),
    "pdb": ("dev", k8s("PodDisruptionBudget", "churn", "team-tabular"),
            lambda i: i["spec"]["selector"]["matchLabels"].update({cv.TRACK_LABEL: "other"})),
    "gpu-pods-tolerate": ("dev", LLAMA, _pod(lambda p: p.update(tolerations=[]))),
    "default-deny": ("dev", k8s("NetworkPolicy", "default-deny", "team-nlp"),
                     lambda i: i["spec"].update(ingress=[{"from": [{"podSelector": {}}]}])),
    "pod-security-pinned": ("local", k8s("Namespace", "team-tabular"),
                            lambda i: i["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce-version": "latest"})),
    "https-only-listeners": ("dev", k8s("Gateway", "platform"),
                             lambda i: [lst.update(protocol="HTTP") for lst in i["spec"]["listeners"]]),
}


def test_every_mandatory_rule_has_a_breaking_mutation() -> None:
    assert sorted(BREAKS) == sorted(r.name for r in rules.RULES if r.level == rules.MANDATORY)


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_shipped_stacks_pass_every_mandatory_rule(stack: str) -> None:
    found = [f"{v.rule} {v.resource.label}: {v.message}" for v in violations(repo_plan(stack)) if v.level == rules.MANDATORY]
    assert found == []


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_mandatory_rule_fails_on_a_plan_that_breaks_it(rule: str) -> None:
    stack, match, change = BREAKS[rule]
    plan = mutated(repo_plan(stack), match, change)
    broken = {v.rule for v in violations(plan) if v.level == rules.MANDATORY}
    assert rule in broken


def test_a_waiver_is_explicit_and_turns_the_rule_advisory() -> None:
    """prod runs images by tag under an explicit `policyWaivers` entry: reported, advisory, with the reason."""
    prod = repo_plan("prod")
    waived = [v for v in violations(prod) if v.rule == "images-pinned"]
    assert waived and all(v.level == rules.ADVISORY and "policyWaivers" in v.waived for v in waived)
    # Without the waiver the same violations block.
    unwaived = mutated(prod, lambda s: s.type == "serving:platform:Platform", lambda i: i.update(policyWaivers={}))
    assert {v.level for v in violations(unwaived) if v.rule == "images-pinned"} == {rules.MANDATORY}
    # A one-object waiver: an annotation on the pod template.
    dev = mutated(repo_plan("dev"), CHURN, lambda i: (
        i["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(readOnlyRootFilesystem=False),
        i["spec"]["template"]["metadata"].setdefault("annotations", {}).update(
            {rules.WAIVER_PREFIX + "read-only-root-fs": "writes its compile cache to /root"})))
    (v,) = [v for v in violations(dev) if v.rule == "read-only-root-fs" and v.resource.label == "Deployment team-tabular/churn"]
    assert v.level == rules.ADVISORY and v.waived == "writes its compile cache to /root"


def test_the_pack_spells_labels_as_the_conventions_do() -> None:
    assert (rules.MODEL_LABEL, rules.TEAM_LABEL, rules.GPU_RESOURCE, rules.GPU_NODE_LABEL) == (
        cv.MODEL_LABEL, cv.TEAM_LABEL, cv.GPU_RESOURCE, cv.GPU_NODE_LABEL)


@pytest.fixture(scope="module")
def policy_venv() -> Path:
    return require_tool(POLICY_PYTHON, "policy-venv")


def test_the_pulumi_policy_pack_reports_through_the_check(policy_venv: Path) -> None:
    """The pack's pulumi-policy objects, run in their own virtualenv on the plan: prod passes with its waiver shown
    as advisory; a broken plan gives a mandatory finding naming the object and the rule."""
    report = run_checks(context("prod"), ["policy"])
    assert report.mandatory == [] and "images-pinned" in {f.rule for f in report.findings}
    plan = mutated(repo_plan("dev"), CHURN, _security(allowPrivilegeEscalation=True))
    report = run_checks(context("dev", plan), ["policy"])
    assert [(f.resource, f.rule, f.level) for f in report.mandatory] == [
        ("Deployment team-tabular/churn", "no-privilege-escalation", "mandatory")]
