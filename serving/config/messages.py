"""Config errors in words: what a pattern allows, what a wrong type means in YAML, and never the input value.

`describe(err)` turns one pydantic error into a sentence a user can act on. Patterns are looked up by their text
(`PATTERN_WORDS`); a pattern not listed gets a generic sentence pointing at the schema, never the raw expression.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

from .base import DNS1123_LABEL

_DURATION_GW = "a duration such as 30s, 500ms, 5m or 1h"
#: Regular expression (as written in the config models) -> what it allows, in words.
PATTERN_WORDS: dict[str, str] = {
    DNS1123_LABEL.pattern: "lowercase letters, digits and '-', starting and ending with a letter or digit",
    r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$": "a Kubernetes CPU quantity such as 500m, 2 or 1.5",
    r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$": "a Kubernetes quantity such as 24Gi, 512Mi or 1G",
    r"^[0-9]+(ms|s|m|h|d|w|y)$": "a duration such as 30s, 5m, 12h or 15d",
    r"^[0-9]+(s|m|h)$": "a duration such as 30s, 10m or 1h",
    r"^[0-9]+(s|m)$": "a duration such as 15s or 1m",
    r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$": "an AWS region such as us-east-1 or eu-west-2",
    r"^1\.[0-9]{2}$": "a Kubernetes minor version such as \"1.34\" (quoted: an unquoted 1.30 is the number 1.3)",
    r"^Z[A-Z0-9]{1,32}$": "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an e-mail address",
    r"^https://\S+$": "an https:// URL",
    r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$": "a lowercase DNS name such as models.example.com, or a "
    "wildcard such as *.models.example.com",
    r"^[A-Za-z0-9-]+$": "letters, digits and '-' (an HTTP header name)",
    r"^https?://[a-z0-9.\-]+(:[0-9]{1,5})?/?$": "an http(s):// URL of a host and optional port, no path",
    r"^[A-Za-z0-9_.\-]{1,150}$": "letters, digits, '_', '.' and '-' (at most 150)",
    r"^/[\w.\-/]*$": "an absolute path such as /models/resnet",
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$": "letters, digits, '_', '.' and '-', starting with a letter or digit (it becomes "
    "a label value); quote it, e.g. \"2026-11-01\"",
    r"^[\w][\w.\-]{0,127}$": "an image tag: letters, digits, '_', '.' and '-', at most 128",
    r"^/\S*$": "a path starting with '/', no spaces",
    r"^(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)+$": "a path such as /models/llama: lowercase segments of letters, digits, "
    "'-', '.' and '_'",
    r"^[#@]?[a-z0-9_.\-]{1,80}$": "a Slack channel such as #ml-alerts",
    r"^[1-7]g\.[0-9]{1,3}gb$": "a MIG profile such as 1g.10gb or 3g.40gb (compute slices, then memory)",
    r"^([0-9]{1,5}(h|m|s|ms))$": _DURATION_GW,
    r"^[0-9]{1,5}(h|m|s|ms)$": _DURATION_GW,
}

_TYPE_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping",
               type(None): "empty (null)"}


def _got(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), "a value of another type")


def _quote_hint(value: Any) -> str:
    if isinstance(value, bool):
        return ("; YAML 1.1, which the Pulumi CLI uses, reads unquoted on/off/yes/no/y/n/true/false as booleans: "
                "quote it")
    if isinstance(value, float):
        return "; an unquoted number such as 1.10 is read as the number 1.1: quote it (\"1.10\")"
    if isinstance(value, int):
        return "; quote it if it is text (\"...\")"
    return ""


def describe(err: ErrorDetails) -> str:
    """One pydantic error in words, without the input value."""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(str(ctx.get("pattern")))
        return f"must be {words}" if words else "is not in the expected format (see this field in schema/stack.schema.json)"
    if kind == "string_type":
        return f"must be text, got {_got(value)}{_quote_hint(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, str):
            return "must be a whole number, got text: write it without quotes, e.g. 3"
        return f"must be a whole number, got {_got(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, got {_got(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {_got(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping (key: value lines), got {_got(value)}"
    if kind == "list_type":
        return f"must be a list (- item lines or [a, b]), got {_got(value)}"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"is too short: at least {ctx.get('min_length')} characters"
    if kind == "union_tag_invalid":
        return f"unknown {ctx.get('discriminator', 'kind')}: expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"{ctx.get('discriminator', 'kind')} is missing"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def scrub(text: str, value: Any) -> str:
    """`text` without the input value (a secret pasted into the wrong field must not be printed)."""
    if isinstance(value, str) and len(value) >= 3 and value in text:
        shown = repr(value)
        text = text.replace(" " + shown, "").replace(shown + ": ", "").replace(shown, "this value")
        return text.replace(value, "this value")
    return text
