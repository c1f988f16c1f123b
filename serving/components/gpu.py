"""GPU software on the GPU nodes: the NVIDIA device plugin (or the NVIDIA GPU operator) and the DCGM exporter.

- Device plugin (default): the official chart, pinned, as a DaemonSet on GPU nodes only (node affinity on the GPU
  label, tolerating every GPU pool's taints), skipping Bottlerocket nodes, whose OS runs its own plugin. Each GPU
  pool gets a named plugin config (MIG strategy, time-slicing replicas) selected through the
  `nvidia.com/device-plugin.config` node label the pool's nodes carry.
- GPU operator (`nodePools.gpuSoftware.mode: gpuOperator`): the operator with the same per-pool configs; its driver
  and container-toolkit installers are off because the EKS NVIDIA AMIs ship both; its own DCGM exporter is off
  because the standalone one below is the single source of GPU metrics either way.
- DCGM exporter: the official chart on GPU nodes, exporting exactly `serving.catalog.gpu.DCGM_METRICS`, scraped
  through a ServiceMonitor carrying `conventions.MONITORING_SELECTOR` (the platform Prometheus selects on it).
"""

from __future__ import annotations

import hashlib
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import conventions as cv
from ..catalog import charts
from ..catalog import eks as eks_catalog
from ..catalog import gpu as gpu_catalog
from ..config import GpuPoolConfig, PlatformConfig
from .helm import chart_release
from .k8s import custom_resource, meta

#: The config the device plugin uses on a GPU node without the config label (a node not made by a platform pool).
#: Not a DNS-1123 label, so it can never collide with a pool name.
DEFAULT_DEVICE_PLUGIN_CONFIG = "platform.default"
DEVICE_PLUGIN_RELEASE = "nvidia-device-plugin"
GPU_OPERATOR_RELEASE = "gpu-operator"
GPU_OPERATOR_CONFIGMAP = "device-plugin-configs"
DCGM_RELEASE = "dcgm-exporter"
#: Our collectors file for the exporter (the chart's own ConfigMap, exporter-metrics-config-map, is left unused).
DCGM_METRICS_CONFIGMAP = "dcgm-exporter-platform-metrics"
DCGM_METRICS_PATH = "/etc/dcgm-exporter/platform-counters.csv"


def _plugin_config(mig_strategy: str, time_slicing_replicas: Optional[int] = None) -> str:
    """One device plugin config file (k8s-device-plugin api/config/v1: version, flags.migStrategy,
    sharing.timeSlicing)."""
    doc: dict = {"version": "v1", "flags": {"migStrategy": mig_strategy}}
    if time_slicing_replicas:
        doc["sharing"] = {
            "timeSlicing": {
                "renameByDefault": False,
                # A pod asking for 2 slices would get 2 slices of possibly the same GPU: refuse it instead.
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": cv.GPU_RESOURCE, "replicas": time_slicing_replicas}],
            }
        }
    return yaml.safe_dump(doc, sort_keys=True)


def device_plugin_configs(pools: Sequence[GpuPoolConfig]) -> dict[str, str]:
    """Config name -> config file: a default plus one per GPU pool whose nodes run the DaemonSet plugin."""
    configs = {DEFAULT_DEVICE_PLUGIN_CONFIG: _plugin_config("none")}
    for pool in pools:
        if eks_catalog.is_bottlerocket(pool.ami_type):
            continue  # the OS's plugin; time-slicing goes into the Bottlerocket user data instead
        configs[cv.device_plugin_config_name(pool)] = _plugin_config(
            pool.mig_strategy, pool.time_slicing.replicas if pool.time_slicing else None
        )
    return configs


def device_plugin_values(cfg: PlatformConfig) -> dict:
    pools = cfg.node_pools.gpu
    return {
        "config": {"map": device_plugin_configs(pools), "default": DEFAULT_DEVICE_PLUGIN_CONFIG},
        "affinity": cv.gpu_node_affinity(exclude_host_device_plugin=True),
        "tolerations": cv.gpu_node_tolerations(pools),
        "priorityClassName": cv.NODE_AGENT_PRIORITY_CLASS,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "podAnnotations": cv.policy_waivers(
            "the NVIDIA device plugin registers with the kubelet through /var/lib/kubelet/device-plugins and reads the "
            "GPUs through the NVIDIA runtime as root (k8s-device-plugin deployments/helm: no non-root mode); its "
            "config-manager init and sidecar have no resources value in chart 0.20.0",
            "run-as-non-root", "no-privilege-escalation", "drop-capabilities", "seccomp", "read-only-root-fs",
            "requests-and-limits"),
    }


def gpu_operator_values(cfg: PlatformConfig) -> dict:
    pools = cfg.node_pools.gpu
    strategies = {p.mig_strategy for p in pools}  # one value: enforced by the config checks
    mig = next(iter(strategies)) if len(strategies) == 1 else "none"
    tolerations = cv.gpu_node_tolerations(pools)
    # The operator's own controller and NFD's master and garbage collector are Deployments: on the system pool,
    # like every platform controller (values.yaml operator.nodeSelector, merged with its kubernetes.io/os default;
    # node-feature-discovery 0.19.0 master/gc.nodeSelector). Their tolerations replace the chart's control-plane ones
    # (EKS has no schedulable control-plane nodes).
    system = cfg.node_pools.system
    on_system = {"nodeSelector": cv.pool_node_selector(system), "tolerations": cv.pool_tolerations(system)}
    values: dict = {
        "operator": dict(on_system),
        # EKS AL2023 NVIDIA AMIs come with the driver and the NVIDIA container toolkit installed.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "devicePlugin": {
            "config": {
                "create": True,
                "name": GPU_OPERATOR_CONFIGMAP,
                "default": DEFAULT_DEVICE_PLUGIN_CONFIG,
                "data": device_plugin_configs(pools),
            }
        },
        "migManager": {"enabled": mig != "none"},
        "dcgmExporter": {"enabled": False},
        "daemonsets": {"tolerations": tolerations},
        "node-feature-discovery": {"worker": {"tolerations": tolerations}, "master": dict(on_system), "gc": dict(on_system)},
    }
    if mig != "none":
        values["mig"] = {"strategy": mig}
    return values


def dcgm_exporter_values(cfg: PlatformConfig, metrics_checksum: str) -> dict:
    return {
        "fullnameOverride": DCGM_RELEASE,
        "arguments": ["-f", DCGM_METRICS_PATH],
        "extraConfigMapVolumes": [
            {
                "name": "platform-metrics",
                "configMap": {"name": DCGM_METRICS_CONFIGMAP, "items": [{"key": "metrics", "path": "platform-counters.csv"}]},
            }
        ],
        "extraVolumeMounts": [
            {"name": "platform-metrics", "mountPath": DCGM_METRICS_PATH, "subPath": "platform-counters.csv", "readOnly": True}
        ],
        # A subPath mount does not follow ConfigMap updates: a new metric list rolls the DaemonSet.
        "podAnnotations": {
            f"{cv.DOMAIN}/metrics-checksum": metrics_checksum,
            **cv.policy_waivers(
                "DCGM profiling metrics (DCGM_FI_PROF_*) need root with CAP_SYS_ADMIN and a writable root "
                "(dcgm-exporter chart 4.8.2 values.yaml securityContext)",
                "run-as-non-root", "drop-capabilities", "read-only-root-fs"),
        },
        # Merged with the chart's securityContext (root, SYS_ADMIN, drop ALL, no escalation): the runtime's default
        # seccomp profile still allows perf events to a CAP_SYS_ADMIN holder.
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "serviceMonitor": {"enabled": False},  # ours below carries the platform's monitoring selector
        "affinity": cv.gpu_node_affinity(),
        "tolerations": cv.gpu_node_tolerations(cfg.node_pools.gpu),
    }


def dcgm_service_monitor_spec(scrape_interval: str) -> dict:
    return {
        # The chart's Service labels (templates/_helpers.tpl dcgm-exporter.selectorLabels).
        "selector": {"matchLabels": {cv.APP_NAME: "dcgm-exporter", cv.APP_INSTANCE: DCGM_RELEASE}},
        "namespaceSelector": {"matchNames": [cv.GPU_NAMESPACE]},
        "endpoints": [
            {
                "port": gpu_catalog.DCGM_EXPORTER_PORT_NAME,
                "path": "/metrics",
                "interval": scrape_interval,
                # The exporter's pod/namespace/container labels name the GPU's workload: kept as exported_*.
                "honorLabels": False,
                "relabelings": [
                    {
                        "sourceLabels": ["__meta_kubernetes_pod_node_name"],
                        "targetLabel": gpu_catalog.LABEL_NODE,
                        "action": "replace",
                    }
                ],
            }
        ],
    }


class GpuSoftware(pulumi.ComponentResource):
    """`serving:gpu:GpuSoftware`: device plugin or GPU operator, and the DCGM exporter with its ServiceMonitor."""

    def __init__(
        self,
        name: str,
        cfg: PlatformConfig,
        provider: k8s.Provider,
        *,
        monitoring: Sequence[pulumi.Resource] = (),
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("serving:gpu:GpuSoftware", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        sw = cfg.node_pools.gpu_software
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            # Privileged: the device plugin mounts the kubelet's device-plugin socket directory (hostPath) and the
            # exporter needs CAP_SYS_ADMIN for profiling metrics.
            metadata=meta(
                cv.GPU_NAMESPACE,
                labels={**cv.common_labels("gpu-system", "gpu"),
                        **cv.pod_security_labels("privileged", cfg.cluster.eks.kubernetes_version)},
            ),
            opts=child,
        )
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.namespace]))
        if sw.mode == "devicePlugin":
            self.plugin = chart_release(
                f"{name}-device-plugin", charts.NVIDIA_DEVICE_PLUGIN, cv.GPU_NAMESPACE, device_plugin_values(cfg), in_ns,
                release_name=DEVICE_PLUGIN_RELEASE, create_namespace=False,
            )
        else:
            self.plugin = chart_release(
                f"{name}-gpu-operator", charts.GPU_OPERATOR, cv.GPU_NAMESPACE, gpu_operator_values(cfg), in_ns,
                release_name=GPU_OPERATOR_RELEASE, create_namespace=False,
            )
        self.dcgm_exporter: Optional[k8s.helm.v3.Release] = None
        if sw.dcgm_exporter:
            csv = gpu_catalog.dcgm_counters_csv()
            metrics = k8s.core.v1.ConfigMap(
                f"{name}-dcgm-metrics",
                metadata=meta(DCGM_METRICS_CONFIGMAP, cv.GPU_NAMESPACE, labels=cv.common_labels("dcgm-exporter", "gpu-metrics")),
                data={"metrics": csv},
                opts=in_ns,
            )
            self.dcgm_exporter = chart_release(
                f"{name}-dcgm-exporter", charts.DCGM_EXPORTER, cv.GPU_NAMESPACE,
                dcgm_exporter_values(cfg, hashlib.sha256(csv.encode()).hexdigest()[:16]),
                # `monitoring`: what its Service must wait for too (the load balancer controller's Service webhook).
                pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[metrics, *monitoring])),
                release_name=DCGM_RELEASE, create_namespace=False,
            )
            # The ServiceMonitor CRD comes with kube-prometheus-stack: wait for the monitoring component.
            self.service_monitor = custom_resource(
                f"{name}-dcgm-servicemonitor",
                "monitoring.coreos.com/v1",
                "ServiceMonitor",
                meta(DCGM_RELEASE, cv.GPU_NAMESPACE,
                     labels={**cv.common_labels("dcgm-exporter", "gpu-metrics"), **cv.MONITORING_SELECTOR}),
                dcgm_service_monitor_spec(sw.scrape_interval),
                pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[*monitoring, self.dcgm_exporter])),
            )
        self.register_outputs({"mode": sw.mode, "dcgmExporter": sw.dcgm_exporter})
