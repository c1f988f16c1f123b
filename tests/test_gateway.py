"""The front door, through the real program: Envoy Gateway, the GatewayClass/EnvoyProxy/Gateway, TLS (cert-manager or
an existing Secret), the NLB, the Grafana route, and the per-route policies models get (`route_policies`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from serving import conventions as cv
from serving.catalog import charts
from serving.components.route_policies import backend_traffic_policy_spec, security_policy_spec
from serving.config import ConfigError, parse_platform
from serving.config.gateway import RouteOptions
from serving.plan import SECRET_TEXT, Plan, Secret, capture_plan, render_json
from serving.plan.model import HELM_RELEASE_TYPE, ResourceState, is_kubernetes_object
from serving.plan.present.manifests import kubernetes_manifest

from .conftest import platform_of, repo_plan, repo_stack
from .schemas import unknown_chart_values, validate_object
from .test_model import descendants

GATEWAY_TYPE = "serving:gateway:Gateway"


# --- helpers (also used by the monitoring, logging and observability tests) --------------------------------------


def plan_of(stack_root: Callable[..., Path], doc: dict[str, Any], stack: str = "dev") -> Plan:
    return capture_plan(stack, root=stack_root(**{stack: doc}))


def reveal(value: Any) -> Any:
    """A plan value with Secret markers replaced by their values (for schema validation only)."""
    if isinstance(value, Secret):
        return reveal(value.reveal())
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def under(plan: Plan, type_: str) -> list[ResourceState]:
    """Every resource below the (single) component of `type_`."""
    (comp,) = [s for s in plan.resources if s.type == type_]
    return descendants(plan, comp.urn)


def objects(states: list[ResourceState], kind: Optional[str] = None) -> list[dict[str, Any]]:
    out = [kubernetes_manifest(s) for s in states if is_kubernetes_object(s)]
    return [o for o in out if kind is None or o["kind"] == kind]


def one(states: list[ResourceState], kind: str, name: Optional[str] = None) -> dict[str, Any]:
    found = [o for o in objects(states, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def releases(plan: Plan) -> dict[str, ResourceState]:
    """Helm release name -> release."""
    return {s.inputs["name"]: s for s in plan.resources if s.type == HELM_RELEASE_TYPE}


def values(plan: Plan, release: str) -> dict[str, Any]:
    return releases(plan)[release].inputs.get("values", {})


def config_errors(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_platform(platform_of(doc), "Pulumi.dev.yaml")
    return err.value.errors


# --- the front door ----------------------------------------------------------------------------------------------


def test_dev_gateway_terminates_https_with_an_acme_certificate_and_redirects_http() -> None:
    plan = repo_plan("dev")
    gw = under(plan, GATEWAY_TYPE)
    release = releases(plan)["envoy-gateway"]
    assert (release.inputs["chart"], release.inputs["version"]) == (charts.ENVOY_GATEWAY.chart, charts.ENVOY_GATEWAY.version)
    assert release.inputs["namespace"] == cv.GATEWAY_NAMESPACE

    gclass = one(gw, "GatewayClass")
    proxy = one(gw, "EnvoyProxy")
    assert gclass["spec"]["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    assert gclass["spec"]["parametersRef"] == {
        "group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
        "name": proxy["metadata"]["name"], "namespace": proxy["metadata"]["namespace"],
    }

    gateway = one(gw, "Gateway")
    assert gateway["spec"]["gatewayClassName"] == gclass["metadata"]["name"]
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    https, http = listeners["https"], listeners["http"]
    assert (https["protocol"], https["port"], https["hostname"]) == ("HTTPS", 443, "models.dev.example.com")
    cert = one(gw, "Certificate")
    assert https["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": cert["spec"]["secretName"]}]
    assert cert["metadata"]["namespace"] == cv.GATEWAY_NAMESPACE
    assert cert["spec"]["dnsNames"] == ["models.dev.example.com"]
    # Models attach from team namespaces only; port 80 takes only the gateway namespace's own routes.
    assert https["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"] == [{"key": cv.TEAM_LABEL, "operator": "Exists"}]
    assert (http["port"], http["allowedRoutes"]["namespaces"]["from"]) == (80, "Same")

    redirect = one(gw, "HTTPRoute", "https-redirect")
    assert redirect["metadata"]["namespace"] == cv.GATEWAY_NAMESPACE
    assert redirect["spec"]["parentRefs"][0]["sectionName"] == "http"
    assert redirect["spec"]["rules"] == [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]

    # The certificate comes from an ACME ClusterIssuer solving HTTP-01 through that same port-80 listener.
    issuer = one(gw, "ClusterIssuer")
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer["metadata"]["name"]}
    acme = issuer["spec"]["acme"]
    assert acme["email"] == "platform-team@example.com"
    (solver,) = acme["solvers"]
    (parent,) = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    assert (parent["name"], parent["namespace"], parent["sectionName"]) == (gateway["metadata"]["name"], cv.GATEWAY_NAMESPACE, "http")
    # ... which cert-manager only does with its Gateway API support switched on.
    cm = values(plan, "cert-manager")
    assert cm["config"]["enableGatewayAPI"] is True and cm["crds"]["enabled"] is True


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_gateway_object_validates_against_its_schema(stack: str) -> None:
    states = under(repo_plan(stack), GATEWAY_TYPE)
    objs = objects(states)
    assert {"GatewayClass", "Gateway", "EnvoyProxy", "HTTPRoute", "PodMonitor"} <= {o["kind"] for o in objs}
    for obj in objs:
        assert validate_object(reveal(obj)) == [], f"{obj['kind']} {obj['metadata']['name']}"


@pytest.mark.parametrize("release,pin", [
    ("envoy-gateway", charts.ENVOY_GATEWAY),
    ("cert-manager", charts.CERT_MANAGER),
    ("aws-load-balancer-controller", charts.AWS_LOAD_BALANCER_CONTROLLER),
])
def test_gateway_chart_values_exist_in_the_charts_defaults(release: str, pin: charts.ChartPin) -> None:
    state = releases(repo_plan("prod"))[release]
    assert (state.inputs["chart"], state.inputs["version"]) == (pin.chart, pin.version)
    assert unknown_chart_values(reveal(dict(state.inputs.get("values", {}))), pin.reference) == []


def test_the_gateway_service_is_an_nlb_of_the_load_balancer_controller() -> None:
    plan = repo_plan("dev")
    service = one(under(plan, GATEWAY_TYPE), "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["type"] == "LoadBalancer"
    assert service["loadBalancerClass"] == "service.k8s.aws/nlb"
    ann = service["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert ann["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    # The controller runs with its own pod identity, and is installed before Envoy Gateway creates the Service.
    lbc = releases(plan)["aws-load-balancer-controller"]
    assert lbc.inputs["values"]["serviceAccount"]["name"] == "aws-load-balancer-controller"
    (assoc,) = [s for s in plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if s.inputs["serviceAccount"] == "aws-load-balancer-controller"]
    assert assoc.inputs["namespace"] == "kube-system"
    assert lbc.urn in releases(plan)["envoy-gateway"].dependencies
    policy = json.loads(next(s for s in plan.by_type("aws:iam/rolePolicy:RolePolicy") if "-lbc-" in s.name).inputs["policy"])
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    assert {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:RegisterTargets", "ec2:CreateSecurityGroup"} <= actions


def test_an_internal_gateway_with_dns01_gets_an_internal_nlb_and_route53_access(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    gw = platform_of(doc)["gateway"]
    gw["loadBalancer"] = "internal"
    gw["hostname"] = "*.models.dev.example.com"
    for m in platform_of(doc)["models"]:  # under a wildcard gateway every model has a host of its own
        m.setdefault("exposure", {})["host"] = f"{m['name']}.models.dev.example.com"
    gw["tls"].update({"acmeChallenge": "dns01", "dns01": {"hostedZoneId": "Z0123456789ABCDEFGHIJ"}})
    plan = plan_of(stack_root, doc)
    states = under(plan, GATEWAY_TYPE)
    ann = one(states, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    # No client-IP preservation behind an internal NLB (hairpinned clients could not be answered).
    assert "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes" not in ann
    (solver,) = one(states, "ClusterIssuer")["spec"]["acme"]["solvers"]
    assert solver == {"dns01": {"route53": {"region": "us-east-1", "hostedZoneID": "Z0123456789ABCDEFGHIJ"}}}
    assert one(states, "Certificate")["spec"]["dnsNames"] == ["*.models.dev.example.com"]
    (assoc,) = [s for s in plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if s.inputs["namespace"] == cv.CERT_MANAGER_NAMESPACE]
    assert assoc.inputs["serviceAccount"] == "cert-manager"
    policy = json.loads(next(s for s in plan.by_type("aws:iam/rolePolicy:RolePolicy") if "-certs-" in s.name).inputs["policy"])
    zones = {st["Resource"] for st in policy["Statement"] if "route53:ChangeResourceRecordSets" in st["Action"]}
    assert zones == {"arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"}


def test_an_existing_cluster_uses_an_existing_certificate_and_no_aws_load_balancer_controller() -> None:
    plan = repo_plan("local")  # cluster.mode existing, tls.mode secret
    states = under(plan, GATEWAY_TYPE)
    assert "aws-load-balancer-controller" not in releases(plan) and "cert-manager" not in releases(plan)
    assert objects(states, "Certificate") == [] and objects(states, "ClusterIssuer") == []
    service = one(states, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service == {"type": "LoadBalancer"}
    https = next(listener for listener in one(states, "Gateway")["spec"]["listeners"] if listener["name"] == "https")
    assert https["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": "models-local-tls"}]


def test_grafana_gets_its_own_https_listener_route_and_certificate_name() -> None:
    plan = repo_plan("prod")
    states = under(plan, GATEWAY_TYPE)
    gateway = one(states, "Gateway")
    grafana = next(listener for listener in gateway["spec"]["listeners"] if listener["name"] == "grafana")
    assert (grafana["hostname"], grafana["port"]) == ("grafana.example.com", 443)
    assert grafana["allowedRoutes"]["namespaces"]["selector"]["matchLabels"] == {"kubernetes.io/metadata.name": cv.MONITORING_NAMESPACE}
    route = one(states, "HTTPRoute", "grafana")
    assert route["metadata"]["namespace"] == cv.MONITORING_NAMESPACE
    assert route["spec"]["parentRefs"] == [{
        "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": cv.GATEWAY_NAME,
        "namespace": cv.GATEWAY_NAMESPACE, "sectionName": "grafana",
    }]
    assert route["spec"]["rules"] == [{"backendRefs": [{"name": "kube-prometheus-stack-grafana", "port": 80}]}]
    assert one(states, "Certificate")["spec"]["dnsNames"] == ["models.example.com", "grafana.example.com"]
    assert one(states, "HTTPRoute", "https-redirect")["spec"]["hostnames"] == ["models.example.com", "grafana.example.com"]
    assert plan.outputs["grafanaUrl"] == "https://grafana.example.com"


def test_models_attach_to_the_https_listener_and_their_urls_are_https() -> None:
    plan = repo_plan("dev")
    routes = [o for o in objects(plan.resources, "HTTPRoute") if o["metadata"]["namespace"].startswith("team-")]
    assert routes
    for route in routes:
        assert {"name": cv.GATEWAY_NAME, "namespace": cv.GATEWAY_NAMESPACE, "sectionName": "https"}.items() <= route["spec"]["parentRefs"][0].items()
    assert all(url.startswith("https://") for url in plan.outputs["modelUrls"].values())


@pytest.mark.parametrize("change,path", [
    ({"loadBalancer": "internal"}, "gateway.tls.acmeChallenge"),
    ({"hostname": "*.models.dev.example.com"}, "gateway.tls.acmeChallenge"),
    ({"tls": {"mode": "acme", "acmeEmail": "a@example.com", "acmeChallenge": "dns01"}}, "gateway.tls"),
    ({"tls": {"mode": "secret"}}, "gateway.tls"),
    ({"sourceRanges": ["10.0.0.0/8"], "loadBalancer": "internal", "tls": {"mode": "secret", "secretName": "x"}}, "gateway.sourceRanges"),
    ({"sourceRanges": ["10.0.0.1/8"]}, "gateway.sourceRanges"),
    ({"replicas": 0}, "gateway.replicas"),
])
def test_bad_gateway_config_is_a_clear_error(change: dict[str, Any], path: str) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["gateway"].update(change)
    errors = config_errors(doc)
    assert any(f"serving:platform.{path}" in e for e in errors), errors


def test_grafana_host_must_differ_from_the_models_host() -> None:
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"]["grafana"] = {"host": "models.dev.example.com"}
    assert any("monitoring.grafana.host" in e and "must differ" in e for e in config_errors(doc))


# --- per-route policies ------------------------------------------------------------------------------------------


def _policy(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": kind, "metadata": {"name": "m", "namespace": "team-a"}, "spec": spec}


@pytest.mark.parametrize("options", [
    {},
    {"requestTimeout": "15m", "idleTimeout": "5m", "rateLimit": {"requests": 20, "unit": "Minute"}},
    {"retries": {"attempts": 0}},
    {"retries": {"attempts": 3, "on": ["5xx", "connect-failure"], "perTryTimeout": "30s"}},
    {"apiKey": {"keys": {"client-a": "k1"}}},
    {"apiKey": {"existingSecret": "llm-keys", "header": "authorization"}},
    {"jwt": {"issuer": "https://auth.example.com/", "jwksUri": "https://auth.example.com/.well-known/jwks.json", "audiences": ["models"]}},
])
def test_route_policies_validate_against_envoy_gateway_crds(options: dict[str, Any]) -> None:
    opts = RouteOptions.model_validate(options)
    btp = backend_traffic_policy_spec("m", opts, "600s")
    assert btp["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "m"}]
    assert btp["timeout"]["http"]["requestTimeout"] == options.get("requestTimeout", "600s")
    assert validate_object(_policy("BackendTrafficPolicy", btp)) == []
    sp = security_policy_spec("m", opts)
    assert (sp is None) == ("apiKey" not in options and "jwt" not in options)
    if sp is not None:
        assert validate_object(_policy("SecurityPolicy", sp)) == []


def test_retries_default_to_failures_before_the_model_saw_the_request() -> None:
    btp = backend_traffic_policy_spec("m", RouteOptions(), "60s")
    assert btp["retry"]["numRetries"] == 2
    assert set(btp["retry"]["retryOn"]["triggers"]) == {"connect-failure", "refused-stream", "reset-before-request"}
    assert "retry" not in backend_traffic_policy_spec("m", RouteOptions.model_validate({"retries": {"attempts": 0}}), "60s")
    assert "rateLimit" not in btp


def test_api_keys_become_a_secret_the_security_policy_references_and_are_never_printed(stack_root: Callable[..., Path]) -> None:
    doc = repo_stack("dev")
    model = next(m for m in platform_of(doc)["models"] if m["name"] == "churn")
    model.setdefault("exposure", {})["apiKey"] = {"keys": {"crm-backend": "sk-live-abc123XYZ"}}
    plan = plan_of(stack_root, doc)
    ns = "team-tabular"
    states = [s for s in plan.resources if is_kubernetes_object(s) and s.inputs.get("metadata", {}).get("namespace") == ns]
    policy = one(states, "SecurityPolicy")
    (ref,) = policy["spec"]["apiKeyAuth"]["credentialRefs"]
    secret = one(states, "Secret", ref["name"])
    assert list(secret["stringData"]) == ["crm-backend"] and str(secret["stringData"]["crm-backend"]) == SECRET_TEXT
    assert policy["spec"]["apiKeyAuth"]["extractFrom"] == [{"headers": ["x-api-key"]}]
    assert "sk-live-abc123XYZ" not in render_json(plan)


@pytest.mark.parametrize("exposure,needle", [
    ({"apiKey": {"keys": {"a": "x"}}, "jwt": {"issuer": "https://i.example.com", "jwksUri": "https://i.example.com/jwks"}}, "choose one of apiKey or jwt"),
    ({"apiKey": {}}, "exactly one of keys"),
    ({"requestTimeout": "1d"}, "requestTimeout"),
    ({"rateLimit": {"requests": 0}}, "rateLimit.requests"),
    ({"retries": {"on": ["sometimes"]}}, "retries.on"),
])
def test_bad_route_options_are_clear_errors(exposure: dict[str, Any], needle: str) -> None:
    doc = repo_stack("dev")
    model = copy.deepcopy(next(m for m in platform_of(doc)["models"] if m["name"] == "churn"))
    platform_of(doc)["models"] = [model]
    model["exposure"] = exposure
    errors = config_errors(doc)
    assert any("serving:platform.models[0].exposure" in e and needle in e for e in errors), errors
