"""Helpers for the cluster, node-pool and GPU tests: capture the real program's plan for a (modified) stack document
and pick resources out of it. Plans are captured through `serving.plan.capture_plan`, which isolates the Pulumi
runtime per capture, so no test sets mocks of its own."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
import yaml

from serving.config import ConfigError, parse_platform
from serving.plan import Plan, capture_plan
from serving.plan.model import ResourceState
from serving.plan.present.manifests import kubernetes_manifest
from serving.plan.values import to_plain

from .conftest import copy_program, platform_of, repo_stack


def write_root(directory: Path, **stacks: dict[str, Any]) -> Path:
    """A project root with the repo's Pulumi.yaml and __main__.py and the given stack documents."""
    directory.mkdir(parents=True, exist_ok=True)
    copy_program(directory)
    for stack, doc in stacks.items():
        (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return directory


def plan_with(tmp: Path, change: Callable[[dict[str, Any]], None], base: str = "dev") -> Plan:
    """The plan of the repo's `base` stack after `change(platform_config)`."""
    doc = repo_stack(base)
    change(platform_of(doc))
    return capture_plan(base, write_root(tmp, **{base: doc}))


def platform_errors(change: Callable[[dict[str, Any]], None], base: str = "dev") -> list[str]:
    """The config errors of the repo's `base` stack after `change(platform_config)` (fails if it is valid)."""
    raw = copy.deepcopy(platform_of(repo_stack(base)))
    change(raw)
    with pytest.raises(ConfigError) as exc:
        parse_platform(raw, f"Pulumi.{base}.yaml")
    return exc.value.errors


def of_type(plan: Plan, type_: str) -> list[ResourceState]:
    return plan.by_type(type_)


def named(plan: Plan, type_: str, suffix: str) -> ResourceState:
    found = [r for r in plan.by_type(type_) if r.name.endswith(suffix)]
    assert len(found) == 1, f"{type_} *{suffix}: {[r.name for r in plan.by_type(type_)]}"
    return found[0]


def plain(state: ResourceState) -> dict[str, Any]:
    return to_plain(dict(state.inputs))


def manifest(state: ResourceState) -> dict[str, Any]:
    return kubernetes_manifest(state)


def helm_values(plan: Plan, release_name: str) -> dict[str, Any]:
    releases = [r for r in plan.by_type("kubernetes:helm.sh/v3:Release") if r.inputs.get("name") == release_name]
    assert len(releases) == 1, f"helm release {release_name}: {[r.inputs.get('name') for r in plan.by_type('kubernetes:helm.sh/v3:Release')]}"
    return plain(releases[0])


def dependency_names(plan: Plan, state: ResourceState) -> set[str]:
    by_urn = {r.urn: r for r in plan.resources}
    return {by_urn[u].name for u in state.dependencies if u in by_urn}


def ancestors(plan: Plan, state: ResourceState) -> Iterable[ResourceState]:
    by_urn = {r.urn: r for r in plan.resources}
    while state.parent in by_urn:
        state = by_urn[state.parent]
        yield state
