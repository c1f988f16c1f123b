"""Envoy AI Gateway: what makes the shared Envoy Gateway an inference gateway.

Envoy Gateway v1.9.0 has no InferencePool support of its own: it routes to an InferencePool only through an extension
server registered for that kind (`extensionManager.backendResources`). Envoy AI Gateway's controller is that server
(envoyproxy/ai-gateway v1.1.0, `internal/extensionserver/inferencepool.go`): for a route to a pool it adds the
pool's endpoint picker as an ext_proc filter and an ORIGINAL_DST cluster that sends the request to the replica the
picker chose. Its AIGatewayRoute adds the OpenAI endpoint (`components/openai_route.py`). Envoy AI Gateway was chosen
over the inference extension's body-based router because the extension server is needed anyway, and with it
`model`-based routing, `/v1/models` and per-route token metrics come without another ext_proc service to run.

This component installs, in order:
- the InferencePool CRD (`catalog/llm.py`; no chart installs it);
- the AI Gateway CRDs chart and the controller chart (namespace `envoy-ai-gateway-system`), pinned images, two
  replicas with leader election and a PodDisruptionBudget on the system pool.
Envoy Gateway's own values for the extension manager are `extension_manager_values()`: the gateway component passes them
to its chart (the AI Gateway docs' `manifests/envoy-gateway-values.yaml` plus the InferencePool addon file of
`examples/inference-pool/`, v1.1.0).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import conventions as cv
from ..catalog import charts
from ..catalog import llm as catalog
from ..config import PlatformConfig
from .helm import chart_release


def extension_manager_values() -> dict[str, Any]:
    """Envoy Gateway chart values (`config.envoyGateway`, the EnvoyGateway API,
    https://gateway.envoyproxy.io/docs/api/extension_types/#envoygateway) registering Envoy AI Gateway as extension
    server and InferencePool as a backend resource."""
    return {
        "config": {
            "envoyGateway": {
                "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                "provider": {"type": "Kubernetes"},
                "logging": {"level": {"default": "info"}},
                # AI Gateway uses Backend (its AIServiceBackends) and EnvoyPatchPolicy.
                "extensionApis": {"enableBackend": True, "enableEnvoyPatchPolicy": True},
                "extensionManager": {
                    "hooks": {
                        "xdsTranslator": {
                            "translation": {kind: {"includeAll": True} for kind in ("listener", "route", "cluster", "secret")},
                            "post": ["Translation", "Cluster", "Route"],
                        }
                    },
                    "service": {
                        "fqdn": {
                            "hostname": f"{catalog.AI_GATEWAY_CONTROLLER}.{catalog.AI_GATEWAY_NAMESPACE}.svc.cluster.local",
                            "port": catalog.AI_GATEWAY_EXTENSION_PORT,
                        }
                    },
                    "backendResources": [
                        {"group": catalog.INFERENCE_POOL_GROUP, "kind": "InferencePool", "version": "v1"},
                    ],
                },
            }
        }
    }


def controller_values(cfg: PlatformConfig) -> dict[str, Any]:
    """ai-gateway-helm values (manifests/charts/ai-gateway-helm/values.yaml, v1.1.0)."""
    system = cfg.node_pools.system
    placement: dict[str, Any] = {"nodeSelector": cv.pool_node_selector(system)}
    if system.taints:
        placement["tolerations"] = cv.pool_tolerations(system)
    selector = {"matchLabels": {"app.kubernetes.io/name": "ai-gateway-helm"}}
    return {
        "controller": {
            # The chart's default tag is its appVersion: pinned here so a chart/app mismatch cannot slip in.
            "image": {"repository": "docker.io/envoyproxy/ai-gateway-controller", "tag": catalog.AI_GATEWAY_VERSION},
            # Envoy Gateway calls it for every xDS translation: two replicas (leader election is on by default).
            "replicaCount": 2,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
            ],
            **placement,
        },
        # The ext_proc sidecar the controller injects into the Envoy proxy pods (model header, /v1/models, metrics).
        "extProc": {"image": {"repository": "docker.io/envoyproxy/ai-gateway-extproc", "tag": catalog.AI_GATEWAY_VERSION}},
    }


def inference_pool_crd() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(catalog.INFERENCE_POOL_CRD.read_text()))


class AiGateway(pulumi.ComponentResource):
    """`serving:ai_gateway:AiGateway`: the InferencePool CRD and Envoy AI Gateway (CRDs, controller)."""

    def __init__(self, name: str, cfg: PlatformConfig, provider: k8s.Provider, depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        """`depends_on`: Envoy Gateway's release (its CRDs: the controller watches Gateway API and Envoy Gateway kinds)."""
        super().__init__("serving:ai_gateway:AiGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(depends_on))
        crd = inference_pool_crd()
        self.inference_pool_crd = k8s.apiextensions.v1.CustomResourceDefinition(
            f"{name}-inferencepool-crd",
            metadata=crd["metadata"],
            spec=crd["spec"],
            opts=child,
        )
        self.crds = chart_release(
            f"{name}-crds", charts.AI_GATEWAY_CRDS, catalog.AI_GATEWAY_NAMESPACE, {}, child, release_name="aieg-crd",
        )
        self.controller = chart_release(
            f"{name}-controller", charts.AI_GATEWAY, catalog.AI_GATEWAY_NAMESPACE, controller_values(cfg),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.crds, self.inference_pool_crd])),
            release_name="aieg",
        )
        #: What a model's InferencePool and AIGatewayRoute need first.
        self.ready: list[pulumi.Resource] = [self.inference_pool_crd, self.crds, self.controller]
        self.register_outputs({"namespace": catalog.AI_GATEWAY_NAMESPACE, "version": catalog.AI_GATEWAY_VERSION})
