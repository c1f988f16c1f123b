"""`python -m serving history --stack S [--model M] [--json]`: every change of what a model serves, read from the
git history of the stack file. Git is the deployment record: each commit that changed a model's version, image,
artifact, runtime, candidates, weights or stopped flag is listed with its time, commit, author and from -> to.

Old revisions are read as plain YAML (not validated: the schema may have moved since), and only the fields below
are compared, so nothing else from a stack file (secrets included) is ever printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import yaml

from ..stackfile import REPO_ROOT

PLATFORM_KEY = "serving:platform"
#: What a model serves: field -> how to read it from the model's stack-file entry.
FIELDS = ("runtime", "runtimeVersion", "image", "version", "artifact", "canary", "shadow", "stopped")


@dataclass(frozen=True)
class Commit:
    sha: str
    when: str
    author: str
    subject: str


@dataclass(frozen=True)
class ModelChange:
    when: str
    commit: str
    author: str
    subject: str
    model: str
    field: str
    old: Optional[str]
    new: Optional[str]


def _candidate(c: Any, share: str) -> Optional[str]:
    if not isinstance(c, dict):
        return None
    parts = [str(c.get("version"))]
    if isinstance(c.get("artifact"), dict) and c["artifact"].get("uri"):
        parts.append(str(c["artifact"]["uri"]))
    if c.get("image"):
        parts.append(str(c["image"]))
    if c.get(share) is not None:
        parts.append(f"{c[share]}%")
    return " ".join(parts)


def serving_facts(entry: dict[str, Any]) -> dict[str, Optional[str]]:
    """The fields of one model entry that say what it serves, as display strings (None: unset)."""
    artifact = entry.get("artifact")
    return {
        "runtime": entry.get("runtime"),
        "runtimeVersion": entry.get("runtimeVersion"),
        "image": entry.get("image"),
        "version": None if entry.get("version") is None else str(entry.get("version")),
        "artifact": artifact.get("uri") if isinstance(artifact, dict) else None,
        "canary": _candidate(entry.get("canary"), "weight"),
        "shadow": _candidate(entry.get("shadow"), "percent"),
        "stopped": "true" if entry.get("stopped") else None,
    }


def models_of(text: Optional[str]) -> dict[str, dict[str, Optional[str]]]:
    """Model name -> serving facts, from a stack file's text (an unreadable revision counts as no models)."""
    if not text:
        return {}
    try:
        doc = yaml.safe_load(text)
        models = doc["config"][PLATFORM_KEY]["models"]
    except (yaml.YAMLError, KeyError, TypeError):
        return {}
    return {str(m["name"]): serving_facts(m) for m in models or [] if isinstance(m, dict) and "name" in m}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def commits(root: Path, path: str) -> list[Commit]:
    """Commits that touched `path`, oldest first."""
    out = _git(root, "log", "--reverse", "--format=%H%x1f%aI%x1f%an <%ae>%x1f%s%x1e", "--", path)
    found = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if record:
            sha, when, author, subject = record.split("\x1f")
            found.append(Commit(sha, when, author, subject))
    return found


def _show(root: Path, sha: str, path: str) -> Optional[str]:
    try:
        return _git(root, "show", f"{sha}:{path}")
    except subprocess.CalledProcessError:  # the file was deleted in this commit
        return None


def changes(root: Path, stack: str, model: Optional[str] = None) -> Iterator[ModelChange]:
    """Every change of a model's serving facts in `Pulumi.<stack>.yaml`, oldest first."""
    path = f"Pulumi.{stack}.yaml"
    before: dict[str, dict[str, Optional[str]]] = {}
    for c in commits(root, path):
        after = models_of(_show(root, c.sha, path))
        for name in sorted(set(before) | set(after)):
            if model is not None and name != model:
                continue
            old, new = before.get(name), after.get(name)
            if old is None or new is None:
                def summary(facts: Optional[dict[str, Optional[str]]]) -> Optional[str]:
                    return None if facts is None else f"{facts['runtime']} version {facts['version']}"

                yield ModelChange(c.when, c.sha[:12], c.author, c.subject, name, "model", summary(old), summary(new))
                continue
            for f in FIELDS:
                if old[f] != new[f]:
                    yield ModelChange(c.when, c.sha[:12], c.author, c.subject, name, f, old[f], new[f])
        before = after


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack file whose history to read: Pulumi.<STACK>.yaml (default: dev)")
    parser.add_argument("--model", help="only this model")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="git checkout holding the stack files (default: this one)")


def render_text(found: list[ModelChange]) -> str:
    lines = []
    for ch in found:
        old = "(none)" if ch.old is None else ch.old
        new = "(none)" if ch.new is None else ch.new
        if ch.field == "model":
            what = f"added ({new})" if ch.old is None else f"removed (was {old})"
        else:
            what = f"{ch.field}: {old} -> {new}"
        subject = ch.subject if len(ch.subject) <= 60 else ch.subject[:57] + "..."
        lines.append(f"{ch.when}  {ch.commit}  {ch.author}  {ch.model}  {what}  [{subject}]")
    return "\n".join(lines) + ("\n" if lines else "")


def run_history(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    root = Path(args.root)
    if not (root / f"Pulumi.{args.stack}.yaml").exists() and not commits_safe(root, f"Pulumi.{args.stack}.yaml"):
        raise UsageError(f"no stack file Pulumi.{args.stack}.yaml in {root} nor in its git history")
    try:
        found = list(changes(root, args.stack, args.model))
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        raise UsageError(f"{root} is not a git checkout with history ({exc})") from None
    if args.model is not None and not any(ch.model == args.model for ch in found):
        raise UsageError(f"Pulumi.{args.stack}.yaml: model {args.model!r} never appears in its git history")
    sys.stdout.write(json.dumps([asdict(ch) for ch in found], indent=2) + "\n" if args.json else render_text(found))
    return 0


def commits_safe(root: Path, path: str) -> list[Commit]:
    try:
        return commits(root, path)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return []
