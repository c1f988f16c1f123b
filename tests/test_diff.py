"""Plan diffs: what a reviewer sees for a change, like `pulumi preview --diff`, from two captured plans."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from serving.config import ConfigError, parse_platform
from serving.plan import capture_plan
from serving.plan.compute.diff import diff_plans, round_trip, subject
from serving.plan.present.diff import render_json, render_text
from serving.plan.present.markdown import MARKER, render_markdown
from serving.plan.model import Plan, ResourceState, Step
from tests.conftest import REPO, copy_program, platform_of, repo_plan, repo_stack

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def make_root(path: Path, stack: str, doc: dict[str, Any]) -> Path:
    """A project root with the repo's program and one stack file (two of them make a base and a head)."""
    path.mkdir(parents=True, exist_ok=True)
    copy_program(path)
    (path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def plan_diff(tmp_path: Path) -> Callable[..., Any]:
    """plan_diff(base_doc, head_doc, stack="dev", exchange=True): the diff of the two docs' plans. `exchange` passes
    both plans through `pulumi preview --json`, as the --base command does."""

    counter = iter(range(1000))

    def run(base_doc: dict[str, Any], head_doc: dict[str, Any], stack: str = "dev", exchange: bool = True):
        n = next(counter)
        base = capture_plan(stack, make_root(tmp_path / f"base{n}", stack, base_doc))
        head = capture_plan(stack, make_root(tmp_path / f"head{n}", stack, head_doc))
        if exchange:
            base, head = round_trip(base), round_trip(head)
        return diff_plans(base, head)

    return run


def _valid(doc: dict[str, Any]) -> bool:
    try:
        parse_platform(platform_of(doc), "Pulumi.dev.yaml")
        return True
    except ConfigError:
        return False


def plain_model(doc: dict[str, Any]) -> dict[str, Any]:
    """A model of the stack without canary/shadow (one Deployment)."""
    for model in platform_of(doc)["models"]:
        if not model.get("canary") and not model.get("shadow"):
            return model
    pytest.skip("the dev stack has no model without a canary or shadow")


IMAGE_A = "ghcr.io/example/model-server:1.4.0@sha256:" + "a" * 64
IMAGE_B = "ghcr.io/example/model-server:1.4.1@sha256:" + "b" * 64


def test_model_image_bump_is_exactly_one_deployment_update(plan_diff) -> None:
    base = repo_stack("dev")
    plain_model(base)["image"] = IMAGE_A
    head = copy.deepcopy(base)
    plain_model(head)["image"] = IMAGE_B
    diff = plan_diff(base, head)

    assert [c.op for c in diff.changed] == ["update"]
    change = diff.changed[0]
    assert change.state.type == DEPLOYMENT
    assert [(c.path, c.old, c.new) for c in change.changes if c.path.endswith(".image")] == [
        ("spec.template.spec.containers[0].image", IMAGE_A, IMAGE_B)
    ]
    assert change.step.detailed_diff["spec.template.spec.containers[0].image"] == {"kind": "update", "inputDiff": True}
    text = render_text(diff)
    assert f'~ spec.template.spec.containers[0].image: "{IMAGE_A}" => "{IMAGE_B}"' in text
    assert "~ 1 to update" in text and "warning:" not in text
    assert f"{diff.change_summary()['same']} unchanged" in text
    listed = [line for line in text.splitlines() if ": (" in line and line[:2].strip() in ("+", "~", "-", "+-")]
    assert listed == [f"~  {DEPLOYMENT}: (update) {change.state.name}"]  # unchanged resources are only counted


def _other_gpu_type(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    pool = platform_of(doc)["nodePools"]["gpu"][0]
    for candidate in ("g6.xlarge", "g5.xlarge", "g6.2xlarge", "g5.2xlarge", "g6e.xlarge"):
        if candidate in pool["instanceTypes"]:
            continue
        trial = copy.deepcopy(doc)
        platform_of(trial)["nodePools"]["gpu"][0]["instanceTypes"] = [candidate]
        if _valid(trial):
            return trial, candidate
    pytest.skip("no other valid GPU instance type for the dev GPU pool")


def test_gpu_instance_type_change_replaces_the_pool_with_a_warning(plan_diff) -> None:
    base = repo_stack("dev")
    head, new_type = _other_gpu_type(base)
    pool = platform_of(base)["nodePools"]["gpu"][0]["name"]
    diff = plan_diff(base, head)

    groups = [c for c in diff.changed if c.state.type == NODE_GROUP]
    assert [c.op for c in groups] == ["replace"]
    step = groups[0].step
    assert "instanceTypes" in step.replace_reasons
    assert step.detailed_diff["instanceTypes[0]"]["kind"] == "update-replace"
    assert f"GPU pool {pool} will be replaced: instanceTypes changed" in diff.warnings
    text = render_text(diff)
    lines = text.splitlines()
    assert lines[2] == f"warning: GPU pool {pool} will be replaced: instanceTypes changed"
    assert f'"{new_type}" (forces replacement)' in text
    # The new node group has a new Auto Scaling group: the cluster-autoscaler tags on it follow (ForceNew
    # autoscalingGroupName), listed after the pool's own warning and marked as consequences.
    followers = [c for c in diff.by_op("replace") if c.step.urn != step.urn]
    assert followers and {c.state.type for c in followers} == {"aws:autoscaling/tag:Tag"}
    assert all(c.state.name.startswith(groups[0].state.name) for c in followers)
    assert all(r.text == "autoscalingGroupName changes with a replaced resource" for c in followers for r in c.replacements)
    assert f"+-{1 + len(followers)} to replace" in text
    digest = json.loads(render_json(diff))
    [raw] = [s for s in digest["steps"] if s["urn"] == step.urn]
    assert raw["op"] == "replace" and "instanceTypes" in raw["replaceReasons"]
    assert raw["oldState"]["inputs"]["instanceTypes"] != raw["newState"]["inputs"]["instanceTypes"]
    assert "node_group.go" in raw["replaceReasonSources"]["instanceTypes"]


def _with_new_model(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`doc` plus a copy of one of its models under a new name (in its own team when the quota is tight)."""
    platform = platform_of(doc)
    for model in platform["models"]:
        for own_team in (False, True):
            trial = copy.deepcopy(doc)
            new = copy.deepcopy(model)
            new["name"] = "added-model"
            new.pop("canary", None), new.pop("shadow", None)
            if own_team:
                team = copy.deepcopy(next(t for t in platform["teams"] if t["name"] == model["team"]))
                team["name"] = new["team"] = "added-team"
                platform_of(trial)["teams"].append(team)
            platform_of(trial)["models"].append(new)
            if _valid(trial):
                return trial, new["name"]
    pytest.skip("no model of the dev stack can be copied into a valid stack")


def test_adding_a_model_only_creates(plan_diff) -> None:
    base = repo_stack("dev")
    head, name = _with_new_model(base)
    diff = plan_diff(base, head)

    ops = {c.op for c in diff.changed}
    assert ops == {"create"}, [(c.op, c.step.urn) for c in diff.changed if c.op != "create"]
    created = [c.state for c in diff.changed]
    assert any(s.type == DEPLOYMENT and s.inputs["metadata"]["name"] == name for s in created)
    assert "+ " in render_text(diff) and "to create" in render_text(diff)


def test_no_change_is_no_change(plan_diff) -> None:
    doc = repo_stack("dev")
    diff = plan_diff(doc, copy.deepcopy(doc))
    assert diff.changed == [] and diff.warnings == []
    assert "no changes" in render_text(diff)


def test_secrets_show_as_secret_and_changes_are_still_seen(plan_diff) -> None:
    base = repo_stack("dev")
    platform_of(base).setdefault("monitoring", {}).setdefault("grafana", {})["adminPassword"] = "first-Secret-4711"
    head = copy.deepcopy(base)
    platform_of(head)["monitoring"]["grafana"]["adminPassword"] = "second-Secret-0815"
    diff = plan_diff(base, head, exchange=False)  # in one process the secret values can be compared

    changed = [pc for c in diff.changed for pc in c.changes]
    assert changed, "a changed secret must show as a change"
    outputs = render_text(diff) + render_json(diff) + render_markdown([diff])
    assert "[secret]" in outputs
    assert "first-Secret-4711" not in outputs and "second-Secret-0815" not in outputs


# -- identity and aliases (hand-made plans: the program has no moved resource yet) ------------------------------


def _state(urn: str, parent: str = "", inputs: dict | None = None, aliases: tuple = (), custom: bool = True) -> ResourceState:
    type_ = urn.split("::")[2].rsplit("$", 1)[-1]
    return ResourceState(urn=urn, type=type_, name=urn.rsplit("::", 1)[-1], custom=custom, parent=parent,
                         inputs=inputs or {}, aliases=aliases)


def _plan(*states: ResourceState) -> Plan:
    return Plan(project="serving", stack="dev", steps=tuple(Step("create", s.urn, new=s) for s in states))


STACK = "urn:pulumi:dev::serving::pulumi:pulumi:Stack::serving-dev"


def test_a_moved_resource_with_an_alias_is_the_same_resource() -> None:
    old_parent = _state("urn:pulumi:dev::serving::serving:model:Model::m", STACK, custom=False)
    old = _state("urn:pulumi:dev::serving::serving:model:Model$kubernetes:core/v1:Service::m-svc", old_parent.urn,
                 {"metadata": {"name": "m", "namespace": "team-a"}, "spec": {"ports": [{"port": 80}]}})
    # The component was renamed (with an alias); its child moved with it and changed one port.
    new_parent = _state("urn:pulumi:dev::serving::serving:model:ModelServing::model-m", STACK, custom=False,
                        aliases=({"name": "m", "type": "serving:model:Model"},))
    new = _state("urn:pulumi:dev::serving::serving:model:ModelServing$kubernetes:core/v1:Service::model-m-svc",
                 new_parent.urn, {"metadata": {"name": "m", "namespace": "team-a"}, "spec": {"ports": [{"port": 8080}]}})
    diff = diff_plans(_plan(_state(STACK, custom=False), old_parent, old), _plan(_state(STACK, custom=False), new_parent, new))

    assert diff.change_summary() == {"same": 2, "update": 1}
    [change] = diff.changed
    assert change.step.old.urn == old.urn and change.step.new.urn == new.urn
    assert [(c.path, c.old, c.new) for c in change.changes] == [("spec.ports[0].port", 80, 8080)]


def test_a_child_with_aliases_of_its_own_still_follows_its_renamed_parent() -> None:
    # The child's own alias specs (resolved against its parent URN) and the aliases it inherits from its renamed
    # parent (resolved against the parent's state) must both count (the two once shared one variable name).
    old_parent = _state("urn:pulumi:dev::serving::serving:model:Model::m", STACK, custom=False)
    old = _state("urn:pulumi:dev::serving::serving:model:Model$kubernetes:core/v1:Service::m-svc", old_parent.urn,
                 {"metadata": {"name": "m", "namespace": "team-a"}})
    new_parent = _state("urn:pulumi:dev::serving::serving:model:ModelServing::model-m", STACK, custom=False,
                        aliases=({"name": "m", "type": "serving:model:Model"},))
    new = _state("urn:pulumi:dev::serving::serving:model:ModelServing$kubernetes:core/v1:Service::model-m-svc",
                 new_parent.urn, {"metadata": {"name": "m", "namespace": "team-a"}},
                 aliases=({"name": "model-m-service"}, {"name": "svc", "noParent": True}))
    diff = diff_plans(_plan(_state(STACK, custom=False), old_parent, old), _plan(_state(STACK, custom=False), new_parent, new))

    assert diff.change_summary() == {"same": 3}
    assert not diff.changed


def test_a_moved_resource_without_an_alias_is_deleted_and_created() -> None:
    old = _state("urn:pulumi:dev::serving::kubernetes:core/v1:Namespace::a", STACK, {"metadata": {"name": "a"}})
    new = _state("urn:pulumi:dev::serving::kubernetes:core/v1:Namespace::b", STACK, {"metadata": {"name": "a"}})
    diff = diff_plans(_plan(old), _plan(new))
    assert sorted(c.op for c in diff.changed) == ["create", "delete"]


def test_kubernetes_rename_is_a_replace_with_its_source() -> None:
    urn = "urn:pulumi:dev::serving::kubernetes:apps/v1:Deployment::d"
    old = _state(urn, STACK, {"metadata": {"name": "a", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"x": "1"}}}})
    new = _state(urn, STACK, {"metadata": {"name": "a", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"x": "2"}}}})
    diff = diff_plans(_plan(old), _plan(new))
    [change] = diff.changed
    assert change.op == "replace" and change.step.replace_reasons == ("spec.selector",)
    assert "diff.go" in change.replacements[0].source
    assert diff.warnings == ["Deployment n/a will be replaced: spec.selector changed"]


def test_a_replaced_dependency_makes_dependent_inputs_unknown() -> None:
    role_urn = "urn:pulumi:dev::serving::aws:iam/role:Role::nodes"
    ng_urn = "urn:pulumi:dev::serving::aws:eks/nodeGroup:NodeGroup::pool"
    role_old = _state(role_urn, STACK, {"name": "nodes-a", "assumeRolePolicy": "{}"})
    role_new = _state(role_urn, STACK, {"name": "nodes-b", "assumeRolePolicy": "{}"})
    ng = ResourceState(urn=ng_urn, type=NODE_GROUP, name="pool", custom=True, parent=STACK,
                       inputs={"nodeRoleArn": "arn:aws:iam::1:role/nodes", "instanceTypes": ["m7i.large"]},
                       property_dependencies={"nodeRoleArn": (role_urn,)})
    diff = diff_plans(_plan(role_old, ng), _plan(role_new, ng))
    ops = {c.step.urn: c.op for c in diff.changed}
    assert ops == {role_urn: "replace", ng_urn: "replace"}  # nodeRoleArn forces a new node group
    assert "[unknown]" in render_text(diff)


def test_ignore_changes_are_not_diffs() -> None:
    urn = "urn:pulumi:dev::serving::aws:eks/nodeGroup:NodeGroup::pool"
    old = ResourceState(urn=urn, type=NODE_GROUP, name="pool", custom=True, parent=STACK,
                        inputs={"scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 3}},
                        ignore_changes=("scalingConfig.desiredSize",))
    new = ResourceState(urn=urn, type=NODE_GROUP, name="pool", custom=True, parent=STACK,
                        inputs={"scalingConfig": {"minSize": 1, "desiredSize": 2, "maxSize": 3}},
                        ignore_changes=("scalingConfig.desiredSize",))
    assert diff_plans(_plan(old), _plan(new)).changed == []


# -- the PR comment ------------------------------------------------------------------------------------------------


def test_markdown_comment(plan_diff) -> None:
    base = repo_stack("dev")
    plain_model(base)["image"] = IMAGE_A
    head, _ = _other_gpu_type(base)
    plain_model(head)["image"] = IMAGE_B
    diff = plan_diff(base, head)

    text = render_markdown([diff])
    assert text == render_markdown([diff])  # deterministic
    lines = text.splitlines()
    assert lines[0] == MARKER
    n = diff.change_summary()
    cost = diff.cost.monthly_desired
    row = next(line for line in lines if line.startswith("| <code>dev</code> |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:6] == ["<code>dev</code>", "0", str(n["update"]), str(n["replace"]), "0", str(n["same"])]
    assert cells[6].startswith("+" if cost > 0 else "-" if cost < 0 else "±")
    warning_at = lines.index("> [!WARNING]")
    assert warning_at < lines.index("<details>")
    pool = platform_of(base)["nodePools"]["gpu"][0]["name"]
    assert f"> **dev**: GPU pool {pool} will be replaced: instanceTypes changed  " in lines
    sections = [line for line in lines if line.startswith("<summary><code>")]
    assert len(sections) == len(diff.changed)
    assert any("replace</code> GPU pool" in s for s in sections)
    assert any(f"update</code> {subject(c.state)}" in s for s in sections for c in diff.changed if c.op == "update")
    assert text.count("<details>") == text.count("</details>") == len(diff.changed) + 1  # + the cost section
    assert text.count("```") % 2 == 0


# -- --base against a real git revision ----------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def checkout_state(repo: Path) -> dict[str, str]:
    """What a user would notice changed in their checkout: status, HEAD, branch, worktrees, the stack file."""
    return {
        "status": _git(repo, "status", "--porcelain"),
        "head": _git(repo, "rev-parse", "HEAD"),
        "branch": _git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "worktrees": _git(repo, "worktree", "list", "--porcelain"),
        "stack": (repo / "Pulumi.dev.yaml").read_text(),
    }


@pytest.fixture
def git_project(tmp_path: Path) -> Path:
    """A git repository holding a copy of the project (program, package, dev stack) with one commit."""
    repo = tmp_path / "project"
    repo.mkdir()
    copy_program(repo)
    shutil.copytree(REPO / "serving", repo / "serving", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    doc = repo_stack("dev")
    plain_model(doc)["image"] = IMAGE_A
    (repo / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", ".")
    _git(repo, "commit", "--quiet", "-m", "base")
    return repo


def test_base_revision_diff_leaves_the_checkout_untouched(git_project: Path) -> None:
    doc = yaml.safe_load((git_project / "Pulumi.dev.yaml").read_text())
    plain_model(doc)["image"] = IMAGE_B
    (git_project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    before = checkout_state(git_project)
    # A temp directory of its own (other runs on the machine use the shared one at the same time).
    private_tmp = git_project.parent / "private-tmp"
    private_tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TMPDIR"] = str(private_tmp)
    proc = subprocess.run([sys.executable, "-m", "serving", "plan", "--stack", "dev", "--base", "HEAD", "--json"],
                          cwd=git_project, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    digest = json.loads(proc.stdout)
    changed = [s for s in digest["steps"] if s["op"] != "same"]
    assert [(s["op"], s["newState"]["type"]) for s in changed] == [("update", DEPLOYMENT)]
    assert changed[0]["detailedDiff"]["spec.template.spec.containers[0].image"] == {"kind": "update", "inputDiff": True}
    assert changed[0]["oldState"]["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE_A
    assert digest["base"].startswith("HEAD (")

    after = checkout_state(git_project)
    assert after == before
    assert not list(private_tmp.glob("serving-plan-base-*"))  # the temporary worktree is gone


def test_unknown_base_revision_is_a_usage_error(git_project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "serving", "plan", "--base", "no-such-rev"],
                          cwd=git_project, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "unknown git revision 'no-such-rev'" in proc.stderr and "Traceback" not in proc.stderr


# -- the replacement table, row by row (serving/plan/compute/replacements.py cites the provider source of each) ---------------

_REPLACE_CASES = [
    # (type, old inputs, new inputs, expected op)
    ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16", "instanceTenancy": "default"},
     {"cidrBlock": "10.0.0.0/16", "instanceTenancy": "dedicated"}, "update"),  # modifyVPCTenancy in place
    ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, {"cidrBlock": "10.1.0.0/16"}, "replace"),
    ("aws:ec2/subnet:Subnet", {"vpcId": "v", "ipv6Native": False}, {"vpcId": "v", "ipv6Native": True}, "replace"),
    ("aws:ec2/subnet:Subnet", {"vpcId": "v", "mapPublicIpOnLaunch": False}, {"vpcId": "v", "mapPublicIpOnLaunch": True}, "update"),
    ("aws:ec2/natGateway:NatGateway", {"subnetId": "a"}, {"subnetId": "b"}, "replace"),
    ("aws:ec2/eip:Eip", {"domain": "vpc"}, {"domain": "vpc", "ipamPoolId": "ipam-pool-1"}, "replace"),
    ("aws:ec2/internetGateway:InternetGateway", {"vpcId": "a"}, {"vpcId": "b"}, "update"),  # detach + attach
    ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"vpcId": "a"}, {"vpcId": "b"}, "replace"),
    ("aws:ec2/routeTableAssociation:RouteTableAssociation", {"subnetId": "s", "routeTableId": "a"},
     {"subnetId": "s", "routeTableId": "b"}, "update"),  # ReplaceRouteTableAssociation
    ("aws:cloudwatch/logGroup:LogGroup", {"name": "/a", "retentionInDays": 30}, {"name": "/a", "retentionInDays": 90}, "update"),
    ("aws:cloudwatch/logGroup:LogGroup", {"name": "/a"}, {"name": "/b"}, "replace"),
    ("aws:autoscaling/tag:Tag", {"autoscalingGroupName": "g", "tag": {"key": "k", "value": "1", "propagateAtLaunch": False}},
     {"autoscalingGroupName": "g", "tag": {"key": "k", "value": "2", "propagateAtLaunch": False}}, "update"),
    ("aws:autoscaling/tag:Tag", {"autoscalingGroupName": "g", "tag": {"key": "k", "value": "1", "propagateAtLaunch": False}},
     {"autoscalingGroupName": "g", "tag": {"key": "j", "value": "1", "propagateAtLaunch": False}}, "replace"),
    ("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": "{}"}, {"role": "r", "policy": "{\"a\": 1}"}, "update"),
    ("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": "{}"}, {"role": "s", "policy": "{}"}, "replace"),
    ("aws:eks/podIdentityAssociation:PodIdentityAssociation", {"clusterName": "c", "namespace": "n", "roleArn": "a"},
     {"clusterName": "c", "namespace": "n", "roleArn": "b"}, "update"),
    ("random:index/randomPassword:RandomPassword", {"length": 32, "special": False}, {"length": 40, "special": False}, "replace"),
    # PersistentVolumeClaim: a larger request expands in place; a new class is a new claim.
    ("kubernetes:core/v1:PersistentVolumeClaim",
     {"metadata": {"name": "c"}, "spec": {"storageClassName": "gp3", "resources": {"requests": {"storage": "10Gi"}}}},
     {"metadata": {"name": "c"}, "spec": {"storageClassName": "gp3", "resources": {"requests": {"storage": "20Gi"}}}}, "update"),
    ("kubernetes:core/v1:PersistentVolumeClaim", {"metadata": {"name": "c"}, "spec": {"storageClassName": "gp2"}},
     {"metadata": {"name": "c"}, "spec": {"storageClassName": "gp3"}}, "replace"),
    # Service: only .spec.clusterIP in diff.go; a type change is an update.
    ("kubernetes:core/v1:Service", {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}},
     {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}}, "update"),
    ("kubernetes:core/v1:Secret", {"metadata": {"name": "s"}, "stringData": {"a": "1"}},
     {"metadata": {"name": "s"}, "stringData": {"a": "2"}}, "replace"),
]


@pytest.mark.parametrize("type_,old,new,op", _REPLACE_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_replacement_table_rows(type_: str, old: dict, new: dict, op: str) -> None:
    urn = f"urn:pulumi:dev::serving::{type_}::r"
    diff = diff_plans(_plan(_state(urn, STACK, old)), _plan(_state(urn, STACK, new)))
    [change] = diff.changed
    assert change.op == op
    if op == "replace":
        assert all("@" in r.source for r in change.replacements)  # every row names the commit it was read at


def _k8s_provider(inputs: dict) -> ResourceState:
    return _state("urn:pulumi:dev::serving::pulumi:providers:kubernetes::k8s", STACK, inputs)


@pytest.mark.parametrize(
    "kind,provider_inputs,immutable,op",
    [
        ("ConfigMap", {}, False, "replace"),
        ("ConfigMap", {"enableConfigMapMutable": "true"}, False, "update"),
        ("ConfigMap", {"enableConfigMapMutable": True}, True, "replace"),
        ("Secret", {"enableSecretMutable": "true"}, False, "update"),
        ("Secret", {"enableSecretMutable": "true"}, True, "replace"),
    ],
)
def test_configmap_and_secret_data_follow_the_provider_flags(kind: str, provider_inputs: dict, immutable: bool, op: str) -> None:
    provider = _k8s_provider(provider_inputs)
    urn = f"urn:pulumi:dev::serving::kubernetes:core/v1:{kind}::obj"

    def obj(value: str) -> ResourceState:
        inputs: dict[str, Any] = {"metadata": {"name": "obj", "namespace": "n"}, "data": {"k": value}}
        if immutable:
            inputs["immutable"] = True
        return replace_provider(_state(urn, STACK, inputs), f"{provider.urn}::id-1")

    diff = diff_plans(_plan(provider, obj("a")), _plan(provider, obj("b")))
    [change] = diff.changed
    assert change.op == op


def replace_provider(state: ResourceState, provider: str) -> ResourceState:
    import dataclasses

    return dataclasses.replace(state, provider=provider)


def test_every_created_resource_type_has_a_replacement_row() -> None:
    """Each type the dev, prod and local plans register has rules or a documented reason it has none (the objects a
    Helm release installs are not: Helm upgrades them, see `diff._compare`)."""
    from serving.plan.compute.replacements import is_covered

    types = {s.type for stack in ("dev", "prod", "local") for s in repo_plan(stack).resources if not s.chart_release}
    missing = sorted(
        t for t in types
        if not (t.startswith(("serving:", "pulumi:")) or is_covered(t))
    )
    assert missing == [], f"add rules or an IN_PLACE reason to serving/plan/compute/replacements.py for {missing}"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--markdown"], "error: --markdown and --all-stacks need --base REV"),
        (["--base", "HEAD", "--json", "--markdown"], "error: choose one of --json and --markdown"),
        (["--base", "HEAD", "--manifests", "out"], "error: --manifests writes one plan, not a diff: drop --base"),
    ],
)
def test_plan_diff_usage_errors_exit_2(args: list[str], message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "serving", "plan", *args], cwd=REPO, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr.strip(), proc.stdout) == (2, message, "")
