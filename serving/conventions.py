"""Names, labels and taints that more than one component must agree on. The only place they are spelled.

A node pool carries `pool_labels(pool)` and `pool_taints(pool)`; a pod meant for that pool gets
`pool_node_selector(pool)` and `pool_tolerations(pool)`, derived from the same data, so a model can never be
unschedulable because of a typo.
"""

from __future__ import annotations

from typing import Union

from .config import GpuPoolConfig, NodePoolConfig, Taint

#: PriorityClasses of the platform's own pods, above models (`SERVING_PRIORITY_CLASS`) so a scaling model never
#: preempts them: Kubernetes' built-in classes (kube-apiserver creates them; usable in any namespace since 1.17), as
#: the aws-load-balancer-controller and cluster-autoscaler charts default to. Controllers and proxies run at
#: cluster-critical, per-node agents (log shipper, GPU device plugin and exporter) at node-critical.
PLATFORM_PRIORITY_CLASS = "system-cluster-critical"
NODE_AGENT_PRIORITY_CLASS = "system-node-critical"
#: Annotation key prefix of a policy waiver on one object: `policy.serving.platform/<rule>: <reason>` (policy/rules.py).
POLICY_WAIVER_PREFIX = "policy.serving.platform/"

#: Prefix of the platform's own label keys.
DOMAIN = "serving.platform"

#: Label on every node of a pool (and on its cluster-autoscaler node-template tags), naming the pool.
POOL_LABEL = f"{DOMAIN}/pool"
#: Label on every GPU node.
GPU_NODE_LABEL = "nvidia.com/gpu.present"
#: The extended resource the NVIDIA device plugin advertises, and the taint key GPU pools carry by default.
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = Taint(key=GPU_RESOURCE, value="true", effect="NoSchedule")
#: cluster-autoscaler's GPU label on AWS (cloudprovider/aws README, "Special note on GPU instances"): a node carrying
#: it counts as not ready until the device plugin advertises its GPUs, so the autoscaler does not over-provision.
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
#: Node label the NVIDIA device plugin's config-manager reads to pick a named config (k8s-device-plugin chart,
#: templates/daemonset-device-plugin.yml NODE_LABEL); each GPU pool gets a config named after it.
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
#: Who runs the NVIDIA device plugin on a GPU node: "daemonset" (the chart / GPU operator; AL2023 NVIDIA AMI) or
#: "host" (Bottlerocket NVIDIA variants run it as a host service). The chart's DaemonSet avoids "host" nodes.
DEVICE_PLUGIN_LABEL = f"{DOMAIN}/nvidia-device-plugin"
#: Node label the GPU operator's MIG manager reads to cut the node's GPUs into MIG devices (its value names a
#: mig-parted config, e.g. `all-1g.10gb`; GPU operator docs "GPU Operator with MIG"): a MIG pool's `migConfig`.
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
#: Labels the platform sets on pool nodes; a pool's own `labels` may not use them.
RESERVED_LABELS = frozenset({POOL_LABEL, GPU_NODE_LABEL, ACCELERATOR_LABEL, DEVICE_PLUGIN_CONFIG_LABEL, DEVICE_PLUGIN_LABEL,
                             MIG_CONFIG_LABEL})

#: Standard Kubernetes app labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
APP_NAME = "app.kubernetes.io/name"
APP_INSTANCE = "app.kubernetes.io/instance"
APP_VERSION = "app.kubernetes.io/version"
APP_COMPONENT = "app.kubernetes.io/component"
APP_PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "ml-serving-platform"

#: Labels the platform puts on model pods; log records and dashboards key on them.
MODEL_LABEL = f"{DOMAIN}/model"
MODEL_VERSION_LABEL = f"{DOMAIN}/model-version"
TEAM_LABEL = f"{DOMAIN}/team"
#: Which of a model's Deployments a pod belongs to: `primary`, `canary` or `shadow`.
TRACK_LABEL = f"{DOMAIN}/track"
#: The shared server fleet a pod belongs to (fleets' pods, Services and monitors; `config/fleets.py`).
FLEET_LABEL = f"{DOMAIN}/fleet"
#: gRPC request header naming the model on the shared gateway host (gRPC carries the model name inside the message,
#: so the route matches on this header; a model with `exposure.host` is matched by host alone).
MODEL_HEADER = "x-model"
#: Header a model's route sets on requests it sends to the KEDA HTTP interceptor (value `<namespace>/<model>`); the
#: model's HTTPScaledObject matches on it, so models sharing a host and path (after the route's rewrite) never
#: collide. Set by the platform, unlike `MODEL_HEADER` (sent by gRPC clients) and Envoy AI Gateway's `x-ai-eg-model`
#: (taken from an OpenAI request's body, `catalog/llm.py`).
WAKE_HEADER = "x-serving-model"
#: The track a model's autoscaler scales (its primary Deployment); queue-based signals count only its pods.
TRACK_PRIMARY = "primary"
#: PriorityClass of model-serving pods: above batch/dev workloads, below system-node-critical.
SERVING_PRIORITY_CLASS = "model-serving"
#: Label Prometheus uses to select the platform's own ServiceMonitors / PrometheusRules (no reliance on `release`).
MONITORING_SELECTOR = {f"{DOMAIN}/monitoring": "platform"}

#: Namespaces of the platform's shared services.
GATEWAY_NAMESPACE = "envoy-gateway-system"
CERT_MANAGER_NAMESPACE = "cert-manager"
MONITORING_NAMESPACE = "monitoring"
GPU_NAMESPACE = "gpu-system"
KEDA_NAMESPACE = "keda"
LOGGING_NAMESPACE = "logging"
CLUSTER_AUTOSCALER_NAMESPACE = "kube-system"

#: The default StorageClass on EKS (encrypted gp3 through the EBS CSI driver), made by `components/cluster.py`.
DEFAULT_STORAGE_CLASS = "gp3"

#: The shared Gateway every model's HTTPRoute attaches to.
GATEWAY_CLASS_NAME = "envoy-gateway"
GATEWAY_NAME = "platform"

Pool = Union[NodePoolConfig, GpuPoolConfig]


def pod_security_labels(level: str, kubernetes_version: str) -> dict[str, str]:
    """Pod Security admission labels of a namespace: `level` enforced, audited and warned, at the policy version of
    the cluster's Kubernetes minor (`v1.34`), never `latest`, so a control-plane upgrade does not change what the
    namespace admits (https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces)."""
    version = f"v{kubernetes_version}"
    return {
        f"pod-security.kubernetes.io/{mode}{suffix}": value
        for mode in ("enforce", "audit", "warn")
        for suffix, value in (("", level), ("-version", version))
    }


def policy_waivers(reason: str, *rules: str) -> dict[str, str]:
    """Pod annotations waiving policy-pack rules for one workload, with the reason (reported as advisory)."""
    return {f"{POLICY_WAIVER_PREFIX}{rule}": reason for rule in rules}


def team_namespace(team: str) -> str:
    return f"team-{team}"


def is_gpu_pool(pool: Pool) -> bool:
    return isinstance(pool, GpuPoolConfig)


def pool_labels(pool: Pool) -> dict[str, str]:
    """Labels every node of the pool carries (user labels cannot override the platform's own).

    On EKS these are the node group's labels and the autoscaler's node-template tags; on an existing cluster they
    are what the pool's nodes must already carry."""
    labels = dict(pool.labels)
    labels[POOL_LABEL] = pool.name
    if isinstance(pool, GpuPoolConfig):
        labels[GPU_NODE_LABEL] = "true"
        labels[ACCELERATOR_LABEL] = pool.instance.family.accelerator
        labels[DEVICE_PLUGIN_CONFIG_LABEL] = device_plugin_config_name(pool)
        labels[DEVICE_PLUGIN_LABEL] = "host" if pool.ami_type.startswith("BOTTLEROCKET") else "daemonset"
        if pool.mig_layout is not None:
            labels[MIG_CONFIG_LABEL] = str(pool.mig_config)
    return labels


#: Prefix of the extended resource of a MIG profile under the `mixed` strategy (k8s-device-plugin README, "MIG
#: support": `nvidia.com/mig-<slices>g.<memory>gb`).
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"


def mig_resource(profile: str) -> str:
    """The extended resource a pod requests for one MIG device of `profile` on a MIG mixed pool."""
    return f"{MIG_RESOURCE_PREFIX}{profile}"


def pool_gpu_resources(pool: GpuPoolConfig) -> dict[str, int]:
    """GPU extended resources each node of the pool advertises: `nvidia.com/gpu` (whole GPUs, time slices, or MIG
    devices under `single`) and, under MIG `mixed`, one `nvidia.com/mig-<profile>` per profile of its layout."""
    out = {GPU_RESOURCE: pool.allocatable_gpus_per_node} if pool.allocatable_gpus_per_node else {}
    out.update({mig_resource(p): n for p, n in pool.mig_devices_per_node.items()})
    return out


def mig_resources(pools: "list[GpuPoolConfig]") -> list[str]:
    """Every `nvidia.com/mig-<profile>` resource the GPU pools advertise (team quotas bound each)."""
    return sorted({r for pool in pools for r in pool_gpu_resources(pool) if r != GPU_RESOURCE})


def model_gpu_resource(pool: GpuPoolConfig, mig_profile: "str | None") -> str:
    """The resource a model's pod requests on its pool: its MIG profile's under `mixed`, else `nvidia.com/gpu` (under
    `single` the pool's one profile is what `nvidia.com/gpu` is)."""
    return mig_resource(mig_profile) if mig_profile and pool.mig_strategy == "mixed" else GPU_RESOURCE


def device_plugin_config_name(pool: GpuPoolConfig) -> str:
    """The device plugin config (a key of its ConfigMap) the pool's nodes select: named after the pool."""
    return pool.name


def pool_taints(pool: Pool) -> list[Taint]:
    """Taints every node of the pool carries: GPU pools always carry the GPU taint first."""
    taints = list(pool.taints)
    if is_gpu_pool(pool) and not any(t.key == GPU_TAINT.key and t.effect == GPU_TAINT.effect for t in taints):
        taints.insert(0, GPU_TAINT)
    return taints


def pool_node_selector(pool: Pool) -> dict[str, str]:
    """What a pod selects to land on this pool."""
    return {POOL_LABEL: pool.name}


def pool_tolerations(pool: Pool) -> list[dict[str, str]]:
    """Kubernetes tolerations (camelCase dicts) matching every taint of the pool."""
    out = []
    for t in pool_taints(pool):
        tol = {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
        if not t.value:
            tol = {"key": t.key, "operator": "Exists", "effect": t.effect}
        out.append(tol)
    return out


def gpu_node_tolerations(pools: "list[GpuPoolConfig]") -> list[dict[str, str]]:
    """Tolerations for a DaemonSet that must run on every GPU node (device plugin, DCGM exporter): every taint of
    every GPU pool, once."""
    out: list[dict[str, str]] = []
    for pool in pools:
        for tol in pool_tolerations(pool):
            if tol not in out:
                out.append(tol)
    return out


def gpu_node_affinity(exclude_host_device_plugin: bool = False) -> dict:
    """Node affinity (camelCase) selecting GPU nodes; optionally not those whose OS runs the device plugin itself."""
    terms = [{"key": GPU_NODE_LABEL, "operator": "In", "values": ["true"]}]
    if exclude_host_device_plugin:
        terms.append({"key": DEVICE_PLUGIN_LABEL, "operator": "NotIn", "values": ["host"]})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": terms}]}}}


def common_labels(name: str, component: str) -> dict[str, str]:
    return {APP_NAME: name, APP_COMPONENT: component, APP_PART_OF: PART_OF, MANAGED_BY: "pulumi"}

#: In-cluster Prometheus of kube-prometheus-stack (service `<release>-prometheus`, port 9090), queried by KEDA
#: triggers and Grafana. The release name is fixed in `components/monitoring.py`.
MONITORING_RELEASE = "kube-prometheus-stack"
PROMETHEUS_URL = f"http://{MONITORING_RELEASE}-prometheus.{MONITORING_NAMESPACE}.svc:9090"


#: `app.kubernetes.io/component` of an LLM model's endpoint picker pods (NetworkPolicies and monitors select on it).
PICKER_COMPONENT = "endpoint-picker"
#: Pod label of an LLM's server pods that its InferencePool selects (value: the pool's name): the tracks that take
#: live traffic (primary, canary), never a shadow.
INFERENCE_POOL_LABEL = f"{DOMAIN}/inference-pool"


def inference_pool_name(model: str) -> str:
    """The InferencePool of an LLM model (`components/inference_pool.py`); the endpoint picker's metrics name the pool
    with it (label `name`), the dashboards and alerts select on it."""
    return model


def picker_name(model: str) -> str:
    """The endpoint picker (Deployment, Service, ServiceAccount, ConfigMap) of a model's InferencePool."""
    return f"{inference_pool_name(model)}-epp"


def ha_spread(match_labels: "dict[str, str]") -> list[dict]:
    """Topology spread (camelCase) of the platform's request-path fleets (the gateway's Envoy proxies, the KEDA HTTP
    interceptors): best effort over zones, then over nodes, so one zone or node going down never takes all."""
    selector = {"matchLabels": dict(match_labels)}
    return [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
    ]
