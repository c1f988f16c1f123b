"""A model's life as a reviewer sees it in the plan diff: stopping and starting a model, promoting a canary."""

from __future__ import annotations

import copy
from typing import Any

from serving.plan.compute.diff import diff_plans
from tests.conftest import platform_of, repo_stack

from .test_diff import DEPLOYMENT, plan_diff  # noqa: F401  (fixture)

ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def _model(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in platform_of(doc)["models"] if m["name"] == name)


def test_stopping_a_model_is_a_few_updates_and_starting_it_undoes_them(plan_diff) -> None:
    base = repo_stack("dev")
    head = copy.deepcopy(base)
    _model(head, "vision")["stopped"] = True
    diff = plan_diff(base, head)

    changed = {c.state.type: c for c in diff.changed}
    assert {c.op for c in diff.changed} == {"update"}, [(c.op, c.state.name) for c in diff.changed]
    assert set(changed) == {DEPLOYMENT, ROUTE, SCALED_OBJECT}
    assert all(c.state.name.startswith("dev-model-vision") for c in diff.changed)
    deployment = changed[DEPLOYMENT]
    assert [(c.path, c.new) for c in deployment.changes] == [("spec.replicas", 0)]
    route = changed[ROUTE].state.inputs["spec"]["rules"][0]
    assert route["filters"][0] == {"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": "vision-stopped"}}
    annotations = changed[SCALED_OBJECT].state.inputs["metadata"]["annotations"]
    assert annotations["autoscaling.keda.sh/paused-replicas"] == "0"
    # The 503 answer is there all along (stopping only points the route at it).
    (answer,) = [s for s in diff.head.resources if s.type.endswith("HTTPRouteFilter") and s.name == "dev-model-vision-stopped-response"]
    assert answer.inputs["spec"]["directResponse"]["statusCode"] == 503
    assert "model vision is stopped" in answer.inputs["spec"]["directResponse"]["body"]["inline"]

    restart = diff_plans(diff.head, diff.base)
    assert {c.op for c in restart.changed} == {"update"}
    assert {c.state.type for c in restart.changed} == {DEPLOYMENT, ROUTE, SCALED_OBJECT}


def test_promoting_a_canary_is_one_edit_a_rolling_update_and_the_candidate_removed(plan_diff) -> None:
    base = repo_stack("dev")
    head = copy.deepcopy(base)
    churn = _model(head, "churn")
    canary = churn.pop("canary")
    churn["version"] = canary["version"]
    if "artifact" in canary:
        churn["artifact"] = canary["artifact"]
    diff = plan_diff(base, head)

    assert not diff.by_op("replace") and not diff.by_op("create"), [(c.op, c.state.name) for c in diff.changed]
    updates = {c.state.name: c for c in diff.by_op("update")}
    primary = updates["dev-model-churn-deployment"]
    # A rolling update of the primary's pods (maxUnavailable 0): the template changes, never the selector.
    assert primary.state.inputs["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert any(c.path.startswith("spec.template") for c in primary.changes)
    assert not any(c.path.startswith("spec.selector") for c in primary.changes)
    deleted = {c.state.name for c in diff.by_op("delete")}
    assert deleted and all(n.startswith("dev-model-churn-canary") for n in deleted), deleted
    assert "dev-model-churn-canary-deployment" in deleted
    assert all(n.startswith("dev-model-churn") for n in updates), sorted(updates)
