"""`python -m serving <command>`: the project's command line.

Commands are `Subcommand`s in `SUBCOMMANDS`: a name, a help line, a function adding its arguments and a function
running it (returning the exit code). To add one, write those two functions and append a `Subcommand`; to extend
`plan`, add arguments in `add_plan_arguments` and handle them in `run_plan`.

Exit codes: 0 ok, 1 the plan failed (the program raised or reported an error), 2 bad input (unknown stack,
invalid config, bad arguments). User errors never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from .lifecycle.history import add_history_arguments, run_history
from .lifecycle.status import add_status_arguments, run_status
from .promote import add_promote_arguments, run_promote
from .stackfile import REPO_ROOT, UnknownStackError
from .stackyaml import StackFileError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as `error: ...`, exit code 2."""


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _eprint(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


# -- plan ----------------------------------------------------------------------------------------------------------


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack to plan: Pulumi.<STACK>.yaml (default: dev)")
    parser.add_argument("--json", action="store_true", help="print the plan like `pulumi preview --json`")
    parser.add_argument(
        "--manifests",
        metavar="DIR",
        type=Path,
        help="also write every Kubernetes object and Helm release as a YAML file into DIR",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        type=Path,
        default=REPO_ROOT,
        help="project directory holding Pulumi.yaml, the stack files and __main__.py (default: this checkout)",
    )
    parser.add_argument(
        "--charts",
        metavar="DIR",
        type=Path,
        help="folder of Helm chart sources, <chart>-<version>/ each (default: $SERVING_CHARTS_DIR, else "
        "../shared/reference/charts next to the project); `--charts none` leaves releases unrendered",
    )
    from .plan.diff_cli import add_diff_arguments

    add_diff_arguments(parser)  # --base REV [--markdown] [--all-stacks]: the plan diff (serving/plan/diff_cli.py)


def run_plan(args: argparse.Namespace) -> int:
    from .plan import capture_plan, render_json, render_tree, write_manifests
    from .plan.compute.capture import collector_paused
    from .plan.diff_cli import run_diff, wants_diff

    # The plan's objects live until the command ends: full garbage collections over them are pure cost (a third of
    # reading a base plan back for `--base`). A process that exits after this command leaves the collector off.
    with collector_paused(restore=not getattr(args, "exiting", False)):
        if wants_diff(args):
            return run_diff(args)
        charts, charts_dir = chart_options(args)
        plan = capture_plan(args.stack, args.root, charts=charts, charts_dir=charts_dir)
        if args.manifests is not None:
            written = write_manifests(plan, args.manifests)
            _eprint(f"wrote {len(written)} manifest files to {args.manifests}")
        sys.stdout.write(render_json(plan) if args.json else render_tree(plan))
        return EXIT_FAILED if plan.has_errors else EXIT_OK


def chart_options(args: argparse.Namespace) -> tuple[bool, Optional[Path]]:
    """(render charts?, charts folder) for `--charts DIR` / `--charts none`."""
    charts = getattr(args, "charts", None)
    if charts is not None and str(charts) == "none":
        return False, None
    return True, charts


# -- schema --------------------------------------------------------------------------------------------------------


def add_schema_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run_schema(args: argparse.Namespace) -> int:
    from .config import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


# -- check ---------------------------------------------------------------------------------------------------------


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    from .check import CHECK_KINDS
    from .check.runner import DEFAULT_REFERENCE_CRDS

    parser.add_argument("--stack", default="dev", help="stack to check: Pulumi.<STACK>.yaml (default: dev)")
    parser.add_argument(
        "--only", action="append", choices=sorted(CHECK_KINDS), metavar="KIND",
        help=f"run only this check (repeatable): {', '.join(CHECK_KINDS)}",
    )
    parser.add_argument(
        "--crds", metavar="DIR", type=Path, default=DEFAULT_REFERENCE_CRDS,
        help="folder of reference CRDs for kinds no release installs (default: ../shared/reference/crds)",
    )
    parser.add_argument("--root", metavar="DIR", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)


def run_check(args: argparse.Namespace) -> int:
    """One line per finding (level, check, resource, rule, message), then a summary; exit 1 on a mandatory one."""
    from .check import CheckContext, run_checks

    ctx = CheckContext.for_stack(args.stack, args.root, reference_crds=args.crds)
    if ctx.plan.has_errors:
        _eprint(*(f"error: {d.message}" for d in ctx.plan.diagnostics if d.severity == "error"))
        return EXIT_FAILED
    report = run_checks(ctx, args.only)
    for line in report.lines():
        print(line)
    print(report.summary())
    return EXIT_FAILED if report.failed else EXIT_OK


SUBCOMMANDS: list[Subcommand] = [
    Subcommand("plan", "print the offline deploy plan of a stack (what `pulumi preview` would do)", add_plan_arguments, run_plan),
    Subcommand("schema", "print the JSON Schema of a stack file", add_schema_arguments, run_schema),
    Subcommand("check", "check the whole rendered platform of a stack: schemas, checkov, policies, placement, ordering",
               add_check_arguments, run_check),
    Subcommand("promote", "copy model versions from one stack to another (dev -> prod)", add_promote_arguments, run_promote),
    Subcommand("status", "each model's phase on the live cluster (through the stack's kubeconfig)", add_status_arguments, run_status),
    Subcommand("history", "every change of what a model serves, from the stack file's git history", add_history_arguments, run_history),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving", description="ML model-serving platform tooling.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for sub in SUBCOMMANDS:
        sub_parser = commands.add_parser(sub.name, help=sub.help, description=sub.help)
        sub.add_arguments(sub_parser)
        sub_parser.set_defaults(run=sub.run)
    return parser


def main(argv: Optional[Sequence[str]] = None, *, exiting: bool = False) -> int:
    """Run one command. `exiting`: the process ends when this returns (`python -m serving`), so nothing needs to be
    left tidy for later work in it (the plan command then leaves the garbage collector off)."""
    args = build_parser().parse_args(argv)  # exits 2 on bad arguments
    args.exiting = exiting
    from .config import ConfigError
    from .plan.compute.capture import PlanError, ProgramError, resolve_config_errors

    try:
        return args.run(args)
    except UnknownStackError as exc:
        _eprint(f"error: {exc}")
        return EXIT_USAGE
    except UsageError as exc:
        _eprint(f"error: {exc}")
        return EXIT_USAGE
    except StackFileError as exc:
        _eprint(*exc.errors)
        return EXIT_USAGE
    except ProgramError as exc:
        config_errors = resolve_config_errors(exc)
        if config_errors is not None:  # the program's own config check (same errors as the pre-check)
            _eprint(*config_errors)
            return EXIT_USAGE
        _eprint(f"error: the Pulumi program failed: {exc.message}")
        if exc.details:
            _eprint(exc.details.rstrip("\n"))
        return EXIT_FAILED
    except ConfigError as exc:
        _eprint(*exc.errors)
        return EXIT_USAGE
    except PlanError as exc:
        _eprint(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
