"""The InferencePool of an LLM model and its endpoint picker.

In the model's namespace:
- `InferencePool <model>` (inference.networking.k8s.io/v1) selecting the server pods of the tracks that take live
  traffic (primary and canary: label `serving.platform/inference-pool`, never a shadow) on the server port, its
  `endpointPickerRef` naming the picker Service below, with the model's `failureMode` (`config/llm.py`);
- the endpoint picker (llm-d router EPP v0.9.0, `catalog/llm.py`): ConfigMap with the scoring profile (queue depth,
  KV-cache use, prefix-cache affinity), ServiceAccount with a Role to watch the pool and its pods (and leases for
  leader election), Deployment, Service, PodDisruptionBudget, NetworkPolicy and ServiceMonitor. These follow the
  llm-d router chart's templates at v0.9.0 but are built here, because that chart gives the picker no security
  context, node selector, priority class, spread or PDB, and (in git) a dev image.

High availability: `picker.replicas` pods (default 2) with `--ha-enable-leader-election`; only the leader reports
ready (gRPC health service `readiness`), so the Service always points at the one active picker and a standby takes
over when the leader goes (the chart's HA mode; its Deployment uses `Recreate`, kept here, so an upgrade never runs
two leaders' worth of prefix state). The pods spread over nodes and zones of the system pool; the PDB keeps one.

One pool per model, spanning primary and canary: Envoy AI Gateway v1.1.0 serves one InferencePool per route rule
(its extension server enables exactly one picker per route: `patchVirtualHostWithInferencePool`, "we can only specify
one backend in a rule for InferencePool" in `post_translate_modify.go`), so a weight between two pools cannot be
applied. A canary's replicas join the model's pool and get requests as the picker scores them (load, KV cache,
prefix), i.e. about their share of the pool's capacity (`config/llm.py` refuses a `canary.weight` for an LLM). A
shadow is mirrored to its plain Service (mirrored answers are discarded: nothing for a picker to optimise).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import conventions as cv
from ..catalog import llm as catalog
from ..config import ModelConfig, PlatformConfig
from .k8s import custom_resource, meta

PICKER_COMPONENT = cv.PICKER_COMPONENT
#: Same as the chart: long enough for the in-flight picks of a draining leader (`terminationGracePeriodSeconds`).
PICKER_GRACE_SECONDS = 130
PICKER_RUN_AS = 65532  # the EPP image's nonroot user (distroless)


#: Where client-go's in-cluster config reads the token, CA and namespace (rest.InClusterConfig).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def api_access_volume(name: str) -> dict[str, Any]:
    """The projected volume the kubelet mounts for `automountServiceAccountToken: true` (a bound, expiring token,
    the cluster CA from the `kube-root-ca.crt` ConfigMap, the namespace), for a pod that mounts it explicitly."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o444,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }


def pool_name(model: ModelConfig) -> str:
    return cv.inference_pool_name(model.name)


def picker_name(model: ModelConfig) -> str:
    return cv.picker_name(model.name)


def pooled_tracks(model: ModelConfig) -> list[str]:
    """Tracks whose pods are in the model's InferencePool: the primary and a canary (never a shadow)."""
    return [cv.TRACK_PRIMARY, *(["canary"] if model.canary is not None else [])]


def pool_pod_labels(model: ModelConfig, track: str) -> dict[str, str]:
    """Labels a track's server pods carry for the model's InferencePool to select them (none for other tracks)."""
    return {cv.INFERENCE_POOL_LABEL: pool_name(model)} if model.preset.llm and track in pooled_tracks(model) else {}


def picker_labels(model: ModelConfig) -> dict[str, str]:
    return {
        cv.APP_NAME: picker_name(model),
        cv.APP_COMPONENT: PICKER_COMPONENT,
        cv.APP_PART_OF: cv.PART_OF,
        cv.MANAGED_BY: "pulumi",
        cv.MODEL_LABEL: model.name,
        cv.TEAM_LABEL: model.team,
    }


def picker_selector(model: ModelConfig) -> dict[str, str]:
    return {cv.APP_NAME: picker_name(model), cv.APP_COMPONENT: PICKER_COMPONENT}


def inference_pool_spec(model: ModelConfig) -> dict[str, Any]:
    """The InferencePool spec (routerlib `_inferencepool.yaml`): the pooled tracks' pods, the server port, the picker."""
    return {
        "selector": {"matchLabels": {cv.INFERENCE_POOL_LABEL: pool_name(model)}},
        "targetPorts": [{"number": model.port}],
        "appProtocol": "http",
        "endpointPickerRef": {
            "name": picker_name(model),
            "port": {"number": catalog.EPP_GRPC_PORT},
            "failureMode": model.inference.picker.failure_mode,
        },
    }


def picker_config(model: ModelConfig) -> str:
    """EndpointPickerConfig (routerlib `_config.yaml`, `default-plugins.yaml`): scorers of the default profile, the
    replicas' metrics read from the server's own metrics path."""
    plugins: list[dict[str, Any]] = [{"type": t} for t, _ in catalog.EPP_SCORERS]
    plugins.append({
        "type": "metrics-data-source",
        "parameters": {"scheme": "http", "path": model.server.metrics_path or model.preset.metrics_path or "/metrics",
                       "insecureSkipVerify": True},
    })
    engine = catalog.EPP_ENGINES.get(model.runtime, "vllm")
    extractor: dict[str, Any] = {"type": "core-metrics-extractor"}
    if engine != "vllm":
        extractor["parameters"] = {"defaultEngine": engine}
    plugins.append(extractor)
    doc = {
        "apiVersion": "llm-d.ai/v1alpha1",
        "kind": "EndpointPickerConfig",
        "plugins": plugins,
        "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": t, "weight": w} for t, w in catalog.EPP_SCORERS]}],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def picker_args(model: ModelConfig, namespace: str) -> list[str]:
    """EPP flags (pkg/epp/server/options.go v0.9.0; the chart's `_deployment.yaml`)."""
    args = [
        "--pool-name", pool_name(model),
        "--pool-namespace", namespace,
        "--pool-group", catalog.INFERENCE_POOL_GROUP,
        "--zap-encoder", "json",
        "--config-file", "/config/plugins.yaml",
        "--grpc-port", str(catalog.EPP_GRPC_PORT),
        "--grpc-health-port", str(catalog.EPP_HEALTH_PORT),
        "--metrics-port", str(catalog.EPP_METRICS_PORT),
        # /metrics without a bearer token: Prometheus scrapes it over the pod network, which the NetworkPolicy below
        # opens to the monitoring namespace only (the chart's alternative needs a cluster-wide TokenReview role).
        "--metrics-endpoint-auth=false",
        "--tracing=false",
    ]
    if model.inference.picker.replicas > 1:
        args.append("--ha-enable-leader-election")
    return args


def picker_deployment_spec(model: ModelConfig, cfg: PlatformConfig, namespace: str) -> dict[str, Any]:
    replicas = model.inference.picker.replicas
    selector = picker_selector(model)
    # With leader election only the leader is ready (health service `readiness`); a single picker reports on the
    # service `inference-extension` (chart `_deployment.yaml`).
    health_service = ("liveness", "readiness") if replicas > 1 else ("inference-extension", "inference-extension")
    system = cfg.node_pools.system
    pod: dict[str, Any] = {
        "serviceAccountName": picker_name(model),
        # The picker watches its pool and pods through the API server: its token is mounted explicitly below (the
        # kubelet's automount, spelled out: only this container gets it, readOnly).
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "priorityClassName": cv.SERVING_PRIORITY_CLASS,
        "terminationGracePeriodSeconds": PICKER_GRACE_SECONDS,
        "nodeSelector": cv.pool_node_selector(system),
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": PICKER_RUN_AS, "runAsGroup": PICKER_RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ],
        "containers": [{
            "name": "epp",
            "image": catalog.EPP_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "args": picker_args(model, namespace),
            "env": [
                {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            "ports": [
                {"name": "grpc", "containerPort": catalog.EPP_GRPC_PORT, "protocol": "TCP"},
                {"name": "grpc-health", "containerPort": catalog.EPP_HEALTH_PORT, "protocol": "TCP"},
                {"name": "metrics", "containerPort": catalog.EPP_METRICS_PORT, "protocol": "TCP"},
            ],
            "livenessProbe": {"grpc": {"port": catalog.EPP_HEALTH_PORT, "service": health_service[0]},
                              "initialDelaySeconds": 5, "periodSeconds": 10},
            "readinessProbe": {"grpc": {"port": catalog.EPP_HEALTH_PORT, "service": health_service[1]},
                               "periodSeconds": 2},
            "resources": {"requests": {"cpu": catalog.EPP_CPU_REQUEST, "memory": catalog.EPP_MEMORY_REQUEST},
                          "limits": {"memory": catalog.EPP_MEMORY_LIMIT}},
            "securityContext": {
                "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                "runAsNonRoot": True, "runAsUser": PICKER_RUN_AS, "runAsGroup": PICKER_RUN_AS,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [{"name": "config", "mountPath": "/config", "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp"},
                             {"name": "kube-api-access", "mountPath": SERVICE_ACCOUNT_DIR, "readOnly": True}],
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }],
        "volumes": [
            {"name": "config", "configMap": {"name": picker_name(model), "defaultMode": 0o444}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            api_access_volume("kube-api-access"),
        ],
    }
    if system.taints:
        pod["tolerations"] = cv.pool_tolerations(system)
    return {
        "replicas": replicas,
        "selector": {"matchLabels": selector},
        "revisionHistoryLimit": 5,
        # The chart's choice: the old leader goes at once and a new one takes over, never two sets of prefix state.
        "strategy": {"type": "Recreate"},
        "template": {"metadata": {"labels": picker_labels(model)}, "spec": pod},
    }


def picker_role_rules() -> list[dict[str, Any]]:
    """What the EPP reads (chart `rbac.yaml`, `_rbac.yaml`, `_leader-election-rbac.yaml`): its pool and the pods
    behind it; its optional request-management APIs; leases and events for leader election."""
    read = ["get", "watch", "list"]
    return [
        {"apiGroups": [""], "resources": ["pods"], "verbs": read},
        {"apiGroups": [catalog.INFERENCE_POOL_GROUP], "resources": ["inferencepools"], "verbs": read},
        {"apiGroups": ["llm-d.ai", "inference.networking.x-k8s.io"], "resources": ["inferenceobjectives", "inferencemodelrewrites"], "verbs": read},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ]


def picker_network_policy_spec(model: ModelConfig) -> dict[str, Any]:
    """Ingress: ext_proc calls from the gateway's proxies, scrapes from Prometheus. Egress: DNS, the API server
    (HTTPS, any address: its endpoints are outside the pod network on EKS), the pool's pods on the metrics port
    (the picker reads each replica's metrics)."""

    def ns(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    return {
        "podSelector": {"matchLabels": picker_selector(model)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [ns(cv.GATEWAY_NAMESPACE)], "ports": [{"protocol": "TCP", "port": catalog.EPP_GRPC_PORT}]},
            {"from": [ns(cv.MONITORING_NAMESPACE)], "ports": [{"protocol": "TCP", "port": catalog.EPP_METRICS_PORT}]},
        ],
        "egress": [
            {"to": [{**ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
             "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}],
             "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]},
            {"to": [{"podSelector": {"matchLabels": {cv.INFERENCE_POOL_LABEL: pool_name(model)}}}],
             "ports": [{"protocol": "TCP", "port": model.metrics_port}]},
        ],
    }


def model_ingress_from_pickers(model: ModelConfig) -> list[dict[str, Any]]:
    """NetworkPolicy ingress rule the model's own pods need: its pickers read their metrics port."""
    if not model.preset.llm:
        return []
    return [{
        "from": [{"podSelector": {"matchLabels": {cv.MODEL_LABEL: model.name, cv.APP_COMPONENT: PICKER_COMPONENT}}}],
        "ports": [{"protocol": "TCP", "port": model.metrics_port}],
    }]


def picker_monitor_spec(model: ModelConfig, namespace: str) -> dict[str, Any]:
    return {
        "selector": {"matchLabels": picker_selector(model)},
        "namespaceSelector": {"matchNames": [namespace]},
        "endpoints": [{"port": "http-metrics", "path": "/metrics", "interval": "15s", "scheme": "http"}],
        # Series carry the model; the pool is the EPP's own `name` label.
        "targetLabels": [cv.MODEL_LABEL],
    }


class InferencePoolPart:
    """The InferencePool and endpoint picker of an LLM model (a part of `ModelServing`: resources parented to it)."""

    def __init__(self, name: str, model: ModelConfig, cfg: PlatformConfig, namespace: str, opts: pulumi.ResourceOptions,
                 depends_on: Optional[list[pulumi.Resource]] = None):
        """`name`: prefix of Pulumi names (the model component's name); `depends_on`: the InferencePool CRD and the
        gateway's AI extension (they must exist before a pool)."""
        self.pool_name = pool_name(model)
        picker = picker_name(model)
        labels = picker_labels(model)
        after = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on or [])))
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-epp-config", metadata=meta(picker, namespace, labels), data={"plugins.yaml": picker_config(model)}, opts=opts,
        )
        self.service_account = k8s.core.v1.ServiceAccount(f"{name}-epp-sa", metadata=meta(picker, namespace, labels), opts=opts)
        role = k8s.rbac.v1.Role(f"{name}-epp-role", metadata=meta(picker, namespace, labels),
                                rules=[cast(k8s.rbac.v1.PolicyRuleArgsDict, r) for r in picker_role_rules()], opts=opts)
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-epp-rolebinding",
            metadata=meta(picker, namespace, labels),
            role_ref=cast(k8s.rbac.v1.RoleRefArgsDict, {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": picker}),
            subjects=[cast(k8s.rbac.v1.SubjectArgsDict, {"kind": "ServiceAccount", "name": picker, "namespace": namespace})],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role, self.service_account])),
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-epp",
            metadata=meta(picker, namespace, labels),
            # Kubernetes JSON (camelCase keys, passed through unchanged) cast to the SDK's TypedDicts, here and below.
            spec=cast(k8s.apps.v1.DeploymentSpecArgsDict, picker_deployment_spec(model, cfg, namespace)),
            opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[self.config_map, binding])),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-epp-service",
            metadata=meta(picker, namespace, labels),
            spec=cast(k8s.core.v1.ServiceSpecArgsDict, {
                "selector": picker_selector(model),
                "ports": [
                    # appProtocol http2: the gateway opens gRPC (HTTP/2 over TLS) to the picker.
                    {"name": "grpc-ext-proc", "port": catalog.EPP_GRPC_PORT, "targetPort": "grpc", "protocol": "TCP", "appProtocol": "http2"},
                    {"name": "http-metrics", "port": catalog.EPP_METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
                ],
            }),
            opts=opts,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-epp-pdb",
            metadata=meta(picker, namespace, labels),
            spec=cast(k8s.policy.v1.PodDisruptionBudgetSpecArgsDict, {"selector": {"matchLabels": picker_selector(model)}, "maxUnavailable": 1}),
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-epp-netpol",
            metadata=meta(picker, namespace, labels),
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, picker_network_policy_spec(model)),
            opts=opts,
        )
        custom_resource(
            f"{name}-epp-servicemonitor", "monitoring.coreos.com/v1", "ServiceMonitor",
            meta(picker, namespace, {**labels, **cv.MONITORING_SELECTOR}), picker_monitor_spec(model, namespace), opts,
        )
        self.pool = custom_resource(
            f"{name}-inferencepool", catalog.INFERENCE_POOL_API, "InferencePool",
            meta(self.pool_name, namespace, _pool_labels(model)), inference_pool_spec(model),
            pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[self.service])),
        )


def _pool_labels(model: ModelConfig) -> Mapping[str, str]:
    return {
        cv.APP_NAME: model.name, cv.APP_COMPONENT: "inference-pool", cv.APP_PART_OF: cv.PART_OF, cv.MANAGED_BY: "pulumi",
        cv.MODEL_LABEL: model.name, cv.TEAM_LABEL: model.team,
    }
