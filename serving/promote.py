"""`python -m serving promote --from dev --to prod [--model NAME ...]`: move model versions between stacks.

Copies the *version fields* of the chosen models (`serving.config.models.VERSION_FIELDS`: runtime and its version,
image, version, artifact; of a canary/shadow candidate only what it serves, `CANDIDATE_FIELDS`) from the source
stack file into the same-named models of the target stack file, and nothing else: replicas, resources, pools, hosts,
a candidate's replicas, weight and mirror percent, and every other per-environment setting stay as they are.

- Artifact locations are per environment: an artifact URI is rewritten through the target's
  `promotion.artifactRoots` (serving/config/promotion.py), and an s3:// URI that no root maps is refused where the
  target serves the model from another bucket.
- Secrets are never copied (each stack has its own encryption key): the command names the secret fields the
  target must set itself.
- The target file is edited with a round-trip YAML parser (ruamel.yaml): its comments, anchors, key order, quoting
  and line endings survive; copied values carry none of the source's comments or anchors. Its indentation is read
  from its own lines (ruamel.yaml applies one indentation to a whole dump and cannot detect it), and every line
  whose content did not change is kept byte for byte, so only the lines carrying moved values differ. It is written
  atomically (a temporary file renamed over it), under a lock so that two promotions never interleave.
- The result is validated like any stack file and planned before it is written; the command prints the resulting
  plan diff of the target stack.

Exit codes: 0 promoted (or already up to date), 2 refused (unknown stack or model, invalid resulting config),
1 the target's plan failed (nothing written).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import fcntl
import io
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from pydantic import ValidationError

from .config import ConfigError, validate_stack_file
from .stackfile import PLATFORM_KEY, REPO_ROOT, read_stack, stack_path

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

_MISSING = object()


class PromotionError(Exception):
    """Refused: nothing was written. The message says why and what to do."""


#: What a canary/shadow candidate serves; its replicas, weight and mirror percent are per environment.
CANDIDATE_FIELDS = ("version", "image", "runtimeVersion", "artifact.uri", "artifact.sizeGi", "artifact.path",
                    "artifact.kmsKeyArn")
CANDIDATES = ("canary", "shadow")


def version_fields() -> tuple[str, ...]:
    """The model paths promotion copies: the model config's `VERSION_FIELDS`, a candidate's narrowed to what it
    serves (`CANDIDATE_FIELDS`)."""
    from .config.models import VERSION_FIELDS

    own = [p for p in VERSION_FIELDS if p not in CANDIDATES]
    return (*own, *(f"{kind}.{f}" for kind in CANDIDATES for f in CANDIDATE_FIELDS))


@dataclass(frozen=True)
class Indent:
    """Block indentation as ruamel.yaml takes it: `mapping` (a nested mapping's keys, relative to its key),
    `sequence` (an item's content, relative to its key) and `offset` (the `-` within that)."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2


#: The shipped stack files' style: mappings indented 2, list items `- ` indented 2 inside their key.
DEFAULT_INDENT = Indent()


def _yaml(indent: Indent = DEFAULT_INDENT) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines
    y.indent(mapping=indent.mapping, sequence=indent.sequence, offset=indent.offset)
    return y


def _text_of(data: bytes) -> str:
    """A stack file's text as the YAML reader takes it: no byte-order mark, `\n` line ends (both put back on write)."""
    return data.decode("utf-8-sig").replace("\r\n", "\n")


def load_round_trip(path: Path) -> Any:
    return _yaml().load(_text_of(path.read_bytes()))


def dump_round_trip(doc: Any, indent: Indent = DEFAULT_INDENT) -> str:
    out = io.StringIO()
    _yaml(indent).dump(doc, out)
    return out.getvalue()


def _block_lines(text: str) -> list[tuple[int, str]]:
    """(indent, content without a trailing comment) of the lines that carry YAML block structure: no blank or
    comment lines, no lines inside block scalars (`key: |`)."""
    out: list[tuple[int, str]] = []
    scalar_above: Optional[int] = None
    for raw in text.split("\n"):
        content = raw.strip()
        indent = _indent_of(raw)
        if scalar_above is not None:
            if not content or indent > scalar_above:
                continue
            scalar_above = None
        if not content or content.startswith("#") or content.startswith("---"):
            continue
        content = content.split(" #", 1)[0].rstrip()
        out.append((indent, content))
        if content.endswith(("|", ">", "|-", ">-", "|+", ">+")):
            scalar_above = indent
    return out


def detect_indent(text: str) -> Indent:
    """The indentation the file itself uses most: for each block key opening a nested mapping or sequence, how far
    its first child is indented (ruamel.yaml cannot tell; it would re-indent the whole file to its own setting)."""
    mappings: Counter[int] = Counter()
    sequences: Counter[tuple[int, int]] = Counter()
    lines = _block_lines(text)
    for (indent, content), (child_indent, child) in zip(lines, lines[1:]):
        key = content[2:].lstrip() if content.startswith("- ") else content
        if not key.endswith(":"):  # not a key opening a block (a scalar, flow or plain item)
            continue
        key_col = indent + (len(content) - len(key))
        if child.startswith("- ") or child == "-":
            dash_gap = len(child) - len(child[1:].lstrip()) if child != "-" else 2
            sequences[(child_indent - key_col + dash_gap, child_indent - key_col)] += 1
        elif child_indent > key_col:
            mappings[child_indent - key_col] += 1
    mapping = mappings.most_common(1)[0][0] if mappings else DEFAULT_INDENT.mapping
    sequence, offset = sequences.most_common(1)[0][0] if sequences else (DEFAULT_INDENT.sequence, DEFAULT_INDENT.offset)
    if offset < 0 or sequence < offset + 2:
        return Indent(mapping, DEFAULT_INDENT.sequence, DEFAULT_INDENT.offset)
    return Indent(mapping, sequence, offset)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def keep_unchanged_lines(original: str, dumped: str) -> str:
    """`dumped` (the edited document) with every line whose content is unchanged taken from `original` as it was
    (its own indentation and spacing); the changed lines are shifted to the indentation of the line before them.
    Falls back to `dumped` when the merge would not read back as the same document."""
    old, new = original.split("\n"), dumped.split("\n")
    matcher = difflib.SequenceMatcher(a=[line.strip() for line in old], b=[line.strip() for line in new], autojunk=False)
    out: list[str] = []
    shift = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += old[i1:i2]
            last_old, last_new = old[i2 - 1], new[j2 - 1]
            shift = _indent_of(last_old) - _indent_of(last_new) if last_old.strip() else 0
            continue
        for line in new[j1:j2]:
            if not line.strip():
                out.append(line)
            elif shift >= 0:
                out.append(" " * shift + line)
            else:
                out.append(line[min(-shift, _indent_of(line)):])
    merged = "\n".join(out)
    safe = YAML(typ="safe")
    try:
        same = _plain(safe.load(merged)) == _plain(safe.load(dumped))
    except Exception:  # a merge that does not parse: the plain dump is right, only less minimal
        same = False
    return merged if same else dumped


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


def _fresh(value: Any) -> Any:
    """A copy of a source YAML node without its comments and anchors (the target must not import them); flow style
    and scalar quoting are kept."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            raise PromotionError("a version field holds a `secure:` (encrypted) value: version fields are never secret; "
                                 "fix the source stack")
        out = CommentedMap()
        for k, v in value.items():
            out[str(k)] = _fresh(v)
        if _flow(value):
            out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_fresh(v) for v in value)
        if _flow(value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return type(value)(str(value)) if type(value) is not str else value
    return value


def _flow(node: Any) -> bool:
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


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
    node[leaf] = _fresh(value)
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
    #: Secret fields the target must set itself (`pulumi config set --secret --path ...`).
    secrets_to_set: list[str] = field(default_factory=list)

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
        listing = (f"({source}: {', '.join(sorted(src_models)) or 'no models'}; "
                   f"{target}: {', '.join(sorted(dst_models)) or 'no models'})")
        for name in models:
            if name not in src_models and name not in dst_models:
                problems.append(f"model {name!r} is not in stack {source} nor {target} {listing}: check the name")
            elif name not in dst_models:
                problems.append(f"model {name!r} is not in stack {target}: a model new to {target} needs its "
                                f"per-environment settings (team, resources, scaling): add it to Pulumi.{target}.yaml "
                                f"by hand, then promote its version")
            elif name not in src_models:
                problems.append(f"model {name!r} is only in {target}, not in {source}: there is no {source} version "
                                f"to promote; to retire it, remove it from Pulumi.{target}.yaml (its plan shows the "
                                f"deletes); to keep it, leave {target} as it is")
        if problems:
            raise PromotionError("\n".join(problems))
        chosen = list(dict.fromkeys(models))
    else:
        chosen = [name for name in src_models if name in dst_models]
        skipped = sorted(set(src_models) - set(dst_models))
        if not chosen:
            raise PromotionError(f"no model is in both {source} and {target}: nothing to promote")
    promotion = Promotion(source, target, chosen, skipped=skipped)
    roots = _artifact_roots(target_doc, target)
    refusals: list[str] = []
    for name in chosen:
        src, dst = src_models[name], dst_models[name]
        own_root = _s3_root(_get(dst, "artifact.uri"))
        for path in version_fields():
            kind = path.split(".", 1)[0]
            if kind in CANDIDATES and not isinstance(src.get(kind), dict):
                if kind in dst:  # the candidate is gone in the source: it goes in the target too
                    promotion.changes.append(FieldChange(name, kind, _plain(dst[kind]), _MISSING))
                    del dst[kind]
                continue
            if kind in CANDIDATES and not isinstance(dst.get(kind), dict):
                dst[kind] = CommentedMap()  # a new candidate: its replicas/weight/percent take the defaults
            new = _get(src, path)
            if path.endswith("artifact.uri") and isinstance(new, str):
                mapped = roots.map_uri(new)
                if mapped is not None:
                    new = type(new)(mapped) if type(new) is not str else mapped
                elif own_root is not None and _s3_root(new) not in (None, own_root):
                    refusals.append(
                        f"{name}.{path}: {source} serves it from {_s3_root(new)}, {target} from {own_root}; {target} "
                        f"would read another environment's bucket. Copy the files to {target}'s bucket and map the "
                        f"root in Pulumi.{target}.yaml: promotion: {{artifactRoots: {{'{_s3_root(new)}': "
                        f"'{own_root}'}}}}")
                    continue
            old = _get(dst, path)
            if _set(dst, path, new):
                promotion.changes.append(FieldChange(name, path, old, new))
        if _get(src, "artifact.hfToken") is not _MISSING and _get(dst, "artifact.hfToken") is _MISSING \
                and str(_get(dst, "artifact.uri")).startswith("hf://"):
            index = list(dst_models).index(name)
            promotion.secrets_to_set.append(
                f"pulumi config set --secret --path '{PLATFORM_KEY}.models[{index}].artifact.hfToken' <token> "
                f"--stack {target}")
    if refusals:
        raise PromotionError("\n".join(refusals))
    return promotion


def _s3_root(uri: Any) -> Optional[str]:
    """`s3://bucket/` of an s3:// URI (None for anything else)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    return "s3://" + uri[len("s3://"):].split("/", 1)[0] + "/"


def _artifact_roots(target_doc: Any, target: str) -> Any:
    from .config.promotion import PromotionConfig

    raw = _plain(_platform(target_doc, f"Pulumi.{target}.yaml").get("promotion") or {})
    try:
        return PromotionConfig.model_validate(raw)
    except ValidationError:
        raise PromotionError(f"Pulumi.{target}.yaml: promotion is invalid: run `python -m serving plan --stack "
                             f"{target}` for the details") from None


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
    with _locked(target_path):
        # Both files are first read strictly, as the Pulumi CLI would (duplicate keys, tabs, ...: refused).
        read_stack(source, root)
        read_stack(target, root)
        source_doc = load_round_trip(source_path)
        original = target_path.read_bytes()
        before = _text_of(original)
        target_doc = _yaml().load(before)
        promotion = promote_documents(source_doc, target_doc, models, source, target)
        if not promotion.changed:
            return promotion
        text = keep_unchanged_lines(before, dump_round_trip(target_doc, detect_indent(before)))
        if b"\r\n" in original:
            text = text.replace("\n", "\r\n")
        if original.startswith(b"\xef\xbb\xbf"):
            text = "\ufeff" + text
        new_root = _validate(text, target, root)
        try:
            if plan:
                promotion.text = plan_diff_text(target, root, new_root)
        finally:
            shutil.rmtree(new_root, ignore_errors=True)
        if write:
            _write_atomically(target_path, text)
    return promotion


@contextlib.contextmanager
def _locked(target_path: Path) -> Iterator[None]:
    """An exclusive lock on `.<stack file>.lock` next to the target (released when the process ends, even killed)."""
    lock_path = target_path.with_name(f".{target_path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PromotionError(f"another promote into {target_path.name} is running (it holds {lock_path.name}): "
                                 f"wait for it to finish, then run this one again") from None
        yield
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file next to `path` and rename it over `path`: a reader sees the old or the new file,
    never half of one; an interrupted write leaves the old file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
    if promotion.secrets_to_set:
        print(f"secrets are never copied between stacks: {promotion.target} must set its own:")
        for command in promotion.secrets_to_set:
            print(f"    {command}")
    print()
    sys.stdout.write(promotion.text)
    return EXIT_OK


__all__ = ["PromotionError", "Promotion", "add_promote_arguments", "promote", "promote_documents", "run_promote"]
