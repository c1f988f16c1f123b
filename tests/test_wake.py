"""Wake on request (KEDA HTTP add-on): a model that can be at zero is reached through the interceptor, wakes on its
first request and answers 504 past its limit; other models stay direct. Checked against the add-on chart's own
templates and CRDs (../shared/reference/charts/keda-add-ons-http-0.15.0)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving import conventions as cv
from serving.components import wake
from serving.config import ConfigError, parse_platform

from .conftest import platform_of, repo_stack
from .schemas import reference_dir, unknown_value_paths, validate_object
from .test_model import objects, repo_config

CHART = "keda-add-ons-http-0.15.0"


def chart_dir() -> Path:
    return reference_dir() / "charts" / CHART


def test_add_on_values_exist_in_the_chart_and_match_its_templates() -> None:
    defaults = yaml.safe_load((chart_dir() / "values.yaml").read_text())
    values = wake.add_on_values(repo_config("prod"))
    # securityContext / podSecurityContext are rendered whole (`toYaml`, templates/*/deployment.yaml): any field.
    free = frozenset({"securityContext", "podSecurityContext"})
    # priorityClassName has no default in values.yaml; each component's template reads it.
    template_only = frozenset(f"{c}.priorityClassName" for c in ("operator", "scaler", "interceptor"))
    assert list(unknown_value_paths(values, defaults, free_form=free | template_only)) == []
    for path in free:
        assert f"toYaml .Values.{path} " in (chart_dir() / "templates" / "interceptor" / "deployment.yaml").read_text()
    for path in template_only:
        component = path.split(".")[0]
        template = (chart_dir() / "templates" / component / "deployment.yaml").read_text()
        assert f"priorityClassName: {{{{ .Values.{path} }}}}" in template
    templates = chart_dir() / "templates"
    # Names the platform relies on, as the chart spells them (`{{ .Chart.Name }}-...`, default ports).
    assert 'name: "{{ .Chart.Name }}-{{ .Values.interceptor.proxy.service }}"' in (templates / "interceptor" / "service-proxy.yaml").read_text()
    assert defaults["interceptor"]["proxy"] == {**defaults["interceptor"]["proxy"], "service": "interceptor-proxy", "port": wake.INTERCEPTOR_PROXY_PORT}
    assert wake.SCALER_ADDRESS == f"{wake.CHART_NAME}-{defaults['scaler']['service']}.{cv.KEDA_NAMESPACE}:{defaults['scaler']['grpcPort']}"
    assert yaml.safe_load((chart_dir() / "Chart.yaml").read_text())["name"] == wake.CHART_NAME
    deployment = (templates / "interceptor" / "deployment.yaml").read_text()
    assert "app.kubernetes.io/component: interceptor" in deployment and "topologySpreadConstraints" in deployment


def test_interceptor_is_highly_available_placed_like_the_gateway_and_monitored(prod) -> None:
    cfg = repo_config("prod")
    values = wake.add_on_values(cfg)
    assert values["interceptor"]["replicas"]["min"] >= max(2, cfg.gateway.replicas)
    assert values["interceptor"]["pdb"]["enabled"] is True
    assert values["interceptor"]["topologySpreadConstraints"] == cv.ha_spread(wake.INTERCEPTOR_POD_LABELS)
    monitor = wake.interceptor_pod_monitor_spec()
    assert monitor["podMetricsEndpoints"][0]["portNumber"] == wake.INTERCEPTOR_METRICS_PORT
    assert set(monitor["selector"]["matchLabels"].items()) <= set(wake.INTERCEPTOR_POD_LABELS.items())
    assert validate_object({"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
                            "metadata": {"name": "x"}, "spec": monitor}) == []
    # prod has no model that can be at zero: no add-on installed.
    assert not any(s.type == "serving:wake:WakeOnRequest" for s in prod.resources)


def test_a_model_at_zero_is_routed_through_the_interceptor_and_wakes(dev) -> None:
    cfg = repo_config("dev")
    assert any(s.type == "serving:wake:WakeOnRequest" for s in dev.resources)
    wakers = [m for m in cfg.models if m.wakes_on_request]
    assert wakers and any(not m.wakes_on_request for m in cfg.models)
    for m in wakers:
        ns = f"team-{m.team}"
        (hso,) = objects(dev, m.name, "HTTPScaledObject").values()
        assert validate_object(hso) == []  # the CRD from the chart's templates/crds
        spec = hso["spec"]
        assert hso["metadata"]["annotations"] == {wake.SKIP_SCALED_OBJECT_ANNOTATION: "true"}
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name, "service": m.name, "port": 80}
        assert spec["replicas"] == {"min": 0, "max": m.scaling.max_replicas}
        assert spec["timeouts"]["conditionWait"] == f"{m.wake_timeout_seconds()}s"
        # The route: primary through the interceptor (tagged with the header the HTTPScaledObject matches).
        (route,) = objects(dev, m.name, "HTTPRoute").values()
        backend = route["spec"]["rules"][0]["backendRefs"][0]
        assert (backend["name"], backend["namespace"], backend["port"]) == (wake.INTERCEPTOR_PROXY_SERVICE, cv.KEDA_NAMESPACE, 8080)
        header = {"name": cv.WAKE_HEADER, "value": f"{ns}/{m.name}"}
        assert header in backend["filters"][0]["requestHeaderModifier"]["set"]
        assert spec["headers"] == [header] and spec["hosts"] == route["spec"]["hostnames"]
        # The cross-namespace reference is granted, for this namespace's routes and the proxy Service only.
        (grant,) = objects(dev, m.name, "ReferenceGrant").values()
        assert grant["metadata"]["namespace"] == cv.KEDA_NAMESPACE and validate_object(grant) == []
        assert grant["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": ns}]
        assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": wake.INTERCEPTOR_PROXY_SERVICE}]
        # KEDA wakes it: the ScaledObject's external-push trigger names the HTTPScaledObject; activeHours stays on top.
        (so,) = objects(dev, m.name, "ScaledObject").values()
        push = next(t for t in so["spec"]["triggers"] if t["type"] == "external-push")
        assert push["metadata"] == {"scalerAddress": wake.SCALER_ADDRESS, "httpScaledObject": hso["metadata"]["name"]}
        assert so["spec"]["minReplicaCount"] == 0
        assert (m.scaling.active_hours is not None) == any(t["type"] == "cron" for t in so["spec"]["triggers"])
        # Envoy must not cut a request the interceptor still holds: its timeout covers the wait and the request.
        (policy,) = objects(dev, m.name, "BackendTrafficPolicy").values()
        timeout = int(re.fullmatch(r"(\d+)s", policy["spec"]["timeout"]["http"]["requestTimeout"]).group(1))
        assert timeout > m.wake_timeout_seconds()
        # The interceptor may reach the pods.
        (np,) = objects(dev, m.name, "NetworkPolicy").values()
        peers = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in np["spec"]["ingress"][0]["from"]}
        assert peers == {cv.GATEWAY_NAMESPACE, cv.KEDA_NAMESPACE}
    for m in cfg.models:
        if not m.wakes_on_request:
            assert not objects(dev, m.name, "HTTPScaledObject")
            (route,) = objects(dev, m.name, "HTTPRoute").values()
            assert all(b["name"].startswith(m.name) for b in route["spec"]["rules"][0]["backendRefs"])


def _parse(scaling: dict[str, Any]):
    doc = platform_of(repo_stack("local"))
    doc["models"][0]["scaling"] = scaling
    return parse_platform(doc, "Pulumi.local.yaml")


def test_min_replicas_zero_no_longer_needs_active_hours() -> None:
    cfg = _parse(({"minReplicas": 0, "maxReplicas": 2}))
    (m,) = cfg.models
    assert m.wakes_on_request and m.scaling.active_hours is None
    assert m.wake_timeout_seconds() == m.startup_budget_seconds() + 180, "CPU: startup plus a node"
    assert _parse(({"minReplicas": 0, "maxReplicas": 2, "wakeTimeoutSeconds": 120})).models[0].wake_timeout_seconds() == 120
    with pytest.raises(ConfigError, match="wakeTimeoutSeconds only applies with minReplicas 0"):
        _parse(({"minReplicas": 1, "maxReplicas": 2, "wakeTimeoutSeconds": 120}))
