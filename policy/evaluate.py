"""Evaluate the policy pack offline on a captured plan: the same pulumi-policy policy objects `pulumi preview
--policy-pack policy` loads, called in-process (`StackValidationPolicy.validate`) with the plan's resources.

    policy/venv/bin/python policy/evaluate.py < plan.json     # plan.json: `python -m serving plan --json`

Prints a JSON list of violations: {policy, enforcementLevel, urn, message}. Used by `python -m serving check`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, StackValidationArgs  # noqa: E402
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions  # noqa: E402

from policies import policies  # noqa: E402


def policy_resources(plan: dict[str, Any]) -> list[PolicyResource]:
    states = [step.get("newState") or step.get("oldState") for step in plan.get("steps", [])]
    states = [s for s in states if s and s.get("type") != "pulumi:pulumi:Stack"]
    made: dict[str, PolicyResource] = {}
    for s in states:
        opts = PolicyResourceOptions(
            protect=bool(s.get("protect")), ignore_changes=list(s.get("ignoreChanges") or []),
            delete_before_replace=s.get("deleteBeforeReplace"), aliases=list(s.get("aliases") or []),
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=list(s.get("additionalSecretOutputs") or []), parent=s.get("parent") or None,
        )
        made[s["urn"]] = PolicyResource(
            resource_type=s["type"], props=s.get("inputs") or {}, urn=s["urn"], name=s["urn"].rsplit("::", 1)[-1],
            opts=opts, provider=None, parent=None, dependencies=[], property_dependencies={},
        )
    for s in states:
        r = made[s["urn"]]
        parent: Optional[str] = s.get("parent")
        r.parent = made.get(parent) if parent else None
        r.dependencies = [made[d] for d in s.get("dependencies") or [] if d in made]
        r.property_dependencies = {k: [made[d] for d in v if d in made] for k, v in (s.get("propertyDependencies") or {}).items()}
    return list(made.values())


def main() -> int:
    plan = json.load(sys.stdin)
    config = plan.get("policyConfig") or {}
    resources = policy_resources(plan)
    out = []
    for policy in policies():
        level = policy.enforcement_level or EnforcementLevel.ADVISORY

        def report(message: str, urn: Optional[str] = None, _p: Any = policy, _l: Any = level) -> None:
            out.append({"policy": _p.name, "enforcementLevel": _l.value, "urn": urn or "", "message": message})

        policy.validate(StackValidationArgs(resources, config.get(policy.name) or {}), report)
    json.dump(out, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
