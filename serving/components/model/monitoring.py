"""Monitoring part: the model's ServiceMonitor (when its runtime exports metrics) and PrometheusRule (its alerts,
`observability/alerts.py`), both selected by the platform's Prometheus (`conventions.MONITORING_SELECTOR`)."""

from __future__ import annotations

import pulumi

from ... import conventions as cv
from ...observability.alerts import model_alert_rules
from ..k8s import custom_resource, meta
from .context import ModelContext


class Monitoring:
    def __init__(self, ctx: ModelContext, *, scrape: bool = True):
        """`scrape` False: the model's pods are a fleet's, which the fleet scrapes (`components/fleet.py`)."""
        m = ctx.model
        mon_labels = {**ctx.labels, **cv.MONITORING_SELECTOR}
        self.service_monitor: pulumi.Resource | None = None
        if ctx.metrics_path is not None and scrape:
            self.service_monitor = custom_resource(
                f"{ctx.name}-servicemonitor",
                "monitoring.coreos.com/v1",
                "ServiceMonitor",
                meta(m.name, ctx.namespace, mon_labels),
                {
                    "selector": {"matchLabels": {cv.MODEL_LABEL: m.name}},
                    "namespaceSelector": {"matchNames": [ctx.namespace]},
                    "endpoints": [{"port": "metrics", "path": ctx.metrics_path, "interval": "30s", "scheme": "http"}],
                    # The model, version and track of each scraped pod become series labels.
                    "podTargetLabels": [cv.MODEL_LABEL, cv.MODEL_VERSION_LABEL, cv.TRACK_LABEL],
                },
                ctx.opts,
            )
        grafana = f"https://{ctx.cfg.monitoring.grafana.host}" if ctx.cfg.monitoring.grafana.host else None
        self.rules = custom_resource(
            f"{ctx.name}-rules",
            "monitoring.coreos.com/v1",
            "PrometheusRule",
            meta(m.name, ctx.namespace, mon_labels),
            {"groups": model_alert_rules(m, ctx.namespace, slo=ctx.cfg.monitoring.slo, grafana_url=grafana)},
            ctx.opts,
        )
