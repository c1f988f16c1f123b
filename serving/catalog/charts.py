"""Every Helm chart the platform installs, pinned. One row per chart: where it comes from and which version.

`reference` names the folder under `../shared/reference/chart-values/` holding that chart's real default
values (see SOURCES.md there); tests check every value we set exists in those defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ChartPin:
    chart: str
    version: str
    #: Helm repository URL; None when `chart` is an `oci://` reference.
    repo: Optional[str]
    reference: str


# Envoy Gateway v1.9.0 (https://gateway.envoyproxy.io/docs/install/install-helm/): OCI chart on Docker Hub.
ENVOY_GATEWAY = ChartPin("oci://docker.io/envoyproxy/gateway-helm", "v1.9.0", None, "gateway-helm")
# cert-manager v1.21.1 (https://cert-manager.io/docs/installation/helm/).
CERT_MANAGER = ChartPin("cert-manager", "v1.21.1", "https://charts.jetstack.io", "cert-manager")
# kube-prometheus-stack 88.5.3 (prometheus-community/helm-charts), operator v0.93.1.
KUBE_PROMETHEUS_STACK = ChartPin(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack"
)
# NVIDIA k8s-device-plugin 0.20.0 (https://github.com/NVIDIA/k8s-device-plugin#deployment-via-helm).
NVIDIA_DEVICE_PLUGIN = ChartPin("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin", "nvidia-device-plugin")
# NVIDIA GPU operator v26.7.0 (https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/).
GPU_OPERATOR = ChartPin("gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia", "gpu-operator")
# NVIDIA DCGM exporter 4.8.2 (https://github.com/NVIDIA/dcgm-exporter#quickstart-on-kubernetes).
DCGM_EXPORTER = ChartPin("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts", "dcgm-exporter")
# cluster-autoscaler 9.59.0, app 1.35.0 (kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0; its values.yaml
# is the reference copy). The image tag is overridden per control-plane minor (catalog/eks.py).
CLUSTER_AUTOSCALER = ChartPin("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler", "cluster-autoscaler")
# KEDA 2.20.2 (https://keda.sh/docs/latest/deploy/#helm).
KEDA = ChartPin("keda", "2.20.2", "https://kedacore.github.io/charts", "keda")
# KEDA HTTP add-on 0.15.0, app 0.15.0 (https://github.com/kedacore/charts/tree/main/http-add-on; kedacore/http-add-on
# v0.15.0): wakes models at zero on their first request (components/wake.py). No reference values folder: the chart
# source is in ../shared/reference/charts/keda-add-ons-http-0.15.0 (tests/test_wake.py checks values against it).
KEDA_HTTP_ADD_ON = ChartPin("keda-add-ons-http", "0.15.0", "https://kedacore.github.io/charts", "keda-add-ons-http")
# prometheus-adapter 5.3.0 (prometheus-community/helm-charts).
PROMETHEUS_ADAPTER = ChartPin(
    "prometheus-adapter", "5.3.0", "https://prometheus-community.github.io/helm-charts", "prometheus-adapter"
)
# Fluent Bit chart 0.58.1, app 5.1.1 (https://github.com/fluent/helm-charts).
FLUENT_BIT = ChartPin("fluent-bit", "0.58.1", "https://fluent.github.io/helm-charts", "fluent-bit")
# Loki chart 18.11.0, app 3.7.6 (grafana-community/helm-charts tag loki-18.11.0, commit 3386a11, charts/loki): the
# OSS Loki chart since grafana/loki's own chart went Enterprise-only at 7.0.0 (production/helm/loki/CHANGELOG.md).
# No reference values folder: tests/test_logging.py lists the keys checked by hand in its values.yaml.
LOKI = ChartPin("loki", "18.11.0", "https://grafana-community.github.io/helm-charts", "loki")
# AWS Load Balancer Controller 3.5.0 (aws/eks-charts).
AWS_LOAD_BALANCER_CONTROLLER = ChartPin(
    "aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts", "aws-load-balancer-controller"
)

# Envoy AI Gateway v1.1.0 (https://aigateway.envoyproxy.io/docs/getting-started/installation): its CRDs and its
# controller (the Envoy Gateway extension server that programs InferencePool backends and AIGatewayRoutes);
# envoyproxy/ai-gateway tag v1.1.0, manifests/charts/. Both are OCI charts on Docker Hub.
AI_GATEWAY_CRDS = ChartPin("oci://docker.io/envoyproxy/ai-gateway-crds-helm", "v1.1.0", None, "ai-gateway-crds-helm")
AI_GATEWAY = ChartPin("oci://docker.io/envoyproxy/ai-gateway-helm", "v1.1.0", None, "ai-gateway-helm")

ALL = {
    name: pin for name, pin in globals().items() if isinstance(pin, ChartPin)
}
