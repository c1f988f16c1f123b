"""Strict schema validation of every Kubernetes object of the plan.

Built-in kinds are validated with kubernetes-validate (strict: an unknown field is an error) at the stack's
Kubernetes version; custom resources against their CRD's `openAPIV3Schema`, taken from the CRDs the releases
themselves install (rendered `CustomResourceDefinition` objects of the plan) and, for kinds no release installs,
from a folder of reference CRDs (`../shared/reference/crds` here; any folder of CRD YAML files) and the pinned copies
of CRDs that OCI charts the charts folder lacks install (`serving/catalog/crds/charts/`). A kind with no
schema anywhere is a finding: an object nothing can validate is an object the API server may refuse.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import jsonschema  # type: ignore[import-untyped]  # no py.typed; types-jsonschema is not pinned
import yaml

from ..catalog.llm import CHART_CRDS_DIR
from .findings import Finding
from .objects import KubeObject

KIND = "schema"
SchemaKey = tuple[str, str]  # (apiVersion, kind)


def openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 structural schema -> JSON Schema: `nullable`, `x-kubernetes-int-or-string` and
    `x-kubernetes-preserve-unknown-fields` become their JSON Schema equivalents; unknown fields are errors."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    if out.get("type") == "object" and "properties" in out and not node.get("x-kubernetes-preserve-unknown-fields") \
            and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def crd_version_schemas(crd: Mapping[str, Any]) -> dict[SchemaKey, dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema of every served version of one CustomResourceDefinition."""
    spec = crd.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    found: dict[SchemaKey, dict[str, Any]] = {}
    for version in spec.get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not version.get("served", True) or not schema:
            continue
        converted = openapi_to_jsonschema(schema)
        converted.setdefault("properties", {}).update(
            {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
        )
        found[(f"{group}/{version['name']}", str(kind))] = converted
    return found


@functools.cache
def reference_crd_schemas(folder: Path) -> dict[SchemaKey, dict[str, Any]]:
    """Schemas of every CRD under `folder` (experimental and legacy copies left out; released Karpenter CRDs win)."""
    found: dict[SchemaKey, dict[str, Any]] = {}
    if not folder.is_dir():
        return found
    files = sorted(folder.rglob("*.yaml"), key=lambda p: ("release-" in str(p), str(p)))
    for path in files:
        if "/experimental/" in str(path) or "/legacy/" in str(path):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found.update(crd_version_schemas(doc))
    return found


def installed_crd_schemas(objects: Iterable[KubeObject]) -> dict[SchemaKey, dict[str, Any]]:
    """Schemas of the CRDs the plan itself installs (chart CRDs and any the program creates)."""
    found: dict[SchemaKey, dict[str, Any]] = {}
    for o in objects:
        if o.kind == "CustomResourceDefinition":
            found.update(crd_version_schemas(o.obj))
    return found


def _path(parts: Iterable[Any]) -> str:
    return ".".join(map(str, parts)) or "<root>"


def object_errors(obj: Mapping[str, Any], k8s_version: str, crds: Mapping[SchemaKey, dict[str, Any]]) -> list[str]:
    """Every schema error of one object; an object of a kind without a schema is one error."""
    import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information

    key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    schema = crds.get(key)
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        return sorted(f"{_path(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj))
    try:
        kubernetes_validate.validate(dict(obj), k8s_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{_path(exc.path)}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {key[0]} {key[1]}: not a Kubernetes {k8s_version} kind and no CRD defines it"]
    return []


def check(objects: list[KubeObject], k8s_version: str, reference_crds: Optional[Path]) -> list[Finding]:
    crds = dict(reference_crd_schemas(reference_crds)) if reference_crds is not None else {}
    crds.update(reference_crd_schemas(CHART_CRDS_DIR))  # CRDs of pinned OCI charts the charts folder lacks
    crds.update(installed_crd_schemas(objects))  # what the releases install wins over the reference copy
    return [
        Finding(KIND, o.label, "schema", message)
        for o in objects
        for message in object_errors(o.obj, k8s_version, crds)
    ]
