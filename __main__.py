"""The Pulumi program: load the stack's typed config, build the platform, export its outputs."""

import pulumi

from serving.access import kubeconfig_command
from serving.config import load_platform_config
from serving.platform import Platform

cfg = load_platform_config()  # raises ConfigError (every problem at once) before any resource is registered
platform = Platform(cfg.environment, cfg)

pulumi.export("clusterName", platform.cluster.cluster_name)
pulumi.export("clusterEndpoint", platform.cluster.endpoint)
pulumi.export("kubeconfigCommand", kubeconfig_command(cfg, platform.cluster.cluster_name))  # README "Running it for real"
pulumi.export("gatewayAddress", platform.gateway.address)
pulumi.export("grafanaUrl", platform.monitoring.grafana_url)
pulumi.export("modelUrls", {name: model.url for name, model in platform.models.items()})
pulumi.export("modelPlacement", platform.placement)  # shared models -> the fleet each runs on (serving/placement.py)
