"""Reading `Pulumi.<stack>.yaml` stack files the way the Pulumi CLI hands them to a program.

The CLI decrypts `secure:` values and passes every config key as a string (objects and lists as JSON) plus the
list of keys that held a secret. Offline there is no passphrase or KMS key, so each `secure:` value is replaced
by a placeholder and its top-level key is marked secret, exactly as the CLI would mark it.

Project-level config (`config:` in `Pulumi.yaml`, e.g. `pulumi:disable-default-providers`) reaches the program
too: an entry's `value` (or `default`, or a plain value) applies to every stack, and a stack's own value for the
same key wins (https://www.pulumi.com/docs/iac/concepts/config/#project-level-configuration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import stackyaml
from .stackyaml import StackFileError

#: The Pulumi project name (Pulumi.yaml `name`), which is also the config namespace.
PROJECT = "serving"
#: The one structured config key holding the whole platform.
PLATFORM_KEY = f"{PROJECT}:platform"
#: What a `secure:` value reads as offline. Never a real secret.
SECRET_PLACEHOLDER = "offline-placeholder-secret"

REPO_ROOT = Path(__file__).resolve().parent.parent


class UnknownStackError(Exception):
    """A stack name with no `Pulumi.<stack>.yaml` next to `Pulumi.yaml`."""


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    #: Full config keys (`project:key`) to plain Python values, secure values replaced by placeholders.
    config: dict[str, Any]
    #: Full config keys that hold (or contain) a `secure:` value.
    secret_keys: frozenset[str] = field(default_factory=frozenset)
    #: The project's name (`Pulumi.yaml` `name`).
    project: str = PROJECT
    #: Project-level config values (`Pulumi.yaml` `config:`), full keys; the stack's own values override them.
    project_config: dict[str, Any] = field(default_factory=dict)
    #: Where each value of the platform key is in the file: path inside `serving:platform` -> (line, column).
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    #: Paths inside `serving:platform` that hold a `secure:` value.
    secure_paths: frozenset[tuple[Any, ...]] = field(default_factory=frozenset)

    @property
    def filename(self) -> str:
        return self.path.name

    def effective_config(self) -> dict[str, Any]:
        """Project values, then the stack's (a stack value for the same key wins)."""
        return {**self.project_config, **self.config}

    def runtime_config(self) -> dict[str, str]:
        """Config as the CLI passes it to the language host: strings, objects and lists as JSON."""
        return {key: value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                for key, value in self.effective_config().items()}


def list_stacks(root: Path = REPO_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def read_project(root: Path = REPO_ROOT) -> dict[str, Any]:
    """The parsed `Pulumi.yaml` of `root` ({} when there is none), read like the CLI reads it."""
    path = Path(root) / "Pulumi.yaml"
    if not path.is_file():
        return {}
    doc = stackyaml.parse(path.read_bytes(), path.name).value
    if not isinstance(doc, dict):
        raise StackFileError([f"{path.name}: the file must be a mapping (name: ..., runtime: ...)"])
    return doc


def project_name(root: Path = REPO_ROOT, project_doc: Optional[dict[str, Any]] = None) -> str:
    doc = read_project(root) if project_doc is None else project_doc
    return str(doc.get("name") or PROJECT)


def _project_values(project_doc: dict[str, Any], project: str) -> dict[str, Any]:
    """`config:` of Pulumi.yaml as values: an entry's `value`, else its `default`; a plain entry is its value."""
    out: dict[str, Any] = {}
    for key, entry in (project_doc.get("config") or {}).items():
        if isinstance(entry, dict) and ({"value", "default", "type", "description", "secret", "items"} & set(entry)):
            if "value" in entry:
                out[_qualify(str(key), project)] = entry["value"]
            elif "default" in entry:
                out[_qualify(str(key), project)] = entry["default"]
        else:
            out[_qualify(str(key), project)] = entry
    return out


def _qualify(key: str, project: str = PROJECT) -> str:
    return key if ":" in key else f"{project}:{key}"


def _strip_secure(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ...}` leaves by the placeholder; report whether any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return SECRET_PLACEHOLDER, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], f = _strip_secure(v)
            found |= f
        return out, found
    if isinstance(value, list):
        found = False
        items = []
        for v in value:
            item, f = _strip_secure(v)
            items.append(item)
            found |= f
        return items, found
    return value, False


def stack_path(stack: str, root: Path = REPO_ROOT) -> Path:
    """`root/Pulumi.<stack>.yaml`, or UnknownStackError naming the stacks that exist."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        existing = ", ".join(list_stacks(root)) or "none"
        raise UnknownStackError(f"unknown stack {stack!r}: no {path.name} in {root} (stacks: {existing})")
    return path


def parse_stack_text(text: str | bytes, stack: str, filename: str, project: str = PROJECT) -> StackFile:
    """A stack file's text read as the Pulumi CLI reads it (serving/stackyaml.py). Raises StackFileError."""
    parsed = stackyaml.parse(text, filename)
    doc = parsed.value

    def at(path: tuple[Any, ...]) -> str:
        line, col = parsed.marks.get(path, (None, None))
        return f"{filename}:{line}:{col}" if line is not None else filename

    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise StackFileError([f"{at(())}: the file must be a mapping with a `config:` key, not a "
                              f"{_kind(doc)}: start it with `config:` and indent the settings under it"])
    errors = []
    for key in doc:
        if key not in stackyaml.STACK_TOP_KEYS:
            errors.append(f"{at((key,))}: unknown top-level key {key!r} (a stack file has: "
                          f"{', '.join(stackyaml.STACK_TOP_KEYS)}): settings go under `config:`")
    raw = doc.get("config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{at(('config',))}: `config:` must be a mapping of `<project>:<key>: value`, not a "
                      f"{_kind(raw)}: indent the settings under it")
        raw = {}
    config: dict[str, Any] = {}
    secret: set[str] = set()
    marks: dict[tuple[Any, ...], tuple[int, int]] = {}
    secure_paths: frozenset[tuple[Any, ...]] = frozenset()
    for key, value in raw.items():
        if key.count(":") > 1 or key.startswith(":") or key.endswith(":"):
            errors.append(f"{at(('config', key))}: the config key is not of the form `<namespace>:<name>` (the "
                          f"Pulumi CLI refuses it): e.g. {PLATFORM_KEY}")
            continue
        full = _qualify(str(key), project)
        if full in config:
            errors.append(f"{at(('config', key))}: the config key {full} is given twice (once with and once without "
                          f"the `{project}:` prefix): keep one")
            continue
        plain, found = _strip_secure(stackyaml.to_runtime(value))
        config[full] = plain
        if found:
            secret.add(full)
        if full == PLATFORM_KEY:
            prefix = ("config", key)
            marks = {p[2:]: m for p, m in parsed.marks.items() if p[:2] == prefix}
            secure_paths = frozenset(p for p, _ in stackyaml.walk_secure(value))
    if errors:
        raise StackFileError(errors)
    return StackFile(stack=stack, path=Path(filename), config=config, secret_keys=frozenset(secret), project=project,
                     marks=marks, secure_paths=secure_paths)


def _kind(value: Any) -> str:
    return {list: "list", str: "text value", bool: "boolean", int: "number", float: "number"}.get(type(value), "value")


def read_stack(stack: str, root: Path = REPO_ROOT) -> StackFile:
    path = stack_path(stack, root)
    project_doc = read_project(root)
    project = project_name(root, project_doc)
    sf = parse_stack_text(path.read_bytes(), stack, path.name, project)
    return StackFile(stack=stack, path=path, config=sf.config, secret_keys=sf.secret_keys, project=project,
                     project_config=_project_values(project_doc, project), marks=sf.marks,
                     secure_paths=sf.secure_paths)
