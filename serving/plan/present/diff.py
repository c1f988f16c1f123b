"""Printing a plan diff: what `pulumi preview --diff` prints, and its `--json` digest.

The diff itself (matching, property changes, replacements, warnings, cost delta) is computed in
`serving.plan.compute.diff`; this module only words it.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..compute import cost as costs
from ..compute.diff import CHANGE_OPS, Change, PlanDiff, PropertyChange, join_path, show
from ..compute.replacements import MISSING
from ..digest import diagnostic_json, step_json
from ..model import OP_CREATE, OP_DELETE, OP_REPLACE, OP_SAME, OP_SYMBOLS, OP_UPDATE
from ..values import UNKNOWN_JSON, Secret, to_plain
from .cost import delta_summary, method_note, money

# -- text (`pulumi preview --diff`) -----------------------------------------------------------------------------------


def _change_line(c: PropertyChange) -> str:
    forces = " (forces replacement)" if c.replaces else ""
    if c.kind.startswith("add"):
        return f"+ {c.path}: {show(c.new)}{forces}"
    if c.kind.startswith("delete"):
        return f"- {c.path}: {show(c.old)}{forces}"
    return f"~ {c.path}: {show(c.old)} => {show(c.new)}{forces}"


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and not isinstance(value, Secret) and value:
        return [item for k in sorted(value, key=str) for item in _flatten(value[k], join_path(path, k))]
    if isinstance(value, (list, tuple)) and value:
        return [item for i, v in enumerate(value) for item in _flatten(v, join_path(path, i))]
    return [(path, value)]


def change_body(c: Change) -> list[str]:
    """The property lines of one resource's step (no indentation)."""
    if c.op == OP_CREATE:
        return [f"+ {p}: {show(v)}" for p, v in _flatten(dict(c.state.inputs)) if p]
    if c.op == OP_DELETE:
        return []
    lines = [_change_line(pc) for pc in c.changes]
    if c.op == OP_REPLACE and c.step.old is not None and c.step.old.urn != c.step.urn:
        lines.insert(0, f"(was {c.step.old.urn})")
    elif c.step.old is not None and c.step.old.urn != c.step.urn:
        lines.insert(0, f"(moved from {c.step.old.urn}: an alias keeps it the same resource)")
    return lines


def summary_lines(diff: PlanDiff) -> list[str]:
    counts = diff.change_summary()
    lines = ["Resources:"]
    for op, text in ((OP_CREATE, "to create"), (OP_UPDATE, "to update"), (OP_REPLACE, "to replace"), (OP_DELETE, "to delete")):
        if counts.get(op):
            lines.append(f"    {OP_SYMBOLS[op]:<2}{counts[op]} {text}")
    changed = sum(counts.get(op, 0) for op in CHANGE_OPS)
    if not changed:
        lines.append("    no changes")
    lines.append(f"    {counts.get(OP_SAME, 0)} unchanged")
    return lines


def render_text(diff: PlanDiff) -> str:
    """What `pulumi preview --diff` prints: warnings, each changed resource with its property diffs, the summary."""
    lines = [f"Previewing update ({diff.stack}): {diff.head_label} against {diff.base_label}", ""]
    for w in diff.warnings:
        lines.append(f"warning: {w}")
    if diff.warnings:
        lines.append("")
    for c in diff.changed:
        st = c.state
        reasons = f" [forces replacement: {', '.join(r.path for r in c.replacements)}]" if c.replacements else ""
        lines.append(f"{OP_SYMBOLS[c.op]:<2} {st.type}: ({c.op}) {st.name}{reasons}")
        lines.append(f"    [urn={c.step.urn}]")
        lines.extend(f"    {line}" for line in change_body(c))
    if diff.changed:
        lines.append("")
    outputs = diff.output_changes()
    if outputs:
        lines.append("Outputs:")
        lines.extend(f"    {_change_line(c)}" for c in outputs)
        lines.append("")
    lines += summary_lines(diff)
    if diff.cost is not None:
        lines.append("")
        lines += cost_lines(diff.cost)
    return "\n".join(lines) + "\n"


def cost_lines(delta: costs.CostDelta) -> list[str]:
    lines = [f"Cost: {delta_summary(delta)}"]
    for old, new in delta.changed_lines():
        label = (new or old).label  # type: ignore[union-attr]
        before = "-" if old is None else money(old.hourly_desired)
        after = "-" if new is None else money(new.hourly_desired)
        detail = (new or old).detail  # type: ignore[union-attr]
        lines.append(f"    {label}: {before} => {after} at desired size [{detail}]")
    for line in delta.head.unpriced:
        lines.append(f"    unpriced: {line.label} ({line.unpriced})")
    lines.append(f"    ({method_note(delta.head)})")
    return lines


# -- JSON (`pulumi preview --json`) ---------------------------------------------------------------------------------


def to_digest(diff: PlanDiff) -> dict[str, Any]:
    """A PreviewDigest: one step per resource with oldState/newState, diffReasons, replaceReasons, detailedDiff."""
    steps = []
    for c in diff.changes:
        out = step_json(c.step)
        if c.replacements:
            out["replaceReasonSources"] = {r.path: r.source for r in c.replacements}
        steps.append(out)
    return {
        "steps": steps,
        "changeSummary": diff.change_summary(),
        "diagnostics": [diagnostic_json(d) for d in diff.diagnostics],
        "warnings": diff.warnings,
        "outputChanges": {c.path: {"kind": c.kind, "old": _json_value(c.old), "new": _json_value(c.new)}
                          for c in diff.output_changes()},
        "cost": diff.cost.to_json() if diff.cost is not None else None,
        "base": diff.base_label,
        "head": diff.head_label,
    }


def _json_value(value: Any) -> Any:
    return None if value is MISSING else to_plain(value, unknown=UNKNOWN_JSON)


def render_json(diff: PlanDiff) -> str:
    return json.dumps(to_digest(diff), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


__all__ = ["change_body", "cost_lines", "render_json", "render_text", "summary_lines", "to_digest"]
