"""Property values of a captured plan: decoding the engine's wire format, and printing it safely.

Values are plain Python (dict, list, str, int, float, bool, None) plus three markers:

- `Secret`: a value the program marked secret. It prints as "[secret]" everywhere (repr, str, JSON, YAML);
  only `reveal()` gives the value back, e.g. for a diff that must tell whether a secret changed.
- `Unknown`: a value that is not known until the resources are really created.
- `ResourceRef`: a reference to another resource passed as a property value.

Unlike `pulumi.runtime.rpc.deserialize_properties`, which pushes secretness up to the enclosing list or object,
decoding here keeps each secret exactly where the program put it, so `stringData: {token: [secret], user: admin}`
keeps its keys readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from google.protobuf import struct_pb2
from pulumi.runtime import rpc

#: How a secret prints, everywhere.
SECRET_TEXT = "[secret]"
#: How an unknown value prints in text output.
UNKNOWN_TEXT = "[unknown]"
#: How the engine writes an unknown value in `pulumi preview --json`.
UNKNOWN_JSON = rpc.UNKNOWN


class Secret:
    """A secret value. Never prints its value; compare with `==` or `reveal()` it deliberately."""

    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return SECRET_TEXT

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self._value == other._value

    def __hash__(self) -> int:
        return hash(SECRET_TEXT)

    def __copy__(self) -> "Secret":
        return self

    def __deepcopy__(self, memo: dict) -> "Secret":
        return self

    def __reduce__(self) -> tuple[type[Secret], tuple[None]]:  # a pickled plan keeps the marker but never the value
        return (Secret, (None,))


class Unknown:
    """A value only known after the real deployment (all unknowns compare equal)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return UNKNOWN_TEXT

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown)

    def __hash__(self) -> int:
        return hash(UNKNOWN_TEXT)


UNKNOWN = Unknown()


@dataclass(frozen=True)
class ResourceRef:
    """A resource passed as a property value (the engine's resource reference)."""

    urn: str
    id: str | None = None

    def __str__(self) -> str:
        return self.urn


def number(value: float) -> int | float:
    """Protobuf numbers are doubles: an integral one is an int (`replicas: 2.0` -> 2)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def decode(value: Any) -> Any:
    """Decode one protobuf property value (a `Struct`, `ListValue` or scalar) into plan values."""
    if isinstance(value, struct_pb2.Struct):
        sig = value[rpc._special_sig_key] if rpc._special_sig_key in value else None
        if sig is None:
            return decode_properties(value)
        if sig == rpc._special_secret_sig:
            return Secret(decode(value["value"]) if "value" in value else None)
        if sig == rpc._special_resource_sig:
            ref_id = value["id"] if "id" in value else None
            return ResourceRef(urn=str(value["urn"]), id=None if ref_id in (None, "", rpc.UNKNOWN) else str(ref_id))
        if sig in (rpc._special_asset_sig, rpc._special_archive_sig):
            kind = "asset" if sig == rpc._special_asset_sig else "archive"
            return {kind: {k: decode(v) for k, v in sorted(value.items()) if k != rpc._special_sig_key}}
        if sig == rpc._special_output_value_sig:
            inner = decode(value["value"]) if "value" in value else UNKNOWN
            secret = "secret" in value and value["secret"] is True
            return Secret(inner) if secret else inner
        raise ValueError(f"unrecognized signature {sig!r} in a property value")
    if isinstance(value, struct_pb2.ListValue):
        return [decode(v) for v in value]
    if isinstance(value, str) and value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float):
        return number(value)
    return value


def decode_properties(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Decode a property map. Like the SDK, keys whose value is null are treated as absent."""
    out: dict[str, Any] = {}
    for key, raw in struct.items():
        value = decode(raw)
        if value is not None:
            out[key] = value
    return out


def lookup(value: Any, *path: str) -> Any:
    """The value at `path` (mapping keys) or None; secrets on the way are opened, the value found is returned as is
    (a secret leaf stays a `Secret`)."""
    for key in path:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def contains_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, Mapping):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_secret(v) for v in value)
    return False


def to_plain(value: Any, *, unknown: Any = UNKNOWN_TEXT, secret: Callable[[Secret], Any] | None = None) -> Any:
    """Plain JSON/YAML-ready data: secrets as "[secret]" (or `secret(marker)`), unknowns as `unknown`,
    resource references as their URN, tuples as lists, integral floats as ints."""
    kind = type(value)  # exact types first: the ABC checks below are slow on the 100,000s of leaves of a big plan
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is dict:
        return {str(k): to_plain(v, unknown=unknown, secret=secret) for k, v in value.items()}
    if kind is list:
        return [to_plain(v, unknown=unknown, secret=secret) for v in value]
    if isinstance(value, Secret):
        return SECRET_TEXT if secret is None else secret(value)
    if isinstance(value, Unknown):
        return unknown
    if isinstance(value, ResourceRef):
        return value.urn
    if isinstance(value, Mapping):
        return {str(k): to_plain(v, unknown=unknown, secret=secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, unknown=unknown, secret=secret) for v in value]
    if isinstance(value, float):
        return number(value)
    return value


def mask_values(value: Any) -> Any:
    """Every leaf of a mapping made secret, keeping the keys (how a Kubernetes Secret's data is shown)."""
    if isinstance(value, Secret):
        inner = value.reveal()
        return mask_values(inner) if isinstance(inner, Mapping) else value
    if isinstance(value, Mapping):
        return {k: mask_values(v) for k, v in value.items()}
    return Secret(value)
