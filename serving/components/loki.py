"""Loki in the cluster (logging backend `loki` without `logging.loki.url`): the community Loki chart, pinned
(`catalog.charts.LOKI`), as one single-binary StatefulSet.

- Monolithic mode (the chart's name for the single binary), one replica, filesystem storage (chunks and TSDB index)
  on a `logging.loki.storageSize` volume of `logging.loki.storageClass` (gp3 on EKS). The chart refuses more than one
  replica on a filesystem (templates/validate.yaml), so the simple-scalable targets it enables by default
  (read/write/backend, 3 replicas each) are set to 0.
- Single tenant (`auth_enabled: false`): Fluent Bit pushes and Grafana queries without `X-Scope-OrgID`.
- Retention: the compactor deletes chunks older than `logging.loki.retention` (`limits_config.retention_period`).
- On the system pool; no nginx gateway, memcached caches, canary, Helm test or rules sidecar (nothing here needs them).
- The chart's ServiceMonitor carries the platform's monitoring label, so the platform Prometheus scrapes Loki.

Fluent Bit (`components/logging.py`) pushes to `push_url(cfg)`; Grafana's Loki datasource (`components/monitoring.py`)
queries the same URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .. import conventions as cv
from ..config.logging import LokiConfig, loki_config

if TYPE_CHECKING:
    from ..config import PlatformConfig

RELEASE = "loki"
#: The single binary's Service: `loki.fullname` = the release name when it contains the chart name
#: (charts/loki/templates/_helpers.tpl), made by templates/monolithic/service.yaml.
SERVICE = RELEASE
#: `loki.server.http_listen_port` (values.yaml default), the Service's `http-metrics` port: push, query, metrics.
HTTP_PORT = 3100
SERVICE_URL = f"http://{SERVICE}.{cv.LOGGING_NAMESPACE}.svc.cluster.local:{HTTP_PORT}"
#: grafana/loki image, the chart's appVersion at 18.11.0 (Chart.yaml), pinned here so a chart bump cannot move it.
IMAGE_TAG = "3.7.6"
#: Loki's recommended schema (TSDB index, schema v13, 24h index period; retention needs a 24h period:
#: https://grafana.com/docs/loki/latest/operations/storage/retention/). `from` lies before any install, so this
#: one period covers every chunk a new Loki writes; a later schema change appends a period, never edits this one.
SCHEMA = {
    "configs": [{
        "from": "2024-04-01",
        "store": "tsdb",
        "object_store": "filesystem",
        "schema": "v13",
        "index": {"prefix": "index_", "period": "24h"},
    }]
}
RESOURCES = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}


def push_url(cfg: "PlatformConfig") -> Optional[str]:
    """Where logs go and Grafana reads them: the in-cluster Loki's Service or the configured `loki.url`; None when
    the backend is not Loki."""
    loki = loki_config(cfg)
    if loki is None:
        return None
    return SERVICE_URL if loki.in_cluster else loki.url


def loki_values(cfg: "PlatformConfig", loki: LokiConfig) -> dict[str, Any]:
    system = cfg.node_pools.system
    persistence: dict[str, Any] = {"enabled": True, "size": loki.storage_size}
    if loki.storage_class:
        persistence["storageClass"] = loki.storage_class
    return {
        "deploymentMode": "Monolithic",
        "loki": {
            "image": {"tag": IMAGE_TAG},
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": SCHEMA,
            "limits_config": {"retention_period": loki.retention},
            # Retention is applied by the compactor; Loki 3 requires a store for delete requests when it is on
            # (https://grafana.com/docs/loki/latest/operations/storage/retention/).
            "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
        },
        "singleBinary": {
            "replicas": 1,
            "resources": RESOURCES,
            "nodeSelector": cv.pool_node_selector(system),
            "tolerations": cv.pool_tolerations(system),
            "persistence": persistence,
        },
        "read": {"replicas": 0},
        "write": {"replicas": 0},
        "backend": {"replicas": 0},
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        # The Helm test needs the canary (templates/validate.yaml).
        "test": {"enabled": False},
        "sidecar": {"rules": {"enabled": False}},
        "monitoring": {"serviceMonitor": {"enabled": True, "labels": dict(cv.MONITORING_SELECTOR)}},
    }
