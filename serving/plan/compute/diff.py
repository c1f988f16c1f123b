"""Two plans compared the way `pulumi preview --diff` compares the program with the stack's state.

`diff_plans(base, head)` matches resources by URN (a head resource whose URN moved but which carries an alias of
the old URN is the same resource), compares their inputs property by property, and gives every resource a step:
`create`, `update`, `delete`, `replace` (a change to a replacement-forcing field, see `replacements`) or `same`.
Like the engine it follows replacements: an input that depends on a replaced resource's outputs becomes unknown
(the replacement's new ID/ARN), which may in turn force the dependent's replacement.

`diff_against_revision(stack, rev)` makes the base plan with the code and stack file of a git revision, in a
temporary worktree, in a subprocess (`python -m serving plan --json` of that revision), and the head plan from the
working tree; both pass through the same JSON (`pulumi preview --json` shape) so they compare like for like.
Secrets print as "[secret]"; a secret's value is compared only between plans captured in the same process.
Printing a diff (text, JSON, Markdown) is in `serving.plan.present`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from ...stackfile import REPO_ROOT, project_name
from . import cost as costs
from ..digest import empty_plan, plan_from_digest, plan_json, round_trip
from ..model import (
    OP_CREATE,
    OP_DELETE,
    OP_READ,
    OP_REPLACE,
    OP_SAME,
    OP_UPDATE,
    Diagnostic,
    Plan,
    ResourceState,
    Step,
    make_urn,
    stack_ref,
    tree_order,
)
from .charts import CACHE_ENV, CHARTS_ENV, chart_source, write_cache
from .replacements import MISSING, Replacement, kubernetes_kind, replacements, value_at
from ..values import SECRET_TEXT, UNKNOWN, UNKNOWN_TEXT, ResourceRef, Secret, Unknown, lookup, to_plain

#: Reason note of a replacement forced by an input that comes from another replaced resource.
FOLLOWS_NOTE = "changes with a replaced resource"

#: Steps a diff shows, in the order `pulumi preview` summarizes them.
CHANGE_OPS = (OP_CREATE, OP_UPDATE, OP_REPLACE, OP_DELETE)


class DiffError(Exception):
    """The base plan could not be made. `exit_code` 2: bad input (unknown revision); 1: it failed."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


# -- values --------------------------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equality of plan values. A secret read back from JSON ("[secret]") equals any secret (value unknown)."""
    if a is MISSING or b is MISSING:
        return a is b
    if isinstance(a, Secret) or isinstance(b, Secret):
        if isinstance(a, Secret) and isinstance(b, Secret):
            return a == b
        other = b if isinstance(a, Secret) else a
        return other == SECRET_TEXT
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return False  # an unknown value is a change (the engine cannot tell)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def show(value: Any) -> str:
    """A value in a diff line: JSON, secrets "[secret]", unknowns "[unknown]"."""
    if value is MISSING:
        return "<none>"
    if isinstance(value, Secret) or value == SECRET_TEXT:
        return SECRET_TEXT
    if isinstance(value, Unknown):
        return UNKNOWN_TEXT
    return json.dumps(to_plain(value), sort_keys=True, ensure_ascii=False)


_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def join_path(path: str, key: Any) -> str:
    """Pulumi's property path syntax: `a.b[0]["app.kubernetes.io/name"]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    if _IDENT.match(key) and "-" not in key:
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def split_path(path: str) -> list[Any]:
    """Inverse of `join_path` (also accepts `[*]` and unquoted dotted paths like `scalingConfig.desiredSize`)."""
    out: list[Any] = []
    i = 0
    while i < len(path):
        c = path[i]
        if c == ".":
            i += 1
        elif c == "[":
            end = path.index("]", i) if not path.startswith('["', i) else path.index('"]', i) + 1
            inner = path[i + 1 : end]
            out.append(json.loads(inner) if inner.startswith('"') else ("*" if inner == "*" else int(inner)))
            i = end + 1
        else:
            m = re.match(r"[^.\[]+", path[i:])
            assert m is not None
            out.append(m.group(0))
            i += len(m.group(0))
    return out


def _under(path: Sequence[Any], prefix: Sequence[Any]) -> bool:
    """`path` is `prefix` or below it (`*` in `prefix` matches any list index)."""
    if len(path) < len(prefix):
        return False
    return all(p == "*" and isinstance(q, int) or p == q for p, q in zip(prefix, path))


def _related(path: Sequence[Any], rule: Sequence[Any]) -> bool:
    """A change at `path` touches the rule's path: one is at or under the other."""
    return _under(path, rule) or _under(rule, path)


@dataclass(frozen=True)
class PropertyChange:
    path: str
    kind: str  # add | delete | update (+ "-replace" when it forces replacement)
    old: Any = MISSING
    new: Any = MISSING

    @property
    def replaces(self) -> bool:
        return self.kind.endswith("-replace")


def property_changes(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    """Leaf-level changes between two input trees, in a stable order."""
    if isinstance(old, Mapping) and isinstance(new, Mapping) and not isinstance(old, Secret):
        out: list[PropertyChange] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = join_path(path, key)
            if key not in old:
                out.append(PropertyChange(sub, "add", MISSING, new[key]))
            elif key not in new:
                out.append(PropertyChange(sub, "delete", old[key], MISSING))
            else:
                out.extend(property_changes(old[key], new[key], sub))
        return out
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        out = []
        for i in range(max(len(old), len(new))):
            sub = join_path(path, i)
            if i >= len(old):
                out.append(PropertyChange(sub, "add", MISSING, new[i]))
            elif i >= len(new):
                out.append(PropertyChange(sub, "delete", old[i], MISSING))
            else:
                out.extend(property_changes(old[i], new[i], sub))
        return out
    return [] if _same(old, new) else [PropertyChange(path, "update", old, new)]


# -- steps ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One resource's step with its property changes and why it is replaced."""

    step: Step
    changes: tuple[PropertyChange, ...] = ()
    replacements: tuple[Replacement, ...] = ()

    @property
    def op(self) -> str:
        return self.step.op

    @property
    def state(self) -> ResourceState:
        return self.step.state


def alias_urns(state: ResourceState, states_by_urn: Mapping[str, ResourceState], plan: Plan,
               _seen: frozenset[str] = frozenset()) -> list[str]:
    """Every old URN the resource answers to: its `aliases` (URNs or specs) and, as the engine does, the aliases
    inherited from its parent's aliases (the child's name prefix follows the parent's old name)."""
    if state.urn in _seen:
        return []
    stack, project = plan.stack, plan.project
    out: list[str] = []
    for alias in state.aliases:
        if isinstance(alias, str):
            out.append(alias)
            continue
        if not isinstance(alias, Mapping):
            continue
        if "urn" in alias and isinstance(alias["urn"], str):
            out.append(alias["urn"])
            continue
        spec = alias.get("spec", alias)
        name = spec.get("name") or state.name
        type_ = spec.get("type") or state.type
        a_stack = spec.get("stack") or stack
        a_project = spec.get("project") or project
        alias_parent: str = "" if spec.get("noParent") else (spec.get("parentUrn") or state.parent)
        out.append(make_urn(a_stack, a_project, alias_parent, type_, name))
    parent_state = states_by_urn.get(state.parent)
    if parent_state is not None:
        for parent_alias in alias_urns(parent_state, states_by_urn, plan, _seen | {state.urn}):
            a_stack, a_project = stack_ref(parent_alias)
            parent_name = parent_state.name
            old_parent_name = parent_alias.rsplit("::", 1)[-1]
            name = state.name
            if name.startswith(parent_name):
                name = old_parent_name + name[len(parent_name):]
            out.append(make_urn(a_stack, a_project, parent_alias, state.type, name))
    return list(dict.fromkeys(out))


def _match(base: Plan, head: Plan) -> dict[str, str]:
    """head URN -> base URN for every head resource that exists in the base (same URN or an alias)."""
    base_urns = {s.urn for s in base.steps}
    head_states = {s.urn: s.state for s in head.steps}
    matched: dict[str, str] = {}
    for urn in head_states:
        if urn in base_urns:
            matched[urn] = urn
    taken = set(matched.values())
    for urn, state in head_states.items():
        if urn in matched:
            continue
        for alias in alias_urns(state, head_states, head):
            if alias in base_urns and alias not in taken:
                matched[urn] = alias
                taken.add(alias)
                break
    return matched


def _ignored(path: str, ignore: Iterable[str]) -> bool:
    parts = split_path(path)
    return any(_under(parts, split_path(i)) for i in ignore if i)


def _compare(old: ResourceState, new: ResourceState, provider_inputs: Optional[Mapping[str, Any]] = None) -> Change:
    changes = [c for c in property_changes(old.inputs, new.inputs) if not _ignored(c.path, new.ignore_changes)]
    reasons: list[Replacement] = []
    # An object a Helm release installs is not the engine's to replace: `helm upgrade` patches it in place (and fails
    # on a change to an immutable field), so its changes are updates whatever pulumi-kubernetes would do alone.
    if changes and not new.chart_release:
        reasons = [
            r for r in replacements(new.type, old.inputs, new.inputs, new.replace_on_changes, equal=_same,
                                    provider_inputs=provider_inputs)
            if not _ignored(r.path, new.ignore_changes)
        ]
        # An input set from a replaced resource's output is unknown: the replacement is a consequence.
        reasons = [replace(r, note=FOLLOWS_NOTE) if isinstance(value_at(new.inputs, r.path), Unknown) else r
                   for r in reasons]
    # An aliased type change (e.g. Bucket -> BucketV2) is not a replacement by itself: the provider diffs inputs.
    rule_paths = [split_path(r.path) for r in reasons]
    marked = []
    for c in changes:
        touches = any(_related(split_path(c.path), rp) for rp in rule_paths)
        marked.append(replace(c, kind=f"{c.kind}-replace") if touches else c)
    op = OP_REPLACE if reasons else OP_UPDATE if marked else OP_SAME
    detailed = {c.path: {"kind": c.kind, "inputDiff": True} for c in marked}
    diff_reasons = tuple(dict.fromkeys(str(split_path(c.path)[0]) for c in marked if c.path))
    step = Step(
        op=op,
        urn=new.urn,
        new=new,
        old=old,
        diff_reasons=diff_reasons,
        replace_reasons=tuple(r.path for r in reasons),
        detailed_diff=detailed,
    )
    return Change(step, tuple(marked), tuple(reasons))


def _with_unknown_inputs(state: ResourceState, props: Iterable[str]) -> ResourceState:
    """The state with the given top-level inputs unknown (they come from a resource being replaced)."""
    inputs = dict(state.inputs)
    for prop in props:
        if prop in inputs:
            inputs[prop] = UNKNOWN
    return replace(state, inputs=inputs)


@dataclass(frozen=True)
class PlanDiff:
    base: Plan
    head: Plan
    #: Every resource of either plan with its step, head tree order, deletes last (base order).
    changes: tuple[Change, ...]
    base_label: str = "base"
    head_label: str = "working tree"
    cost: Optional[costs.CostDelta] = None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def stack(self) -> str:
        return self.head.stack

    def by_op(self, op: str) -> list[Change]:
        return [c for c in self.changes if c.op == op]

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.op in CHANGE_OPS]

    def change_summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.op] = counts.get(c.op, 0) + 1
        return dict(sorted(counts.items()))

    @cached_property
    def warnings(self) -> list[str]:
        """Computed once: the text, JSON and Markdown renderings all start with them."""
        return review_warnings(self)

    def output_changes(self) -> list[PropertyChange]:
        return property_changes(dict(self.base.outputs), dict(self.head.outputs))


def diff_plans(base: Plan, head: Plan, *, base_label: str = "base", head_label: str = "working tree") -> PlanDiff:
    """Compare two plans of one stack (see the module docstring)."""
    matched = _match(base, head)
    base_states = {s.urn: s.state for s in base.steps}
    head_states = {s.urn: s.state for s in head.steps}

    def provider_inputs(state: ResourceState) -> Optional[Mapping[str, Any]]:
        # A provider reference is "<provider urn>::<id>".
        provider = head_states.get(state.provider.rsplit("::", 1)[0]) if state.provider else None
        return provider.inputs if provider is not None else None

    result: dict[str, Change] = {}
    for urn, state in head_states.items():
        if state.is_stack:
            result[urn] = Change(Step(OP_SAME, urn, new=state, old=base_states.get(matched.get(urn, ""))))
        elif urn in matched:
            result[urn] = _compare(base_states[matched[urn]], state, provider_inputs(state))
        else:
            result[urn] = Change(Step(OP_CREATE if not state.external else OP_READ, urn, new=state))

    # Follow replacements: inputs fed by a replaced resource are unknown until it exists again.
    replaced = {u for u, c in result.items() if c.op == OP_REPLACE}
    done: set[str] = set()
    while replaced - done:
        done |= replaced
        for urn, state in head_states.items():
            if urn not in matched or state.is_stack:
                continue
            props = sorted(p for p, deps in state.property_dependencies.items() if set(deps) & replaced)
            props = [p for p in props if p in state.inputs and not _ignored(p, state.ignore_changes)]
            if not props:
                continue
            result[urn] = _compare(base_states[matched[urn]], _with_unknown_inputs(state, props), provider_inputs(state))
            if result[urn].op == OP_REPLACE:
                replaced.add(urn)

    ordered = [result[s.urn] for s in tree_order(Step(c.op, urn, new=c.step.new) for urn, c in result.items())]
    gone = set(base_states) - set(matched.values())
    deletes = [
        Change(Step(OP_DELETE, s.urn, old=s.state))
        for s in base.steps
        if s.urn in gone and not s.state.is_stack
    ]
    changes = tuple(ordered + deletes)
    cost = costs.CostDelta(costs.estimate(base.resources), costs.estimate(head.resources))
    return PlanDiff(base, head, changes, base_label, head_label, cost, tuple(head.diagnostics))


# -- who is what, for people ----------------------------------------------------------------------------------------


def _input(state: ResourceState, *path: str) -> Any:
    return lookup(state.inputs, *path)


def subject(state: ResourceState) -> str:
    """What a resource is, in the platform's words: "GPU pool gpu-a10", "Deployment team-nlp/llama-chat"."""
    t = state.type
    if t == costs.NODE_GROUP:
        return costs.pool_title(state)
    if t == costs.EKS_CLUSTER:
        return f"EKS cluster {_input(state, 'name') or state.name}"
    if t == "kubernetes:helm.sh/v3:Release":
        return f"Helm release {_input(state, 'namespace') or 'default'}/{_input(state, 'name') or state.name}"
    gk = kubernetes_kind(t)
    if gk is not None:
        name = _input(state, "metadata", "name") or state.name
        ns = _input(state, "metadata", "namespace")
        return f"{gk[1]} {ns}/{name}" if ns else f"{gk[1]} {name}"
    if t == "aws:ec2/vpc:Vpc":
        return f"VPC {_input(state, 'tags', 'Name') or state.name}"
    short = t.rsplit(":", 1)[-1]
    return f"{short} {state.name}"


def review_warnings(diff: PlanDiff) -> list[str]:
    """What a reviewer must not miss: replacements (with their reason) and protected resources in the way."""
    out: list[str] = []
    # Replacements the change itself forces first, then those that follow from them.
    def consequence(c: Change) -> bool:
        return c.op == OP_REPLACE and all(r.note == FOLLOWS_NOTE for r in c.replacements)

    for c in sorted(diff.changes, key=consequence):
        if c.op == OP_REPLACE:
            reasons = ", ".join(r.text for r in c.replacements)
            out.append(f"{subject(c.state)} will be replaced: {reasons}")
            old = c.step.old
            if old is not None and old.protect:
                out.append(f"{subject(c.state)} is protected: `pulumi up` refuses to replace it until protect is lifted")
        elif c.op == OP_DELETE and c.state.protect:
            out.append(f"{subject(c.state)} is protected: `pulumi up` refuses to delete it until protect is lifted")
    return out


# -- the base revision ------------------------------------------------------------------------------------------------


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=check)


def resolve_revision(rev: str, root: Path = REPO_ROOT) -> str:
    """The commit `rev` names in the repository of `root`, or DiffError."""
    top = _git(root, "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:
        raise DiffError(f"{root} is not inside a git repository: --base needs one")
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if done.returncode != 0:
        raise DiffError(f"unknown git revision {rev!r}")
    return done.stdout.strip()


@contextlib.contextmanager
def revision_checkout(rev: str, root: Path = REPO_ROOT) -> Iterator[tuple[Path, str]]:
    """The project directory of `root` as it is at revision `rev`, and a label ("<rev> (<short sha>)").

    Checked out with `git worktree add --detach` into a temporary directory (the user's checkout, index and
    branches are not touched) and removed afterwards, even on error.
    """
    root = Path(root).resolve()
    sha = resolve_revision(rev, root)
    toplevel = Path(_git(root, "rev-parse", "--show-toplevel").stdout.strip()).resolve()
    subdir = root.relative_to(toplevel) if root != toplevel else Path()
    tmp = Path(tempfile.mkdtemp(prefix="serving-plan-base-"))
    worktree = tmp / "tree"
    try:
        added = _git(toplevel, "worktree", "add", "--detach", "--quiet", str(worktree), sha, check=False)
        if added.returncode != 0:
            raise DiffError(f"git worktree add failed for {rev}: {added.stderr.strip()}", exit_code=1)
        yield worktree / subdir, f"{rev} ({sha[:12]})"
    finally:
        _git(toplevel, "worktree", "remove", "--force", str(worktree), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        _git(toplevel, "worktree", "prune", check=False)


#: Seconds the base revision's plan may take (SERVING_PLAN_BASE_TIMEOUT overrides): a hanging base is stopped.
BASE_PLAN_TIMEOUT = 900.0


def plan_in_checkout(stack: str, checkout: Path, label: str, python: Optional[str] = None, *,
                     charts: bool = True, charts_dir: Optional[Path] = None) -> Plan:
    """The plan of `stack` made by the checkout's own code: its `python -m serving plan --stack STACK --json`,
    run with the current interpreter (the project's .venv) and the checkout as working directory, with the charts
    of `charts_dir` (default: this checkout's) or none. A stack with no stack file there has an empty plan
    (everything is a create)."""
    project = project_name(checkout)
    if not (checkout / f"Pulumi.{stack}.yaml").is_file():
        return empty_plan(stack, project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # The checkout is a temporary worktree: it renders charts from the same folder and shares this checkout's cache.
    source = chart_source(REPO_ROOT, charts_dir)
    if not charts:
        env[CHARTS_ENV] = "none"
    elif source.charts_dir is not None:
        env[CHARTS_ENV] = str(source.charts_dir)
    if source.cache_dir is not None:
        env.setdefault(CACHE_ENV, str(source.cache_dir))
    timeout = float(os.environ.get("SERVING_PLAN_BASE_TIMEOUT", BASE_PLAN_TIMEOUT))
    try:
        proc = subprocess.run(
            [python or sys.executable, "-m", "serving", "plan", "--stack", stack, "--json"],
            cwd=checkout, env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:  # the child is killed by subprocess.run
        raise DiffError(f"the plan of {stack} at {label} did not finish within {timeout:g} s and was stopped: the base "
                        f"revision's program hangs (or this machine is very slow); set SERVING_PLAN_BASE_TIMEOUT="
                        f"<seconds> to wait longer", exit_code=1) from None
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise DiffError(f"the plan of {stack} at {label} failed (exit {proc.returncode}):\n{tail}", exit_code=1)
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise DiffError(f"the plan of {stack} at {label} is not JSON: {exc}", exit_code=1) from None
    return plan_from_digest(doc, stack, project)


def head_plan(stack: str, root: Path, project: str, *, charts: bool = True, charts_dir: Optional[Path] = None) -> Plan:
    """The working tree's plan of `stack` as the base's is read (through the preview JSON); empty without a stack
    file."""
    from .capture import capture_plan

    root = Path(root)
    if not (root / f"Pulumi.{stack}.yaml").is_file():
        return empty_plan(stack, project)
    return round_trip(capture_plan(stack, root, charts=charts, charts_dir=charts_dir))


def diff_in_checkout(stack: str, root: Path, checkout: Path, label: str) -> PlanDiff:
    """The plan diff of `stack`: its plan in `checkout` (base, made by the checkout's own code) against the working
    tree of `root` (head). A stack without a stack file on one side has an empty plan there."""
    base = plan_in_checkout(stack, checkout, label)
    return diff_plans(base, head_plan(stack, root, base.project), base_label=label, head_label="working tree")


def diff_against_revision(stack: str, rev: str, root: Path = REPO_ROOT) -> PlanDiff:
    """The plan diff of `stack`: revision `rev` (base, its plan cached by content) against the working tree of
    `root` (head)."""
    with BaseRevision(rev, root) as base:
        return diff_plans(base.plan(stack), head_plan(stack, base.root, project_name(base.root)),
                          base_label=base.label, head_label="working tree")


# -- the base revision, its plans cached by content ------------------------------------------------------------------

#: Bump when what a cached base plan holds, or how it is made, changes.
PLAN_CACHE_FORMAT = 1


def _stat_signature(path: Optional[Path]) -> list[Any]:
    """A cheap id of a file or folder's content: every file's path, size and modification time."""
    if path is None or not path.exists():
        return []
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]


class BaseRevision:
    """The plans of git revision `rev` of the project in `root`, each made by that revision's own code (`python -m
    serving plan --json` in a temporary worktree). A plan is cached on disk by what it comes from: the revision's
    project tree (code and stack files, by git tree hash), the stack, the Python, Helm and charts folder it was made
    with; a cached plan needs no worktree at all. Use as a context manager (the worktree is removed on exit)."""

    def __init__(self, rev: str, root: Path = REPO_ROOT, *, charts: bool = True, charts_dir: Optional[Path] = None):
        self.root = Path(root).resolve()
        self.charts, self.charts_dir = charts, charts_dir
        self.sha = resolve_revision(rev, self.root)
        self.label = f"{rev} ({self.sha[:12]})"
        self._rev = rev
        toplevel = Path(_git(self.root, "rev-parse", "--show-toplevel").stdout.strip()).resolve()
        subdir = self.root.relative_to(toplevel).as_posix() if self.root != toplevel else ""
        self._spec = f"{self.sha}:{subdir}" if subdir else f"{self.sha}^{{tree}}"
        self.tree = _git(self.root, "rev-parse", self._spec).stdout.strip()
        self._checkout: Optional[Path] = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "BaseRevision":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def stack_names(self) -> list[str]:
        names = _git(self.root, "ls-tree", "--name-only", self.tree).stdout.split()
        return sorted(n[len("Pulumi."):-len(".yaml")] for n in names if re.fullmatch(r"Pulumi\.[^/]+\.yaml", n))

    def cache_key(self, stack: str) -> str:
        source = chart_source(REPO_ROOT, self.charts_dir)
        doc = {
            "format": PLAN_CACHE_FORMAT, "tree": self.tree, "stack": stack, "python": sys.executable,
            "version": sys.version, "helm": _stat_signature(source.helm),
            "charts": _stat_signature(source.charts_dir) if self.charts else "none",
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def plan(self, stack: str) -> Plan:
        if stack not in self.stack_names():
            return empty_plan(stack, project_name(self.root))
        cache_dir = chart_source(REPO_ROOT).cache_dir
        cache_file = cache_dir / "plans" / f"{self.cache_key(stack)}.json" if cache_dir is not None else None
        if cache_file is not None and cache_file.is_file():
            try:
                doc = json.loads(cache_file.read_text())
                return plan_from_digest(doc, stack, doc.get("project", ""))
            except (OSError, ValueError):
                pass  # damaged: make it again
        if self._checkout is None:
            self._checkout, _ = self._stack.enter_context(revision_checkout(self._rev, self.root))
        plan = plan_in_checkout(stack, self._checkout, self.label, charts=self.charts, charts_dir=self.charts_dir)
        if cache_file is not None:
            write_cache(cache_file, json.dumps({**plan_json(plan), "project": plan.project}))
        return plan


__all__ = [
    "BaseRevision", "CHANGE_OPS", "Change", "DiffError", "PlanDiff", "PropertyChange", "diff_against_revision",
    "diff_in_checkout", "head_plan",
    "diff_plans", "plan_from_digest", "property_changes", "review_warnings", "round_trip", "subject",
]
