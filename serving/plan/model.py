"""The data of a plan: resource states, steps, diagnostics. Pure data, no Pulumi runtime.

A `Plan` is what `pulumi preview` would show: one `Step` per resource, in tree order (parents before children,
siblings by URN). Offline there is no prior state, so every step of a captured plan is a `create` with only a
`new` state; a diff against another plan fills `old`, picks another `op` and the diff fields.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
HELM_CHART_TYPES = (HELM_RELEASE_TYPE, "kubernetes:helm.sh/v4:Chart")

# Step operations, as `pulumi preview --json` names them.
OP_SAME = "same"
OP_CREATE = "create"
OP_UPDATE = "update"
OP_DELETE = "delete"
OP_REPLACE = "replace"
OP_CREATE_REPLACEMENT = "create-replacement"
OP_DELETE_REPLACED = "delete-replaced"
OP_READ = "read"
OPS = (OP_SAME, OP_CREATE, OP_UPDATE, OP_DELETE, OP_REPLACE, OP_CREATE_REPLACEMENT, OP_DELETE_REPLACED, OP_READ)
#: How `pulumi preview` marks each op.
OP_SYMBOLS = {
    OP_SAME: " ",
    OP_CREATE: "+",
    OP_UPDATE: "~",
    OP_DELETE: "-",
    OP_REPLACE: "+-",
    OP_CREATE_REPLACEMENT: "++",
    OP_DELETE_REPLACED: "--",
    OP_READ: ">",
}


@dataclass(frozen=True)
class ResourceState:
    """One resource as the program registered it (the `newState` of a preview step).

    `inputs` / `outputs` hold plan values (see `serving.plan.values`: secrets are `Secret` markers, integral
    numbers are ints). `outputs` are what the offline mocks returned (for a component: what it registered with
    `register_outputs`; for the stack: the stack outputs) and are not real values.
    """

    urn: str
    type: str
    name: str
    custom: bool
    #: URN of the parent, "" for the stack itself.
    parent: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    #: The mock's physical ID for custom resources; None for components.
    id: Optional[str] = None
    #: Provider reference "<provider urn>::<provider id>", "" when none (components, the stack, providers).
    provider: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()
    #: Alias URNs or alias specs (as dicts: name, type, stack, project, parentUrn/noParent).
    aliases: tuple[Any, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    retain_on_delete: bool = False
    deleted_with: str = ""
    import_id: str = ""
    custom_timeouts: Mapping[str, str] = field(default_factory=dict)
    #: A multi-language component (e.g. `kubernetes.helm.v4.Chart`): only its shell is registered offline.
    remote: bool = False
    #: Provider plugin version the SDK asked for ("" when unset).
    version: str = ""
    #: Read with `.get()` (a `read` step) rather than registered.
    external: bool = False
    #: For an object a Helm release installs (rendered offline, `serving.plan.compute.charts`): the release's URN.
    chart_release: str = ""

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]

    @property
    def is_stack(self) -> bool:
        return self.type == STACK_TYPE

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_TYPE_PREFIX)

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


def is_kubernetes_object(state: ResourceState) -> bool:
    """A Kubernetes API object (`kubernetes:<group>/<version>:<Kind>`), not a provider, Helm or YAML wrapper."""
    return (
        state.custom
        and state.type.startswith("kubernetes:")
        and not state.type.startswith(("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize"))
    )


@dataclass(frozen=True)
class Step:
    """One step of a preview. A captured plan only has `create` (and `read`) steps with `new` set; a diff sets
    `old` and the diff fields (`detailed_diff` maps a property path to `{"kind": ..., "inputDiff": bool}`)."""

    op: str
    urn: str
    new: Optional[ResourceState] = None
    old: Optional[ResourceState] = None
    diff_reasons: tuple[str, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    detailed_diff: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def state(self) -> ResourceState:
        """The state to show: the new one, or the old one for a delete."""
        state = self.new if self.new is not None else self.old
        if state is None:
            raise ValueError(f"step {self.op} {self.urn} has neither a new nor an old state")
        return state

    @property
    def type(self) -> str:
        return self.state.type

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def parent(self) -> str:
        return self.state.parent

    @property
    def provider(self) -> str:
        return self.state.provider


@dataclass(frozen=True)
class Diagnostic:
    """A message the program (`pulumi.log.warn` / `error` / `info`) or the offline engine emitted."""

    severity: str  # "info" | "warning" | "error"
    message: str
    #: The resource the message is about, "" for the stack.
    urn: str = ""


@dataclass(frozen=True)
class Plan:
    project: str
    stack: str
    #: In tree order: parents before children, siblings sorted by URN. The stack is the first step.
    steps: tuple[Step, ...]
    #: Stack outputs (`pulumi.export`), plan values.
    outputs: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def resources(self) -> list[ResourceState]:
        """The state every step shows, in step order."""
        return [step.state for step in self.steps]

    def step(self, urn: str) -> Step:
        for step in self.steps:
            if step.urn == urn:
                return step
        raise KeyError(urn)

    def by_type(self, type_: str) -> list[ResourceState]:
        return [r for r in self.resources if r.type == type_]

    def children(self, urn: str) -> list[Step]:
        return [step for step in self.steps if step.parent == urn]

    def change_summary(self) -> dict[str, int]:
        """Count of steps per op, like `changeSummary` of `pulumi preview --json`."""
        return dict(sorted(Counter(step.op for step in self.steps).items()))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def qualified_type(urn: str) -> str:
    """The type part of a URN: the parent type chain joined by `$` and the resource's own type."""
    return urn.split("::")[2]


def stack_ref(urn: str) -> tuple[str, str]:
    """(stack, project) of a URN."""
    parts = urn.split("::")
    return parts[0].removeprefix("urn:pulumi:"), parts[1]


def make_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    """The URN the engine gives a resource: its type part is the parent's whole type chain (the stack excluded)."""
    if parent_urn:
        parent_type = qualified_type(parent_urn)
        if parent_type != STACK_TYPE:
            type_ = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def tree_order(steps: Iterable[Step]) -> tuple[Step, ...]:
    """Parents before children, siblings sorted by URN; a step whose parent is not among the steps is a root.
    Deterministic whatever order the steps were registered in."""
    steps = list(steps)
    urns = {step.urn for step in steps}
    children: dict[str, list[Step]] = {}
    roots: list[Step] = []
    for step in steps:
        parent = step.parent
        if parent and parent in urns and parent != step.urn:
            children.setdefault(parent, []).append(step)
        else:
            roots.append(step)
    ordered: list[Step] = []

    def visit(siblings: list[Step]) -> None:
        for step in sorted(siblings, key=lambda s: (s.urn, s.op)):
            ordered.append(step)
            visit(children.pop(step.urn, []))

    visit(sorted(roots, key=lambda s: (s.type != STACK_TYPE, s.urn, s.op)))
    return tuple(ordered)
