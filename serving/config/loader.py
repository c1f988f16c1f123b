"""Reading and validating the platform config, with errors a user can act on.

Every error names the stack file, the config key and the field path, e.g.
`Pulumi.dev.yaml: serving:platform.models[1].resources.gpus: Input should be greater than 0`.
All errors are collected and reported at once, before any resource is registered. Input values are never
echoed, so a secret in a wrong place is not printed either.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Optional, Sequence, get_args, get_origin

import pulumi
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..stackfile import PLATFORM_KEY, StackFile
from .base import Issue
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
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        model = _model_at(err["loc"][:-1])
        if model is not None:
            allowed = sorted(f.alias or n for n, f in model.model_fields.items())
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"unknown key {key!r}{hint} (allowed: {', '.join(allowed)})"
    elif err["type"] == "missing":
        msg = "required key is missing"
    return msg


def parse_platform(raw: Any, source: str) -> PlatformConfig:
    """Validate the raw `serving:platform` value (already parsed from YAML/JSON). Raises ConfigError."""
    if raw is None:
        raise ConfigError([f"{source}: {PLATFORM_KEY}: required key is missing (the whole platform config lives under it)"])
    if not isinstance(raw, dict):
        raise ConfigError([f"{source}: {PLATFORM_KEY}: must be an object, got {type(raw).__name__}"])
    try:
        cfg = PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {format_loc(e['loc'])}: {_message(e)}" for e in exc.errors()]
        raise ConfigError(sorted(set(lines), key=lines.index)) from None
    issues: list[Issue] = cross_checks(cfg)
    if issues:
        raise ConfigError([f"{source}: {format_loc(i.loc)}: {i.msg}" for i in issues])
    return cfg


def validate_stack_file(sf: StackFile) -> PlatformConfig:
    """Validate the platform config of a stack file (offline: secure values are placeholders)."""
    return parse_platform(sf.config.get(PLATFORM_KEY), sf.filename)


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
    return parse_platform(value, source)


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
