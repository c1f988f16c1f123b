"""Component resource options a caller may pass as Pulumi allows them (a single resource, not only a list)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

from serving.plan.compute.capture import run_program
from serving.stackfile import read_stack
from tests.conftest import repo_stack

PROGRAM = textwrap.dedent(
    """
    import pulumi

    from serving.components.model import ModelServing
    from serving.config import load_platform_config
    from serving.platform import Platform

    cfg = load_platform_config()
    platform = Platform(cfg.environment, cfg)
    m = cfg.models[0]
    # `depends_on` given as one resource, which pulumi.ResourceOptions accepts.
    ModelServing(
        "single-dependency", m, cfg, platform.teams[m.team].namespace_name, platform.gateway,
        platform.cluster.k8s_provider, cluster=platform.cluster,
        opts=pulumi.ResourceOptions(depends_on=platform.monitoring),
    )
    """
)


def test_a_model_accepts_a_single_resource_as_depends_on(stack_root: Callable[..., Path]) -> None:
    root = stack_root(dev=repo_stack("dev"))
    program = root / "single_dependency.py"
    program.write_text(PROGRAM)
    plan = run_program(read_stack("dev", root), root, program)

    states = [s.state for s in plan.steps]
    [deployment] = [s for s in states if s.type == "kubernetes:apps/v1:Deployment" and s.name == "single-dependency-deployment"]
    # The component passes its dependency on to its children (a component's depends_on is not inherited); the engine
    # sees a dependency on a component as one on each of its resources.
    assert any("$serving:monitoring:Monitoring$" in urn for urn in deployment.dependencies), deployment.dependencies
