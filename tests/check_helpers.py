"""Helpers for the `check` tests: a check context over a repository stack's (cached) plan, and plan mutations."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable

from serving.check import CheckContext
from serving.config import validate_stack_file
from serving.plan import Plan
from serving.plan.model import tree_order
from serving.stackfile import read_stack

from .conftest import repo_plan


def context(stack: str, plan: Plan | None = None) -> CheckContext:
    """A check context over the repository stack's shared plan (or `plan`)."""
    cfg = validate_stack_file(read_stack(stack))
    return CheckContext(stack=stack, cfg=cfg, plan=plan if plan is not None else repo_plan(stack))


def mutated(plan: Plan, match: Callable[[Any], bool], change: Callable[[dict[str, Any]], None]) -> Plan:
    """A copy of `plan` where `change` edited the inputs of every resource `match` selects (at least one)."""
    steps = []
    hits = 0
    for step in plan.steps:
        state = step.state
        if match(state):
            hits += 1
            inputs = copy.deepcopy(dict(state.inputs))
            change(inputs)
            state = dataclasses.replace(state, inputs=inputs)
            step = dataclasses.replace(step, new=state)
        steps.append(step)
    assert hits, "the mutation matched nothing"
    return dataclasses.replace(plan, steps=tuple(steps))


def added(plan: Plan, *states: Any) -> Plan:
    """A copy of `plan` with more resources (ResourceStates), in tree order."""
    from serving.plan import Step

    return dataclasses.replace(plan, steps=tree_order([*plan.steps, *(Step(op="create", urn=s.urn, new=s) for s in states)]))


def k8s(kind: str, name: str, namespace: str = "") -> Callable[[Any], bool]:
    """Selects the Kubernetes object `kind` named `name` (in `namespace`)."""

    def match(state: Any) -> bool:
        meta = state.inputs.get("metadata") or {}
        return state.type.endswith(f":{kind}") and meta.get("name") == name and (not namespace or meta.get("namespace") == namespace)

    return match
