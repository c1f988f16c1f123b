"""The model's parts (workload, traffic, scaling, monitoring, access) are plain code composed by ModelServing: every
resource they create is a direct child of the model component, so splitting or adding parts never changes a URN."""

from __future__ import annotations

import pytest

from .test_model import MODEL_TYPE


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_model_resource_is_a_direct_child_of_its_model_component(stack, request):
    plan = request.getfixturevalue(stack)
    models = [s for s in plan.resources if s.type == MODEL_TYPE]
    assert models
    for model in models:
        children = [step.state for step in plan.children(model.urn)]
        kinds = {c.type for c in children}
        # Parts create resources, never components of their own between the model and its objects.
        assert all(c.custom for c in children), [c.type for c in children if not c.custom]
        assert {"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:core/v1:ServiceAccount",
                "kubernetes:networking.k8s.io/v1:NetworkPolicy"} <= kinds
        for child in children:
            assert child.urn.split("::")[2].rsplit("$", 1)[0].endswith(MODEL_TYPE), child.urn
