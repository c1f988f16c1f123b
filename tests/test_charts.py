"""Helm releases rendered into the plan (serving/plan/compute/charts.py): objects as the release's children, in the
tree, `--json`, `--manifests` and object-by-object `--base` diffs; secrets never leave as values; cache; missing
charts or Helm said in a diagnostic.

Most tests render the tiny charts in tests/charts (demo 0.1.0 and 0.2.0) into a hand-made plan, so they need only
the pinned Helm (`make helm`); the last ones check the repository's dev plan against ../shared's chart sources.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from serving.plan import Plan, Secret, Step, plan_json, render_tree, write_manifests
from serving.plan.compute.charts import ChartSource, chart_source, helm_path, render_charts
from serving.plan.compute.diff import diff_plans
from serving.plan.digest import round_trip
from serving.plan.model import HELM_RELEASE_TYPE, OP_CREATE, ResourceState, make_urn, tree_order
from serving.plan.present.diff import render_text

from .conftest import repo_plan

CHARTS = Path(__file__).parent / "charts"
PASSWORD = "hunter2-not-for-print"
HELM = helm_path()
needs_helm = pytest.mark.skipif(HELM is None, reason="the pinned Helm is not installed (make helm)")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chart-cache")


def demo_plan(version: str = "0.1.0", values: dict[str, Any] | None = None, chart: str = "demo") -> Plan:
    """A plan holding an EKS cluster (Kubernetes 1.33) and one release of the demo chart (or `chart`)."""
    stack_urn = make_urn("dev", "serving", "", "pulumi:pulumi:Stack", "serving-dev")
    states = [
        ResourceState(stack_urn, "pulumi:pulumi:Stack", "serving-dev", False),
        ResourceState(make_urn("dev", "serving", stack_urn, "aws:eks/cluster:Cluster", "c"), "aws:eks/cluster:Cluster",
                      "c", True, parent=stack_urn, inputs={"version": "1.33"}),
        ResourceState(
            make_urn("dev", "serving", stack_urn, HELM_RELEASE_TYPE, "dev-demo"), HELM_RELEASE_TYPE, "dev-demo", True,
            parent=stack_urn, provider="urn:pulumi:dev::serving::pulumi:providers:kubernetes::k8s::id",
            inputs={"chart": f"oci://registry.example.com/charts/{chart}", "version": version, "name": "demo",
                    "namespace": "apps",
                    "values": values if values is not None else {"password": Secret(PASSWORD), "replicas": 2}},
        ),
    ]
    return Plan("serving", "dev", tree_order(Step(OP_CREATE, s.urn, new=s) for s in states))


def rendered(cache_dir: Path, version: str = "0.1.0", values: dict[str, Any] | None = None) -> Plan:
    return render_charts(demo_plan(version, values), ChartSource(CHARTS, HELM, cache_dir))


def by_type(plan: Plan, type_: str) -> ResourceState:
    [state] = [s for s in plan.resources if s.type == type_]
    return state


@needs_helm
def test_release_objects_are_its_children(cache_dir: Path) -> None:
    plan = rendered(cache_dir)
    release = by_type(plan, HELM_RELEASE_TYPE)
    children = [s for s in plan.resources if s.chart_release]
    assert sorted(s.type for s in children) == [
        "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Secret", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    ]
    for child in children:
        assert child.parent == child.chart_release == release.urn and child.custom
        assert child.provider == release.provider
        assert f"{HELM_RELEASE_TYPE}${child.type}::" in child.urn  # the type chain holds the release's type
    deployment = by_type(plan, "kubernetes:apps/v1:Deployment")
    assert deployment.name == "dev-demo:apps/demo"
    assert deployment.inputs["metadata"]["namespace"] == "apps"  # filled from the release: the template has none
    assert deployment.inputs["spec"]["replicas"] == 2
    assert deployment.inputs["metadata"]["labels"]["kube"] == "v1.33.0"  # the stack's Kubernetes version
    role = by_type(plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert role.name == "dev-demo:demo-reader" and "namespace" not in role.inputs["metadata"]
    # The tree shows them under the release.
    tree = render_tree(plan)
    assert "kubernetes:helm.sh/v3:Release" in tree and "└─ kubernetes:rbac.authorization.k8s.io/v1:ClusterRole" in tree
    # --json: steps whose newState.parent is the release.
    steps = [s for s in plan_json(plan)["steps"] if s["newState"]["parent"] == release.urn]
    assert len(steps) == 4 and all(s["newState"]["chartRelease"] == release.urn for s in steps)


@needs_helm
def test_secret_values_never_leave_as_values(cache_dir: Path, tmp_path: Path) -> None:
    plan = rendered(cache_dir)
    deployment = by_type(plan, "kubernetes:apps/v1:Deployment")
    env = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert isinstance(env["value"], Secret) and env["value"].reveal() == f"postgres://demo:{PASSWORD}@db/demo"
    secret = by_type(plan, "kubernetes:core/v1:Secret")
    assert isinstance(secret.inputs["stringData"]["password"], Secret)
    write_manifests(plan, tmp_path / "m")
    texts = [render_tree(plan), json.dumps(plan_json(plan)), repr(plan)]
    texts += [p.read_text() for p in (tmp_path / "m").rglob("*.yaml")]
    texts += [p.read_text() for p in cache_dir.rglob("*.json")]  # Helm and the cache only ever saw a placeholder
    assert not any(PASSWORD in text for text in texts)
    assert (tmp_path / "m" / "helm.apps.demo" / "deployment.apps.demo.yaml").read_text().count("[secret]") == 1


@needs_helm
def test_chart_version_bump_diffs_object_by_object(cache_dir: Path) -> None:
    base = round_trip(rendered(cache_dir, "0.1.0"))
    head = round_trip(rendered(cache_dir, "0.2.0"))
    diff = diff_plans(base, head)
    ops = {c.state.type.rsplit(":", 1)[-1]: c.op for c in diff.changes if c.state.chart_release}
    assert ops == {"CustomResourceDefinition": "same", "Deployment": "update", "Secret": "same",
                   "ClusterRole": "same", "Service": "create"}
    [deployment] = [c for c in diff.changes if c.state.type == "kubernetes:apps/v1:Deployment"]
    assert [(c.path, c.old, c.new) for c in deployment.changes] == [
        ("spec.template.spec.containers[0].image", "registry.example.com/demo:1.0", "registry.example.com/demo:2.0"),
    ]
    text = render_text(diff)
    assert '~ spec.template.spec.containers[0].image: "registry.example.com/demo:1.0" => "registry.example.com/demo:2.0"' in text
    assert "+  kubernetes:core/v1:Service: (create) dev-demo:apps/demo" in text


@needs_helm
def test_values_change_shows_in_the_objects_it_changes(cache_dir: Path) -> None:
    values = {"password": Secret(PASSWORD), "replicas": 2}
    diff = diff_plans(rendered(cache_dir, values=values), rendered(cache_dir, values={**values, "replicas": 3}))
    changed = {c.state.type: [pc.path for pc in c.changes] for c in diff.changed}
    assert changed == {HELM_RELEASE_TYPE: ["values.replicas"], "kubernetes:apps/v1:Deployment": ["spec.replicas"]}


@needs_helm
def test_a_warm_cache_does_not_run_helm(cache_dir: Path) -> None:
    first = rendered(cache_dir)
    again = render_charts(demo_plan(), ChartSource(CHARTS, None, cache_dir))  # no Helm at all: served from the cache
    assert [s.urn for s in again.resources] == [s.urn for s in first.resources] and not again.diagnostics
    bumped = render_charts(demo_plan("0.2.0", {"replicas": 5}), ChartSource(CHARTS, None, cache_dir))
    assert [d.message for d in bumped.diagnostics] == [
        "chart demo-0.2.0 not rendered: Helm v4.1.4 is not installed (`make helm` installs it; or set SERVING_HELM)"
    ]


def test_missing_charts_are_said_and_the_release_kept(tmp_path: Path) -> None:
    no_folder = render_charts(demo_plan(), ChartSource(None, HELM, tmp_path, searched=(tmp_path / "charts",)))
    missing = render_charts(demo_plan("9.9.9"), ChartSource(CHARTS, HELM, tmp_path))
    for plan, text in ((no_folder, "no charts folder"), (missing, "demo-9.9.9 is missing")):
        assert [s.type for s in plan.resources] == [s.type for s in demo_plan().resources]  # the release stays
        [d] = plan.diagnostics
        assert d.severity == "warning" and text in d.message and d.urn == by_type(plan, HELM_RELEASE_TYPE).urn


@needs_helm
def test_values_a_chart_cannot_render_are_an_error(cache_dir: Path) -> None:
    plan = rendered(cache_dir, values={"image": ""})
    [d] = plan.diagnostics
    assert d.severity == "error" and "chart demo-0.1.0 does not render with these values" in d.message
    assert "demo needs an image" in d.message and str(CHARTS) not in d.message
    assert not any(s.chart_release for s in plan.resources)


def _stack_plan(charts: Path, cache_dir: Path, helm: Path | None = HELM, **values: Any) -> Plan:
    return render_charts(demo_plan(values=values, chart="stack"), ChartSource(charts, helm, cache_dir))


def _configmaps(plan: Plan) -> dict[str, Any]:
    return {s.inputs["metadata"]["name"]: s.inputs.get("data") for s in plan.resources
            if s.type == "kubernetes:core/v1:ConfigMap"}


@needs_helm
def test_a_chart_missing_a_subchart_is_rendered_without_it_and_says_so(tmp_path: Path) -> None:
    """tests/charts/stack-0.1.0 lists subcharts `present` (in its charts/) and `absent` (not there): Helm alone
    refuses the chart; the plan renders the rest of it and warns that `absent`'s objects are not in it."""
    plan = _stack_plan(CHARTS, tmp_path / "cache")
    assert _configmaps(plan) == {"demo-stack": {"subcharts": "present"}, "demo-present": {}}
    [d] = plan.diagnostics
    assert d.severity == "warning" and d.urn == by_type(plan, HELM_RELEASE_TYPE).urn
    assert d.message.startswith("chart stack-0.1.0 rendered without its subcharts absent: they are missing from ")
    assert "their objects are not in the plan" in d.message
    assert (CHARTS / "stack-0.1.0" / "Chart.yaml").read_text().count("name: absent") == 1  # the source is untouched
    # A warm cache says so too (no Helm at all), and a values change is a new render.
    again = _stack_plan(CHARTS, tmp_path / "cache", helm=None)
    assert _configmaps(again) == _configmaps(plan) and [x.message for x in again.diagnostics] == [d.message]
    assert "not rendered: Helm" in _stack_plan(CHARTS, tmp_path / "cache", helm=None, readAbsent=False).diagnostics[0].message


@needs_helm
def test_once_the_subchart_is_there_the_cache_renders_it(tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    shutil.copytree(CHARTS / "stack-0.1.0", charts / "stack-0.1.0")
    assert _stack_plan(charts, tmp_path / "cache").diagnostics
    absent = charts / "stack-0.1.0" / "charts" / "absent"
    (absent / "templates").mkdir(parents=True)
    (absent / "Chart.yaml").write_text("apiVersion: v2\nname: absent\nversion: 0.1.0\n")
    (absent / "values.yaml").write_text("feature: {enabled: true}\n")
    (absent / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: absent}\n")
    plan = _stack_plan(charts, tmp_path / "cache", readAbsent=True)
    assert not plan.diagnostics and _configmaps(plan) == {
        "demo-stack": {"feature": "on", "subcharts": "absent,present"}, "demo-present": {}, "absent": None}


@needs_helm
def test_a_chart_that_needs_its_missing_subchart_is_not_rendered_and_says_why(tmp_path: Path) -> None:
    """The parent's template reads the missing subchart's default value: not an error in the values (a real install
    has the subchart), a warning naming the subchart and Helm's message."""
    plan = _stack_plan(CHARTS, tmp_path / "cache", readAbsent=True)
    [d] = plan.diagnostics
    assert d.severity == "warning" and not _configmaps(plan)
    assert d.message.startswith("chart stack-0.1.0 not rendered: its subcharts absent are missing and without them "
                                "Helm fails: ")
    assert "nil pointer evaluating interface {}.enabled" in d.message and str(tmp_path) not in d.message


def release_state(name: str, chart: str, version: str, values: dict[str, Any]) -> ResourceState:
    stack_urn = make_urn("dev", "serving", "", "pulumi:pulumi:Stack", "serving-dev")
    return ResourceState(
        make_urn("dev", "serving", stack_urn, HELM_RELEASE_TYPE, name), HELM_RELEASE_TYPE, name, True, parent=stack_urn,
        provider="urn:pulumi:dev::serving::pulumi:providers:kubernetes::k8s::id",
        inputs={"chart": chart, "version": version, "name": name, "namespace": "apps", "values": values},
    )


def gated_kinds(cache_dir: Path, *extra: ResourceState) -> list[str]:
    """What the `gated` chart renders (each object gated on `.Capabilities.APIVersions.Has`) beside `extra`."""
    plan = demo_plan()
    plan = Plan("serving", "dev", tree_order([
        *(s for s in plan.steps if s.state.type != HELM_RELEASE_TYPE),
        *(Step(OP_CREATE, s.urn, new=s) for s in (release_state("gated", "gated", "0.1.0", {}), *extra)),
    ]))
    out = render_charts(plan, ChartSource(CHARTS, HELM, cache_dir))
    gated = by_type(out, HELM_RELEASE_TYPE) if not extra else next(s for s in out.resources if s.name == "gated")
    return sorted(s.type.rsplit(":", 1)[-1] for s in out.resources if s.chart_release == gated.urn)


@needs_helm
def test_charts_see_the_apis_the_cluster_will_serve(cache_dir: Path) -> None:
    """`.Capabilities.APIVersions` holds Kubernetes' GA kinds, the chart's own CRDs and every other CRD of the plan
    (another release's, rendered or read from its chart when it cannot render, or the program's own), and the render
    cache tells the answers apart."""
    alone = gated_kinds(cache_dir)
    # policy/v1/PodDisruptionBudget: a built-in kind (Helm alone knows only group/versions); Gadget: its own CRD.
    assert alone == ["CustomResourceDefinition", "Gadget", "PodDisruptionBudget"]
    demo = release_state("demo", "demo", "0.1.0", {"password": "x"})
    assert gated_kinds(cache_dir, demo) == ["CustomResourceDefinition", "Gadget", "PodDisruptionBudget", "Widget"]
    broken = release_state("demo", "demo", "0.1.0", {"image": ""})  # does not render: its chart's crds/ still count
    assert gated_kinds(cache_dir, broken) == ["CustomResourceDefinition", "Gadget", "PodDisruptionBudget", "Widget"]
    [crd] = [s for s in rendered(cache_dir).resources if s.type.endswith(":CustomResourceDefinition")]
    own = replace(crd, urn=make_urn("dev", "serving", "", crd.type, "widgets"), name="widgets", parent="",
                  chart_release="")  # the program's own CRD resource
    assert gated_kinds(cache_dir, own)[-1] == "Widget"
    assert gated_kinds(cache_dir) == alone  # the same release again: not the cached answer for another cluster


# -- the repository's stacks --------------------------------------------------------------------------------------


def _shared_charts() -> bool:
    return chart_source(Path(__file__).parent.parent).charts_dir is not None


@pytest.mark.skipif(HELM is None or not _shared_charts(), reason="needs the pinned Helm and ../shared/reference/charts")
@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_release_is_rendered_or_says_why(stack: str) -> None:
    plan = repo_plan(stack)
    releases = plan.by_type(HELM_RELEASE_TYPE)
    assert releases
    for release in releases:
        children = [s for s in plan.resources if s.chart_release == release.urn]
        said = [d for d in plan.diagnostics if d.urn == release.urn and "not rendered" in d.message]
        assert children or said, f"{release.name}: neither rendered nor a diagnostic"
        assert all(s.parent == release.urn for s in children)
    assert not [d for d in plan.diagnostics if "does not render" in d.message or "without them Helm fails" in d.message]


def test_the_base_plan_is_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan --base` makes the base revision's plan once; the next one comes from the cache, without a worktree."""
    from serving.plan.compute.diff import BaseRevision

    monkeypatch.setenv("SERVING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SERVING_CHARTS_DIR", "none")  # the plan, not the charts, is what is cached here
    root = Path(__file__).parent.parent
    with BaseRevision("HEAD", root, charts=False) as cold:
        first = cold.plan("local")
        assert cold._checkout is not None
    with BaseRevision("HEAD", root, charts=False) as warm:
        again = warm.plan("local")
        assert warm._checkout is None  # no worktree, no subprocess
        other = warm.cache_key("dev")
    assert plan_json(again) == plan_json(first) and first.steps
    assert len(list((tmp_path / "cache" / "plans").glob("*.json"))) == 1 and other not in str(list(tmp_path.rglob("*")))
