"""Reading and validating the platform config, with errors a user can act on.

Every error names the stack file, the config key and the field path, e.g.
`Pulumi.dev.yaml: serving:platform.models[1].resources.gpus: Input should be greater than 0`.
All errors are collected and reported at once, before any resource is registered. Input values are never
echoed, so a secret in a wrong place is not printed either.
"""

from __future__ import annotations

import copy
import difflib
import json
import sys
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Callable, Mapping, Optional, Sequence, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from ..stackfile import PLATFORM_KEY, StackFile, parse_stack_text, project_name
from ..stackyaml import StackFileError
from .base import DNS1123_LABEL, Issue
from .messages import describe, scrub
from .platform import PlatformConfig, cross_checks


class ConfigError(pulumi.RunError):
    """Invalid stack config. `errors` holds one formatted line per problem."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("invalid stack config:\n" + "\n".join(self.errors))


def format_loc(loc: Sequence[str | int]) -> str:
    out = PLATFORM_KEY
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def item_names(loc: Sequence[str | int], raw: Any) -> str:
    """` (models[47] is llama-70b)`: the list items on `loc` named by their `name` in `raw` (the platform value as
    written), so that an error in a long list is easy to find; empty when no item on the path has a name."""
    named = []
    node = raw
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and DNS1123_LABEL.match(name) and len(name) <= 63:
                named.append(f"{path.lstrip('.')} is {name}")
        else:
            path += f".{part}"
            node = node.get(part) if isinstance(node, dict) else None
    return f" ({'; '.join(named)})" if named else ""


def _line(source: str, loc: Sequence[str | int], msg: str, raw: Any, marks: Optional["Marks"]) -> str:
    return f"{_where(source, loc, marks)}: {format_loc(loc)}: {msg}{item_names(loc, raw)}"


def _model_at(loc: Sequence[str | int]) -> Optional[type[BaseModel]]:
    """The config model class that the object at `loc` is validated as (for listing allowed keys)."""
    model: Any = PlatformConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """list[X] / Optional[X] / dict[str, X] -> X (the first BaseModel found), else tp."""
    for arg in get_args(tp) if get_origin(tp) is not None else ():
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return tp


def _message(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        model = _model_at(err["loc"][:-1])
        if model is not None:
            allowed = sorted(f.alias or n for n, f in model.model_fields.items())
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"unknown key {key!r}{hint} (allowed: {', '.join(allowed)})"
    if err["type"] == "missing":
        return "required key is missing"
    return scrub(describe(err), err.get("input"))


Marks = Mapping[tuple[Any, ...], tuple[int, int]]


def _where(source: str, loc: Sequence[str | int], marks: Optional[Marks]) -> str:
    """`file:line:col` of the deepest part of `loc` the file has (a missing key: its parent)."""
    if marks:
        for n in range(len(loc), -1, -1):
            mark = marks.get(tuple(loc[:n]))
            if mark is not None:
                return f"{source}:{mark[0]}:{mark[1]}"
    return source


class _Repair:
    """A copy of the raw platform value with every schema error cut out (the key removed, so it takes its default;
    a broken top-level list item dropped), so that the cross-field checks still run on everything else."""

    def __init__(self, raw: dict[str, Any]):
        self.data = copy.deepcopy(raw)
        #: list path (without indexes) -> original index of each remaining item
        self.index: dict[tuple[Any, ...], list[int]] = {}

    def cut(self, loc: Sequence[str | int]) -> bool:
        node: Any = self.data
        found: list[Any] = []
        parents: list[Any] = []
        for part in loc:
            if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                pass
            elif isinstance(part, str) and isinstance(node, dict) and part in node:
                pass
            else:
                break
            parents.append(node)
            found.append(part)
            node = node[part]
        ints = [i for i, p in enumerate(found) if isinstance(p, int)]
        if len(ints) > 1:  # inside a list inside a list item: cut the item's key that holds it
            found, parents = found[: ints[0] + 2], parents[: ints[0] + 2]
        if not found:
            return False
        last, parent = found[-1], parents[-1]
        if isinstance(last, int):
            path = tuple(found[:-1])
            order = self.index.setdefault(path, list(range(len(parent))))
            del order[last]
        del parent[last]
        return True

    def original(self, loc: Sequence[str | int]) -> tuple[str | int, ...]:
        out: list[str | int] = []
        for part in loc:
            if isinstance(part, int) and tuple(out) in self.index:
                order = self.index[tuple(out)]
                out.append(order[part] if part < len(order) else part)
            else:
                out.append(part)
        return tuple(out)


def _cross_issues(raw: dict[str, Any]) -> tuple[Optional[PlatformConfig], list[Issue]]:
    """The cross-field issues of `raw`, also when parts of it fail the schema (those parts are cut out first)."""
    repair = _Repair(raw)
    for _ in range(8):
        try:
            cfg = PlatformConfig.model_validate(repair.data)
        except ValidationError as exc:
            if not any([repair.cut(e["loc"]) for e in exc.errors()]):
                return None, []
            continue
        if set(repair.index) - {("models",)}:
            # A dropped team, pool, ... would make references to it look dangling: report the schema errors alone.
            return cfg, []
        return cfg, [Issue(repair.original(i.loc), i.msg) for i in cross_checks(cfg)]
    return None, []


def _field_type(path: Sequence[Any]) -> Any:
    """The type the schema expects at `path` inside `serving:platform` (None where the schema has no such place)."""
    tp: Any = PlatformConfig
    for part in path:
        tp = _strip(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is list and isinstance(part, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (Union, UnionType):
            options = [_field_type_in(o, part) for o in get_args(tp)]
            options = [o for o in options if o is not None]
            if not options:
                return None
            tp = options[0]
        else:
            return None
    return _strip(tp)


def _field_type_in(tp: Any, part: Any) -> Any:
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
        return field.annotation if field is not None else None
    return None


def _strip(tp: Any) -> Any:
    """Optional[X] -> X, Annotated[X, ...] -> X (a union of several types stays a union)."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _secret_values(obj: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths (YAML keys) of every secret value set in a validated config."""
    if isinstance(obj, SecretStr):
        return [loc]
    if isinstance(obj, BaseModel):
        out = []
        for name, f in type(obj).model_fields.items():
            out += _secret_values(getattr(obj, name), (*loc, f.alias or name))
        return out
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in _secret_values(v, (*loc, i))]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _secret_values(v, (*loc, k))]
    return []


def secret_issues(raw: dict[str, Any], cfg: Optional[PlatformConfig], secure_paths: frozenset[tuple[Any, ...]],
                  ) -> tuple[list[Issue], list[Issue]]:
    """(errors, warnings) about secrets: a `secure:` value where the schema expects no secret is an error; a secret
    field in plain text warns, and is an error in a stack whose environment is prod."""
    errors = []
    for path in sorted(secure_paths, key=str):
        if _field_type(path) is not SecretStr:
            errors.append(Issue(path, "a `secure:` (encrypted) value where the schema expects no secret: only secret "
                                      "fields take `pulumi config set --secret`; set this one in plain text"))
    warnings: list[Issue] = []
    if cfg is not None:
        prod = cfg.environment == "prod"
        for path in _secret_values(cfg):
            if path not in secure_paths:
                msg = (f"a secret in plain text: encrypt it with `pulumi config set --secret --path "
                       f"'{format_loc(path)}' <value>`")
                (errors if prod else warnings).append(
                    Issue(path, msg + (" (plain-text secrets are refused in prod)" if prod else "")))
    return errors, warnings


def parse_platform(raw: Any, source: str, marks: Optional[Marks] = None,
                   secure_paths: Optional[frozenset[tuple[Any, ...]]] = None,
                   warn: Optional[Callable[[str], None]] = None) -> PlatformConfig:
    """Validate the raw `serving:platform` value (already parsed from YAML/JSON). Raises ConfigError with every
    problem at once: schema errors and cross-field errors (checked on what is left when the broken parts are cut out).
    `marks` (path -> (line, column) from serving.stackyaml) adds the line and column to each error."""
    if raw is None:
        raise ConfigError([f"{source}: {PLATFORM_KEY}: required key is missing (the whole platform config lives under it)"])
    if not isinstance(raw, dict):
        raise ConfigError([f"{_where(source, (), marks)}: {PLATFORM_KEY}: must be a mapping (indent the platform's "
                           f"settings under it), got {describe_type(raw)}"])
    lines: list[str] = []
    schema_locs: list[tuple[str | int, ...]] = []
    cfg: Optional[PlatformConfig] = None
    try:
        cfg = PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        for e in exc.errors():
            loc = tuple(e["loc"])
            schema_locs.append(loc)
            lines.append(_line(source, loc, _message(e), raw, marks))
        cfg, issues = _cross_issues(raw)
        cfg = None  # a config that failed the schema is never returned
    else:
        issues = cross_checks(cfg)
    if secure_paths is not None:
        secret_errors, secret_warnings = secret_issues(raw, cfg, secure_paths)
        issues = [*issues, *secret_errors]
        for w in secret_warnings:
            text = _line(source, w.loc, f"warning: {w.msg}", raw, marks)
            (warn or _stderr)(text)
    for i in issues:
        if any(i.loc[: len(s)] == s for s in schema_locs):
            continue  # that field already has its schema error
        lines.append(_line(source, i.loc, i.msg, raw, marks))
    if lines:
        raise ConfigError(sorted(set(lines), key=lines.index))
    assert cfg is not None
    return cfg


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def describe_type(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list"}.get(type(value), "a value")


def validate_stack_file(sf: StackFile) -> PlatformConfig:
    """Validate the platform config of a stack file (offline: secure values are placeholders)."""
    return parse_platform(sf.config.get(PLATFORM_KEY), sf.filename, sf.marks, sf.secure_paths)


def load_platform_config() -> PlatformConfig:
    """Read `serving:platform` from the running Pulumi program's config (what `pulumi up` passes)."""
    from pulumi.runtime.config import get_config

    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    value = get_config(PLATFORM_KEY)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError([f"{source}: {PLATFORM_KEY}: must be an object (structured config), got a string"]) from None
    local = _local_stack_file(source)
    if local is None:
        return parse_platform(value, source, warn=pulumi.log.warn)
    # Values come from the engine (what the CLI parsed); the file itself adds lines, columns, which paths were
    # `secure:`, and refuses what the CLI would silently accept (a key given twice, `on:` as a key).
    return parse_platform(value, source, local.marks, local.secure_paths, warn=pulumi.log.warn)


def _local_stack_file(source: str) -> Optional[StackFile]:
    """Under a real `pulumi up` (not under mocks), the stack file next to the program, read strictly."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    if isinstance(getattr(settings.SETTINGS, "monitor", None), MockMonitor):
        return None  # the offline plan has read (and checked) the stack file already
    path = Path.cwd() / source
    if not path.is_file() or not (Path.cwd() / "Pulumi.yaml").is_file():
        return None  # config from elsewhere (e.g. Pulumi ESC): nothing more to check
    try:
        return parse_stack_text(path.read_bytes(), pulumi.get_stack(), source, project_name(Path.cwd()))
    except StackFileError as exc:
        raise ConfigError(exc.errors) from None


def json_schema() -> dict[str, Any]:
    """JSON Schema of a whole stack file (`config: {serving:platform: ...}`) for editors."""
    platform = PlatformConfig.model_json_schema(by_alias=True, mode="validation")
    defs = platform.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Pulumi stack file of the serving platform",
        "type": "object",
        "properties": {
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "config": {
                "type": "object",
                "properties": {PLATFORM_KEY: platform},
                "required": [PLATFORM_KEY],
                "additionalProperties": True,
            },
        },
        "$defs": defs,
    }
