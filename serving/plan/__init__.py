"""The offline deploy plan: what `pulumi preview` would do, made by running the program under mocks.

    from serving.plan import capture_plan, render_tree
    plan = capture_plan("dev")          # Plan: steps (tree order), outputs, diagnostics
    print(render_tree(plan))

- `capture` runs `__main__.py` under the SDK mock runtime and records every registration,
- `mocks` holds the deterministic outputs per resource type and invoke (tables other modules add rows to),
- `model` holds the data (`Plan`, `Step`, `ResourceState`, `Diagnostic`), `values` the secret-safe values,
- `render` prints a plan as a tree, as `pulumi preview --json`, or as Kubernetes manifests.
"""

from .capture import PlanError, ProgramError, capture_plan, run_program
from .model import OPS, Diagnostic, Plan, ResourceState, Step, tree_order
from .render import manifest_documents, plan_json, render_json, render_tree, write_manifests
from .values import SECRET_TEXT, ResourceRef, Secret, Unknown

__all__ = [
    "OPS", "SECRET_TEXT", "Diagnostic", "Plan", "PlanError", "ProgramError", "ResourceRef", "ResourceState",
    "Secret", "Step", "Unknown", "capture_plan", "manifest_documents", "plan_json", "render_json", "render_tree",
    "run_program", "tree_order", "write_manifests",
]
