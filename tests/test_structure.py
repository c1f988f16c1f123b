"""Structural rules every resource of every shipped stack follows (the project's component conventions).

These are what makes a real `pulumi preview` readable and a refactor safe: one component per concern with a
`serving:<module>:<Type>` token, children parented to their component and named after it, explicit providers
(default providers are disabled), explicit names on every Kubernetes object.
"""

from __future__ import annotations

import importlib
import re

import pytest

from serving.plan import Plan
from serving.plan.model import is_kubernetes_object
from serving.stackfile import list_stacks

from .conftest import repo_plan
from .fleet_stack import fleet_plan
from .reach_stack import reach_plan

#: Test stack fixtures whose plans follow the same rules (shared servers; stores, secrets, gRPC, TLS to the pod).
FIXTURES = {"fixture-fleet": fleet_plan, "fixture-reach": reach_plan}

TOKEN = re.compile(r"^serving:(?P<module>[a-z_]+):(?P<type>[A-Z][A-Za-z]+)$")


@pytest.fixture(scope="module", params=[*list_stacks(), *FIXTURES])
def plan(request: pytest.FixtureRequest) -> Plan:
    return FIXTURES[request.param]() if request.param in FIXTURES else repo_plan(request.param)


def components(plan: Plan):
    return [s for s in plan.resources if not s.custom and not s.is_stack]


def test_component_tokens_name_their_module_and_class(plan: Plan) -> None:
    for step in components(plan):
        if step.remote:
            continue  # multi-language components of provider packages (none today)
        m = TOKEN.match(step.type)
        assert m, f"{step.urn}: component token must be serving:<module>:<Type>"
        module = "serving.platform" if m["module"] == "platform" else f"serving.components.{m['module']}"
        cls = getattr(importlib.import_module(module), m["type"], None)
        assert cls is not None and cls.__module__ == module, f"{step.type}: the class {m['type']} must live in {module}"


def test_only_the_platform_hangs_off_the_stack(plan: Plan) -> None:
    stack = next(s for s in plan.resources if s.is_stack)
    top = [s.type for s in plan.resources if s.parent == stack.urn]
    assert top == ["serving:platform:Platform"], top


def test_children_are_named_after_their_component(plan: Plan) -> None:
    by_urn = {s.urn: s for s in plan.resources}
    for step in plan.resources:
        if step.is_stack:
            continue
        parent = by_urn[step.parent]
        if parent.is_stack:
            continue
        assert step.name.startswith(parent.name), f"{step.urn}: name must start with its component's name {parent.name!r}"


def test_every_custom_resource_uses_an_explicit_provider_of_the_program(plan: Plan) -> None:
    providers = {s.urn for s in plan.resources if s.is_provider}
    for step in plan.resources:
        if not step.custom or step.is_provider:
            continue
        provider_urn = step.provider_urn
        assert provider_urn in providers, f"{step.urn}: provider {step.provider!r} is not one the program created"
        assert "::default" not in provider_urn


def test_every_kubernetes_object_has_an_explicit_name(plan: Plan) -> None:
    for step in plan.resources:
        if is_kubernetes_object(step):
            assert step.inputs.get("metadata", {}).get("name"), f"{step.urn}: metadata.name must be set"


def test_components_register_their_outputs(plan: Plan) -> None:
    silent = [s.urn for s in components(plan) if not s.outputs]
    assert not silent, f"components registering no outputs: {silent}"
