"""A model's resources depend on what they need, not on whole platform components (issue 12, plan cost): the real
engine's graph and state stay small, and a change to a node pool or a monitoring child does not touch every model."""

from __future__ import annotations

from serving.plan import Plan
from serving.plan.model import HELM_RELEASE_TYPE

from .conftest import repo_plan


def _model_deployments(plan: Plan) -> list:
    return [s for s in plan.resources if s.type == "kubernetes:apps/v1:Deployment" and "serving:model:ModelServing" in s.urn
            and not s.chart_release]


def test_a_model_deployment_depends_on_what_it_needs_only() -> None:
    plan = repo_plan("dev")
    by_urn = {s.urn: s for s in plan.resources}
    deployments = _model_deployments(plan)
    assert deployments
    releases = {s.inputs.get("chart", "").rsplit("/", 1)[-1]: s.urn for s in plan.by_type(HELM_RELEASE_TYPE)}
    for deployment in deployments:
        deps = [by_urn[d] for d in deployment.dependencies]
        assert not [d.urn for d in deps if "serving:nodepools:NodePools" in d.urn], \
            f"{deployment.name} depends on node-pool resources"
        # Outside the model's own resources (service account, IAM, config) only these kinds (a CRD: the
        # InferencePool CRD an LLM's endpoint picker watches):
        outside = {d.type for d in deps if "serving:model:ModelServing" not in d.urn.split("::")[2]}
        assert outside <= {"kubernetes:core/v1:Namespace", "kubernetes:scheduling.k8s.io/v1:PriorityClass",
                           HELM_RELEASE_TYPE, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"}, outside
        # ... and those it does need: its team's namespace, the priority class, the CRD-providing releases.
        namespace = deployment.inputs["metadata"]["namespace"]
        assert any(d.type == "kubernetes:core/v1:Namespace" and d.inputs["metadata"]["name"] == namespace for d in deps)
        assert any(d.type == "kubernetes:scheduling.k8s.io/v1:PriorityClass" for d in deps)
        assert {releases["kube-prometheus-stack"], releases["keda"]} <= set(deployment.dependencies)
        assert len(deployment.dependencies) < 20, len(deployment.dependencies)  # 55 when it depended on components
