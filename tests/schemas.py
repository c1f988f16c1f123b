"""Validating rendered objects against real schemas: Kubernetes (kubernetes-validate, strict) and the CRDs and
Helm chart defaults copied from upstream into `../shared/reference/` (see SOURCES.md there)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from serving.catalog.llm import CHART_CRDS_DIR
from serving.check.schema import crd_version_schemas, object_errors, reference_crd_schemas

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
#: The Kubernetes version the platform targets (EKS `kubernetesVersion` in the stack files).
K8S_VERSION = "1.34"


def reference_dir() -> Path:
    """`../shared/reference`, or skip the calling test where it is absent."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not present at {REFERENCE}")
    return REFERENCE


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, for every CRD in the reference folder (serving.check.schema), and the CRDs
    only shipped inside a chart we install (templates with `{{- if .Values.crds.install }}` lines around them)."""
    found = {**reference_crd_schemas(reference_dir() / "crds"), **reference_crd_schemas(CHART_CRDS_DIR)}
    for path in sorted((reference_dir() / "charts").glob("keda-add-ons-http-*/templates/crds/*.yaml")):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("{{"))
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found.update(crd_version_schemas(doc))
    return found


def validate_object(obj: dict[str, Any]) -> list[str]:
    """Every schema error of one Kubernetes object: built-in kinds against the Kubernetes OpenAPI schema
    (strict: unknown fields are errors), custom resources against their CRD. An unknown kind is an error."""
    return object_errors(obj, K8S_VERSION, crd_schemas())


@functools.cache
def chart_defaults(reference: str) -> dict[str, Any]:
    """The default values.yaml of a chart in `chart-values/<reference>/` (gateway-helm ships values.tmpl.yaml)."""
    folder = reference_dir() / "chart-values" / reference
    path = folder / "values.yaml"
    if not path.exists():
        path = folder / "values.tmpl.yaml"
    return yaml.safe_load(path.read_text()) or {}


#: Keys whose map holds free-form entries in every chart: label and annotation keys, flag names, environment
#: variables. Under such a key any entry is accepted, but only where the chart's default for it is a flat map (empty,
#: or scalars such as cert-manager's `nodeSelector: {kubernetes.io/os: linux}` or cluster-autoscaler's
#: `extraArgs: {v: 4}`). Where the default nests maps (KEDA's `podAnnotations: {keda: {}, metricsAdapter: {}}`) the
#: nested keys are the chart's structure and are checked like any other key.
FREE_FORM_KEYS = frozenset({"nodeSelector", "extraArgs", "env", "extraEnv", "matchLabels"})
FREE_FORM_SUFFIXES = ("labels", "Labels", "annotations", "Annotations")

#: Free-form maps a chart documents under another name, per chart reference folder (dotted paths).
FREE_FORM_PATHS: dict[str, frozenset[str]] = {
    # values.yaml: "serviceMonitor.selector -- Default to kube-prometheus install ... should be set according to
    # Prometheus install" (a label map, default {release: prometheus-operator}).
    "cluster-autoscaler": frozenset({"serviceMonitor.selector"}),
    # templates/deployment.yaml: `securityContext: {{ toYaml .Values.podSecurityContext }}` and the container's
    # `{{ toYaml .Values.securityContext }}`: Kubernetes PodSecurityContext / SecurityContext as given.
    "aws-load-balancer-controller": frozenset({"podSecurityContext", "securityContext"}),
    # templates/daemonset.yaml: the container's `securityContext: {{ toYaml .Values.securityContext }}`.
    "dcgm-exporter": frozenset({"securityContext"}),
    # values.yaml: "config.envoyGateway -- EnvoyGateway configuration. Visit
    # https://gateway.envoyproxy.io/docs/api/extension_types/#envoygateway to view all options" (the typed API; its
    # `extensionManager` is checked against the API in tests/test_llm.py).
    "gateway-helm": frozenset({"config.envoyGateway.extensionManager"}),
}

#: Keys of subcharts whose own values.yaml is not in the reference folder: each checked by hand in the subchart's
#: values.yaml at the version the parent chart depends on (dotted paths; everything below them is accepted).
SUBCHART_PATHS: dict[str, frozenset[str]] = {
    # gpu-operator Chart.yaml depends on node-feature-discovery 0.19.0; kubernetes-sigs/node-feature-discovery
    # v0.19.0 deployment/helm/node-feature-discovery/values.yaml: master.nodeSelector {}, master.tolerations [...],
    # gc.nodeSelector {}, gc.tolerations [].
    "gpu-operator": frozenset({
        "node-feature-discovery.master.nodeSelector", "node-feature-discovery.master.tolerations",
        "node-feature-discovery.gc.nodeSelector", "node-feature-discovery.gc.tolerations",
    }),
}


def _free_form(key: str, default: Any) -> bool:
    if not (key in FREE_FORM_KEYS or key.endswith(FREE_FORM_SUFFIXES)):
        return False
    return isinstance(default, dict) and not any(isinstance(v, dict) for v in default.values())


def unknown_value_paths(
    values: Any, defaults: Any, path: str = "", *, free_form: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Paths of `values` that do not exist in the chart's defaults (a misspelt key).

    Accepted without looking further down: a key whose default is an empty map `{}` (values.yaml's way of saying
    "any map": resources, affinity, extra config), a flat map under a free-form key (`FREE_FORM_KEYS`,
    `*labels`/`*annotations`, see `_free_form`), a path in `free_form`, and anything under a list or null default.
    A map given where the default is a scalar is an error (a wrong nesting level)."""
    if not isinstance(values, dict):
        return
    if not isinstance(defaults, dict):
        if defaults is not None:
            yield path or "<root>"
        return
    if not defaults or path in free_form:
        return
    for key, value in values.items():
        here = f"{path}.{key}" if path else str(key)
        if here in free_form:
            continue
        if key not in defaults:
            yield here
        elif isinstance(value, dict) and not _free_form(str(key), defaults[key]):
            yield from unknown_value_paths(value, defaults[key], here, free_form=free_form)


def unknown_chart_values(values: Any, reference: str) -> list[str]:
    """`unknown_value_paths` against the defaults of the chart in `chart-values/<reference>/`, with that chart's
    documented free-form paths and hand-checked subchart keys."""
    allowed = FREE_FORM_PATHS.get(reference, frozenset()) | SUBCHART_PATHS.get(reference, frozenset())
    return list(unknown_value_paths(values, chart_defaults(reference), free_form=allowed))
