"""One served model: its workload, Service and route on the shared Gateway."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog.runtimes import PRESETS
from ..config import ModelConfig, PlatformConfig
from .gateway import Gateway
from .k8s import custom_resource, meta


class ModelServing(pulumi.ComponentResource):
    """`serving:model:ModelServing`: everything one model needs to serve traffic."""

    url: str

    def __init__(
        self,
        name: str,
        model: ModelConfig,
        cfg: PlatformConfig,
        namespace: str,
        gateway: Gateway,
        provider: k8s.Provider,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("serving:model:ModelServing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        preset = PRESETS[model.runtime]
        labels = {cv.APP_NAME: model.name, cv.MODEL_LABEL: model.name, cv.TEAM_LABEL: model.team, cv.APP_PART_OF: cv.PART_OF}
        selector = {cv.APP_NAME: model.name, cv.MODEL_LABEL: model.name}
        pod_labels = {**labels, cv.MODEL_VERSION_LABEL: model.version, cv.APP_VERSION: model.version}

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta(model.name, namespace, labels), automount_service_account_token=False, opts=child
        )
        resources: dict[str, dict[str, str]] = {
            "requests": {"cpu": model.resources.cpu or preset.default_cpu, "memory": model.resources.memory or preset.default_memory},
            "limits": {"memory": model.resources.memory or preset.default_memory},
        }
        node_selector: Optional[dict[str, str]] = None
        tolerations: Optional[list[dict[str, str]]] = None
        if model.resources.gpus:
            pool_name = model.resources.gpu_pool or cfg.node_pools.gpu[0].name
            pool = cfg.node_pools.gpu_pool(pool_name)
            assert pool is not None  # enforced by config cross-checks
            resources["limits"][cv.GPU_RESOURCE] = str(model.resources.gpus)
            node_selector = cv.pool_node_selector(pool)
            tolerations = cv.pool_tolerations(pool)

        port = preset.port
        container = {
            "name": "server",
            "image": preset.image,
            "args": list(preset.args),
            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
            "resources": resources,
            "readinessProbe": {"httpGet": {"path": preset.ready_path, "port": "http"}, "periodSeconds": 10},
            "livenessProbe": {"httpGet": {"path": preset.live_path, "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(model.name, namespace, labels),
            spec={
                "replicas": model.scaling.min_replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": model.name,
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                        "nodeSelector": node_selector,
                        "tolerations": tolerations,
                        "containers": [container],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[sa])),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(model.name, namespace, labels),
            spec={"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
            opts=child,
        )
        path = f"/models/{model.name}"
        self.route = custom_resource(
            f"{name}-route",
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            meta(model.name, namespace, labels),
            {
                "parentRefs": [gateway.parent_ref()],
                "hostnames": [gateway.hostname],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                        "filters": [
                            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
                        ],
                        "backendRefs": [{"name": model.name, "port": 80}],
                    }
                ],
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
        )
        self.url = f"{gateway.base_url}{path}"
        self.register_outputs({"url": self.url})
