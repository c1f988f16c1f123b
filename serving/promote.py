"""`python -m serving promote --from dev --to prod [--model NAME ...]`: move model versions between stacks.

Copies the *version fields* of the chosen models (`serving.config.models.VERSION_FIELDS`: runtime and its version,
image, version, artifact, canary/shadow state) from the source stack file into the same-named models of the target
stack file, and nothing else: replicas, resources, pools, hosts and every other per-environment setting stay as they
are. The target file is edited in place with a round-trip YAML parser (ruamel.yaml), so its comments, key order and
quoting survive. The result is validated like any stack file and planned before it is written; the command prints
the resulting plan diff of the target stack.

Exit codes: 0 promoted (or already up to date), 2 refused (unknown stack or model, invalid resulting config),
1 the target's plan failed (nothing written).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .config import ConfigError, validate_stack_file
from .stackfile import PLATFORM_KEY, REPO_ROOT, read_stack, stack_path

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

_MISSING = object()


class PromotionError(Exception):
    """Refused: nothing was written. The message says why and what to do."""


def version_fields() -> tuple[str, ...]:
    """The model paths promotion copies: owned by the model config (`serving.config.models.VERSION_FIELDS`)."""
    from .config.models import VERSION_FIELDS

    return tuple(VERSION_FIELDS)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines
    # The stack files' style: mappings indented 2, list items `- ` indented 2 inside their key.
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load_round_trip(path: Path) -> Any:
    return _yaml().load(path.read_text())


def dump_round_trip(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def _platform(doc: Any, filename: str) -> Any:
    config = (doc or {}).get("config") or {}
    for key in (PLATFORM_KEY, PLATFORM_KEY.split(":", 1)[1]):
        if key in config:
            platform = config[key]
            return platform.get("value", platform) if isinstance(platform, dict) and set(platform) == {"value"} else platform
    raise PromotionError(f"{filename}: no {PLATFORM_KEY} key")


def _models(platform: Any) -> dict[str, Any]:
    return {str(m.get("name")): m for m in (platform.get("models") or []) if isinstance(m, dict)}


def _get(node: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _plain(value: Any) -> Any:
    """A YAML node as plain data (for comparing values, not for writing)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _set(node: Any, path: str, value: Any) -> bool:
    """Set (or, for `_MISSING`, remove) `path` under `node` in place; True when something changed."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            if value is _MISSING:
                return False
            child = CommentedMap()
            node[part] = child
        node = child
    if value is _MISSING:
        if leaf in node:
            del node[leaf]
            return True
        return False
    if leaf in node and _plain(node[leaf]) == _plain(value):
        return False
    node[leaf] = copy.deepcopy(value)
    return True


@dataclass
class FieldChange:
    model: str
    path: str
    old: Any
    new: Any


@dataclass
class Promotion:
    source: str
    target: str
    models: list[str]
    changes: list[FieldChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def promote_documents(source_doc: Any, target_doc: Any, models: Sequence[str], source: str, target: str) -> Promotion:
    """Copy the version fields of `models` (all models of both stacks when empty) from `source_doc` into
    `target_doc` (edited in place)."""
    src_models = _models(_platform(source_doc, f"Pulumi.{source}.yaml"))
    dst_models = _models(_platform(target_doc, f"Pulumi.{target}.yaml"))
    skipped: list[str] = []
    if models:
        problems = []
        for name in models:
            where = [s for s, ms in ((source, src_models), (target, dst_models)) if name not in ms]
            if where:
                problems.append(f"model {name!r} is not in stack {' nor '.join(where)} "
                                f"({source}: {', '.join(sorted(src_models)) or 'no models'}; "
                                f"{target}: {', '.join(sorted(dst_models)) or 'no models'})")
        if problems:
            hint = (f"a model new to {target} needs its per-environment settings (team, resources, scaling): "
                    f"add it to Pulumi.{target}.yaml by hand, then promote its version")
            raise PromotionError("\n".join(problems) + f"\n{hint}")
        chosen = list(dict.fromkeys(models))
    else:
        chosen = [name for name in src_models if name in dst_models]
        skipped = sorted(set(src_models) - set(dst_models))
        if not chosen:
            raise PromotionError(f"no model is in both {source} and {target}: nothing to promote")
    promotion = Promotion(source, target, chosen, skipped=skipped)
    for name in chosen:
        for path in version_fields():
            new = _get(src_models[name], path)
            old = _get(dst_models[name], path)
            if _set(dst_models[name], path, new):
                promotion.changes.append(FieldChange(name, path, old, new))
    return promotion


def _show(value: Any) -> str:
    return "<unset>" if value is _MISSING else json.dumps(_plain(value), sort_keys=True)


def _validate(text: str, target: str, root: Path) -> Path:
    """Validate the new target stack file as the program would; return a temp project root holding it."""
    tmp = Path(tempfile.mkdtemp(prefix="serving-promote-"))
    for name in ("Pulumi.yaml", "__main__.py"):
        if (root / name).is_file():
            shutil.copy(root / name, tmp / name)
    (tmp / f"Pulumi.{target}.yaml").write_text(text)
    try:
        validate_stack_file(read_stack(target, tmp))
    except ConfigError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PromotionError("the promoted config would be invalid:\n" + "\n".join(exc.errors)) from None
    return tmp


def plan_diff_text(target: str, root: Path, new_root: Path) -> str:
    """The target's plan diff: its stack file now (base) against the promoted one (head)."""
    from .plan.compute.capture import capture_plan
    from .plan.compute.diff import diff_plans, round_trip
    from .plan.present.diff import render_text

    before = round_trip(capture_plan(target, root))
    after = round_trip(capture_plan(target, new_root))
    return render_text(diff_plans(before, after, base_label=f"Pulumi.{target}.yaml", head_label="after promotion"))


def promote(source: str, target: str, models: Sequence[str] = (), root: Path = REPO_ROOT,
            write: bool = True, plan: bool = True) -> Promotion:
    root = Path(root).resolve()
    if source == target:
        raise PromotionError("--from and --to name the same stack")
    source_path, target_path = stack_path(source, root), stack_path(target, root)
    source_doc = load_round_trip(source_path)
    target_doc = load_round_trip(target_path)
    promotion = promote_documents(source_doc, target_doc, models, source, target)
    if not promotion.changed:
        return promotion
    text = dump_round_trip(target_doc)
    new_root = _validate(text, target, root)
    try:
        if plan:
            promotion.text = plan_diff_text(target, root, new_root)
    finally:
        shutil.rmtree(new_root, ignore_errors=True)
    if write:
        target_path.write_text(text)
    return promotion


# -- command line ----------------------------------------------------------------------------------------------------


def add_promote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", default="dev", help="stack to take model versions from (default: dev)")
    parser.add_argument("--to", dest="target", default="prod", help="stack to write them into (default: prod)")
    parser.add_argument("--model", dest="models", action="append", default=[], metavar="NAME",
                        help="a model to promote (repeatable; default: every model in both stacks)")
    parser.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, metavar="DIR",
                        help="project directory holding the stack files (default: this checkout)")


def run_promote(args: argparse.Namespace) -> int:
    from .plan.compute.capture import PlanError

    try:
        promotion = promote(args.source, args.target, args.models, args.root, write=not args.dry_run)
    except PromotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except PlanError as exc:
        print(f"error: the plan of {args.target} with the promoted versions failed; nothing written: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for name in promotion.skipped:
        print(f"skipped {name}: only in {promotion.source} (add it to Pulumi.{promotion.target}.yaml by hand first)")
    if not promotion.changed:
        print(f"{promotion.target} already runs the {promotion.source} versions of {', '.join(promotion.models)}: nothing to do")
        return EXIT_OK
    verb = "would promote" if args.dry_run else "promoted"
    print(f"{verb} {', '.join(promotion.models)} from {promotion.source} to {promotion.target}"
          f"{'' if args.dry_run else f' (Pulumi.{promotion.target}.yaml written)'}:")
    for c in promotion.changes:
        print(f"    {c.model}.{c.path}: {_show(c.old)} => {_show(c.new)}")
    print()
    sys.stdout.write(promotion.text)
    return EXIT_OK


__all__ = ["PromotionError", "Promotion", "add_promote_arguments", "promote", "promote_documents", "run_promote"]
