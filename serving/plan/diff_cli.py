"""`python -m serving plan --base REV [--json | --markdown] [--all-stacks]`: the plan diff on the command line.

`serving.cli` wires this in with two calls: `add_diff_arguments(parser)` in the `plan` arguments and, first thing in
`run_plan`, `if wants_diff(args): return run_diff(args)`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..stackfile import list_stacks
from .compute.diff import DiffError, PlanDiff, diff_in_checkout, revision_checkout
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


def _stacks(args: argparse.Namespace, root: Path, base_root: Path) -> list[str]:
    if not args.all_stacks:
        return [args.stack]
    return sorted(set(list_stacks(root)) | set(list_stacks(base_root)))


def compute_diffs(args: argparse.Namespace) -> list[PlanDiff]:
    root = Path(args.root).resolve()
    with revision_checkout(args.base, root) as (checkout, label):
        return [diff_in_checkout(stack, root, checkout, label) for stack in _stacks(args, root, checkout)]


def run_diff(args: argparse.Namespace) -> int:
    from ..cli import EXIT_FAILED, EXIT_OK, UsageError

    if args.base is None:
        raise UsageError("--markdown and --all-stacks need --base REV")
    if args.json and args.markdown:
        raise UsageError("choose one of --json and --markdown")
    if getattr(args, "manifests", None) is not None:
        raise UsageError("--manifests writes one plan, not a diff: drop --base")
    try:
        diffs = compute_diffs(args)
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.markdown:
        sys.stdout.write(render_markdown(diffs))
    elif args.json:
        if len(diffs) == 1:
            sys.stdout.write(render_json(diffs[0]))
        else:
            docs = {d.stack: json.loads(render_json(d)) for d in diffs}
            sys.stdout.write(json.dumps(docs, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n".join(render_text(d) for d in diffs))
    return EXIT_FAILED if any(d.head.has_errors for d in diffs) else EXIT_OK


__all__ = ["add_diff_arguments", "compute_diffs", "run_diff", "wants_diff"]
