"""The policy pack (`policy/`, pulumi-policy) evaluated on the captured plan.

pulumi-policy 1.21 pins older protobuf/grpcio than the program's pulumi 3.272, so the pack lives in a virtualenv of
its own (`policy/venv`, `make policy-venv`; the same one `pulumi preview --policy-pack policy` uses). The plan is
handed to `policy/evaluate.py` in that virtualenv as `pulumi preview --json` would print it; it calls the pack's
policy objects in-process and prints the violations. Mandatory policies give mandatory findings; a waived rule's
violations come from its advisory `<rule>-waived` policy.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from ..plan import render_json
from .findings import ADVISORY, MANDATORY, Finding
from .objects import kubernetes_objects
from .runner import CheckContext, ToolUnavailable

KIND = "policy"
WAIVED_SUFFIX = "-waived"


def policy_python(root: Path) -> Path:
    path = Path(os.environ.get("SERVING_POLICY_PYTHON", root / "policy" / "venv" / "bin" / "python"))
    if not path.exists():
        raise ToolUnavailable(f"{path} missing: run `make policy-venv` (the policy pack's virtualenv)")
    return path


def run_pack(ctx: CheckContext) -> list[dict[str, str]]:
    """The pack's violations on the plan: {policy, enforcementLevel, urn, message}."""
    python = policy_python(ctx.root)
    payload = render_json(ctx.plan)
    proc = subprocess.run(
        [str(python), str(ctx.root / "policy" / "evaluate.py")],
        input=payload, capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the policy pack failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def check(ctx: CheckContext) -> list[Finding]:
    labels = {o.state.urn: o.label for o in kubernetes_objects(ctx.plan)}
    names = {r.urn: f"{r.type} {r.name}" for r in ctx.plan.resources}
    findings = []
    for v in run_pack(ctx):
        rule = v["policy"].removesuffix(WAIVED_SUFFIX)
        level = MANDATORY if v["enforcementLevel"] == "mandatory" else ADVISORY
        urn = v.get("urn", "")
        resource = labels.get(urn) or names.get(urn) or "stack"
        message = v["message"].split(": ", 1)[1] if ": " in v["message"] else v["message"]
        findings.append(Finding(KIND, resource, rule, message, level))
    ctx.checked["policy"] = len(ctx.plan.resources)
    return findings
