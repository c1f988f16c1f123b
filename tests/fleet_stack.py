"""Test stack fixture: one MLServer fleet and twenty small sklearn/xgboost models on it (not a shipped stack file).

Built from the repository's `local` stack (an existing cluster: no AWS resources, the quickest plan), so tests of
shared serving do not depend on what the shipped stacks serve.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .conftest import copy_program, platform_of, repo_stack

TEAM = "tabular"
FLEET = "small"


def tabular_model(i: int, **extra: Any) -> dict[str, Any]:
    """A small shared model: sklearn for even i, xgboost for odd i; placed by the platform."""
    return {
        "name": f"tab-{i:02d}",
        "team": TEAM,
        "runtime": "mlserver-sklearn" if i % 2 == 0 else "mlserver-xgboost",
        "version": "1",
        "artifact": {"uri": f"s3://example-models-dev/tab-{i:02d}/1", "sizeGi": 0.1},
        "shared": {"memory": "200Mi"},
        **extra,
    }


def fleet_stack(models: int = 20) -> dict[str, Any]:
    """The `local` stack with one MLServer fleet (2 replicas of 4Gi, 25% overcommit) and `models` models on it."""
    doc = repo_stack("local")
    p = platform_of(doc)
    p["teams"] = [{"name": TEAM, "quota": {"cpu": "16", "memory": "32Gi", "gpus": 0}}]
    p["fleets"] = [{
        "name": FLEET, "team": TEAM, "runtime": "mlserver", "replicas": 2, "memory": "4Gi", "cpu": "2",
        "overcommitPercent": 25,
    }]
    p["models"] = [tabular_model(i) for i in range(models)]
    return doc


def plan_of(doc: dict[str, Any], stack: str = "fleet"):  # -> serving.plan.Plan
    """The plan of a fixture stack document, in a temp project root of its own."""
    from serving.plan import capture_plan

    root = copy_program(Path(tempfile.mkdtemp(prefix=f"{stack}-plan-")))
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return capture_plan(stack, root)


@functools.cache
def fleet_plan():  # -> serving.plan.Plan
    """The fixture stack's plan, captured once per session (read-only)."""
    return plan_of(fleet_stack())
