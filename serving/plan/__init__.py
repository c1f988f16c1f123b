"""The offline deploy plan: what `pulumi preview` would do, made by running the program under mocks.

    from serving.plan import capture_plan, render_tree
    plan = capture_plan("dev")          # Plan: steps (tree order), outputs, diagnostics
    print(render_tree(plan))

Two halves, and the data between them:
- `compute/`: capture (run the program under mocks), mocks, diff, replacements, cost estimate;
- `present/`: tree, manifests, diff text/JSON, Markdown, cost lines;
- `model` (`Plan`, `Step`, `ResourceState`, `Diagnostic`), `values` (secret-safe values), `digest` (the
  `pulumi preview --json` shape, written and read back).
"""

from .compute.capture import PlanError, ProgramError, capture_plan, run_program
from .digest import plan_json, render_json
from .model import OPS, Diagnostic, Plan, ResourceState, Step, tree_order
from .present.manifests import manifest_documents, write_manifests
from .present.tree import render_tree
from .values import SECRET_TEXT, ResourceRef, Secret, Unknown

__all__ = [
    "OPS", "SECRET_TEXT", "Diagnostic", "Plan", "PlanError", "ProgramError", "ResourceRef", "ResourceState",
    "Secret", "Step", "Unknown", "capture_plan", "manifest_documents", "plan_json", "render_json", "render_tree",
    "run_program", "tree_order", "write_manifests",
]
