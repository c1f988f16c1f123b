"""Shared model servers through the real program: one MLServer fleet with twenty small models (tests/fleet_stack.py)
plans to a handful of server pods, every model keeps its own route, and adding a model moves nothing."""

from __future__ import annotations

import json
from typing import Any


import yaml

from serving import conventions as cv
from serving.placement import place
from serving.plan import Plan
from serving.plan.compute.diff import diff_plans
from serving.plan.model import is_kubernetes_object
from serving.plan.present.manifests import kubernetes_manifest

from .conftest import platform_of
from .fleet_stack import FLEET, TEAM, fleet_plan, fleet_stack, plan_of, tabular_model
from .schemas import validate_object

NAMESPACE = cv.team_namespace(TEAM)
FLEET_OBJECT = f"fleet-{FLEET}"


def k8s_objects(plan: Plan) -> list[dict[str, Any]]:
    return [kubernetes_manifest(s) for s in plan.resources if is_kubernetes_object(s)]


def of_kind(plan: Plan, kind: str, namespace: str = NAMESPACE) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in k8s_objects(plan)
            if o["kind"] == kind and o["metadata"].get("namespace") == namespace}


def test_twenty_models_run_on_a_handful_of_server_pods() -> None:
    plan = fleet_plan()
    deployments = of_kind(plan, "Deployment")
    assert list(deployments) == [FLEET_OBJECT]
    fleet = deployments[FLEET_OBJECT]
    assert fleet["spec"]["replicas"] == 2  # plus one surge pod during a rollout: 3 pods at most, for 20 models
    pod = fleet["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["image"] == "seldonio/mlserver:1.7.1" and server["command"] == ["mlserver", "start", "/mnt/models"]
    assert server["resources"]["limits"]["memory"] == "4Gi"
    # Each model is fetched by its own init container, into its own folder of the repository volume.
    fetch = {c["name"]: {e["name"]: e.get("value") for e in c["env"]} for c in pod["initContainers"]}
    assert list(fetch) == [f"fetch-tab-{i:02d}" for i in range(20)]
    assert fetch["fetch-tab-07"]["ARTIFACT_URI"] == "s3://example-models-dev/tab-07/1/"
    assert fetch["fetch-tab-07"]["MODEL_NAME"] == "tab-07"
    assert plan.outputs["modelPlacement"] == {f"tab-{i:02d}": FLEET for i in range(20)}


def test_each_model_loads_individually_from_its_own_settings() -> None:
    pod = of_kind(fleet_plan(), "Deployment")[FLEET_OBJECT]["spec"]["template"]["spec"]
    settings = {c["name"]: json.loads(next(e["value"] for e in c["env"] if e["name"] == "MODEL_SETTINGS"))
                for c in pod["initContainers"]}
    assert settings["fetch-tab-00"] == {
        "name": "tab-00", "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": "./artifact", "version": "1"}}
    assert settings["fetch-tab-01"]["implementation"] == "mlserver_xgboost.XGBoostModel"
    assert {s["name"] for s in settings.values()} == {f"tab-{i:02d}" for i in range(20)}


def test_every_model_is_reachable_at_its_own_path_on_the_fleet() -> None:
    routes = of_kind(fleet_plan(), "HTTPRoute")
    assert sorted(routes) == [f"tab-{i:02d}" for i in range(20)]
    rules = routes["tab-03"]["spec"]["rules"]
    by_path = {r["matches"][0]["path"]["value"]: r for r in rules}
    # /models/tab-03/infer -> /v2/models/tab-03/infer on the fleet (only this model's endpoints are reachable),
    # and the dedicated-style /models/tab-03/v2/models/tab-03/... keeps working after a move to the fleet.
    assert set(by_path) == {"/models/tab-03", "/models/tab-03/v2/models/tab-03"}
    for rule in rules:
        assert rule["backendRefs"] == [{"name": FLEET_OBJECT, "port": 80}]
        (rewrite,) = [f for f in rule["filters"] if f["type"] == "URLRewrite"]
        assert rewrite["urlRewrite"]["path"]["replacePrefixMatch"] == "/v2/models/tab-03"
    # Each model keeps its own route policies and alerts.
    assert "tab-03" in of_kind(fleet_plan(), "BackendTrafficPolicy")
    assert "tab-03" in of_kind(fleet_plan(), "PrometheusRule")


def test_fleet_objects_are_valid() -> None:
    errors = {f"{o['kind']}/{o['metadata']['name']}": validate_object(o) for o in k8s_objects(fleet_plan())
              if o["metadata"].get("namespace") == NAMESPACE}
    assert {k: v for k, v in errors.items() if v} == {}


def test_adding_a_model_creates_it_and_updates_only_the_fleet_model_list() -> None:
    head = fleet_stack()
    platform_of(head)["models"].append(tabular_model(20))
    diff = diff_plans(fleet_plan(), plan_of(head))
    ops = {(c.op, c.state.type, (c.state.inputs.get("metadata") or {}).get("name")) for c in diff.changed}
    assert {op for op, _, _ in ops} == {"create", "update"}, ops
    updated = [c for c in diff.changed if c.op == "update"]
    assert [(c.state.type, c.state.inputs["metadata"]["name"]) for c in updated] == [("kubernetes:apps/v1:Deployment", FLEET_OBJECT)]
    # The fleet's model list: one more fetch init container (and room for it in the repository volume).
    assert {ch.path for ch in updated[0].changes} <= {
        "spec.template.spec.initContainers[20]", "spec.template.spec.volumes[1].emptyDir.sizeLimit"}
    created = [c.state for c in diff.changed if c.op == "create"]
    assert all("tab-20" in c.urn for c in created)
    assert any(s.type.endswith("HTTPRoute") for s in created)


def test_the_readme_fleet_example_is_valid() -> None:
    from serving.config import parse_platform

    from .test_readme import yaml_blocks

    (block,) = [b for b in yaml_blocks() if b.lstrip().startswith("fleets:")]
    example = yaml.safe_load(block)
    p = platform_of(fleet_stack(0))
    p["teams"] = [{"name": "fraud"}]
    p["fleets"], p["models"] = example["fleets"], example["models"]
    placement = place(parse_platform(p, "README.md"))
    assert placement.fleet_of == {"churn": "tabular"}


def test_a_placement_change_shows_in_the_diff() -> None:
    """tab-05 pinned to a new fleet: its route's backend and both fleets' model lists change; nothing else does."""
    head = fleet_stack()
    p = platform_of(head)
    p["fleets"].append({**p["fleets"][0], "name": "large", "replicas": 1})
    p["models"][5]["shared"]["fleet"] = "large"
    diff = diff_plans(fleet_plan(), plan_of(head))
    updated = {(c.state.type.rsplit(":", 1)[1], c.state.inputs["metadata"]["name"]): c for c in diff.changed if c.op == "update"}
    assert set(updated) == {("HTTPRoute", "tab-05"), ("Deployment", FLEET_OBJECT)}
    assert {ch.path for ch in updated[("HTTPRoute", "tab-05")].changes} == {
        "spec.rules[0].backendRefs[0].name", "spec.rules[1].backendRefs[0].name"}
    created = [c.state for c in diff.changed if c.op == "create"]
    (large,) = [s for s in created if s.type == "kubernetes:apps/v1:Deployment"]
    assert [c["name"] for c in large.inputs["spec"]["template"]["spec"]["initContainers"]] == ["fetch-tab-05"]
    assert {c.op for c in diff.changed} == {"create", "update"}


def test_a_stopped_shared_model_answers_503_and_its_fleet_does_not_restart() -> None:
    """tab-05 stopped: each of its route rules answers first with the model's stopped response (503); the fleet's
    Deployment is not touched (its other models keep serving) and nothing is deleted."""
    head = fleet_stack()
    platform_of(head)["models"][5]["stopped"] = True
    diff = diff_plans(fleet_plan(), plan_of(head))
    updated = {(c.state.type.rsplit(":", 1)[1], c.state.inputs["metadata"]["name"]): c for c in diff.changed if c.op == "update"}
    assert set(updated) == {("HTTPRoute", "tab-05")}
    assert {c.op for c in diff.changed} == {"update"}
    route = updated[("HTTPRoute", "tab-05")].state.inputs
    stopped = {"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": "tab-05-stopped"}}
    assert route["spec"]["rules"] and all(r["filters"][0] == stopped for r in route["spec"]["rules"])
