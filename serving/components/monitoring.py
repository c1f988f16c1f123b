"""Metrics: kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager, Grafana)."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from .helm import chart_release


class Monitoring(pulumi.ComponentResource):
    """`serving:monitoring:Monitoring`."""

    grafana_url: pulumi.Output[str]

    def __init__(self, name: str, cfg: PlatformConfig, provider: k8s.Provider, random_provider: random.Provider,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        mon = cfg.monitoring
        if mon.grafana.admin_password is not None:
            password = pulumi.Output.secret(mon.grafana.admin_password.get_secret_value())
        else:
            password = random.RandomPassword(
                f"{name}-grafana-admin", length=32, special=False,
                opts=pulumi.ResourceOptions(parent=self, provider=random_provider),
            ).result
        values = {
            "prometheus": {
                "prometheusSpec": {
                    "retention": mon.retention,
                    # Select the platform's ServiceMonitors/PrometheusRules by our own label, not by `release`.
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "serviceMonitorSelector": {"matchLabels": cv.MONITORING_SELECTOR},
                    "serviceMonitorNamespaceSelector": {},
                    "ruleSelectorNilUsesHelmValues": False,
                    "ruleSelector": {"matchLabels": cv.MONITORING_SELECTOR},
                    "ruleNamespaceSelector": {},
                    "storageSpec": {
                        "volumeClaimTemplate": {
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": mon.storage_size}}}
                        }
                    },
                }
            },
            "grafana": {"adminPassword": password},
        }
        self.release = chart_release(
            f"{name}-kube-prometheus-stack", charts.KUBE_PROMETHEUS_STACK, cv.MONITORING_NAMESPACE, values, child,
            release_name=cv.MONITORING_RELEASE,
        )
        self.grafana_url = pulumi.Output.from_input(
            f"https://{mon.grafana.host}" if mon.grafana.host
            else f"kubectl -n {cv.MONITORING_NAMESPACE} port-forward svc/kube-prometheus-stack-grafana 3000:80"
        )
        self.register_outputs({"grafanaUrl": self.grafana_url})
