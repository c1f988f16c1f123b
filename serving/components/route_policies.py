"""Envoy Gateway policies for one HTTPRoute, rendered from a model's `RouteOptions` (its `exposure`).

The model component calls `route_policies(...)` right after creating its HTTPRoute; everything returned lives in
the model's namespace and targets only that route, so changing one model never touches another's resources.

- BackendTrafficPolicy (always): request timeout (Envoy's own route default is 15s, far too short for a streamed
  LLM answer), stream idle timeout, retries, local rate limit.
  https://gateway.envoyproxy.io/docs/api/extension_types/#backendtrafficpolicy
- SecurityPolicy (when the route has auth): API keys from a Secret, or JWT verified against a remote JWKS.
  https://gateway.envoyproxy.io/docs/tasks/security/apikey-auth/ , .../tasks/security/jwt-authentication/
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from ..config.gateway import RouteOptions
from .k8s import custom_resource, meta

POLICY_API_VERSION = "gateway.envoyproxy.io/v1alpha1"
#: Header Envoy sets to the authenticated API-key client ID (the Secret key), so runtimes and logs can see it.
CLIENT_ID_HEADER = "x-api-client-id"
#: Request timeout when neither the route nor the runtime sets one.
DEFAULT_REQUEST_TIMEOUT = "60s"


def _target(route_name: str, kind: str = "HTTPRoute") -> list[dict[str, str]]:
    # Envoy Gateway policies attach to HTTPRoutes and GRPCRoutes alike (BackendTrafficPolicy / SecurityPolicy
    # targetRefs, https://gateway.envoyproxy.io/docs/api/extension_types/#policytargetreferences).
    return [{"group": "gateway.networking.k8s.io", "kind": kind, "name": route_name}]


def api_key_secret_name(route_name: str) -> str:
    return f"{route_name}-api-keys"


def backend_traffic_policy_spec(route_name: str, options: RouteOptions, default_request_timeout: str,
                                kind: str = "HTTPRoute") -> dict[str, Any]:
    """The BackendTrafficPolicy spec for one route (an HTTPRoute, or a GRPCRoute: same timeouts, retries, limits)."""
    http: dict[str, str] = {"requestTimeout": options.request_timeout or default_request_timeout}
    if options.idle_timeout:
        http["streamIdleTimeout"] = options.idle_timeout
    spec: dict[str, Any] = {"targetRefs": _target(route_name, kind), "timeout": {"http": http}}
    r = options.retries
    if r.attempts > 0:
        per_retry: dict[str, Any] = {"backOff": {"baseInterval": r.backoff_base, "maxInterval": r.backoff_max}}
        if r.per_try_timeout:
            per_retry["timeout"] = r.per_try_timeout
        spec["retry"] = {"numRetries": r.attempts, "retryOn": {"triggers": list(r.on)}, "perRetry": per_retry}
    if options.rate_limit is not None:
        # Local: counted by each proxy replica (Envoy Gateway's global limit needs a Redis-backed rate-limit service).
        spec["rateLimit"] = {
            "local": {"rules": [{"limit": {"requests": options.rate_limit.requests, "unit": options.rate_limit.unit}}]}
        }
    return spec


def security_policy_spec(route_name: str, options: RouteOptions, kind: str = "HTTPRoute",
                         key_route: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The SecurityPolicy spec for one route, or None when the route is open. `key_route`: the route whose API-key
    Secret this one shares (a model's GRPCRoute uses its HTTPRoute's keys)."""
    target = _target(route_name, kind)
    if options.api_key is not None:
        secret = options.api_key.existing_secret or api_key_secret_name(key_route or route_name)
        return {
            "targetRefs": target,
            "apiKeyAuth": {
                "credentialRefs": [{"group": "", "kind": "Secret", "name": secret}],
                "extractFrom": [{"headers": [options.api_key.header]}],
                "forwardClientIDHeader": CLIENT_ID_HEADER,
                # The key itself is not passed on to the model server.
                "sanitize": True,
            },
        }
    if options.jwt is not None:
        provider: dict[str, Any] = {"name": "default", "issuer": options.jwt.issuer, "remoteJWKS": {"uri": options.jwt.jwks_uri}}
        if options.jwt.audiences:
            provider["audiences"] = list(options.jwt.audiences)
        return {"targetRefs": target, "jwt": {"providers": [provider]}}
    return None


def route_policies(
    name: str,
    namespace: str,
    route_name: str,
    options: RouteOptions,
    opts: pulumi.ResourceOptions,
    *,
    default_request_timeout: str = DEFAULT_REQUEST_TIMEOUT,
    labels: Optional[Mapping[str, str]] = None,
    kind: str = "HTTPRoute",
    key_route: Optional[str] = None,
) -> list[pulumi.Resource]:
    """Every policy resource of one HTTPRoute `namespace/route_name`.

    `name` prefixes the Pulumi resource names; `opts` carries the parent and the Kubernetes provider (pass
    `depends_on=[route]` so the policies are created after the route they target). `default_request_timeout` is
    the runtime's default, used when `options.request_timeout` is unset. `kind` is the route's kind; with `key_route`
    the API keys are that route's Secret (not written again).
    """
    out: list[pulumi.Resource] = [
        custom_resource(
            f"{name}-traffic",
            POLICY_API_VERSION,
            "BackendTrafficPolicy",
            meta(route_name, namespace, labels),
            backend_traffic_policy_spec(route_name, options, default_request_timeout, kind),
            opts,
        )
    ]
    spec = security_policy_spec(route_name, options, kind, key_route)
    if spec is None:
        return out
    policy_opts = opts
    if options.api_key is not None and options.api_key.keys and key_route is None:
        secret = k8s.core.v1.Secret(
            f"{name}-api-keys",
            metadata=meta(api_key_secret_name(route_name), namespace, labels),
            type="Opaque",
            string_data={
                client: pulumi.Output.secret(key.get_secret_value()) for client, key in sorted(options.api_key.keys.items())
            },
            opts=opts,
        )
        out.append(secret)
        policy_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[secret]))
    out.append(
        custom_resource(f"{name}-security", POLICY_API_VERSION, "SecurityPolicy", meta(route_name, namespace, labels), spec, policy_opts)
    )
    return out
