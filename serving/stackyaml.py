"""Parsing `Pulumi.<stack>.yaml` text exactly as the Pulumi CLI does, with bounded time and memory.

What the CLI does (pulumi/pulumi, checked at the 3.x line the project pins):
- `sdk/go/common/encoding/marshal.go` decodes stack files with `gopkg.in/yaml.v2` (v2.4.0 in `sdk/go.mod`). That is
  YAML 1.1 scalar resolution: unquoted `on`/`off`/`yes`/`no`/`y`/`n` (any case variant in its table) are booleans,
  `010` is octal, `1_000` is 1000, `0x1F` is hex; timestamps decoded into `interface{}` stay strings; anchors,
  aliases and merge keys (`<<`) work; a key given twice is NOT an error there (the last one silently wins); more
  than one document (`---`) is silently ignored after the first.
- `sdk/go/common/resource/config/object.go` turns the decoded value into config objects: map keys become strings
  with Go's `%v` (an unquoted key `on:` becomes `"true"`), numbers are int64 or float64, and an object value
  reaches the program as JSON written by Go's `encoding/json` (a float 3.0 is written `3`, infinity cannot be
  written at all), a mapping with the single key `secure` is a secret.
So the program under `pulumi up` sees exactly `to_runtime()` of what this module returns. Where the CLI would
silently pick something (duplicates, a YAML 1.1 boolean used as a key, a second document) or fail in an obscure
way (an integer beyond 64 bits, `.inf`), this reader refuses with the line and column and what to do: such a
file means something different from what its author wrote.

Bounds: the file size, the nesting depth and the number of values after alias expansion are limited, so an alias
bomb ("billion laughs") or a deeply nested file is an error in milliseconds, not an out-of-memory.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: Limits. The shipped stack files are ~10 KB, nest 8 deep and hold ~1,000 values.
MAX_BYTES = 2 * 2**20
MAX_DEPTH = 64
MAX_VALUES = 50_000
INT64 = (-(2**63), 2**63 - 1)

_PLAIN = "!go-plain"  # tag given to plain (unquoted, untagged) scalars: resolved below with yaml.v2's rules
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"

# gopkg.in/yaml.v2 resolve.go: the resolve table (exact spellings only, e.g. `oN` is a string).
_TABLE: dict[str, Any] = {}
for _words, _value in (
    (("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    (("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    (("", "~", "null", "Null", "NULL"), None),
    ((".nan", ".NaN", ".NAN"), math.nan),
    ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    (("-.inf", "-.Inf", "-.INF"), -math.inf),
):
    for _w in _words:
        _TABLE[_w] = _value
#: Go `strconv.ParseInt(s, 0, 64)` syntax (after yaml.v2 removed every `_`).
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
#: yaml.v2 `yamlStyleFloat`.
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
#: yaml.v2 `allowedTimestampFormats` (date, or date and time): kept as the original string.
_TIMESTAMP = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([Tt ]\s*\d{1,2}:\d{2}:\d{2}(\.\d+)?\s*(Z|[+-]\d{1,2}(:\d{2})?)?)?")

STACK_TOP_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


class StackFileError(Exception):
    """The stack file cannot be read as the Pulumi CLI would read it. `errors` holds one line per problem:
    `<file>:<line>:<column>: <problem>: <what to do>`."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class _Resolver(yaml.resolver.BaseResolver):
    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _Resolver):
    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)


@dataclass
class Parsed:
    """A parsed YAML document: plain Python values as the CLI sees them, and where each one is in the file."""

    value: Any
    #: Path from the document root (keys and list indexes) -> (line, column), both 1-based.
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)


class _Fail(Exception):
    def __init__(self, node_or_mark: Any, msg: str):
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        self.line = mark.line + 1 if mark is not None else None
        self.column = mark.column + 1 if mark is not None else None
        self.msg = msg


def _where(filename: str, line: Optional[int], column: Optional[int]) -> str:
    return f"{filename}:{line}:{column}" if line is not None else filename


def go_scalar(text: str) -> Any:
    """A plain scalar as gopkg.in/yaml.v2 resolves it into `interface{}` (raises ValueError for what the CLI cannot
    pass on: integers beyond 64 bits, infinities, NaN, numbers that overflow a float)."""
    if text in _TABLE:
        value = _TABLE[text]
        if isinstance(value, float):
            raise ValueError("infinite")
        return value
    if not text or text[0] not in "+-.0123456789":
        return text
    if _TIMESTAMP.fullmatch(text):
        return text  # yaml.v2 keeps timestamps decoded into interface{} as the original string
    plain = text.replace("_", "")
    m = _GO_INT.fullmatch(plain)
    if m:
        body = m.group(2)
        if body[:2] in ("0x", "0X", "0o", "0O", "0b", "0B"):
            number = int(body[2:], {"x": 16, "o": 8, "b": 2}[body[1].lower()])
        elif len(body) > 1 and body.startswith("0"):
            number = int(body, 8)
        else:
            number = int(body)
        number = -number if m.group(1) == "-" else number
        if not INT64[0] <= number <= INT64[1]:
            raise ValueError("too large")
        return number
    if _GO_FLOAT.fullmatch(plain):
        number_f = float(plain)
        if math.isinf(number_f):
            raise ValueError("too large")
        return number_f
    return text


def _explicit(node: ScalarNode) -> Any:
    """A scalar with an explicit tag (`!!str 10`, `!!int "3"`)."""
    if node.tag in (_STR, "!"):
        return node.value
    resolved = go_scalar(node.value)
    expected = {_INT: int, _FLOAT: (int, float), _BOOL: bool, _NULL: type(None)}.get(node.tag)
    if expected is None:
        raise _Fail(node, f"the tag {node.tag} is not supported in a stack file: remove it (plain values, quoted text, "
                          "lists and mappings only)")
    if (isinstance(resolved, bool) and expected is not bool) or not isinstance(resolved, expected):  # type: ignore[arg-type]
        raise _Fail(node, f"the value tagged {node.tag} is not of that type: remove the tag or fix the value")
    return resolved


class _Builder:
    def __init__(self) -> None:
        self.count = 0
        self.marks: dict[tuple[Any, ...], tuple[int, int]] = {}

    def build(self, node: Node, path: tuple[Any, ...]) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Fail(node, f"the document expands to more than {MAX_VALUES:,} values (aliases expanding into "
                              "aliases?): write the values out, or use fewer aliases")
        if len(path) > MAX_DEPTH:
            raise _Fail(node, f"nested more than {MAX_DEPTH} levels deep: a stack file is never that deep; check "
                              "the indentation")
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise _Fail(node, f"the tag {node.tag} is not supported in a stack file: remove it")
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if node.tag != _MAP or not isinstance(node, MappingNode):
            raise _Fail(node, f"the tag {node.tag} is not supported in a stack file: remove it")
        return self.mapping(node, path)

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag != _PLAIN:
            return _explicit(node)
        try:
            return go_scalar(node.value)
        except ValueError as exc:
            if str(exc) == "infinite":
                raise _Fail(node, "infinity and NaN cannot be passed to the program (the Pulumi CLI passes config "
                                  "as JSON, which has neither): use a finite number") from None
            raise _Fail(node, "number too large: the Pulumi CLI reads numbers as 64-bit integers or floats; use a "
                              "smaller number, or quote it if it is text") from None

    def key(self, node: Node, path: tuple[Any, ...]) -> str:
        if not isinstance(node, ScalarNode):
            raise _Fail(node, "a key must be plain text, not a list or mapping: write `name: value`")
        value = self.scalar(node)
        if isinstance(value, bool) or value is None:
            shown = "true" if value is True else "false" if value is False else "<nil>"
            raise _Fail(node, f"this key is read as {'a boolean' if value is not None else 'null'} by the Pulumi CLI "
                              f"(YAML 1.1: unquoted on/off/yes/no/y/n/true/false/null), so the program would see "
                              f"the key {shown!r}: quote it, e.g. \"on\":")
        if isinstance(value, float):
            raise _Fail(node, "a number with a fraction as a key: quote it")
        return str(value)

    def mapping(self, node: MappingNode, path: tuple[Any, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Any] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _PLAIN and key_node.value == "<<":
                merged.append(value_node)
                continue
            key = self.key(key_node, path)
            if key in seen:
                first = seen[key].start_mark
                raise _Fail(key_node, f"the key {key!r} is given twice (first at line {first.line + 1}); the Pulumi CLI "
                                      f"would silently keep only the last one: merge the two into one")
            seen[key] = key_node
            # errors about a key's value point at the key's line
            self.marks.setdefault((*path, key), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            out[key] = self.build(value_node, (*path, key))
        for value_node in merged:  # merge keys: explicit keys win over merged ones
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise _Fail(source, "a merge key (<<) takes a mapping or a list of mappings (usually *alias)")
                for k, v in self.mapping(source, path).items():
                    out.setdefault(k, v)
        return out


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> _Fail:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is not None and 0 <= mark.pointer < len(text) and text[mark.pointer] == "\t":
        return _Fail(mark, "a tab character: YAML indents with spaces only; replace the tab by spaces")
    hint = "fix the YAML syntax (indentation with spaces, matching quotes and brackets, `key: value`)"
    return _Fail(mark, f"YAML syntax error: {problem}: {hint}")


def _events_bounded(text: str) -> None:
    """One streaming pass (no tree built) that refuses absurd nesting and more than one document."""
    depth, documents = 0, 0
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Fail(event.start_mark, f"nested more than {MAX_DEPTH} levels deep: a stack file is never "
                                                  "that deep; check the indentation and brackets")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Fail(event.start_mark, "a second YAML document (---): the Pulumi CLI reads only the first "
                                                  "one and ignores the rest; keep one document per stack file")
    finally:
        loader.dispose()


def parse(text_or_bytes: str | bytes, filename: str) -> Parsed:
    """Parse one stack file's text. Raises StackFileError naming the file, line and column, and what to do."""
    try:
        return _parse(text_or_bytes)
    except _Fail as fail:
        raise StackFileError([f"{_where(filename, fail.line, fail.column)}: {fail.msg}"]) from None


def _parse(text_or_bytes: str | bytes) -> Parsed:
    size = len(text_or_bytes)
    if size > MAX_BYTES:
        raise _Fail(None, f"the file is {size:,} bytes, more than the {MAX_BYTES:,} a stack file may have: is it "
                          "the right file?")
    if isinstance(text_or_bytes, bytes):
        raw = text_or_bytes[3:] if text_or_bytes.startswith(b"\xef\xbb\xbf") else text_or_bytes  # the CLI strips a BOM
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise _Fail(None, f"not UTF-8 text (line {line}): save the file as UTF-8") from None
    else:
        text = text_or_bytes.removeprefix("\ufeff")
    try:
        _events_bounded(text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except yaml.YAMLError as exc:  # e.g. a reader error (control characters)
        raise _Fail(getattr(exc, "mark", None), f"not valid YAML text ({type(exc).__name__}): remove control "
                                                "characters and save the file as UTF-8") from None
    if node is None:
        return Parsed({}, {})
    builder = _Builder()
    value = builder.build(node, ())
    return Parsed(value, builder.marks)


def to_runtime(value: Any) -> Any:
    """The value as the program receives it from the CLI (through Go's encoding/json): an integral float below 1e21
    is written without a fraction, so it arrives as an int."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: to_runtime(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_runtime(v) for v in value]
    return value


def walk_secure(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, ciphertext) of every `{secure: <text>}` leaf (the CLI's rule: a mapping whose only key is `secure`
    with a string value)."""
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            yield path, value["secure"]
            return
        for k, v in value.items():
            yield from walk_secure(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_secure(v, (*path, i))


__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "Parsed", "StackFileError", "STACK_TOP_KEYS", "go_scalar", "parse",
           "to_runtime", "walk_secure"]
