"""Container logs of every node, shipped by a Fluent Bit DaemonSet (official chart, pinned) as structured records.

Each record carries `namespace`, `pod`, `container`, `node` and, for model pods, `model`, `model_version` and
`team` (from the pod labels `conventions.MODEL_LABEL` ...), lifted to the top level by a small Lua filter after
Fluent Bit's kubernetes filter; JSON log lines are merged into the record (`Merge_Log`).

Destinations (`logging.backend`):
- `cloudwatch`: a log group `/aws/eks/<cluster>/containers` created here with `logging.retentionDays`, one stream
  per container (`<namespace>.<pod>.<container>`); Fluent Bit writes with EKS Pod Identity credentials (supported
  since Fluent Bit 4.0, fluent/fluent-bit#10115) limited to that log group.
- `loki`: pushed to Loki, labelled by namespace, container, model and version: without `logging.loki.url` a Loki
  installed here in the cluster (`components/loki.py`), otherwise the existing Loki at that URL. Grafana gets a Loki
  datasource on the same URL (`components/monitoring.py`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, Sequence
from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from .. import conventions as cv
from ..catalog import charts
from ..config import PlatformConfig
from ..config.logging import effective_backend, loki_config
from ..observability.dashboards import cloudwatch_log_group
from .helm import chart_release
from .iam import pod_identity_role
from .k8s import custom_resource, meta
from .loki import RELEASE as LOKI_RELEASE, loki_values, push_url

if TYPE_CHECKING:
    from .cluster import Cluster

RELEASE = "fluent-bit"
#: The chart's ServiceAccount (fullname = release name).
SERVICE_ACCOUNT = RELEASE
#: Fluent Bit's Prometheus endpoint (chart: port `http` = metricsPort 2020).
METRICS_PATH = "/api/v2/metrics/prometheus"

LUA_SCRIPT = f"""-- Lift Kubernetes metadata and the platform's model labels to top-level record fields.
function serving_fields(tag, timestamp, record)
  local k = record["kubernetes"]
  if k == nil then
    return 0, timestamp, record
  end
  record["namespace"] = k["namespace_name"]
  record["pod"] = k["pod_name"]
  record["container"] = k["container_name"]
  record["node"] = k["host"]
  local labels = k["labels"]
  if labels ~= nil then
    record["model"] = labels["{cv.MODEL_LABEL}"]
    record["model_version"] = labels["{cv.MODEL_VERSION_LABEL}"]
    record["team"] = labels["{cv.TEAM_LABEL}"]
  end
  return 2, timestamp, record
end
"""

INPUTS = """[INPUT]
    Name tail
    Path /var/log/containers/*.log
    Exclude_Path /var/log/containers/fluent-bit-*_logging_*.log
    multiline.parser docker, cri
    Tag kube.*
    DB /var/log/flb_kube.db
    Mem_Buf_Limit 50MB
    Skip_Long_Lines On
    Refresh_Interval 10
"""

FILTERS = """[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log On
    Keep_Log Off
    K8S-Logging.Parser On
    K8S-Logging.Exclude On
    Labels On
    Annotations Off

[FILTER]
    Name lua
    Match kube.*
    script /fluent-bit/scripts/serving.lua
    call serving_fields
"""


def cloudwatch_output(region: str, log_group: str) -> str:
    # https://docs.fluentbit.io/manual/pipeline/outputs/cloudwatch
    return f"""[OUTPUT]
    Name cloudwatch_logs
    Match kube.*
    region {region}
    log_group_name {log_group}
    log_stream_template $namespace.$pod.$container
    log_stream_prefix unknown-
    auto_create_group Off
    Retry_Limit 5
"""


def loki_output(url: str, tenant: Optional[str]) -> str:
    # https://docs.fluentbit.io/manual/pipeline/outputs/loki
    u = urlparse(url)
    tls = u.scheme == "https"
    port = u.port or (443 if tls else 80)
    lines = [
        "[OUTPUT]",
        "    Name loki",
        "    Match kube.*",
        f"    host {u.hostname}",
        f"    port {port}",
        f"    tls {'on' if tls else 'off'}",
        "    labels job=fluent-bit, namespace=$namespace, container=$container, model=$model, model_version=$model_version",
        "    line_format json",
        "    Retry_Limit 5",
    ]
    if tenant:
        lines.append(f"    tenant_id {tenant}")
    return "\n".join(lines) + "\n"


def fluent_bit_values(outputs: str) -> dict[str, Any]:
    return {
        # Every node, GPU pools included: tolerate every taint.
        "tolerations": [{"operator": "Exists"}],
        "luaScripts": {"serving.lua": LUA_SCRIPT},
        "config": {"inputs": INPUTS, "filters": FILTERS, "outputs": outputs},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "priorityClassName": cv.NODE_AGENT_PRIORITY_CLASS,
        # Root reads the node's container logs (root-owned, 0640 under /var/log/pods), nothing more: no
        # capabilities, no escalation, RuntimeDefault seccomp, read-only root (its state is on the hostPath mounts).
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "podAnnotations": cv.policy_waivers(
            "reads the node's root-owned container logs (/var/log/pods, 0640 root) from hostPath", "run-as-non-root"),
    }


def log_writer_policy(log_group_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }],
    }, sort_keys=True)


class Logging(pulumi.ComponentResource):
    """`serving:logging:Logging`: Fluent Bit on every node and what it writes to: on CloudWatch the log group, on
    Loki without an external URL the in-cluster Loki."""

    def __init__(self, name: str, cfg: PlatformConfig, cluster: "Cluster", depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:logging:Logging", name, None, opts)
        backend = effective_backend(cfg)
        self.backend = backend
        self.log_group_name: Optional[str] = None
        self.loki: Optional[pulumi.Resource] = None
        deps = list(depends_on)
        child = pulumi.ResourceOptions(parent=self, provider=cluster.k8s_provider)
        if backend == "none":
            self.register_outputs({"backend": backend})
            return
        if backend == "cloudwatch":
            assert cluster.aws_provider is not None  # enforced by logging.checks
            self.log_group_name = cloudwatch_log_group(cfg)
            group = aws.cloudwatch.LogGroup(
                f"{name}-containers", name=self.log_group_name, retention_in_days=cfg.logging.retention_days,
                kms_key_id=cluster.logs_kms_key.arn if cluster.logs_kms_key is not None else None,
                opts=pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider),
            )
            identity = pod_identity_role(
                f"{name}-identity", cluster, cv.LOGGING_NAMESPACE, SERVICE_ACCOUNT,
                policy_json=group.arn.apply(log_writer_policy), parent=self,
            )
            deps += [group, identity.association]
            outputs = cloudwatch_output(cfg.cluster.eks.region, self.log_group_name)
        else:
            loki = loki_config(cfg)
            url = push_url(cfg)
            assert loki is not None and url is not None
            if loki.in_cluster:
                # Its volume needs the StorageClass (EKS: gp3, made by the cluster after its CSI driver).
                storage = [s for s in [getattr(cluster, "storage_class", None)] if s is not None]
                self.loki = chart_release(
                    f"{name}-loki", charts.LOKI, cv.LOGGING_NAMESPACE, loki_values(cfg, loki),
                    pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[*deps, *storage])),
                    release_name=LOKI_RELEASE,
                )
                deps.append(self.loki)
            outputs = loki_output(url, loki.tenant)
        self.release = chart_release(
            f"{name}-fluent-bit", charts.FLUENT_BIT, cv.LOGGING_NAMESPACE, fluent_bit_values(outputs),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deps)), release_name=RELEASE,
        )
        self.service_monitor = custom_resource(
            f"{name}-metrics", "monitoring.coreos.com/v1", "ServiceMonitor",
            meta(RELEASE, cv.LOGGING_NAMESPACE, {**cv.common_labels("fluent-bit", "logging"), **cv.MONITORING_SELECTOR}),
            {
                "selector": {"matchLabels": {cv.APP_NAME: "fluent-bit", cv.APP_INSTANCE: RELEASE}},
                "endpoints": [{"port": "http", "path": METRICS_PATH, "interval": "30s"}],
            },
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release])),
        )
        self.register_outputs({"backend": backend, "logGroup": self.log_group_name, "lokiUrl": push_url(cfg)})
