"""The platform's front door: Envoy Gateway, a GatewayClass and one shared Gateway (Gateway API)."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from .helm import chart_release
from .k8s import custom_resource, meta

#: Envoy Gateway's controller name (https://gateway.envoyproxy.io/docs/tasks/quickstart/).
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"


class Gateway(pulumi.ComponentResource):
    """`serving:gateway:Gateway`: every model's HTTPRoute attaches to the Gateway this creates."""

    #: Base URL models are served under, e.g. `https://models.example.com`.
    base_url: str
    address: pulumi.Output[str]

    def __init__(self, name: str, cfg: PlatformConfig, provider: k8s.Provider, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:gateway:Gateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace = cv.GATEWAY_NAMESPACE
        self.gateway_name = cv.GATEWAY_NAME
        self.hostname = cfg.gateway.hostname
        self.base_url = f"http://{cfg.gateway.hostname}"

        self.controller = chart_release(
            f"{name}-envoy-gateway", charts.ENVOY_GATEWAY, cv.GATEWAY_NAMESPACE, {}, child, release_name="envoy-gateway"
        )
        after_controller = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.controller]))
        self.gateway_class = custom_resource(
            f"{name}-class",
            "gateway.networking.k8s.io/v1",
            "GatewayClass",
            meta(cv.GATEWAY_CLASS_NAME, labels=cv.common_labels("envoy-gateway", "gateway")),
            {"controllerName": CONTROLLER_NAME},
            after_controller,
        )
        self.gateway = custom_resource(
            f"{name}-gateway",
            "gateway.networking.k8s.io/v1",
            "Gateway",
            meta(cv.GATEWAY_NAME, cv.GATEWAY_NAMESPACE, labels=cv.common_labels("envoy-gateway", "gateway")),
            {
                "gatewayClassName": cv.GATEWAY_CLASS_NAME,
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": 80,
                        "hostname": cfg.gateway.hostname,
                        # Routes from every team namespace may attach.
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            },
            pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(depends_on=[self.gateway_class])),
        )
        self.address = pulumi.Output.from_input(cfg.gateway.hostname)
        self.register_outputs({"address": self.address, "baseUrl": self.base_url})

    def parent_ref(self) -> dict[str, str]:
        """The `parentRefs` entry of an HTTPRoute attaching to this Gateway."""
        return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": self.gateway_name, "namespace": self.namespace}
