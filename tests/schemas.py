"""Validating rendered objects against real schemas: Kubernetes (kubernetes-validate, strict) and the CRDs and
Helm chart defaults copied from upstream into `../shared/reference/` (see SOURCES.md there)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
import yaml

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
#: The Kubernetes version the platform targets (EKS `kubernetesVersion` in the stack files).
K8S_VERSION = "1.34"


def reference_dir() -> Path:
    """`../shared/reference`, or skip the calling test where it is absent."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not present at {REFERENCE}")
    return REFERENCE


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 structural schema -> JSON Schema: `nullable`, `x-kubernetes-int-or-string` and
    `x-kubernetes-preserve-unknown-fields` become their JSON Schema equivalents; unknown fields are errors."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    if out.get("type") == "object" and "properties" in out and not node.get("x-kubernetes-preserve-unknown-fields") \
            and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, for every CRD in the reference folder. Released Karpenter CRDs win."""
    root = reference_dir() / "crds"
    found: dict[tuple[str, str], dict[str, Any]] = {}
    files = sorted(root.rglob("*.yaml"), key=lambda p: ("release-" in str(p), str(p)))
    for path in files:
        if "/experimental/" in str(path) or "/legacy/" in str(path):
            continue
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            schema = _openapi_to_jsonschema(version["schema"]["openAPIV3Schema"])
            schema.setdefault("properties", {}).update(
                {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
            )
            found[(f"{group}/{version['name']}", kind)] = schema
    return found


def validate_object(obj: dict[str, Any]) -> list[str]:
    """Every schema error of one Kubernetes object: built-in kinds against the Kubernetes OpenAPI schema
    (strict: unknown fields are errors), custom resources against their CRD. An unknown kind is an error."""
    import kubernetes_validate

    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    schema = crd_schemas().get(key)
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path)) or '<root>'}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {key[0]} {key[1]} (neither Kubernetes {K8S_VERSION} nor a reference CRD)"]
    return []


@functools.cache
def chart_defaults(reference: str) -> dict[str, Any]:
    """The default values.yaml of a chart in `chart-values/<reference>/` (gateway-helm ships values.tmpl.yaml)."""
    folder = reference_dir() / "chart-values" / reference
    path = folder / "values.yaml"
    if not path.exists():
        path = folder / "values.tmpl.yaml"
    return yaml.safe_load(path.read_text()) or {}


def unknown_value_paths(values: Any, defaults: Any, path: str = "") -> Iterator[str]:
    """Paths of `values` that do not exist in the chart's defaults (a misspelt key). Where the default is an empty
    map or a list, or the value is set under a free-form map, anything below is accepted."""
    if not isinstance(values, dict):
        return
    if not isinstance(defaults, dict):
        yield path or "<root>"
        return
    if not defaults:  # `{}` in values.yaml: a free-form map (labels, annotations, extra config)
        return
    for key, value in values.items():
        here = f"{path}.{key}" if path else str(key)
        if key not in defaults:
            yield here
        elif isinstance(defaults[key], dict):
            yield from unknown_value_paths(value, defaults[key], here)
