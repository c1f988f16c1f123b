"""Run the real Pulumi program under the SDK's mock runtime and capture what it registers.

`capture_plan("dev")` reads `Pulumi.dev.yaml`, validates it, runs `__main__.py` exactly as the Pulumi language
host would (a `pulumi:pulumi:Stack` root resource, the stack's config, explicit providers) against a mock engine,
and returns a `Plan` of every registered resource with its inputs, options and dependencies.

Isolation: a capture runs on its own thread with a fresh `contextvars` context and event loop, so the SDK's
process-global state (mocks, config, root stack resource) never leaks into the caller or into the next capture.
The program's own packages (e.g. `serving`) are imported from `root` for the capture and the caller's modules are
restored afterwards, so plans of two checkouts can be captured in one process; a package the caller already
imported from `root` itself is used as it is (not imported twice). Captures are
serialized by a lock (cwd, sys.path and sys.modules are process-wide).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import os
import runpy
import sys
import threading
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from google.protobuf import json_format
from pulumi import RunError
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, set_mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from ...config import validate_stack_file
from ...stackfile import REPO_ROOT, StackFile, read_stack
from .mocks import MockContext, PlanMocks
from ..model import (
    OP_CREATE, OP_READ, STACK_TYPE, Diagnostic, Plan, ResourceState, Step, is_kubernetes_object, make_urn, tree_order,
)
from ..values import decode_properties, mask_values

DISABLE_DEFAULT_PROVIDERS = "pulumi:disable-default-providers"

_SEVERITIES = {engine_pb2.INFO: "info", engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

#: Per-type rewrites of captured inputs, applied as the real provider would before the engine shows them.
#: Kubernetes Secrets: the provider marks `data` and `stringData` secret; keys stay readable.
INPUT_NORMALIZERS = {
    "kubernetes:core/v1:Secret": lambda inputs: {
        k: (mask_values(v) if k in ("data", "stringData") else v) for k, v in inputs.items()
    },
}


class PlanError(Exception):
    """The plan could not be made (not a config problem: those raise `serving.config.ConfigError`)."""


class ProgramError(PlanError):
    """The Pulumi program failed. `details` is its traceback ("" for a `pulumi.RunError`, shown as message only)."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.message = message
        self.details = details


class CaptureEngine:
    """Stands in for the engine's log service: collects the program's `pulumi.log` messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.diagnostics: list[Diagnostic] = []

    def Log(self, request: engine_pb2.LogRequest) -> None:
        severity = _SEVERITIES.get(request.severity)
        if severity is None:  # debug
            return
        with self._lock:
            self.diagnostics.append(Diagnostic(severity=severity, message=request.message, urn=request.urn))


class CaptureMonitor(MockMonitor):
    """The SDK's mock resource monitor, recording every registration as the real engine would see it."""

    def __init__(self, mocks: PlanMocks, ctx: MockContext, project: str, stack: str):
        super().__init__(mocks)
        self.ctx = ctx
        self.project = project
        self.stack = stack
        self._lock = threading.Lock()
        self.states: dict[str, ResourceState] = {}
        #: URN -> outputs registered with `register_outputs` (components and the stack).
        self.registered_outputs: dict[str, dict[str, Any]] = {}
        #: (function token, provider reference) of every invoke.
        self.invokes: list[tuple[str, str]] = []

    # -- URNs -----------------------------------------------------------------------------------------------------

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN (the SDK mock keeps only the last parent type)."""
        return make_urn(self.stack, self.project, parent, type_, name)

    # -- registrations --------------------------------------------------------------------------------------------

    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> resource_pb2.RegisterResourceResponse:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self._record(self._state(request, urn, inputs_struct=request.object))
            return resource_pb2.RegisterResourceResponse(urn=urn)

        _ensure_event_loop()  # deserializing resource references needs a loop on this executor thread
        inputs = rpc.deserialize_properties(request.object)
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        resource_id, outputs_struct = self._mock(urn, args, request.additionalSecretOutputs)
        state = self._state(
            request,
            urn,
            inputs_struct=request.object,
            outputs=decode_properties(outputs_struct),
            resource_id=resource_id if request.custom else None,
        )
        self._record(state)
        if state.is_provider:
            with self._lock:
                self.ctx.providers[f"{urn}::{resource_id}"] = inputs
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=outputs_struct)

    def ReadResource(self, request: resource_pb2.ReadResourceRequest) -> resource_pb2.ReadResourceResponse:
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        properties = rpc.deserialize_properties(request.properties)
        args = MockResourceArgs(
            typ=request.type, name=request.name, inputs=properties, provider=request.provider,
            resource_id=request.id, custom=True,
        )
        resource_id, outputs_struct = self._mock(urn, args, request.additionalSecretOutputs)
        state = ResourceState(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=True,
            parent=request.parent,
            inputs=_normalize(request.type, decode_properties(request.properties)),
            outputs=decode_properties(outputs_struct),
            id=resource_id,
            provider=request.provider,
            dependencies=tuple(sorted(set(request.dependencies))),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            version=request.version,
            external=True,
        )
        self._record(state)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=outputs_struct)

    def RegisterResourceOutputs(self, request: resource_pb2.RegisterResourceOutputsRequest) -> Any:  # empty_pb2.Empty
        outputs = decode_properties(request.outputs)
        with self._lock:
            self.registered_outputs[request.urn] = outputs
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request: resource_pb2.ResourceInvokeRequest) -> resource_pb2.ResourceInvokeResponse:
        if request.tok != "pulumi:pulumi:getResource":
            with self._lock:
                self.invokes.append((request.tok, request.provider))
        return super().Invoke(request)

    # -- helpers --------------------------------------------------------------------------------------------------

    def _mock(self, urn: str, args: MockResourceArgs, secret_outputs: Sequence[str]) -> tuple[Optional[str], Any]:
        """The mock's ID and outputs (serialized for the SDK), kept for `getResource` like the SDK mock does."""
        resource_id, outputs = self.mocks.new_resource(args)
        # The engine marks `additionalSecretOutputs` secret; the SDK mock does not.
        for key in secret_outputs:
            if key in outputs:
                outputs[key] = rpc.wrap_rpc_secret(rpc.unwrap_rpc_secret(outputs[key]))
        # SDK typing bug: `Mocks.new_resource` returns an Optional id and the SDK's own MockMonitor stores it as is,
        # but `ResourceRegistration.id` is annotated `str` (pulumi 3.272, runtime/mocks.py).
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, outputs)  # type: ignore[arg-type]
        return resource_id, _sync_await(rpc.serialize_properties(outputs, {}))

    def _record(self, state: ResourceState) -> None:
        with self._lock:
            if state.urn in self.states:
                # What the engine answers, and the program fails, on a duplicate registration.
                raise RunError(f"Duplicate resource URN '{state.urn}'; try giving it a unique name")
            self.states[state.urn] = state

    @staticmethod
    def _state(
        request: resource_pb2.RegisterResourceRequest,
        urn: str,
        *,
        inputs_struct: Any,
        outputs: Optional[dict[str, Any]] = None,
        resource_id: Optional[str] = None,
    ) -> ResourceState:
        timeouts = request.customTimeouts
        aliases = [*request.aliasURNs, *(_alias(a) for a in request.aliases)]
        return ResourceState(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            inputs=_normalize(request.type, decode_properties(inputs_struct)),
            outputs=outputs or {},
            id=resource_id,
            provider=request.provider,
            dependencies=tuple(sorted(set(request.dependencies))),
            property_dependencies={
                key: tuple(sorted(set(deps.urns)))
                for key, deps in sorted(request.propertyDependencies.items())
                if deps.urns
            },
            protect=bool(request.protect),
            ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            replace_on_changes=tuple(request.replaceOnChanges),
            aliases=tuple(aliases),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            retain_on_delete=bool(request.retainOnDelete),
            deleted_with=request.deletedWith,
            import_id=request.importId,
            custom_timeouts={k: v for k, v in (("create", timeouts.create), ("update", timeouts.update), ("delete", timeouts.delete)) if v},
            remote=bool(request.remote),
            version=request.version,
        )

    def plan(self, diagnostics: list[Diagnostic]) -> Plan:
        with self._lock:
            states = dict(self.states)
            registered = dict(self.registered_outputs)
        steps = []
        for urn, state in states.items():
            if urn in registered and not state.custom:
                state = replace(state, outputs=registered[urn])
            steps.append(Step(op=OP_READ if state.external else OP_CREATE, urn=urn, new=state))
        ordered = tree_order(steps)
        stack_urn = self.make_urn("", STACK_TYPE, f"{self.project}-{self.stack}")
        position = {step.urn: i for i, step in enumerate(ordered)}
        diagnostics = sorted(
            diagnostics,
            key=lambda d: (position.get(d.urn or stack_urn, len(position)), d.urn, _SEVERITY_ORDER[d.severity], d.message),
        )
        return Plan(
            project=self.project,
            stack=self.stack,
            steps=ordered,
            outputs=registered.get(stack_urn, {}),
            diagnostics=tuple(diagnostics),
        )


def _alias(alias: Any) -> Any:
    data = json_format.MessageToDict(alias)
    return data.get("urn", data.get("spec", data))


def _normalize(type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
    normalizer = INPUT_NORMALIZERS.get(type_)
    return normalizer(inputs) if normalizer else inputs


# -- running the program -----------------------------------------------------------------------------------------

_RUN_LOCK = threading.Lock()


class _StackPending:
    """Stands in for the root resource while `set_mocks` runs, so that it does not create a stack of its own."""


def disabled_default_providers(sf: StackFile) -> set[str]:
    """Packages whose default provider is disabled (`pulumi:disable-default-providers`, stack over project)."""
    value = sf.effective_config().get(DISABLE_DEFAULT_PROVIDERS)
    if isinstance(value, str):
        value = [v.strip() for v in value.strip("[]").replace('"', "").split(",") if v.strip()]
    return set(value or [])


def default_provider_errors(plan_states: list[ResourceState], invokes: list[tuple[str, str]], disabled: set[str]) -> list[Diagnostic]:
    """What the engine reports when a resource or invoke needs a default provider that is disabled."""
    if not disabled:
        return []

    def off(package: str) -> bool:
        return package != "pulumi" and ("*" in disabled or package in disabled)

    out = []
    for state in plan_states:
        if (state.custom or state.remote) and not state.provider and not state.is_provider and off(state.package):
            out.append(Diagnostic(
                "error",
                f"Default provider for '{state.package}' disabled. '{state.urn}' must use an explicit provider.",
                state.urn,
            ))
    for token in sorted({tok for tok, provider in invokes if not provider and off(tok.split(":", 1)[0])}):
        out.append(Diagnostic(
            "error", f"Default provider for '{token.split(':', 1)[0]}' disabled. '{token}' must use an explicit provider."
        ))
    return out


def unnamed_kubernetes_objects(states: list[ResourceState]) -> list[Diagnostic]:
    """The provider would auto-name these (`<name>-<random suffix>`); offline they have no name."""
    out = []
    for state in states:
        meta = state.inputs.get("metadata")
        if is_kubernetes_object(state) and not state.external and not (isinstance(meta, dict) and meta.get("name")):
            out.append(Diagnostic(
                "warning",
                f"{state.type.rsplit(':', 1)[-1]} '{state.name}' has no metadata.name: Kubernetes would get an "
                f"auto-generated name '{state.name}-<random>'; set the name explicitly",
                state.urn,
            ))
    return out


def _top_level_names(root: Path) -> set[str]:
    """Modules and packages a program in `root` can import from it (imported fresh for each capture)."""
    names = set()
    for entry in root.iterdir():
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() and entry.name.isidentifier() and any(entry.glob("*.py")):
            names.add(entry.name)
        elif entry.suffix == ".py" and entry.stem.isidentifier():
            names.add(entry.stem)
    return names


def _imported_from(package: str, root: Path) -> bool:
    """`package` is imported, from `root/<package>` (symlinks resolved)."""
    module = sys.modules.get(package)
    location = getattr(module, "__file__", None)
    return location is not None and Path(location).resolve().parent == (root / package).resolve()


@contextlib.contextmanager
def _program_environment(root: Path) -> Iterator[None]:
    """cwd = root, root first on sys.path, the program's packages imported fresh; all restored afterwards.

    A package already imported from `root` itself (the usual case: `python -m serving plan` of this checkout) is
    kept as it is rather than imported a second time; only another checkout's packages are swapped in and out."""
    names = {name for name in _top_level_names(root) if not _imported_from(name, root)}

    def ours(module: str) -> bool:
        return module.split(".", 1)[0] in names

    saved_modules = {name: module for name, module in sys.modules.items() if ours(name)}
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    for name in saved_modules:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)


async def settle_outputs() -> None:
    """Wait until every pending `Output` of the program is resolved, waiting on all of them at once.

    `run_pulumi_func` (pulumi 3.272, runtime/stack.py `wait_for_rpcs`) waits for the pending outputs with
    `asyncio.wait(..., FIRST_COMPLETED)` in a loop: every round adds a callback to every pending task and ends as soon
    as one is done, so it costs (pending outputs) x (rounds), quadratic in the number of resources (10,000 pending
    tasks and ~100 rounds at 50 models). Waiting for all of them in one round, again while new ones appear, costs
    one callback per task. The SDK's loop then finds nothing pending. A failed task stops the wait: the SDK's loop
    raises its error as before."""
    outputs = settings.SETTINGS.outputs
    while True:
        with settings.SETTINGS.lock:
            pending = [task for task in outputs if not task.done()]
        if not pending:
            return
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        if any(not task.cancelled() and task.exception() is not None for task in done):
            return


async def _run_in_stack(program: Path) -> None:
    """What the Python language host does (`pulumi.runtime.stack.run_in_stack`): a root stack resource, the
    program, an optional `pulumi.run` entry point, then the stack outputs; then the outputs are settled
    (`settle_outputs`) before the SDK's own wait."""
    stack = Stack()
    try:
        runpy.run_path(str(program), run_name="__main__")
        entry = stack._take_async_program()
        if entry is not None:
            stack._add_program_outputs(await entry())
    finally:
        stack._finish()
    await settle_outputs()


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Let fire-and-forget work finish (`pulumi.log.warn(..., resource=r)` logs from a task), then stop."""
    for _ in range(3):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            break
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def _program_error(exc: BaseException) -> ProgramError:
    if isinstance(exc, RunError):
        return ProgramError(str(exc))
    details = "".join(traceback.format_exception(exc))
    return ProgramError(f"{type(exc).__name__}: {exc}", details)


def _capture(sf: StackFile, program: Path, root: Path) -> Plan:
    """Runs on a fresh thread in a fresh context (see `capture_plan`)."""
    project = sf.project
    config = sf.runtime_config()
    ctx = MockContext(config=config)
    mocks = PlanMocks(ctx)
    monitor = CaptureMonitor(mocks, ctx, project, sf.stack)
    engine = CaptureEngine()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.set_root_resource(_StackPending())  # type: ignore[arg-type]
    set_mocks(mocks, project=project, stack=sf.stack, preview=False, monitor=monitor)
    settings.set_root_resource(None)  # type: ignore[arg-type]
    settings.SETTINGS.engine = engine
    settings.SETTINGS.outputs = set()
    settings.SETTINGS.root_directory = str(root)
    set_all_config(config, sorted(sf.secret_keys))

    error: Optional[BaseException] = None
    with _program_environment(root):
        try:
            _sync_await(run_pulumi_func(lambda: _run_in_stack(program)))
        except BaseException as exc:  # noqa: BLE001 - reported as the program's failure
            error = exc
        finally:
            _drain(loop)
    if error is not None:
        raise _program_error(error) from error

    states = list(monitor.states.values())
    diagnostics = [
        *engine.diagnostics,
        *default_provider_errors(states, monitor.invokes, disabled_default_providers(sf)),
        *unnamed_kubernetes_objects(states),
    ]
    return monitor.plan(diagnostics)


@contextlib.contextmanager
def collector_paused(*, restore: bool = True) -> Iterator[None]:
    """Python's cyclic garbage collector off while a program runs and its charts render.

    A capture only allocates: tens of thousands of outputs, tasks and protobuf messages that live until the plan
    is made. Each full collection walks all of them, so with the collector on a 200-model plan spent 40% of its
    time in it (13 s of 34 s; 16 full collections); off, it needs about 13% more memory (540 MB against 477 MB).

    On leaving the outermost pause the collector is turned back on and collects at once, here, rather than at
    whatever allocation comes next: finalizers of the capture's coroutines run inside an `ast.parse` otherwise,
    which CPython 3.11 before 3.11.8 can fail with "AST constructor recursion depth mismatch" (gh-106905; seen
    under pytest's assertion rewriting). `restore=False` leaves it off (a process that exits when done)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled and restore:
            gc.enable()
            gc.collect()


@contextlib.contextmanager
def _no_source_positions() -> Iterator[None]:
    """The SDK sends each registration's call stack to the engine (`sourcePosition`, `stackTrace`: pulumi 3.272,
    runtime/resource.py `_get_stack_trace`, a `pathlib` URI per frame of every resource). The capture monitor never
    reads them, so while a program runs under it they are left empty; the SDK's function is back afterwards."""
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime.proto import source_pb2

    original = getattr(sdk_resource, "_get_stack_trace", None)
    if original is None:  # another SDK version: nothing to skip
        yield
        return
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


def run_program(sf: StackFile, root: Path = REPO_ROOT, program: Optional[Path] = None) -> Plan:
    """Run the program of `root` (or `program`) with the config of `sf` under mocks; no config validation."""
    root = Path(root).resolve()
    program = Path(program).resolve() if program is not None else root / "__main__.py"
    if not program.is_file():
        raise PlanError(f"no Pulumi program at {program}")

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["plan"] = _capture(sf, program, root)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            result["error"] = exc

    with _RUN_LOCK, collector_paused(), _no_source_positions():
        # A new thread starts with an empty contextvars context: nothing of the caller's Pulumi state leaks in,
        # nothing of ours leaks out.
        thread = threading.Thread(target=contextvars.Context().run, args=(target,), name=f"plan-{sf.stack}", daemon=True)
        thread.start()
        thread.join()
    if "error" in result:
        raise result["error"]
    return result["plan"]


def capture_plan(
    stack: str = "dev",
    root: Path = REPO_ROOT,
    *,
    program: Optional[Path] = None,
    validate: bool = True,
    charts: bool = True,
    charts_dir: Optional[Path] = None,
) -> Plan:
    """The offline plan of `stack`: read `root/Pulumi.<stack>.yaml`, validate it, run the program, capture, and
    (with `charts`) render every Helm release's objects into it (`serving.plan.compute.charts`, charts from
    `charts_dir` or the default folder).

    Raises `serving.stackfile.UnknownStackError` (no such stack), `serving.config.ConfigError` (invalid config;
    nothing is run), `ProgramError` (the program failed) or `PlanError`.
    """
    root = Path(root).resolve()
    sf = read_stack(stack, root)
    if validate:
        validate_stack_file(sf)
    from .charts import CHARTS_ENV, chart_source, render_charts

    with collector_paused():  # rendering adds thousands of objects to a large heap too
        plan = run_program(sf, root, program)
        if not charts or (charts_dir is None and os.environ.get(CHARTS_ENV) == "none"):
            return plan
        return render_charts(plan, chart_source(root, charts_dir))


def resolve_config_errors(exc: BaseException) -> Optional[list[str]]:
    """The formatted config errors if `exc` (or its cause) is a `ConfigError`, also one raised by the program's
    own (freshly imported) copy of `serving.config`."""
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        errors = getattr(current, "errors", None)
        if type(current).__name__ == "ConfigError" and isinstance(errors, list):
            return [str(e) for e in errors]
        current = current.__cause__ or current.__context__
    return None


__all__ = [
    "CaptureEngine", "CaptureMonitor", "INPUT_NORMALIZERS", "PlanError", "ProgramError", "capture_plan",
    "collector_paused", "default_provider_errors", "disabled_default_providers", "resolve_config_errors",
    "run_program", "settle_outputs", "unnamed_kubernetes_objects",
]

