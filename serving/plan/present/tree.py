"""Printing a `Plan` the way `pulumi preview` does: the resource tree, diagnostics, outputs, summary and cost.

Deterministic (same plan -> byte-identical text); secrets print as "[secret]".
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..model import OP_CREATE, OP_DELETE, OP_READ, OP_REPLACE, OP_SAME, OP_SYMBOLS, OP_UPDATE, Plan, Step
from ..values import SECRET_TEXT, UNKNOWN_TEXT, Secret, Unknown, to_plain

#: How the summary of `pulumi preview` names each op (ops without a line are not counted).
SUMMARY_LINES = {
    OP_CREATE: "+ {n} to create",
    OP_UPDATE: "~ {n} to update",
    OP_DELETE: "- {n} to delete",
    OP_REPLACE: "+-{n} to replace",
    OP_READ: "> {n} to read",
    OP_SAME: "{n} unchanged",
}

# -- tree ----------------------------------------------------------------------------------------------------------


def _tree_prefixes(steps: tuple[Step, ...]) -> list[str]:
    """Box-drawing prefixes (`├─ `, `└─ `, `│  `) for steps already in tree order."""
    urns = {s.urn for s in steps}
    children: dict[str, list[str]] = {}
    for step in steps:
        if step.parent in urns:
            children.setdefault(step.parent, []).append(step.urn)
    last_child = {kids[-1] for kids in children.values()}
    parent_of = {s.urn: s.parent for s in steps if s.parent in urns}
    prefixes = []
    for step in steps:
        if step.urn not in parent_of:
            prefixes.append("")
            continue
        parts = ["└─ " if step.urn in last_child else "├─ "]
        ancestor = parent_of[step.urn]
        while ancestor in parent_of:
            parts.append("   " if ancestor in last_child else "│  ")
            ancestor = parent_of[ancestor]
        prefixes.append("".join(reversed(parts)))
    return prefixes


def _format_value(value: Any, indent: int) -> str:
    """A value the way `pulumi preview` prints outputs: strings quoted, objects and lists one entry a line."""
    pad = " " * indent
    if isinstance(value, Secret):
        return SECRET_TEXT
    if isinstance(value, Unknown):
        return UNKNOWN_TEXT
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        keys = sorted(value, key=str)
        width = max(len(str(k)) for k in keys)
        lines = [f"{pad}    {str(k):<{width}}: {_format_value(value[k], indent + 4)}" for k in keys]
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        width = len(f"[{len(value) - 1}]")
        lines = [f"{pad}    {f'[{i}]':<{width}}: {_format_value(v, indent + 4)}" for i, v in enumerate(value)]
        return "[\n" + "\n".join(lines) + f"\n{pad}]"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(to_plain(value))


def _diagnostics_lines(plan: Plan) -> list[str]:
    if not plan.diagnostics:
        return []
    labels = {step.urn: f"{step.type} ({step.name})" for step in plan.steps}
    stack_label = next((labels[s.urn] for s in plan.steps if s.state.is_stack), f"pulumi:pulumi:Stack ({plan.project}-{plan.stack})")
    lines = ["Diagnostics:"]
    current = None
    for d in plan.diagnostics:
        label = labels.get(d.urn, stack_label) if d.urn else stack_label
        if label != current:
            if current is not None:
                lines.append("")
            lines.append(f"  {label}:")
            current = label
        for i, text in enumerate(d.message.rstrip("\n").splitlines() or [""]):
            lines.append(f"    {d.severity}: {text}" if i == 0 else f"    {text}")
    return lines + [""]


def summary_lines(plan: Plan) -> list[str]:
    counts = plan.change_summary()
    lines = [
        "    " + template.format(n=counts[op])
        for op, template in SUMMARY_LINES.items()
        if counts.get(op)
    ]
    return ["Resources:", *(lines or ["    no changes"])]


def render_tree(plan: Plan) -> str:
    """What `pulumi preview` prints: the resource tree, diagnostics, stack outputs and the change summary."""
    prefixes = _tree_prefixes(plan.steps)
    rows = [
        (OP_SYMBOLS.get(step.op, "?"), prefix + step.type, step.name, step.op)
        for step, prefix in zip(plan.steps, prefixes)
    ]
    type_w = max([len("Type"), *(len(r[1]) for r in rows)])
    name_w = max([len("Name"), *(len(r[2]) for r in rows)])
    lines = [f"Previewing update ({plan.stack})", ""]
    lines.append(f"     {'Type':<{type_w}}  {'Name':<{name_w}}  Plan".rstrip())
    for symbol, type_, name, op in rows:
        lines.append(f" {symbol:<2}  {type_:<{type_w}}  {name:<{name_w}}  {op}".rstrip())
    lines.append("")
    lines += _diagnostics_lines(plan)
    if plan.outputs:
        lines.append("Outputs:")
        width = max(len(k) for k in plan.outputs)
        for key in sorted(plan.outputs):
            lines.append(f"    {key:<{width}}: {_format_value(plan.outputs[key], 4)}")
        lines.append("")
    lines += summary_lines(plan)
    lines += cost_section(plan)
    return "\n".join(lines) + "\n"


def cost_section(plan: Plan) -> list[str]:
    """The estimated running cost of what the plan deploys (compute/cost.py, present/cost.py); [] when nothing is
    priced."""
    from ..compute.cost import estimate
    from .cost import render_cost

    report = estimate(plan.resources)
    return ["", *render_cost(report)] if report.lines else []
