"""Reading `Pulumi.<stack>.yaml` stack files the way the Pulumi CLI hands them to a program.

The CLI decrypts `secure:` values and passes every config key as a string (objects and lists as JSON) plus the
list of keys that held a secret. Offline there is no passphrase or KMS key, so each `secure:` value is replaced
by a placeholder and its top-level key is marked secret, exactly as the CLI would mark it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    @property
    def filename(self) -> str:
        return self.path.name

    def runtime_config(self) -> dict[str, str]:
        """Config as the CLI passes it to the language host: strings, objects and lists as JSON."""
        out: dict[str, str] = {}
        for key, value in self.config.items():
            out[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return out


def list_stacks(root: Path = REPO_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _qualify(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


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


def read_stack(stack: str, root: Path = REPO_ROOT) -> StackFile:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        existing = ", ".join(list_stacks(root)) or "none"
        raise UnknownStackError(f"unknown stack {stack!r}: no {path.name} in {root} (stacks: {existing})")
    doc = yaml.safe_load(path.read_text()) or {}
    raw = doc.get("config") or {}
    config: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in raw.items():
        full = _qualify(str(key))
        # The CLI accepts `key: {value: ...}` as well as `key: ...` for structured values.
        plain, found = _strip_secure(value)
        config[full] = plain
        if found:
            secret.add(full)
    return StackFile(stack=stack, path=path, config=config, secret_keys=frozenset(secret))
