"""Printing a `Plan`: a `pulumi preview`-like tree, `pulumi preview --json`, and Kubernetes manifests.

Everything here is deterministic (same plan -> byte-identical text) and prints secrets as "[secret]".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .model import (
    OP_CREATE,
    OP_DELETE,
    OP_READ,
    OP_REPLACE,
    OP_SAME,
    OP_SYMBOLS,
    OP_UPDATE,
    HELM_CHART_TYPES,
    Diagnostic,
    Plan,
    ResourceState,
    Step,
    is_kubernetes_object,
)
from .values import SECRET_TEXT, UNKNOWN_JSON, UNKNOWN_TEXT, Secret, Unknown, to_plain

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
    """The estimated running cost of what the plan deploys (serving/plan/cost.py); [] when nothing is priced."""
    from .cost import estimate, render_cost

    report = estimate(plan.resources)
    return ["", *render_cost(report)] if report.lines else []


# -- JSON ----------------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return to_plain(value, unknown=UNKNOWN_JSON)


def state_json(state: ResourceState) -> dict[str, Any]:
    """A resource state as `pulumi preview --json` writes `newState` / `oldState`."""
    out: dict[str, Any] = {
        "urn": state.urn,
        "type": state.type,
        "custom": state.custom,
        "inputs": _plain(state.inputs),
        "parent": state.parent,
        "dependencies": list(state.dependencies),
        "provider": state.provider,
        "propertyDependencies": {k: list(v) for k, v in state.property_dependencies.items()},
        "protect": state.protect,
        "ignoreChanges": list(state.ignore_changes),
    }
    if not state.custom and state.outputs:  # the stack's outputs, a component's registered outputs
        out["outputs"] = _plain(state.outputs)
    optional = {
        "id": state.id if state.external else None,
        "external": state.external,
        "remote": state.remote,
        "deleteBeforeReplace": state.delete_before_replace,
        "replaceOnChanges": list(state.replace_on_changes),
        "aliases": _plain(list(state.aliases)),
        "additionalSecretOutputs": list(state.additional_secret_outputs),
        "retainOnDelete": state.retain_on_delete,
        "deletedWith": state.deleted_with,
        "importID": state.import_id,
        "customTimeouts": dict(state.custom_timeouts),
    }
    out.update({k: v for k, v in optional.items() if v})
    return out


def step_json(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"op": step.op, "urn": step.urn, "provider": step.provider}
    if step.old is not None:
        out["oldState"] = state_json(step.old)
    if step.new is not None:
        out["newState"] = state_json(step.new)
    if step.diff_reasons:
        out["diffReasons"] = list(step.diff_reasons)
    if step.replace_reasons:
        out["replaceReasons"] = list(step.replace_reasons)
    if step.detailed_diff:
        out["detailedDiff"] = _plain(step.detailed_diff)
    return out


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {"urn": d.urn, "prefix": f"{d.severity}: ", "message": d.message, "severity": d.severity}


def plan_json(plan: Plan) -> dict[str, Any]:
    """The shape of `pulumi preview --json` (a PreviewDigest), plus the stack `outputs`."""
    return {
        "steps": [step_json(step) for step in plan.steps],
        "changeSummary": plan.change_summary(),
        "diagnostics": [diagnostic_json(d) for d in plan.diagnostics],
        "outputs": _plain(plan.outputs),
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- Kubernetes manifests ------------------------------------------------------------------------------------------

#: Marks a manifests directory this tool created, whose stale files it may delete.
MANIFESTS_MARKER = ".serving-plan-manifests"
_TOP_LEVEL_ORDER = ("apiVersion", "kind", "metadata")


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_deep(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(v) for v in value]
    return value


def kubernetes_manifest(state: ResourceState) -> dict[str, Any]:
    """The object as it would be applied: the inputs, secrets as "[secret]", keys sorted after
    apiVersion, kind and metadata."""
    body = _sorted_deep(to_plain(state.inputs))
    body.setdefault("kind", state.type.rsplit(":", 1)[-1])
    if "apiVersion" not in body:
        group_version = state.type.split(":")[1]
        body["apiVersion"] = group_version.removeprefix("core/")
    body.setdefault("metadata", {})
    ordered = {k: body[k] for k in _TOP_LEVEL_ORDER}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    return ordered


def _slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9.\-]+", "-", str(text).lower()).strip("-") or "unnamed"


def kubernetes_file_name(state: ResourceState, manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    parts = [manifest["kind"]]
    if meta.get("namespace"):
        parts.append(meta["namespace"])
    parts.append(meta.get("name") or state.name)
    return ".".join(_slug(p) for p in parts) + ".yaml"


def helm_release(state: ResourceState) -> dict[str, Any]:
    """A Helm release (`helm.v3.Release` or `helm.v4.Chart`): what would be installed, with which values."""
    inputs = to_plain(state.inputs)
    repo_opts = inputs.get("repositoryOpts") or {}
    out = {
        "name": inputs.get("name") or state.name,
        "namespace": inputs.get("namespace") or "default",
        "chart": inputs.get("chart", ""),
        "repository": repo_opts.get("repo", ""),
        "version": inputs.get("version", ""),
    }
    for key in ("createNamespace", "skipCrds", "atomic", "timeout", "valueYamlFiles"):
        if key in inputs:
            out[key] = inputs[key]
    out["values"] = _sorted_deep(inputs.get("values") or {})
    return out


def manifest_documents(plan: Plan) -> dict[str, dict[str, Any]]:
    """File name -> document for every Kubernetes object and Helm release of the plan."""
    docs: dict[str, dict[str, Any]] = {}

    def add(name: str, doc: dict[str, Any], state: ResourceState) -> None:
        if name in docs:  # same kind, namespace and name in two API groups: tell them apart by the type token
            name = name[: -len(".yaml")] + f".{_slug(state.type.split(':')[1].replace('/', '-'))}.yaml"
        docs[name] = doc

    for state in plan.resources:
        if state.type in HELM_CHART_TYPES:
            release = helm_release(state)
            add(f"helm.{_slug(release['namespace'])}.{_slug(release['name'])}.yaml", release, state)
        elif is_kubernetes_object(state):
            manifest = kubernetes_manifest(state)
            add(kubernetes_file_name(state, manifest), manifest, state)
    return dict(sorted(docs.items()))


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data and not any(line != line.rstrip() for line in data.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def write_manifests(plan: Plan, directory: Path) -> list[Path]:
    """Write one YAML file per Kubernetes object / Helm release into `directory`. Stale `*.yaml` files of an
    earlier run are removed only from a directory this tool created; otherwise files are just overwritten."""
    directory = Path(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / MANIFESTS_MARKER
    if created:
        marker.write_text("Written by `python -m serving plan --manifests`; stale files here are deleted.\n")
    docs = manifest_documents(plan)
    if marker.exists():
        for old in sorted(directory.glob("*.yaml")):
            if old.name not in docs:
                old.unlink()
    written = []
    for name, doc in docs.items():
        path = directory / name
        path.write_text(to_yaml(doc))
        written.append(path)
    return written


def iter_manifest_texts(plan: Plan) -> Iterable[tuple[str, str]]:
    """(file name, YAML text) pairs, as `write_manifests` would write them."""
    for name, doc in manifest_documents(plan).items():
        yield name, to_yaml(doc)
