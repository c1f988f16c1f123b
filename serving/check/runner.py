"""Runs every check kind on one stack's plan and gathers a `Report`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional

from ..config import PlatformConfig, validate_stack_file
from ..plan import Plan, capture_plan
from ..stackfile import REPO_ROOT, read_stack
from .findings import Finding, Report
from .objects import KubeObject, kubernetes_objects

#: Reference CRDs for kinds no release installs (SOURCES.md there says where each file comes from).
DEFAULT_REFERENCE_CRDS = REPO_ROOT.parent / "shared" / "reference" / "crds"


class ToolUnavailable(Exception):
    """A check's external tool (checkov, the policy pack's virtualenv) is not installed: the check cannot run."""


@dataclass
class CheckContext:
    stack: str
    cfg: PlatformConfig
    plan: Plan
    root: Path = REPO_ROOT
    reference_crds: Optional[Path] = DEFAULT_REFERENCE_CRDS
    #: Counts per check kind of what was looked at, filled by the checks.
    checked: dict[str, int] = field(default_factory=dict)

    @cached_property
    def objects(self) -> list[KubeObject]:
        return kubernetes_objects(self.plan)

    @property
    def k8s_version(self) -> str:
        return self.cfg.cluster.eks.kubernetes_version

    @classmethod
    def for_stack(cls, stack: str, root: Path = REPO_ROOT, **kwargs: object) -> "CheckContext":
        cfg = validate_stack_file(read_stack(stack, root))
        return cls(stack=stack, cfg=cfg, plan=capture_plan(stack, root), root=root, **kwargs)  # type: ignore[arg-type]


def _schema(ctx: CheckContext) -> list[Finding]:
    from . import schema

    ctx.checked["schema"] = len(ctx.objects)
    ref = ctx.reference_crds if ctx.reference_crds is not None and ctx.reference_crds.is_dir() else None
    return schema.check(ctx.objects, ctx.k8s_version, ref)


def _checkov(ctx: CheckContext) -> list[Finding]:
    from . import checkov

    return checkov.check(ctx)


def _policy(ctx: CheckContext) -> list[Finding]:
    from . import policy

    return policy.check(ctx)


def _placement(ctx: CheckContext) -> list[Finding]:
    from . import placement

    return placement.check(ctx)


def _ordering(ctx: CheckContext) -> list[Finding]:
    from . import ordering

    return ordering.check(ctx)


CHECK_KINDS: dict[str, Callable[[CheckContext], list[Finding]]] = {
    "schema": _schema,
    "checkov": _checkov,
    "policy": _policy,
    "placement": _placement,
    "ordering": _ordering,
}


def run_checks(ctx: CheckContext, kinds: Optional[list[str]] = None) -> Report:
    report = Report(ctx.stack)
    for kind in kinds or list(CHECK_KINDS):
        try:
            report.extend(CHECK_KINDS[kind](ctx))
        except ToolUnavailable as exc:
            report.unavailable[kind] = str(exc)
    report.checked = dict(ctx.checked)
    return report
