"""Pinned pieces of LLM serving: the endpoint picker, Envoy AI Gateway, the InferencePool CRD and the OpenAI paths.

- Endpoint picker (EPP): llm-d router v0.9.0. Since gateway-api-inference-extension v1.6.0 the EPP and its
  request-management APIs live in llm-d/llm-d-router (the inference extension keeps only the InferencePool API), so
  it is the maintained picker; the inference extension's own `inferencepool` chart v1.5.0 ships the last EPP of the
  old home. The image below is the release image its `hack/push-chart.sh` writes into the packaged chart (git
  carries the dev build `llm-d-router-endpoint-picker-dev:main`). Ports, flags, the plugin config and the RBAC
  follow the chart's templates at v0.9.0 (`config/charts/routerlib/templates/_deployment.yaml`, `_config.yaml`,
  `_rbac.yaml`, `_service.yaml`; `pkg/epp/server/options.go` for the flags).
- Envoy AI Gateway v1.1.0: Envoy Gateway v1.9.0 routes to an InferencePool only through an extension server that
  registers it as a backend resource (`extensionManager.backendResources`); Envoy AI Gateway's controller is that
  server (`internal/extensionserver/inferencepool.go`). Its AIGatewayRoute also gives the one OpenAI endpoint: its
  ext_proc reads `model` from the request body into the `x-ai-eg-model` header that routes match on, and answers
  `/v1/models` from the routes' model names.
- The InferencePool CRD (inference.networking.k8s.io/v1): `crds/inference.networking.k8s.io_inferencepools.yaml`,
  kubernetes-sigs/gateway-api-inference-extension v1.6.0 (`config/crd/bases/`; the file is the main-branch copy whose
  only difference to v1.6.0, the bundle-version annotation, is set to v1.6.0). Neither Envoy Gateway's nor Envoy AI
  Gateway's charts install it.
"""

from __future__ import annotations

from pathlib import Path

#: llm-d router endpoint picker (`hack/push-chart.sh`: registry ghcr.io/llm-d, repository llm-d-router-endpoint-picker).
EPP_IMAGE = "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.9.0"
#: EPP ports (routerlib `_deployment.yaml` / `_service.yaml`, `pkg/epp/server/options.go` defaults): ext_proc gRPC
#: (TLS, self-signed: `--secure-serving` defaults to true and the gateway's ext_proc cluster speaks TLS without
#: verification), gRPC health (liveness/readiness services), Prometheus metrics (`/metrics`).
EPP_GRPC_PORT = 9002
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
#: Picker container resources. The chart asks for 8 CPUs / 8Gi, sized for thousands of requests per second; one
#: model's picker here is far below that. No CPU limit (scheduling bursts), memory capped. Team quotas count them.
EPP_CPU_REQUEST = "250m"
EPP_MEMORY_REQUEST = "512Mi"
EPP_MEMORY_LIMIT = "2Gi"
#: Scoring of the chart's default profile (routerlib `_config.yaml`, `default-plugins.yaml`): queue depth and KV-cache
#: use from each replica's metrics, prefix-cache affinity from the prompts it has routed (weights 2/2/3).
EPP_SCORERS = (("queue-scorer", 2), ("kv-cache-utilization-scorer", 2), ("prefix-cache-scorer", 3))
#: `modelServers.type` the EPP reads metrics for (`core-metrics-extractor` default engine), by runtime preset.
EPP_ENGINES = {"vllm": "vllm"}

#: Envoy AI Gateway (https://aigateway.envoyproxy.io/docs/getting-started/installation, v1.1.0): two OCI charts.
AI_GATEWAY_VERSION = "v1.1.0"
AI_GATEWAY_NAMESPACE = "envoy-ai-gateway-system"
#: The controller's Service (chart `controller.fullnameOverride`) and its extension-server gRPC port (values.yaml
#: `controller.service.ports` `grpc` 1063), which Envoy Gateway's extension manager calls.
AI_GATEWAY_CONTROLLER = "ai-gateway-controller"
AI_GATEWAY_EXTENSION_PORT = 1063
AI_GATEWAY_METRICS_PORT = 8080
#: Header the AI Gateway's ext_proc fills from the body's `model` field; AIGatewayRoute rules match on it
#: (api/v1beta1 `AIModelHeaderKey`).
MODEL_HEADER = "x-ai-eg-model"
#: The OpenAI-compatible paths clients call (AI Gateway `endpointConfig.rootPrefix` "/" and `openai` ""): all under
#: /v1 on the gateway's host.
OPENAI_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models")

INFERENCE_POOL_API = "inference.networking.k8s.io/v1"
INFERENCE_POOL_GROUP = "inference.networking.k8s.io"
INFERENCE_POOL_CRD = Path(__file__).parent / "crds" / "inference.networking.k8s.io_inferencepools.yaml"
#: CRDs that pinned OCI charts install and the offline charts folder cannot render (Envoy AI Gateway's CRDs chart):
#: copies at the pinned versions, for schema checks (`crds/charts/SOURCES.md`).
CHART_CRDS_DIR = Path(__file__).parent / "crds" / "charts"
