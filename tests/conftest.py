"""Shared test fixtures. Pulumi mocks and config are process-global: tests set them in fixtures, never at import."""

from __future__ import annotations

import copy
import functools
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def require_tool(path: Path, make_target: str) -> Path:
    """`path` (a tool installed by a make target, e.g. checkov in .venv-tools), or skip the test where it is absent;
    under CI (where `make test` installs it) a missing tool fails instead."""
    if not path.exists():
        import os

        if os.environ.get("CI"):
            pytest.fail(f"{path} missing: `make test` installs it (make {make_target})")
        pytest.skip(f"{path} missing: run `make {make_target}` (make test does it)")
    return path


def copy_program(root: Path) -> Path:
    """Copy the program's entry files (Pulumi.yaml, __main__.py) into `root`, a temp project root; returns it."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    return root


@functools.cache
def repo_plan(stack: str):  # -> serving.plan.Plan (imported lazily: conftest loads before any test)
    """The offline plan of a repository stack, captured once per test session and shared (read-only) by tests."""
    from serving.plan import capture_plan

    return capture_plan(stack)


def repo_stack(stack: str) -> dict[str, Any]:
    """The parsed `Pulumi.<stack>.yaml` of the repository (a fresh copy, safe to modify)."""
    return copy.deepcopy(yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text()))


def platform_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The `serving:platform` object inside a parsed stack file."""
    return doc["config"]["serving:platform"]


@pytest.fixture
def dev():  # -> serving.plan.Plan
    """The dev stack's plan (shared, read-only)."""
    return repo_plan("dev")


@pytest.fixture
def prod():  # -> serving.plan.Plan
    """The prod stack's plan (shared, read-only)."""
    return repo_plan("prod")


@pytest.fixture
def local():  # -> serving.plan.Plan
    """The local (existing-cluster) stack's plan (shared, read-only)."""
    return repo_plan("local")


@pytest.fixture
def stack_root(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a temp project root holding the repo's Pulumi.yaml and __main__.py plus the given stack files.

    `stack_root(dev=doc, bad=other_doc)` writes `Pulumi.dev.yaml` and `Pulumi.bad.yaml` from parsed documents and
    returns the root, to pass as `root=` to the plan functions.
    """

    def make(**stacks: dict[str, Any]) -> Path:
        copy_program(tmp_path)
        for stack, doc in stacks.items():
            (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return tmp_path

    return make
