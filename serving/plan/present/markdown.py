"""A pull-request comment from plan diffs: summary table, warnings first, one collapsible section per change.

Deterministic (same diffs -> byte-identical text) so a CI job can update one comment in place. GitHub limits a
comment to 65,536 characters: long resource bodies are cut (with a pointer to the full local command) and the
whole comment is kept under `MAX_CHARS`.
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

from ..compute import cost as costs
from ..compute.diff import Change, PlanDiff, subject
from ..model import OP_CREATE, OP_DELETE, OP_REPLACE, OP_SYMBOLS, OP_UPDATE
from .cost import delta_summary, signed
from .diff import change_body, cost_lines

#: First line of every comment: lets a workflow find (and update) its own comment.
MARKER = "<!-- serving-plan-diff -->"
MAX_CHARS = 60_000
MAX_BODY_LINES = 80


def _fence(lines: Sequence[str]) -> list[str]:
    body = [line.replace("```", "``\u200b`") for line in lines]
    return ["```diff", *body, "```"]


def _cost_cell(diff: PlanDiff) -> str:
    if diff.cost is None:
        return "-"
    d = diff.cost
    bound = " (spot ≤)" if d.upper_bound else ""
    return f"{signed(d.monthly_desired, 'mo')}{bound}"


def _name(stack: str) -> str:
    """A stack name as HTML code: escaped (stack names come from file names, which a pull request controls)."""
    return f"<code>{html.escape(stack)}</code>"


def _section(stack: str, c: Change, command: str) -> list[str]:
    title = f"<code>{OP_SYMBOLS[c.op].strip() or ' '} {c.op}</code> {html.escape(subject(c.state))}"
    if c.replacements:
        title += " — forces replacement: " + html.escape(", ".join(r.path for r in c.replacements))
    body = change_body(c)
    if len(body) > MAX_BODY_LINES:
        more = len(body) - MAX_BODY_LINES
        body = body[:MAX_BODY_LINES] + [f"... {more} more lines: run {command}"]
    lines = ["<details>", f"<summary>{title}</summary>", "", f"`{c.state.type}` `{c.state.name}`", ""]
    if c.replacements:
        lines += [f"- `{r.path}`: {html.escape(r.source)}" for r in c.replacements] + [""]
    if body:
        lines += _fence(body)
    else:
        lines.append("_(no input changes shown)_" if c.op != OP_DELETE else "_(deleted)_")
    lines += ["", "</details>"]
    return lines


def render_markdown(diffs: Iterable[PlanDiff], *, title: str = "Deploy plan") -> str:
    """One comment for every stack's diff (pass them in a stable order, e.g. sorted by stack)."""
    diffs = list(diffs)
    out = [MARKER, f"## {title}", ""]
    bases = sorted({d.base_label for d in diffs})
    if bases:
        out += [f"Offline plan of each stack at this pull request against {', '.join(f'`{b}`' for b in bases)} "
                "(Pulumi program run under mocks; no cloud credentials used).", ""]
    out += ["| stack | creates | updates | replaces | deletes | unchanged | cost delta (monthly, desired size) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for d in diffs:
        n = d.change_summary()
        out.append(
            f"| {_name(d.stack)} | {n.get(OP_CREATE, 0)} | {n.get(OP_UPDATE, 0)} | {n.get(OP_REPLACE, 0)} | "
            f"{n.get(OP_DELETE, 0)} | {n.get('same', 0)} | {_cost_cell(d)} |"
        )
    out.append("")
    warnings = [(d.stack, w) for d in diffs for w in d.warnings]
    if warnings:
        out += ["> [!WARNING]"]
        out += [f"> **{html.escape(stack)}**: {html.escape(w)}  " for stack, w in warnings]
        out.append("")
    for d in diffs:
        command = f"python -m serving plan --stack {d.stack} --base <base>"
        out += [f"### {_name(d.stack)}", ""]
        if not d.changed:
            out += ["No changes.", ""]
        for c in d.changed:
            out += _section(d.stack, c, command) + [""]
        if d.cost is not None:
            out += ["<details>", f"<summary>Cost of {_name(d.stack)}: {html.escape(delta_summary(d.cost))}</summary>", ""]
            out += [f"- {html.escape(line.strip())}" for line in _cost_detail(d.cost)]
            out += ["", "</details>", ""]
    text = "\n".join(out).rstrip("\n") + "\n"
    if len(text) > MAX_CHARS:
        cut = text[: MAX_CHARS - 200].rsplit("\n", 1)[0]
        if cut.count("```") % 2:
            cut += "\n```"
        text = cut + "\n\n_The comment was cut at GitHub's size limit: run the plan diff locally for the rest._\n"
    return text


def _cost_detail(delta: costs.CostDelta) -> list[str]:
    return cost_lines(delta)[1:]


__all__ = ["MARKER", "render_markdown"]
