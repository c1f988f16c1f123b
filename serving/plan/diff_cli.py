"""`python -m serving plan --base REV [--json | --markdown] [--all-stacks]`: the plan diff on the command line.

`serving.cli` wires this in with two calls: `add_diff_arguments(parser)` in the `plan` arguments and, first thing in
`run_plan`, `if wants_diff(args): return run_diff(args)`.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import signal
import sys
from pathlib import Path
from typing import Iterator

from ..stackfile import list_stacks, project_name
from .compute.diff import BaseRevision, DiffError, PlanDiff, diff_plans, head_plan
from .present.diff import render_json, render_text
from .present.markdown import render_markdown


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("plan diff (what a pull request changes)")
    group.add_argument(
        "--base",
        metavar="REV",
        help="show what changes against the plan at git revision REV (e.g. origin/main), like `pulumi preview --diff`",
    )
    group.add_argument("--markdown", action="store_true", help="with --base: print a pull-request comment")
    group.add_argument(
        "--all-stacks",
        action="store_true",
        help="with --base: every stack of the working tree and of REV (instead of --stack)",
    )


def wants_diff(args: argparse.Namespace) -> bool:
    return getattr(args, "base", None) is not None or getattr(args, "markdown", False) or getattr(args, "all_stacks", False)


def compute_all(args: argparse.Namespace) -> tuple[list[PlanDiff], list[tuple[str, list[str], int]]]:
    """The diff of each stack (the base revision's plan, cached by content, against the working tree's), and
    (stack, error lines, exit code) of each stack whose plan could not be made: one broken stack file does not stop
    the others."""
    from ..cli import chart_options

    root = Path(args.root).resolve()
    charts, charts_dir = chart_options(args)
    diffs: list[PlanDiff] = []
    failures: list[tuple[str, list[str], int]] = []
    with BaseRevision(args.base, root, charts=charts, charts_dir=charts_dir) as base:
        stacks = sorted(set(list_stacks(root)) | set(base.stack_names())) if args.all_stacks else [args.stack]
        project = project_name(root)
        for stack in stacks:
            try:
                head = head_plan(stack, root, project, charts=charts, charts_dir=charts_dir)
                diffs.append(diff_plans(base.plan(stack), head, base_label=base.label, head_label="working tree"))
            except Exception as exc:  # noqa: BLE001 - reported per stack below, like the plain `plan` command does
                failures.append((stack, *_failure(exc)))
    return diffs, failures


def _failure(exc: BaseException) -> tuple[list[str], int]:
    """Error lines and exit code of a stack whose plan failed (the messages `plan` itself prints)."""
    from ..stackfile import UnknownStackError
    from ..stackyaml import StackFileError
    from .compute.capture import ProgramError, resolve_config_errors

    errors = getattr(exc, "errors", None)
    if isinstance(exc, StackFileError) or (type(exc).__name__ == "ConfigError" and isinstance(errors, list)):
        return [str(e) for e in errors or []], 2
    if isinstance(exc, ProgramError):
        config_errors = resolve_config_errors(exc)
        if config_errors is not None:
            return config_errors, 2
        return [f"the Pulumi program failed: {exc.message}"], 1
    if isinstance(exc, DiffError):
        return str(exc).splitlines(), exc.exit_code
    if isinstance(exc, UnknownStackError):
        return [str(exc)], 2
    return [f"the plan failed: {type(exc).__name__}: {exc}"], 1


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM (CI cancelling a job, `kill`) unwinds like Ctrl-C: the temporary base worktree is removed and the base
    plan's process is stopped; the command then exits 143."""
    def on_term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failure_markdown(stack: str, errors: list[str]) -> str:
    lines = "\n".join(html.escape(e) for e in errors)
    return (f"### {_md_name(stack)}\n\n> [!CAUTION]\n> The plan of this stack could not be made; fix its stack file "
            f"(each line names the file, line and field):\n\n<pre>\n{lines}\n</pre>\n")


def _md_name(stack: str) -> str:
    """A stack name for markdown: HTML-escaped, in <code> (a file name in a pull request is attacker-controlled)."""
    return f"<code>{html.escape(stack)}</code>"


def run_diff(args: argparse.Namespace) -> int:
    from ..cli import EXIT_FAILED, EXIT_OK, UsageError

    if args.base is None:
        raise UsageError("--markdown and --all-stacks need --base REV")
    if args.json and args.markdown:
        raise UsageError("choose one of --json and --markdown")
    if getattr(args, "manifests", None) is not None:
        raise UsageError("--manifests writes one plan, not a diff: drop --base")
    try:
        with _terminate_cleanly():
            diffs, failures = compute_all(args)
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not args.all_stacks and failures:  # one stack: its errors, as `plan` prints them
        _, errors, code = failures[0]
        print(*errors, sep="\n", file=sys.stderr)
        return code
    for stack, errors, _ in failures:
        print(f"error: stack {stack}:", *errors, sep="\n  ", file=sys.stderr)
    if args.markdown:
        text = render_markdown(diffs) if diffs else ""
        sys.stdout.write(text + "".join("\n" + _failure_markdown(stack, errors) for stack, errors, _ in failures))
    elif args.json:
        if len(diffs) == 1 and not failures:
            sys.stdout.write(render_json(diffs[0]))
        else:
            docs = {d.stack: json.loads(render_json(d)) for d in diffs}
            docs.update({stack: {"errors": errors} for stack, errors, _ in failures})
            sys.stdout.write(json.dumps(docs, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n".join(render_text(d) for d in diffs))
        for stack, errors, _ in failures:
            sys.stdout.write(f"\nstack {stack}: the plan could not be made:\n" + "\n".join(f"    {e}" for e in errors) + "\n")
    if failures:
        return max(code for _, _, code in failures)
    return EXIT_FAILED if any(d.head.has_errors for d in diffs) else EXIT_OK


__all__ = ["add_diff_arguments", "compute_all", "run_diff", "wants_diff"]
