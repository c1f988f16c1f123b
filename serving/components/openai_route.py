"""The OpenAI endpoint of an LLM model: `https://<gateway host>/v1/...` routed by the `model` field of the body.

Per LLM model, in its namespace, one AIGatewayRoute `<model>-openai` (aigateway.envoyproxy.io/v1beta1, Envoy AI
Gateway v1.1.0) on the Gateway's HTTPS listener: one rule matching `x-ai-eg-model: <model>` (the header AI Gateway's
ext_proc fills from the body's `model`, which is the name vLLM serves the model under: `--served-model-name`)
with the model's InferencePool as its backend (a canary's replicas are in the same pool, `inference_pool.py`). AI Gateway turns it
into an HTTPRoute of the same name (internal/controller/ai_gateway_route.go `newHTTPRoute`), with a last rule that
answers unknown models, and answers `GET /v1/models` from the model names of all routes on the Gateway.

The model's own route policies (`route_policies.py`: API key or JWT, rate limit, timeouts, retries) are attached to
that generated HTTPRoute too, so a client calling `/v1/chat/completions` with `"model": "<model>"` meets exactly the
auth and limits of `/models/<model>/...`. Envoy Gateway's policy may target a route before it exists: it applies
once AI Gateway has created it.

Not on this path: shadow copies (an AIGatewayRoute has no RequestMirror filter in v1.1.0); they are mirrored from
the model's own route only.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..catalog import llm as catalog
from ..config import ModelConfig
from .gateway import gateway_parent_ref, HTTPS_LISTENER
from .inference_pool import pool_name
from .k8s import custom_resource, meta
from .route_policies import api_key_secret_name, route_policies

AIGW_API = "aigateway.envoyproxy.io/v1beta1"


def openai_route_name(model: ModelConfig) -> str:
    return f"{model.name}-openai"


def pool_backend_refs(model: ModelConfig) -> list[dict[str, Any]]:
    """The model's InferencePool as the (only) backend of a route rule."""
    return [{"group": catalog.INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": pool_name(model)}]


def openai_route_spec(model: ModelConfig, hostname: str) -> dict[str, Any]:
    return {
        "parentRefs": [gateway_parent_ref(HTTPS_LISTENER)],
        "hostnames": [hostname],
        "rules": [{
            "name": "model",
            "matches": [{"headers": [{"type": "Exact", "name": catalog.MODEL_HEADER, "value": model.name}]}],
            "backendRefs": pool_backend_refs(model),
            # `/v1/models` reports the owner of each model.
            "modelsOwnedBy": model.team,
            # AI Gateway's default is 60s; a streamed completion may take minutes (the runtime's own default).
            "timeouts": {"request": model.exposure.request_timeout or model.preset.request_timeout},
        }],
    }


def openai_route(
    name: str, model: ModelConfig, namespace: str, hostname: str, labels: dict[str, str], opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    """The AIGatewayRoute of a model and the model's policies on its generated HTTPRoute. `opts` must depend on the
    model's InferencePools and the AI Gateway's CRDs."""
    route_name = openai_route_name(model)
    route = custom_resource(f"{name}-openai", AIGW_API, "AIGatewayRoute", meta(route_name, namespace, labels),
                            openai_route_spec(model, hostname), opts)
    options = model.exposure
    if options.api_key is not None and options.api_key.keys:
        # The same keys as the model's own route: reuse its Secret rather than write the keys twice.
        api_key = options.api_key.model_copy(update={"keys": {}, "existing_secret": api_key_secret_name(model.name)})
        options = options.model_copy(update={"api_key": api_key})
    policies = route_policies(
        f"{name}-openai", namespace, route_name, options,
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[route])),
        default_request_timeout=model.preset.request_timeout, labels=labels,
    )
    return [route, *policies]
