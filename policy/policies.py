"""The rules of `rules.py` as pulumi-policy policies.

Each rule is a stack validation policy (several rules look across resources: a Deployment's PodDisruptionBudget, a
namespace's default-deny NetworkPolicy, a cluster's KMS key), mandatory; its waived violations are reported by a
companion advisory policy `<rule>-waived`, so a waiver never hides a violation, it only stops it from blocking.
"""

from __future__ import annotations

from typing import Any, Callable

from pulumi_policy import (
    EnforcementLevel, PolicyConfigSchema, ReportViolation, StackValidationArgs, StackValidationPolicy,
)

from rules import ADVISORY, MANDATORY, RULES, Resource, Rule, Stack, evaluate


def stack_of(args: StackValidationArgs) -> Stack:
    return Stack(tuple(
        Resource(
            type=r.resource_type, name=r.name, urn=r.urn, props=r.props,
            parent=r.parent.urn if r.parent is not None else "",
            dependencies=tuple(d.urn for d in r.dependencies),
        )
        for r in args.resources
    ))


def _validate(rule: Rule, level: str) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = {rule.name: dict(args.get_config())}
        for v in evaluate(stack_of(args), config, [rule]):
            if v.level == level:
                why = f" (waived: {v.waived})" if v.waived else ""
                report_violation(f"{v.resource.label}: {v.message}{why}", v.resource.urn)
    return validate


def policies() -> list[StackValidationPolicy]:
    out = []
    for rule in RULES:
        schema = PolicyConfigSchema(properties=dict(rule.config_schema)) if rule.config_schema else None
        out.append(StackValidationPolicy(
            name=rule.name, description=rule.description, validate=_validate(rule, MANDATORY),
            enforcement_level=EnforcementLevel.MANDATORY if rule.level == MANDATORY else EnforcementLevel.ADVISORY,
            config_schema=schema,
        ))
        out.append(StackValidationPolicy(
            name=f"{rule.name}-waived", description=f"{rule.description}: waived by an explicit annotation or tag",
            validate=_validate(rule, ADVISORY), enforcement_level=EnforcementLevel.ADVISORY,
        ))
    return out


__all__ = ["policies", "stack_of", "Any"]
