"""Building blocks shared by every config section: the strict base model, names, quantities and secrets."""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterable, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel


class StrictModel(BaseModel):
    """Every config object: unknown keys are errors, YAML keys are camelCase, values are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        str_strip_whitespace=True,
    )


#: Kubernetes object names (RFC 1123 label): lowercase alphanumerics and '-', at most 63 characters.
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=DNS1123_LABEL.pattern),
    Field(description="A DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric."),
]

#: Kubernetes CPU quantity, e.g. "500m", "2", "1.5".
CpuQuantity = Annotated[str, StringConstraints(pattern=r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")]
#: Kubernetes memory/storage quantity, e.g. "512Mi", "16Gi", "1G".
MemoryQuantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")]
#: Prometheus-style duration, e.g. "30s", "5m", "15d".
Duration = Annotated[str, StringConstraints(pattern=r"^[0-9]+(ms|s|m|h|d|w|y)$")]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}


def memory_bytes(q: str) -> float:
    """Bytes in a memory quantity ("16Gi" -> 17179869184)."""
    for suffix, mult in {**_BINARY, **_DECIMAL}.items():
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * mult
    return float(q)


def cpu_cores(q: str) -> float:
    """Cores in a CPU quantity ("500m" -> 0.5)."""
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def _secret_schema() -> dict[str, Any]:
    # In a stack file a secret is either plain text (dev only) or `{secure: <ciphertext>}` written by
    # `pulumi config set --secret --path`.
    return {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {"secure": {"type": "string"}},
                "required": ["secure"],
                "additionalProperties": False,
            },
        ],
        "description": "A secret: set it with `pulumi config set --secret --path serving:platform.<path> <value>`.",
        "writeOnly": True,
    }


#: A secret value. Its repr and str are masked; components wrap it in `pulumi.Output.secret`.
Secret = Annotated[SecretStr, WithJsonSchema(_secret_schema())]


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    dupes = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if dupes:
        raise ValueError(f"duplicate entries: {', '.join(sorted(map(str, set(dupes))))}")
    return values


UniqueList = AfterValidator(_unique)


class Issue(NamedTuple):
    """One cross-field problem: a location inside `serving:platform` and a message."""

    loc: tuple[str | int, ...]
    msg: str


def duplicate_names(items: Iterable[Any], loc: tuple[str | int, ...], attr: str = "name") -> list[Issue]:
    """An issue at `loc[i].name` for every item whose name repeats an earlier one."""
    seen: dict[str, int] = {}
    out: list[Issue] = []
    for i, item in enumerate(items):
        name = getattr(item, attr)
        if name in seen:
            out.append(Issue((*loc, i, attr), f"duplicate name {name!r} (also at index {seen[name]})"))
        else:
            seen[name] = i
    return out
