"""Metrics, dashboards and alerts: kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager, Grafana).

- Prometheus keeps `monitoring.retention` on a `monitoring.storageSize` volume of `monitoring.storageClass` (gp3)
  and stops at 85% of it (`retentionSize`), so the disk does not fill before old blocks are deleted.
- Prometheus selects ServiceMonitors, PodMonitors, Probes, ScrapeConfigs and PrometheusRules in every namespace
  by the platform's own label `conventions.MONITORING_SELECTOR` - never by the chart's implicit `release` label.
  The chart's own monitors and rules carry that label too (`commonLabels` and the subcharts' monitor labels).
- kube-state-metrics exports the platform's model and pool labels (`label_serving_platform_*`), which the shared
  PromQL (`observability/metrics.py`) joins on.
- Alertmanager reads its configuration from a Secret this component writes: receivers' URLs and keys are Pulumi
  secrets all the way (never in the Helm values).
- Grafana's admin password is a Pulumi secret (generated when unset), also in a Secret, not in the values.
- Dashboards (`observability/dashboards.py`) are ConfigMaps for the Grafana sidecar; platform-wide alert rules
  (`observability/alerts.py`) one PrometheusRule. Each model's own rules come with the model.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from ..config.base import memory_bytes
from ..config.cluster import autoscaler_enabled
from ..config.logging import loki_config
from ..config.monitoring import ReceiverConfig
from ..observability import dashboards
from ..observability.alerts import platform_rules
from .helm import chart_release
from .k8s import custom_resource, meta
from .loki import push_url as loki_push_url

#: Object names kube-prometheus-stack derives from the release name (`kube-prometheus-stack.fullname`, 88.5.3).
GRAFANA_SERVICE = f"{cv.MONITORING_RELEASE}-grafana"
ALERTMANAGER_NAME = f"{cv.MONITORING_RELEASE}-alertmanager"
PROMETHEUS_NAME = f"{cv.MONITORING_RELEASE}-prometheus"
#: The operator reads an Alertmanager's config from Secret `alertmanager-<name>` when the chart does not write it
#: (`alertmanager.alertmanagerSpec.useExistingSecret`).
ALERTMANAGER_CONFIG_SECRET = f"alertmanager-{ALERTMANAGER_NAME}"
GRAFANA_ADMIN_SECRET = "grafana-admin"
#: PVCs of the Prometheus StatefulSet: `prometheus-<name>-db-prometheus-<name>-<ordinal>`.
PROMETHEUS_PVC_REGEX = f"prometheus-{PROMETHEUS_NAME}-db-.*"
#: Labels kube-state-metrics exports (`kube_pod_labels` / `kube_deployment_labels` / `kube_node_labels`): model,
#: version, team and track of model pods (the track lets queue signals count only the Deployment they scale), the
#: model of Deployments (the models dashboard's `model` variable, present at zero replicas too), the pool of nodes.
KSM_LABELS_ALLOWLIST = [
    f"pods=[{cv.MODEL_LABEL},{cv.MODEL_VERSION_LABEL},{cv.TEAM_LABEL},{cv.TRACK_LABEL},{cv.FLEET_LABEL}]",
    f"deployments=[{cv.MODEL_LABEL}]",
    f"nodes=[{cv.POOL_LABEL}]",
]


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, dict[str, str]]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


#: Alertmanager (the operator requests 200Mi when unset: prometheus-operator pkg/alertmanager/statefulset.go).
ALERTMANAGER_RESOURCES = _resources("20m", "64Mi", "256Mi")
#: The config-reloader sidecar next to Prometheus and Alertmanager (the operator's own defaults are 10m / 50Mi:
#: prometheus-operator cmd/operator/main.go, used when the flags are absent).
CONFIG_RELOADER_RESOURCES = _resources("10m", "32Mi", "64Mi")


def _retention_size(storage: str) -> str:
    """85% of the volume, in whole GiB (Prometheus `--storage.tsdb.retention.size` units: B, KB, MB, GB...)."""
    return f"{max(1, int(memory_bytes(storage) * 0.85 / 2**30))}GB"


def kube_prometheus_stack_values(cfg: PlatformConfig) -> dict[str, Any]:
    mon = cfg.monitoring
    selector = {"matchLabels": dict(cv.MONITORING_SELECTOR)}
    claim: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": mon.storage_size}}}
    if mon.storage_class:
        claim["storageClassName"] = mon.storage_class
    prometheus_spec: dict[str, Any] = {
        "retention": mon.retention,
        "retentionSize": _retention_size(mon.storage_size),
        # Explicit selectors: nothing depends on the chart's `release` label by accident.
        **{
            f"{kind}SelectorNilUsesHelmValues": False
            for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")
        },
        **{f"{kind}Selector": selector for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")},
        **{f"{kind}NamespaceSelector": {} for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")},
        "storageSpec": {"volumeClaimTemplate": {"spec": claim}},
    }
    grafana: dict[str, Any] = {
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        # The subchart's own ServiceMonitor (grafana chart 12.11.1 `serviceMonitor.labels`).
        "serviceMonitor": {"labels": dict(cv.MONITORING_SELECTOR)},
    }
    if mon.grafana.host:
        grafana["grafana.ini"] = {"server": {"root_url": f"https://{mon.grafana.host}"}}
    loki_cfg = loki_config(cfg)
    if loki_cfg is not None:
        # The in-cluster Loki (`components/loki.py`) or the configured one: the URL Fluent Bit pushes to.
        loki: dict[str, Any] = {"name": "Loki", "uid": dashboards.LOKI_UID, "type": "loki", "access": "proxy", "url": loki_push_url(cfg)}
        if loki_cfg.tenant:
            loki["jsonData"] = {"httpHeaderName1": "X-Scope-OrgID"}
            loki["secureJsonData"] = {"httpHeaderValue1": loki_cfg.tenant}
        grafana["additionalDataSources"] = [loki]
    monitor_labels = {"prometheus": {"monitor": {"additionalLabels": dict(cv.MONITORING_SELECTOR)}}}
    # Every pod of the chart on the system pool, above models (conventions.PLATFORM_PRIORITY_CLASS).
    system = cfg.node_pools.system
    on_system: dict[str, Any] = {"nodeSelector": cv.pool_node_selector(system), "priorityClassName": cv.PLATFORM_PRIORITY_CLASS}
    if system.taints:
        on_system["tolerations"] = cv.pool_tolerations(system)
    prometheus_spec.update(on_system)
    grafana.update({**on_system, "resources": _resources("100m", "256Mi", "512Mi"),
                    "sidecar": {"resources": _resources("10m", "64Mi", "128Mi")}})  # the dashboards sidecar
    prom = mon.prometheus  # sized in config (`monitoring.prometheus`, config/monitoring.py)
    prometheus_spec["resources"] = _resources(prom.cpu, prom.memory, prom.memory_limit)
    operator: dict[str, Any] = {
        **on_system,
        "resources": _resources("50m", "128Mi", "512Mi"),
        # The admission webhook's certificate Jobs (kube-webhook-certgen create/patch, install/upgrade hooks).
        "admissionWebhooks": {"patch": {
            **on_system, "resources": _resources("10m", "32Mi", "64Mi"),
        }},
        # The operator passes these to the config-reloader sidecar of every Prometheus and Alertmanager pod
        # (`--config-reloader-*-request/limit`; the chart passes 0, "no request", when unset).
        "prometheusConfigReloader": {"resources": CONFIG_RELOADER_RESOURCES},
    }
    no_rbac_proxy = {"kubeRBACProxy": {"enabled": False}}
    managed_control_plane: dict[str, Any] = {}
    if cfg.cluster.mode == "eks":
        # EKS runs etcd, the scheduler and the controller manager out of reach of the cluster's network: their
        # ServiceMonitors would only ever scrape nothing and their "...Down" alerts fire forever
        # (kube-prometheus-stack values.yaml kubeEtcd/kubeScheduler/kubeControllerManager; EKS best practices,
        # control plane monitoring through the API server's metrics).
        managed_control_plane = {key: {"enabled": False} for key in ("kubeEtcd", "kubeScheduler", "kubeControllerManager")}
    return {
        **managed_control_plane,
        # On every object of the chart itself, including its ServiceMonitors and PrometheusRules.
        "commonLabels": dict(cv.MONITORING_SELECTOR),
        "prometheusOperator": operator,
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {"alertmanagerSpec": {"useExistingSecret": True, **on_system, "resources": ALERTMANAGER_RESOURCES}},
        "grafana": grafana,
        # Subcharts (kube-state-metrics 8.4.0, prometheus-node-exporter 4.56.1) label their own ServiceMonitors.
        # `kubeRBACProxy.enabled: false` is both subcharts' default (their values.yaml), stated here because the
        # parent's Prometheus ClusterRole reads it (templates/prometheus/clusterrole.yaml): the plan renders the
        # chart without subcharts missing from the charts folder, and so without their defaults.
        # Placement, priority and requests of the subcharts' pods (kube-state-metrics 8.4.0 and grafana 12.11.1:
        # nodeSelector, tolerations, priorityClassName, resources; prometheus-node-exporter 4.56.1: its DaemonSet
        # keeps the chart's toleration of every NoSchedule taint, GPU pools' included, at the node agents' priority).
        "kube-state-metrics": {"metricLabelsAllowlist": list(KSM_LABELS_ALLOWLIST), **monitor_labels, **no_rbac_proxy,
                               **on_system, "resources": _resources("20m", "128Mi", "512Mi")},
        "prometheus-node-exporter": {**monitor_labels, **no_rbac_proxy, "priorityClassName": cv.NODE_AGENT_PRIORITY_CLASS,
                                     "resources": _resources("20m", "32Mi", "64Mi")},
    }


def _receiver(r: ReceiverConfig, secret: str) -> dict[str, Any]:
    if r.type == "slack":
        slack: dict[str, Any] = {"api_url": secret, "send_resolved": True,
                                 "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
                                 "text": '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}'}
        if r.channel:
            slack["channel"] = r.channel
        return {"name": r.name, "slack_configs": [slack]}
    if r.type == "pagerduty":
        return {"name": r.name, "pagerduty_configs": [{"routing_key": secret, "send_resolved": True}]}
    return {"name": r.name, "webhook_configs": [{"url": secret, "send_resolved": True}]}


def alertmanager_config(receivers: Sequence[ReceiverConfig], secrets: Sequence[str]) -> str:
    """alertmanager.yaml: every receiver gets the alerts of its severities (`continue`, so several may); the
    always-firing Watchdog and anything unrouted go to `null`; a fast burn silences the slow burn of one model."""
    routes: list[dict[str, Any]] = [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}]
    for r in receivers:
        routes.append({
            "receiver": r.name,
            "matchers": [f'severity =~ "{"|".join(r.severities)}"'],
            "continue": True,
            **({"repeat_interval": "1h"} if "critical" in r.severities and r.type == "pagerduty" else {}),
        })
    config = {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "namespace", "model", "pool"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [
            {"source_matchers": ['severity = "critical"'], "target_matchers": ['severity =~ "warning|info"'], "equal": ["alertname", "namespace"]},
            {"source_matchers": ['alertname =~ "Model.*BudgetBurnFast"'], "target_matchers": ['alertname =~ "Model.*BudgetBurnSlow"'], "equal": ["namespace", "model"]},
        ],
        "receivers": [{"name": "null"}, *(_receiver(r, s) for r, s in zip(receivers, secrets))],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }
    return yaml.safe_dump(config, sort_keys=False)


class Monitoring(pulumi.ComponentResource):
    """`serving:monitoring:Monitoring`."""

    grafana_url: pulumi.Output[str]

    def __init__(self, name: str, cfg: PlatformConfig, provider: k8s.Provider, random_provider: random.Provider,
                 depends_on: Sequence[pulumi.Resource] = (), opts: Optional[pulumi.ResourceOptions] = None):
        """`depends_on`: what the chart needs first (nodes to run on, the storage class)."""
        super().__init__("serving:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        mon = cfg.monitoring
        labels = cv.common_labels("kube-prometheus-stack", "monitoring")

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns", metadata=meta(cv.MONITORING_NAMESPACE, labels=labels), opts=child,
        )
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.namespace]))

        if mon.grafana.admin_password is not None:
            password = pulumi.Output.secret(mon.grafana.admin_password.get_secret_value())
        else:
            password = pulumi.Output.secret(random.RandomPassword(
                f"{name}-grafana-admin", length=32, special=False,
                opts=pulumi.ResourceOptions(parent=self, provider=random_provider),
            ).result)
        grafana_admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin", metadata=meta(GRAFANA_ADMIN_SECRET, cv.MONITORING_NAMESPACE, labels), type="Opaque",
            string_data={"admin-user": "admin", "admin-password": password}, opts=in_ns,
        )

        receivers = mon.alerting.receivers
        receiver_secrets = [pulumi.Output.secret(r.credential.get_secret_value()) for r in receivers]
        am_yaml = pulumi.Output.all(*receiver_secrets).apply(lambda s: alertmanager_config(receivers, s))
        # Annotated: mypy cannot pick `U` in `Output.secret(val: Input[U])` from an Output alone.
        am_yaml_secret: pulumi.Output[str] = pulumi.Output.secret(am_yaml)
        am_secret = k8s.core.v1.Secret(
            f"{name}-alertmanager-config", metadata=meta(ALERTMANAGER_CONFIG_SECRET, cv.MONITORING_NAMESPACE, labels),
            type="Opaque", string_data={"alertmanager.yaml": am_yaml_secret}, opts=in_ns,
        )

        self.release = chart_release(
            f"{name}-kube-prometheus-stack", charts.KUBE_PROMETHEUS_STACK, cv.MONITORING_NAMESPACE,
            kube_prometheus_stack_values(cfg),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[grafana_admin, am_secret, *depends_on])),
            release_name=cv.MONITORING_RELEASE, create_namespace=False,
        )
        after_release = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release]))

        self.dashboards = [
            k8s.core.v1.ConfigMap(
                f"{name}-{cm_name}",
                metadata=meta(cm_name, cv.MONITORING_NAMESPACE, {**labels, **dashboards.DASHBOARD_LABEL}),
                data=dashboards.configmap_data(board),
                opts=in_ns,
            )
            for cm_name, board in dashboards.all_dashboards(cfg).items()
        ]
        self.rules = custom_resource(
            f"{name}-platform-rules", "monitoring.coreos.com/v1", "PrometheusRule",
            meta("serving-platform", cv.MONITORING_NAMESPACE, {**labels, **cv.MONITORING_SELECTOR}),
            {"groups": platform_rules(cfg.node_pools.system, cfg.node_pools.gpu, mon.alerting.gpu_temperature_c, PROMETHEUS_PVC_REGEX,
                                      cluster_autoscaler=autoscaler_enabled(cfg))},
            after_release,
        )
        self.grafana_url = pulumi.Output.from_input(
            f"https://{mon.grafana.host}" if mon.grafana.host
            else f"kubectl -n {cv.MONITORING_NAMESPACE} port-forward svc/{GRAFANA_SERVICE} 3000:80"
        )
        self.register_outputs({"grafanaUrl": self.grafana_url})
