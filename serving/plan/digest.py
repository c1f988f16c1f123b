"""The plan as `pulumi preview --json` writes it (a PreviewDigest), both ways.

This is the wire format of a plan between two halves and two processes: the presenting half prints it
(`plan --json`), the computing half reads a base revision's plan back from it (`plan --base`) and round-trips the
head plan through it so the two compare like for like. Secrets print as "[secret]", unknowns as the engine does.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from .model import OP_CREATE, OP_READ, Diagnostic, Plan, ResourceState, Step, qualified_type, stack_ref, tree_order
from .values import UNKNOWN, UNKNOWN_JSON, to_plain

# -- writing -------------------------------------------------------------------------------------------------------


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
        "chartRelease": state.chart_release,
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


# -- reading -------------------------------------------------------------------------------------------------------



def _from_json(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _from_json(v) for k, v in value.items()}
    if kind is list:
        return [_from_json(v) for v in value]
    if kind is str and value == UNKNOWN_JSON:
        return UNKNOWN
    return value


def state_from_json(doc: Mapping[str, Any]) -> ResourceState:
    """A `newState` / `oldState` of `pulumi preview --json` (as ``state_json`` writes it)."""
    urn = doc["urn"]
    return ResourceState(
        urn=urn,
        type=doc.get("type") or qualified_type(urn).rsplit("$", 1)[-1],
        name=urn.rsplit("::", 1)[-1],
        custom=bool(doc.get("custom")),
        parent=doc.get("parent") or "",
        inputs=_from_json(doc.get("inputs") or {}),
        outputs=_from_json(doc.get("outputs") or {}),
        id=doc.get("id"),
        provider=doc.get("provider") or "",
        dependencies=tuple(doc.get("dependencies") or ()),
        property_dependencies={k: tuple(v) for k, v in (doc.get("propertyDependencies") or {}).items()},
        protect=bool(doc.get("protect")),
        ignore_changes=tuple(doc.get("ignoreChanges") or ()),
        delete_before_replace=bool(doc.get("deleteBeforeReplace")),
        replace_on_changes=tuple(doc.get("replaceOnChanges") or ()),
        aliases=tuple(doc.get("aliases") or ()),
        additional_secret_outputs=tuple(doc.get("additionalSecretOutputs") or ()),
        retain_on_delete=bool(doc.get("retainOnDelete")),
        deleted_with=doc.get("deletedWith") or "",
        import_id=doc.get("importID") or "",
        custom_timeouts=dict(doc.get("customTimeouts") or {}),
        remote=bool(doc.get("remote")),
        external=bool(doc.get("external")),
        chart_release=doc.get("chartRelease") or "",
    )


def plan_from_digest(doc: Mapping[str, Any], stack: str, project: str = "") -> Plan:
    """A `Plan` read back from `python -m serving plan --json` output."""
    steps = []
    for raw in doc.get("steps") or []:
        state_doc = raw.get("newState") or raw.get("oldState")
        if not state_doc:
            continue
        state = state_from_json(state_doc)
        steps.append(Step(op=OP_READ if state.external else OP_CREATE, urn=state.urn, new=state))
    if not project and steps:
        project = stack_ref(steps[0].urn)[1]
    diagnostics = tuple(
        Diagnostic(d.get("severity", "info"), d.get("message", ""), d.get("urn", "")) for d in doc.get("diagnostics") or []
    )
    return Plan(project=project, stack=stack, steps=tree_order(steps),
                outputs=_from_json(doc.get("outputs") or {}), diagnostics=diagnostics)


def empty_plan(stack: str, project: str) -> Plan:
    return Plan(project=project, stack=stack, steps=())


def round_trip(plan: Plan) -> Plan:
    """The plan as another process would hand it over (through `pulumi preview --json`), for like-for-like diffs."""
    return plan_from_digest(json.loads(json.dumps(plan_json(plan))), plan.stack, plan.project)


