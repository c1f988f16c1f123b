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

import yaml

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
    """The parsed `Pulumi.yaml` of `root` ({} when there is none)."""
    path = Path(root) / "Pulumi.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


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
        if set(value) == {"secure"}:
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


def read_stack(stack: str, root: Path = REPO_ROOT) -> StackFile:
    path = stack_path(stack, root)
    project_doc = read_project(root)
    project = project_name(root, project_doc)
    doc = yaml.safe_load(path.read_text()) or {}
    raw = doc.get("config") or {}
    config: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in raw.items():
        full = _qualify(str(key), project)
        # The CLI accepts `key: {value: ...}` as well as `key: ...` for structured values.
        plain, found = _strip_secure(value)
        config[full] = plain
        if found:
            secret.add(full)
    return StackFile(stack=stack, path=path, config=config, secret_keys=frozenset(secret), project=project,
                     project_config=_project_values(project_doc, project))
