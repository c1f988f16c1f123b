"""The offline plan (`serving.plan`, `python -m serving plan`): capture, URNs, output modes, determinism, errors.

`capture_plan` isolates the Pulumi runtime itself (own thread, contextvars context and event loop), so these tests
set no mocks of their own; small stand-alone programs written into temp dirs cover what the real program does not
exercise (warnings, reads, missing providers).
"""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from serving.config import ConfigError
from serving.plan import Plan, Secret, capture_plan, plan_json, render_json, render_tree, write_manifests
from serving.plan.compute import capture as capture_module
from serving.plan.compute.mocks import policy_document
from serving.plan.model import HELM_CHART_TYPES, STACK_TYPE, is_kubernetes_object
from serving.plan.present.manifests import MANIFESTS_MARKER, iter_manifest_texts, manifest_documents
from serving.stackfile import SECRET_PLACEHOLDER, UnknownStackError, list_stacks

from .conftest import REPO, platform_of, repo_plan, repo_stack


@pytest.fixture(scope="module")
def dev_plan() -> Plan:
    return repo_plan("dev")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "serving", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def type_chain(plan: Plan, urn: str) -> str:
    """The engine's URN type part: the types from the first non-stack ancestor down to the resource, `$`-joined."""
    by_urn = {step.urn: step for step in plan.steps}
    types = []
    while urn in by_urn and by_urn[urn].type != STACK_TYPE:
        types.append(by_urn[urn].type)
        urn = by_urn[urn].parent
    return "$".join(reversed(types))


# -- the real program --------------------------------------------------------------------------------------------


def test_tree_nests_components_under_the_stack(dev_plan: Plan) -> None:
    text = render_tree(dev_plan)
    lines = text.splitlines()
    assert lines[0] == "Previewing update (dev)"
    rows = [line for line in lines if line.startswith(" +  ")]
    assert len(rows) == len(dev_plan.steps)

    def indent_of(type_: str, name: str) -> int:
        row = next(r for r in rows if f"{type_}" in r and f" {name} " in r)
        return row.index(type_)

    assert rows[0].split()[1:] == ["pulumi:pulumi:Stack", "serving-dev", "create"]
    platform = dev_plan.by_type("serving:platform:Platform")[0]
    cluster = dev_plan.by_type("serving:cluster:Cluster")[0]
    eks = dev_plan.by_type("aws:eks/cluster:Cluster")[0]
    assert cluster.parent == platform.urn and eks.parent == cluster.urn
    stack_col = indent_of("pulumi:pulumi:Stack", "serving-dev")
    platform_col = indent_of(platform.type, platform.name)
    cluster_col = indent_of(cluster.type, cluster.name)
    assert stack_col < platform_col < cluster_col < indent_of(eks.type, eks.name)
    # Every component type of the program shows up, each row under its parent.
    components = {s.type for s in dev_plan.resources if not s.custom and not s.is_stack}
    assert {"serving:platform:Platform", "serving:cluster:Cluster", "serving:model:ModelServing"} <= components
    assert "Resources:" in lines
    assert f"    + {len(dev_plan.steps)} to create" in lines
    assert "Outputs:" in lines and any(line.startswith("    clusterName") for line in lines)


def test_steps_are_in_tree_order(dev_plan: Plan) -> None:
    assert dev_plan.steps[0].type == STACK_TYPE
    seen = {dev_plan.steps[0].urn}
    for step in dev_plan.steps[1:]:
        assert step.parent in seen, f"{step.urn} comes before its parent"
        seen.add(step.urn)
    for parent in [dev_plan.steps[0].urn, *(s.urn for s in dev_plan.steps)]:
        kids = [s.urn for s in dev_plan.children(parent)]
        assert kids == sorted(kids)


def test_urns_match_the_engine_format(dev_plan: Plan) -> None:
    stack = dev_plan.steps[0]
    assert stack.urn == "urn:pulumi:dev::serving::pulumi:pulumi:Stack::serving-dev"
    assert stack.name == "serving-dev" and stack.parent == ""
    for step in dev_plan.steps[1:]:
        assert step.urn == f"urn:pulumi:dev::serving::{type_chain(dev_plan, step.urn)}::{step.name}"
    eks = dev_plan.by_type("aws:eks/cluster:Cluster")[0]
    assert eks.urn.startswith(
        "urn:pulumi:dev::serving::serving:platform:Platform$serving:cluster:Cluster$aws:eks/cluster:Cluster::"
    )
    # Custom resources name their explicit provider by "<provider urn>::<id>".
    providers = {s.urn for s in dev_plan.resources if s.is_provider}
    for state in dev_plan.resources:
        if state.custom and not state.is_provider:
            assert state.provider_urn in providers, state.urn
    assert not dev_plan.has_errors, dev_plan.diagnostics


def test_json_has_the_preview_shape(dev_plan: Plan) -> None:
    doc = json.loads(render_json(dev_plan))
    assert set(doc) >= {"steps", "changeSummary", "diagnostics"}
    assert doc["changeSummary"] == {"create": len(dev_plan.steps)}
    assert [s["urn"] for s in doc["steps"]] == [s.urn for s in dev_plan.steps]
    for step in doc["steps"]:
        assert step["op"] == "create"
        new = step["newState"]
        assert {"urn", "type", "custom", "inputs", "parent", "dependencies", "provider", "propertyDependencies",
                "protect", "ignoreChanges"} <= set(new)
        assert new["urn"] == step["urn"] and step["provider"] == new["provider"]
    # Numbers that are integral are integers (the wire format only has doubles).
    assert not [v for v in walk(doc) if isinstance(v, float) and v.is_integer()]
    deployment = next(s for s in doc["steps"] if s["newState"]["type"] == "kubernetes:apps/v1:Deployment"
                      and "replicas" in s["newState"]["inputs"]["spec"])
    assert isinstance(deployment["newState"]["inputs"]["spec"]["replicas"], int)
    stack = doc["steps"][0]["newState"]
    assert stack["type"] == STACK_TYPE and stack["outputs"]["clusterName"] == "ml-dev"
    assert doc["outputs"]["clusterName"] == "ml-dev"


def test_dependencies_and_options_are_captured(dev_plan: Plan) -> None:
    urns = {s.urn for s in dev_plan.steps}
    for state in dev_plan.resources:
        assert set(state.dependencies) <= urns, state.urn
        for deps in state.property_dependencies.values():
            assert set(deps) <= urns
    eks = dev_plan.by_type("aws:eks/cluster:Cluster")[0]
    role = next(r for r in dev_plan.by_type("aws:iam/role:Role") if r.parent == eks.parent)
    assert role.urn in eks.dependencies
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"], "a rendered policy document"


def test_plans_are_deterministic(dev_plan: Plan) -> None:
    again = capture_plan("dev")
    assert again == dev_plan
    assert render_tree(again) == render_tree(dev_plan)
    assert render_json(again) == render_json(dev_plan)
    first, second = run_cli("plan", "--stack", "prod", "--json"), run_cli("plan", "--stack", "prod", "--json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout


def test_two_stacks_in_one_process_do_not_leak(dev_plan: Plan) -> None:
    from pulumi.runtime import config, settings

    prod = capture_plan("prod")
    assert prod.steps[0].urn == "urn:pulumi:prod::serving::pulumi:pulumi:Stack::serving-prod"
    assert all(":prod::" in s.urn for s in prod.steps)
    assert prod.outputs["clusterName"] == "ml-prod"
    # Nothing of the captures is left in the caller's Pulumi runtime.
    assert settings.get_root_resource() is None
    assert "serving:platform" not in config.CONFIG.get()


def test_manifests_one_valid_yaml_per_object(dev_plan: Plan, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    written = write_manifests(dev_plan, out)
    objects = [s for s in dev_plan.resources if is_kubernetes_object(s)]
    releases = [s for s in dev_plan.resources if s.type in HELM_CHART_TYPES]
    assert objects and releases
    assert len(written) == len(objects) + len(releases)
    assert sorted(out.rglob("*.yaml")) == sorted(written)
    for path in written:
        docs = list(yaml.safe_load_all(path.read_text()))
        assert len(docs) == 1, path.name
        doc = docs[0]
        if path.name.startswith("helm."):
            assert {"chart", "repository", "version", "namespace", "values"} <= set(doc)
            assert path.name == f"helm.{doc['namespace']}.{doc['name']}.yaml"
            continue
        assert {"apiVersion", "kind", "metadata"} <= set(doc), path.name
        meta = doc["metadata"]
        assert meta["name"]
        parts = [doc["kind"], *([meta["namespace"]] if "namespace" in meta else []), meta["name"]]
        expected = ".".join(re.sub(r"[^a-z0-9.\-]+", "-", part.lower()) for part in parts)  # e.g. ':' in RBAC names
        assert path.name == expected + ".yaml"
        if path.parent != out:  # an object a release installs: in the release's folder
            assert (out / f"{path.parent.name}.yaml").is_file()
    assert (out / f"deployment.team-nlp.llama-chat.yaml").is_file()
    assert (out / "namespace.team-nlp.yaml").is_file()  # cluster-scoped: no namespace in the name


def test_manifests_clean_only_a_directory_they_created(dev_plan: Plan, tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    write_manifests(dev_plan, ours)
    assert (ours / MANIFESTS_MARKER).is_file()
    (ours / "stale.old.yaml").write_text("kind: Stale\n")
    write_manifests(dev_plan, ours)
    assert not (ours / "stale.old.yaml").exists()

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.yaml").write_text("kind: Mine\n")
    write_manifests(dev_plan, theirs)
    assert (theirs / "keep.yaml").read_text() == "kind: Mine\n"
    assert not (theirs / MANIFESTS_MARKER).exists()


def test_cli_plan_tree_json_and_manifests(tmp_path: Path) -> None:
    tree = run_cli("plan")
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout.startswith("Previewing update (dev)\n") and "Traceback" not in tree.stderr
    result = run_cli("plan", "--stack", "dev", "--manifests", str(tmp_path / "m"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == tree.stdout
    assert len(list((tmp_path / "m").rglob("*.yaml"))) == len(manifest_documents(capture_plan("dev")))


def test_cli_schema() -> None:
    result = run_cli("schema")
    assert result.returncode == 0, result.stderr
    from serving.config import json_schema

    assert result.stdout == json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


# -- secrets ------------------------------------------------------------------------------------------------------


@pytest.fixture
def secret_root(stack_root) -> Path:
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"].setdefault("grafana", {})["adminPassword"] = {"secure": "v1:c2VjcmV0LWRhdGE="}
    return stack_root(dev=doc)


def test_secrets_print_as_secret_everywhere(secret_root: Path, tmp_path: Path) -> None:
    plan = capture_plan("dev", secret_root)
    secrets = [v for s in plan.resources for v in walk(dict(s.inputs)) if isinstance(v, Secret)]
    assert secrets, "the secure config value reaches a resource as a secret"
    assert repr(secrets[0]) == str(secrets[0]) == "[secret]"
    texts = {"tree": render_tree(plan), "json": render_json(plan), "repr": repr(plan)}
    write_manifests(plan, tmp_path / "m")
    texts.update({str(p.relative_to(tmp_path)): p.read_text() for p in (tmp_path / "m").rglob("*.yaml")})
    for name, text in texts.items():
        assert SECRET_PLACEHOLDER not in text, name
    assert '"[secret]"' in texts["json"]
    assert any("[secret]" in text for name, text in texts.items() if name.endswith(".yaml")), "a manifest shows it"
    cli = run_cli("plan", "--root", str(secret_root), "--json")
    assert cli.returncode == 0, cli.stderr
    assert SECRET_PLACEHOLDER not in cli.stdout + cli.stderr and "[secret]" in cli.stdout


# -- user errors --------------------------------------------------------------------------------------------------


def test_unknown_stack_lists_the_stacks() -> None:
    stacks = ", ".join(list_stacks())
    assert "dev" in stacks and "prod" in stacks
    with pytest.raises(UnknownStackError, match=stacks):
        capture_plan("nope")
    result = run_cli("plan", "--stack", "nope")
    assert result.returncode == 2
    assert "nope" in result.stderr and stacks in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.fixture
def bad_root(stack_root) -> Path:
    doc = repo_stack("dev")
    platform = platform_of(doc)
    platform["models"][1]["resources"]["gpus"] = -1
    platform["cluster"]["mdoe"] = platform["cluster"].pop("mode")
    return stack_root(dev=repo_stack("dev"), bad=doc)


def test_invalid_config_exits_2_with_every_error(bad_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        monkeypatch.setattr(capture_module, "run_program", lambda *a, **k: pytest.fail("the program ran"))
        capture_plan("bad", bad_root)
    errors = info.value.errors
    # file:line:column, the config key and the field path
    assert any(re.match(r"Pulumi.bad.yaml:\d+:\d+: serving:platform.models\[1\].resources.gpus: ", e) for e in errors)
    assert any(re.match(r"Pulumi.bad.yaml:\d+:\d+: serving:platform.cluster.mdoe: ", e) for e in errors)

    result = run_cli("plan", "--stack", "bad", "--root", str(bad_root))
    assert result.returncode == 2
    assert result.stderr.splitlines() == errors
    assert "Traceback" not in result.stderr and result.stdout == ""
    # The good stack of the same root still plans.
    assert run_cli("plan", "--stack", "dev", "--root", str(bad_root), "--json").returncode == 0


# -- small programs: what the real program does not exercise ------------------------------------------------------

PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s
    import pulumi_random as random

    cfg = pulumi.Config()
    token = cfg.require_secret("apiToken")


    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("demo:box:Box", name, None, opts)
            awsp = aws.Provider("aws", region="eu-west-1", opts=pulumi.ResourceOptions(parent=self))
            k8sp = k8s.Provider("k8s", kubeconfig="{}", opts=pulumi.ResourceOptions(parent=self))
            o = pulumi.ResourceOptions(parent=self, provider=k8sp)
            key = aws.kms.Key("key", opts=pulumi.ResourceOptions(parent=self, provider=awsp, protect=True,
                                                                 ignore_changes=["description"]))
            zones = aws.get_availability_zones_output(opts=pulumi.InvokeOptions(provider=awsp))
            pw = random.RandomPassword("pw", length=12, opts=pulumi.ResourceOptions(parent=self))  # no provider
            k8s.core.v1.Secret("creds", metadata={"name": "creds", "namespace": "apps"},
                               string_data={"token": token, "password": pw.result, "user": "admin"}, opts=o)
            k8s.core.v1.ConfigMap("cm", metadata={"namespace": "apps"}, data={"zones": zones.names.apply(",".join),
                                  "ratio": "0.5"}, opts=o)
            k8s.apps.v1.Deployment("web", metadata={"name": "web", "namespace": "apps"},
                spec={"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
                opts=o)
            k8s.core.v1.Namespace.get("kube-system", "kube-system", opts=o)
            pulumi.log.warn("a warning about the box", resource=self)
            self.key_arn = key.arn
            self.register_outputs({"keyArn": key.arn})


    box = Box("box")
    pulumi.log.info("stack-level note")
    pulumi.export("keyArn", box.key_arn)
    pulumi.export("token", token)
    pulumi.export("limits", {"cpu": 2, "ratio": 0.5})
    """
)


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    (root / "__main__.py").write_text(PROGRAM)
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (root / "Pulumi.dev.yaml").write_text(
        yaml.safe_dump({"config": {"serving:apiToken": {"secure": "v1:AAAA"}}})
    )
    return root


def test_small_program_diagnostics_reads_and_secrets(demo_root: Path) -> None:
    plan = capture_plan("dev", demo_root, validate=False)
    by_name = {s.name: s for s in plan.resources}

    box = by_name["box"]
    assert box.urn == "urn:pulumi:dev::serving::demo:box:Box::box"
    assert box.outputs["keyArn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    key = by_name["key"]
    assert key.urn == "urn:pulumi:dev::serving::demo:box:Box$aws:kms/key:Key::key"
    assert key.protect and key.ignore_changes == ("description",)
    assert key.provider.startswith("urn:pulumi:dev::serving::demo:box:Box$pulumi:providers:aws::aws::")

    # A Kubernetes Secret's data is secret value by value; keys stay readable.
    creds = by_name["creds"].inputs["stringData"]
    assert set(creds) == {"token", "password", "user"} and all(isinstance(v, Secret) for v in creds.values())
    assert plan.outputs["token"] == Secret(SECRET_PLACEHOLDER)
    assert plan.outputs["limits"] == {"cpu": 2, "ratio": 0.5} and isinstance(plan.outputs["limits"]["cpu"], int)
    assert by_name["cm"].inputs["data"]["zones"] == "eu-west-1a,eu-west-1b,eu-west-1c"

    # `.get()` is a read step.
    read = by_name["kube-system"]
    assert [s.op for s in plan.steps if s.urn == read.urn] == ["read"] and read.external

    # Diagnostics: the program's warnings and infos, the engine's default-provider and auto-naming checks.
    kinds = {(d.severity, d.urn.rsplit("::", 1)[-1] if d.urn else "") for d in plan.diagnostics}
    assert ("warning", "box") in kinds and ("info", "") in kinds
    assert ("error", "pw") in kinds, "a resource without an explicit provider while default providers are disabled"
    assert ("warning", "cm") in kinds, "an object without metadata.name"
    assert ("warning", "kube-system") not in kinds, "a read object is named by its ID"
    assert plan.has_errors

    tree = render_tree(plan)
    assert "Diagnostics:\n  pulumi:pulumi:Stack (serving-dev):\n    info: stack-level note\n" in tree
    assert "\n  demo:box:Box (box):\n    warning: a warning about the box\n" in tree
    assert " >   " in tree and "    > 1 to read" in tree
    doc = plan_json(plan)
    assert {"severity": "warning", "message": "a warning about the box", "urn": box.urn, "prefix": "warning: "} \
        in doc["diagnostics"]
    assert doc["changeSummary"] == {"create": len(plan.steps) - 1, "read": 1}
    manifests = dict(iter_manifest_texts(plan))
    assert "password: '[secret]'" in manifests["secret.apps.creds.yaml"]
    assert "user: '[secret]'" in manifests["secret.apps.creds.yaml"]
    assert SECRET_PLACEHOLDER not in render_json(plan) + tree + "".join(manifests.values())


def test_cli_exits_1_on_error_diagnostics(demo_root: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from serving import cli

    assert cli.main(["plan", "--root", str(demo_root)]) == 2  # not a platform config: validated first
    assert "serving:platform" in capsys.readouterr().err
    monkeypatch.setattr(capture_module, "validate_stack_file", lambda sf: None)
    assert cli.main(["plan", "--root", str(demo_root)]) == 1
    out = capsys.readouterr().out
    assert "error: Default provider for 'random' disabled." in out and out.rstrip().endswith("to read")


def test_program_failure_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: serving\nruntime: python\n")
    (root / "Pulumi.dev.yaml").write_text("config: {}\n")
    (root / "__main__.py").write_text("import pulumi\nraise RuntimeError('boom in the program')\n")
    with pytest.raises(capture_module.ProgramError, match="boom in the program") as info:
        capture_plan("dev", root, validate=False)
    assert "__main__.py" in info.value.details

    (root / "__main__.py").write_text(
        "import pulumi\nimport pulumi_random as r\nr.RandomId('x', byte_length=4)\nr.RandomId('x', byte_length=4)\n"
    )
    with pytest.raises(capture_module.ProgramError, match="Duplicate resource URN"):
        capture_plan("dev", root, validate=False)

    # An output that fails while many others are pending (the capture waits for all outputs at once) still fails
    # the plan with its own error, and the garbage collector is back on afterwards.
    (root / "__main__.py").write_text(
        "import pulumi\nimport pulumi_random as r\n"
        "ids = [r.RandomId(f'id{i}', byte_length=4) for i in range(50)]\n"
        "def fail(v):\n    raise ValueError('boom in an apply')\n"
        "pulumi.Output.all(*[i.hex for i in ids]).apply(lambda hexes: [h.upper() for h in hexes])\n"
        "ids[0].hex.apply(fail)\n"
    )
    assert gc.isenabled()
    with pytest.raises(capture_module.ProgramError, match="boom in an apply"):
        capture_plan("dev", root, validate=False)
    assert gc.isenabled()


def test_policy_document_rendering() -> None:
    doc = policy_document([
        {"actions": ["sts:AssumeRoleWithWebIdentity"], "principals": [{"type": "Federated", "identifiers": ["arn:x"]}],
         "conditions": [{"test": "StringEquals", "variable": "oidc:sub", "values": ["system:serviceaccount:a:b"]}]},
        {"sid": "Read", "effect": "Deny", "actions": ["s3:GetObject", "s3:ListBucket"], "resources": ["*"]},
    ])
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": "arn:x"},
             "Condition": {"StringEquals": {"oidc:sub": "system:serviceaccount:a:b"}}},
            {"Sid": "Read", "Effect": "Deny", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
        ],
    }


# -- project-level config (Pulumi.yaml `config:`) reaches the program as the CLI passes it ----------------------------

_CONFIG_PROBE = textwrap.dedent('''
    import pulumi
    pulumi.export("disabled", pulumi.Config("pulumi").get_object("disable-default-providers"))
    pulumi.export("greeting", pulumi.Config().get("greeting"))
    pulumi.export("team", pulumi.Config().get("team"))
''')


def _project_with_config(root: Path, config: dict[str, Any]) -> None:
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    project["config"] = config
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))


def test_project_config_reaches_the_program_and_the_stack_wins(stack_root, tmp_path: Path) -> None:
    doc = repo_stack("dev")
    doc["config"]["serving:team"] = "stack-team"
    root = stack_root(dev=doc)
    _project_with_config(root, {
        "pulumi:disable-default-providers": {"value": ["aws", "kubernetes"]},
        "greeting": {"type": "string", "default": "hello"},  # a default applies when the stack sets nothing
        "team": {"value": "project-team"},                    # the stack's own value wins
    })
    probe = tmp_path / "probe.py"
    probe.write_text(_CONFIG_PROBE)
    plan = capture_plan("dev", root, program=probe)
    assert plan.outputs == {"disabled": ["aws", "kubernetes"], "greeting": "hello", "team": "stack-team"}


def test_default_providers_disabled_only_in_pulumi_yaml_are_enforced(stack_root, tmp_path: Path) -> None:
    root = stack_root(dev=repo_stack("dev"))
    _project_with_config(root, {"pulumi:disable-default-providers": {"value": ["*"]}})
    program = tmp_path / "defaults.py"
    program.write_text("import pulumi_random as random\nrandom.RandomPassword('uses-default-provider', length=8)\n")
    plan = capture_plan("dev", root, program=program)
    assert any("Default provider for 'random' disabled" in d.message for d in plan.diagnostics)
