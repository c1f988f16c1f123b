"""One served model: everything it needs to serve traffic safely, from its config entry alone.

Per model, in its team's namespace:
- a ServiceAccount (token not mounted) and, for `s3://` artifacts on EKS, an IAM role reading only its prefixes;
- per track (`primary`, and `canary` / `shadow` when configured) a Deployment (rolling, maxUnavailable 0), a Service
  and a PodDisruptionBudget; the pods run non-root with a read-only root filesystem, all capabilities dropped,
  seccomp RuntimeDefault, startup/readiness/liveness probes, a preStop pause and a grace period for draining;
- one HTTPRoute on the shared Gateway: weighted backends for a canary, a RequestMirror filter for a shadow, plus the
  gateway's per-route policies (`route_policies.py`);
- an autoscaler for the primary: an HPA on CPU, or a KEDA ScaledObject on a Prometheus signal from
  `observability/metrics.py` (and a cron window for scale to zero);
- a NetworkPolicy (ingress only from the gateway and Prometheus, egress only DNS, HTTPS and the pod identity
  agent), a ServiceMonitor and a PrometheusRule with the model's alerts.

No resource of one model depends on another model's config: names, labels and selectors all derive from the model.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Mapping, Optional, cast

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog.runtimes import MODEL_DIR, NON_ROOT_ENV, STORAGE_INITIALIZER_IMAGE
from ..config import ModelConfig, PlatformConfig
from ..config.base import memory_bytes
from ..config.models import Artifact, Candidate, gpu_pool_name
from ..observability import metrics as promql
from ..observability.alerts import model_alert_rules
from . import artifacts
from .gateway import Gateway
from .k8s import custom_resource, meta
from .route_policies import route_policies

if TYPE_CHECKING:
    from .cluster import Cluster

#: Every model container runs as this user/group (>= 10000: no clash with a host user; checkov CKV_K8S_40).
RUN_AS_USER = 10001
#: Pause in preStop so the gateway and kube-proxy stop sending before the server gets SIGTERM.
PRE_STOP_SECONDS = 10
#: Scratch space (emptyDir) at /tmp under the read-only root filesystem.
TMP_SIZE = "4Gi"
PROBE_PERIOD_SECONDS = 10

SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": RUN_AS_USER,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _fmt(template: str, values: Mapping[str, Any]) -> str:
    """Fill `{placeholder}`s of a runtime preset (unknown braces are left alone)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def _volume_name(path: str) -> str:
    return "w-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _suffix(track: str) -> str:
    """Name suffix of a track's objects: none for the primary, `-canary` / `-shadow` for candidates."""
    return "" if track == "primary" else f"-{track}"


def _shm_size(model: ModelConfig) -> str:
    if model.resources.shm_size:
        return model.resources.shm_size
    quarter_gi = max(1, min(16, int(memory_bytes(model.memory) / 4 / 2**30)))
    return f"{quarter_gi}Gi"


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
        cluster: Optional["Cluster"] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("serving:model:ModelServing", name, None, opts)
        self.model = model
        self.cfg = cfg
        self.namespace = namespace
        # A component's depends_on does not reach its children: pass it on (CRDs, namespace, priority class first).
        self.child = pulumi.ResourceOptions(
            parent=self, provider=provider, depends_on=opts.depends_on if opts else None
        )
        self.preset = model.preset
        self.labels = {
            cv.APP_NAME: model.name,
            cv.APP_COMPONENT: "model-server",
            cv.APP_PART_OF: cv.PART_OF,
            cv.MANAGED_BY: "pulumi",
            cv.MODEL_LABEL: model.name,
            cv.TEAM_LABEL: model.team,
        }
        self.tracks: list[tuple[str, Optional[Candidate]]] = [("primary", None), *model.candidates()]

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta(model.name, namespace, self.labels),
            automount_service_account_token=False,
            opts=self.child,
        )
        prerequisites: list[pulumi.Resource] = [self.service_account]
        prerequisites += self._artifact_access(name, cluster)
        self.hf_secrets = self._hf_token_secrets(name)
        prerequisites += list(self.hf_secrets.values())
        self.config_map = self._config_files(name)
        if self.config_map is not None:
            prerequisites.append(self.config_map)

        after_prereqs = pulumi.ResourceOptions.merge(self.child, pulumi.ResourceOptions(depends_on=prerequisites))
        self.deployments: dict[str, k8s.apps.v1.Deployment] = {}
        self.services: dict[str, k8s.core.v1.Service] = {}
        for track, candidate in self.tracks:
            suffix = _suffix(track)
            workload = f"{model.name}{suffix}"
            track_labels = {**self.labels, cv.TRACK_LABEL: track}
            selector = {cv.MODEL_LABEL: model.name, cv.TRACK_LABEL: track}
            spec = self._deployment_spec(track, candidate, selector, track_labels)
            # `pulumi up` waits for the rollout; a GPU node from zero plus a large model can take longer than the
            # provider's default 10 minutes, and Kubernetes reports a stuck rollout after progressDeadlineSeconds.
            wait = f"{math.ceil((spec['progressDeadlineSeconds'] + 300) / 60)}m"
            self.deployments[track] = k8s.apps.v1.Deployment(
                f"{name}{suffix}-deployment",
                metadata=meta(workload, namespace, track_labels),
                # The specs below that are built as Kubernetes JSON (camelCase keys, which the SDK passes through
                # unchanged) are cast to the SDK's TypedDict, which spells the same keys in snake_case.
                spec=cast(k8s.apps.v1.DeploymentSpecArgsDict, spec),
                opts=pulumi.ResourceOptions.merge(
                    after_prereqs, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait))
                ),
            )
            self.services[track] = k8s.core.v1.Service(
                f"{name}{suffix}-service",
                metadata=meta(workload, namespace, track_labels),
                spec=cast(k8s.core.v1.ServiceSpecArgsDict, {"selector": selector, "ports": self._service_ports()}),
                opts=self.child,
            )
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}{suffix}-pdb",
                metadata=meta(workload, namespace, track_labels),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgsDict(
                    selector={"match_labels": selector},
                    # One pod at a time may be evicted (node drains, Karpenter consolidation); never blocks a drain of
                    # a single-replica model, and a crash-looping pod never holds a drain hostage.
                    max_unavailable=1,
                    unhealthy_pod_eviction_policy="AlwaysAllow",
                ),
                opts=self.child,
            )

        self.route = self._route(name, gateway)
        route_policies(
            f"{name}-route",
            namespace,
            model.name,
            model.exposure,
            pulumi.ResourceOptions.merge(self.child, pulumi.ResourceOptions(depends_on=[self.route])),
            default_request_timeout=self.preset.request_timeout,
            labels=self.labels,
        )
        self._autoscaler(name)
        self._network_policy(name)
        self._monitoring(name)

        scheme = gateway.base_url.split("://", 1)[0]
        host = model.exposure.host or cfg.gateway.hostname
        self.url = f"{scheme}://{host}{'' if model.path == '/' else model.path}"
        self.register_outputs({"url": self.url, "namespace": namespace})

    # --- artifacts --------------------------------------------------------------------------------------------------
    def _artifacts(self) -> list[tuple[str, Artifact]]:
        """(track, artifact) of every track; candidates without their own artifact use the primary's."""
        return [(track, self.model.artifact_of(c)) for track, c in self.tracks]

    def _artifact_access(self, name: str, cluster: Optional["Cluster"]) -> list[pulumi.Resource]:
        s3 = [a for _, a in self._artifacts() if a.scheme == "s3"]
        if not s3:
            return []
        if cluster is None or cluster.eks_cluster is None:
            pulumi.log.warn(
                f"model {self.model.name}: cluster.mode is {self.cfg.cluster.mode!r}, so no IAM role is created for its "
                f"s3:// artifact; the download uses the pod's default AWS credentials (give ServiceAccount "
                f"{self.namespace}/{self.model.name} read access to the prefix yourself, e.g. a pod identity association)",
                resource=self,
            )
            return []
        from .iam import pod_identity_role

        identity = pod_identity_role(
            f"{name}-artifacts",
            cluster,
            self.namespace,
            self.model.name,
            policy_json=artifacts.s3_read_policy(s3),
            parent=self,
            depends_on=[self.service_account],
        )
        self.artifact_role = identity.role
        return [identity.association]

    def _hf_token_secrets(self, name: str) -> dict[str, k8s.core.v1.Secret]:
        """One Secret per track whose artifact is a Hugging Face model with a token (key `token`)."""
        out: dict[str, k8s.core.v1.Secret] = {}
        for track, artifact in self._artifacts():
            token = artifact.hf_token or (self.model.artifact.hf_token if artifact.scheme == "hf" else None)
            if artifact.scheme != "hf" or token is None:
                continue
            suffix = _suffix(track)
            out[track] = k8s.core.v1.Secret(
                f"{name}{suffix}-hf-token",
                metadata=meta(f"{self.model.name}{suffix}-hf-token", self.namespace, self.labels),
                type="Opaque",
                string_data={artifacts.HF_TOKEN_KEY: pulumi.Output.secret(token.get_secret_value())},
                opts=self.child,
            )
        return out

    def _config_files(self, name: str) -> Optional[k8s.core.v1.ConfigMap]:
        files = self.preset.config_files
        if not files:
            return None
        return k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=meta(f"{self.model.name}-runtime-config", self.namespace, self.labels),
            data={self._config_key(path): content for path, content in sorted(files.items())},
            opts=self.child,
        )

    @staticmethod
    def _config_key(path: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", path.strip("/"))

    # --- pods -------------------------------------------------------------------------------------------------------
    def _placeholders(self, candidate: Optional[Candidate]) -> dict[str, Any]:
        m = self.model
        artifact = m.artifact_of(candidate)
        model_dir = artifact.path if artifact.scheme == "image" and artifact.path else MODEL_DIR
        return {
            "model_dir": model_dir,
            "model_name": m.name,
            "version": m.version_of(candidate),
            "port": m.port,
            "metrics_port": m.metrics_port,
            "gpus": m.resources.gpus,
        }

    def _container_ports(self) -> list[dict[str, Any]]:
        ports = [{"name": "http", "containerPort": self.model.port, "protocol": "TCP"}]
        if self.model.metrics_port != self.model.port:
            ports.append({"name": "metrics", "containerPort": self.model.metrics_port, "protocol": "TCP"})
        return ports

    def _service_ports(self) -> list[dict[str, Any]]:
        ports = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
        if self.metrics_path is not None:
            target = "metrics" if self.model.metrics_port != self.model.port else "http"
            ports.append({"name": "metrics", "port": self.model.metrics_port, "targetPort": target, "protocol": "TCP"})
        return ports

    @property
    def metrics_path(self) -> Optional[str]:
        return self.model.server.metrics_path or self.preset.metrics_path

    def _probes(self, values: Mapping[str, Any], artifact: Artifact) -> dict[str, Any]:
        m = self.model
        ready = _fmt(m.server.ready_path or self.preset.ready_path or "/", values)
        live = _fmt(m.server.live_path or self.preset.live_path or m.server.ready_path or "/", values)
        budget = m.startup_budget_seconds(artifact)
        return {
            # Until the weights are loaded; liveness and readiness start after it succeeds.
            "startupProbe": {
                "httpGet": {"path": ready, "port": "http"},
                "periodSeconds": PROBE_PERIOD_SECONDS,
                "timeoutSeconds": 5,
                "failureThreshold": max(3, math.ceil(budget / PROBE_PERIOD_SECONDS)),
            },
            "readinessProbe": {
                "httpGet": {"path": ready, "port": "http"},
                "periodSeconds": 5,
                "timeoutSeconds": 5,
                "failureThreshold": 3,
                "successThreshold": 1,
            },
            "livenessProbe": {
                "httpGet": {"path": live, "port": "http"},
                "periodSeconds": 15,
                # A server busy with long generations answers health slowly: be patient before killing it.
                "timeoutSeconds": 10,
                "failureThreshold": 8 if self.preset.llm else 4,
            },
        }

    def _deployment_spec(
        self, track: str, candidate: Optional[Candidate], selector: dict[str, str], track_labels: dict[str, str]
    ) -> dict[str, Any]:
        m = self.model
        version = m.version_of(candidate)
        artifact = m.artifact_of(candidate)
        values = self._placeholders(candidate)
        pod_labels = {**track_labels, cv.MODEL_VERSION_LABEL: version, cv.APP_VERSION: version}

        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}]
        mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
        init_containers: list[dict[str, Any]] = []
        model_volume = artifacts.model_volume(artifact, "model", {**self.labels, cv.TRACK_LABEL: track})
        if model_volume is not None:
            volumes.append(model_volume)
            mounts.append({"name": "model", "mountPath": values["model_dir"], "subPath": artifacts.STORE_SUBPATH, "readOnly": True})
            hf_volume = None
            if track in self.hf_secrets:
                hf_volume = "hf-token"
                volumes.append({
                    "name": hf_volume,
                    "secret": {
                        "secretName": f"{m.name}{_suffix(track)}-hf-token",
                        "defaultMode": 0o440,
                        "items": [{"key": artifacts.HF_TOKEN_KEY, "path": artifacts.HF_TOKEN_KEY}],
                    },
                })
            aws_region = self.cfg.cluster.eks.region if self.cfg.cluster.mode == "eks" else None
            init_containers.append(artifacts.download_container(
                artifact, "model", SECURITY_CONTEXT,
                image=self.cfg.storage_initializer_image or STORAGE_INITIALIZER_IMAGE,
                hf_token_volume=hf_volume, aws_region=aws_region,
            ))
        for path in self.preset.writable_dirs:
            volumes.append({"name": _volume_name(path), "emptyDir": {"sizeLimit": "1Gi"}})
            mounts.append({"name": _volume_name(path), "mountPath": path})
        # PyTorch/NCCL (and Triton's Python backend) put worker tensors in /dev/shm; the runtime's default is 64 MiB.
        if self.preset.shared_memory or m.resources.gpus:
            volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": _shm_size(m)}})
            mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        if self.config_map is not None:
            volumes.append({"name": "runtime-config", "configMap": {"name": f"{m.name}-runtime-config", "defaultMode": 0o444}})
            for path in sorted(self.preset.config_files):
                mounts.append({"name": "runtime-config", "mountPath": path, "subPath": self._config_key(path), "readOnly": True})

        env = {**NON_ROOT_ENV, **{k: _fmt(v, values) for k, v in self.preset.env.items()}}
        env.update(m.server.env)
        resources: dict[str, dict[str, str]] = {
            "requests": {"cpu": m.cpu, "memory": m.memory},
            "limits": {"memory": m.memory},
        }
        if m.resources.cpu_limit:
            resources["limits"]["cpu"] = m.resources.cpu_limit
        if m.resources.gpus:
            resources["requests"][cv.GPU_RESOURCE] = str(m.resources.gpus)
            resources["limits"][cv.GPU_RESOURCE] = str(m.resources.gpus)

        args = [_fmt(a, values) for a in self.preset.args] + list(m.server.args)
        container: dict[str, Any] = {
            "name": "server",
            "image": m.image_ref(candidate),
            "imagePullPolicy": "IfNotPresent",
            "ports": self._container_ports(),
            "env": [{"name": k, "value": v} for k, v in sorted(env.items())],
            "resources": resources,
            **self._probes(values, artifact),
            # The kubelet's own sleep action (PodLifecycleSleepAction, on by default since Kubernetes 1.30): no
            # `sleep` binary needed in the image.
            "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
            "securityContext": SECURITY_CONTEXT,
            "volumeMounts": mounts,
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
        if self.preset.command:
            container["command"] = [_fmt(c, values) for c in self.preset.command]
        if args:
            container["args"] = args
        if self.preset.working_dir:
            container["workingDir"] = self.preset.working_dir

        pod_spec: dict[str, Any] = {
            "serviceAccountName": m.name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "priorityClassName": cv.SERVING_PRIORITY_CLASS,
            "terminationGracePeriodSeconds": PRE_STOP_SECONDS + self.preset.drain_seconds,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "fsGroup": RUN_AS_USER,
                "fsGroupChangePolicy": "OnRootMismatch",
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "initContainers": init_containers or None,
            "containers": [container],
            "volumes": volumes,
            "topologySpreadConstraints": self._spread(selector),
        }
        if m.resources.gpus:
            pool = self.cfg.node_pools.gpu_pool(gpu_pool_name(self.cfg, m) or "")
            assert pool is not None  # enforced by config cross-checks
            pod_spec["nodeSelector"] = cv.pool_node_selector(pool)
            pod_spec["tolerations"] = cv.pool_tolerations(pool)

        spec: dict[str, Any] = {
            "selector": {"matchLabels": selector},
            "revisionHistoryLimit": 5,
            # A GPU model can take minutes to start; a rollout is stuck (and `pulumi up` fails) only after that.
            "progressDeadlineSeconds": max(600, m.startup_budget_seconds(artifact) + (600 if m.resources.gpus else 300)),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        }
        if track != "primary":
            spec["replicas"] = candidate.replicas if candidate else 1
        elif not m.scaling.autoscaled:
            spec["replicas"] = m.scaling.min_replicas
        # Otherwise the autoscaler owns `replicas`: leaving it out keeps `pulumi up` from resetting the scale.
        return spec

    def _spread(self, selector: dict[str, str]) -> list[dict[str, Any]]:
        """Across zones (strictly for CPU models; best effort for GPU models, whose capacity a zone may lack) and
        across nodes; only pods of the current ReplicaSet count (`pod-template-hash`)."""
        zone_rule = "ScheduleAnyway" if self.model.resources.gpus else "DoNotSchedule"
        return [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": zone_rule,
                "labelSelector": {"matchLabels": selector},
                "matchLabelKeys": ["pod-template-hash"],
            },
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
                "matchLabelKeys": ["pod-template-hash"],
            },
        ]

    # --- traffic ----------------------------------------------------------------------------------------------------
    def _route(self, name: str, gateway: Gateway) -> pulumi.Resource:
        m = self.model
        rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": m.path}}]}
        filters: list[dict[str, Any]] = []
        if m.path != "/":
            filters.append({"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}})
        if m.shadow is not None:
            # Envoy mirrors the request to the shadow and discards its response (Gateway API v1.3+ standard channel:
            # RequestMirror `percent`).
            filters.append({
                "type": "RequestMirror",
                "requestMirror": {"backendRef": {"name": f"{m.name}-shadow", "port": 80}, "percent": m.shadow.percent},
            })
        if filters:
            rule["filters"] = filters
        if m.canary is not None:
            rule["backendRefs"] = [
                {"name": m.name, "port": 80, "weight": 100 - m.canary.weight},
                {"name": f"{m.name}-canary", "port": 80, "weight": m.canary.weight},
            ]
        else:
            rule["backendRefs"] = [{"name": m.name, "port": 80}]
        return custom_resource(
            f"{name}-route",
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            meta(m.name, self.namespace, self.labels),
            {"parentRefs": [gateway.parent_ref()], "hostnames": [m.exposure.host or self.cfg.gateway.hostname], "rules": [rule]},
            pulumi.ResourceOptions.merge(
                self.child, pulumi.ResourceOptions(depends_on=[gateway, *self.services.values()])
            ),
        )

    # --- autoscaling ------------------------------------------------------------------------------------------------
    def _behavior(self) -> dict[str, Any]:
        m = self.model
        gpu = m.resources.gpus > 0
        stabilization = m.scaling.scale_down_stabilization_seconds
        if stabilization is None:
            stabilization = 600 if gpu else 300
        up = [{"type": "Pods", "value": 1, "periodSeconds": 60}]
        if not gpu:
            up = [{"type": "Pods", "value": 4, "periodSeconds": 60}, {"type": "Percent", "value": 100, "periodSeconds": 60}]
        return {
            # Up without delay (a GPU replica takes minutes to be ready: one at a time, it needs a whole GPU node) ...
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": up},
            # ... down slowly, one replica at a time, once the load has stayed low for the whole window.
            "scaleDown": {
                "stabilizationWindowSeconds": stabilization,
                "selectPolicy": "Min",
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120 if gpu else 60}],
            },
        }

    def _autoscaler(self, name: str) -> None:
        m = self.model
        if not m.scaling.autoscaled:
            return
        target_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name}
        deps = pulumi.ResourceOptions.merge(self.child, pulumi.ResourceOptions(depends_on=[self.deployments["primary"]]))
        if m.metric == "cpu":
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=meta(m.name, self.namespace, self.labels),
                spec=cast(k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgsDict, {
                    "scaleTargetRef": target_ref,
                    "minReplicas": m.scaling.min_replicas,
                    "maxReplicas": m.scaling.max_replicas,
                    "metrics": [{
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": int(m.metric_target)}},
                    }],
                    "behavior": self._behavior(),
                }),
                opts=deps,
            )
            return
        ref = promql.ModelRef(self.namespace, m.name)
        signals = promql.queries(ref, m.runtime)
        query, metric_type = {
            # Sums over the model: KEDA's AverageValue divides by the replica count, so the target is per replica.
            "requests": (signals["requestRate"], "AverageValue"),
            "queue": (signals.get("queueLength", ""), "AverageValue"),
            # A quantile is not additive: compared as is.
            "latency": (signals["latencyP95"], "Value"),
        }[m.metric]
        # KEDA 2.20 scalers (pkg/scalers/prometheus_scaler.go: serverAddress, query, threshold, ignoreNullValues;
        # cron_scaler.go: timezone, start, end, desiredReplicas); KEDA creates the HPA named below from them.
        triggers: list[dict[str, Any]] = [{
            "type": "prometheus",
            "metricType": metric_type,
            "metadata": {
                "serverAddress": cv.PROMETHEUS_URL,
                "query": query,
                "threshold": f"{m.metric_target:g}",
                # No series (no traffic yet) reads as 0 instead of an error.
                "ignoreNullValues": "true",
            },
        }]
        if m.scaling.active_hours is not None:
            hours = m.scaling.active_hours
            triggers.append({
                "type": "cron",
                "metadata": {"timezone": hours.timezone, "start": hours.start, "end": hours.end, "desiredReplicas": "1"},
            })
        custom_resource(
            f"{name}-scaledobject",
            "keda.sh/v1alpha1",
            "ScaledObject",
            meta(m.name, self.namespace, self.labels),
            {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name},
                "minReplicaCount": m.scaling.min_replicas,
                "maxReplicaCount": m.scaling.max_replicas,
                "pollingInterval": 15,
                # Idle time before the last replica goes (scale to zero only).
                "cooldownPeriod": 900,
                "advanced": {"horizontalPodAutoscalerConfig": {"name": f"{m.name}-keda", "behavior": self._behavior()}},
                "triggers": triggers,
            },
            deps,
        )

    # --- network and monitoring -------------------------------------------------------------------------------------
    def _network_policy(self, name: str) -> None:
        m = self.model

        def from_namespace(ns: str) -> dict[str, Any]:
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}

        ingress = [{"from": [from_namespace(cv.GATEWAY_NAMESPACE)], "ports": [{"protocol": "TCP", "port": m.port}]}]
        if self.metrics_path is not None:
            ingress.append({"from": [from_namespace(cv.MONITORING_NAMESPACE)], "ports": [{"protocol": "TCP", "port": m.metrics_port}]})
        egress: list[dict[str, Any]] = [
            {
                "to": [{**from_namespace("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            },
            # Artifact downloads (S3, Hugging Face) and AWS APIs.
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},
        ]
        if self.cfg.cluster.mode == "eks":
            # The EKS Pod Identity agent on the node (link-local; https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
            egress.append({
                "to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}, {"ipBlock": {"cidr": "fd00:ec2::23/128"}}],
                "ports": [{"protocol": "TCP", "port": 80}],
            })
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=meta(m.name, self.namespace, self.labels),
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, {
                "podSelector": {"matchLabels": {cv.MODEL_LABEL: m.name}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress,
                "egress": egress,
            }),
            opts=self.child,
        )

    def _monitoring(self, name: str) -> None:
        m = self.model
        mon_labels = {**self.labels, **cv.MONITORING_SELECTOR}
        if self.metrics_path is not None:
            custom_resource(
                f"{name}-servicemonitor",
                "monitoring.coreos.com/v1",
                "ServiceMonitor",
                meta(m.name, self.namespace, mon_labels),
                {
                    "selector": {"matchLabels": {cv.MODEL_LABEL: m.name}},
                    "namespaceSelector": {"matchNames": [self.namespace]},
                    "endpoints": [{"port": "metrics", "path": self.metrics_path, "interval": "30s", "scheme": "http"}],
                    # The model, version and track of each scraped pod become series labels.
                    "podTargetLabels": [cv.MODEL_LABEL, cv.MODEL_VERSION_LABEL, cv.TRACK_LABEL],
                },
                self.child,
            )
        grafana = f"https://{self.cfg.monitoring.grafana.host}" if self.cfg.monitoring.grafana.host else None
        custom_resource(
            f"{name}-rules",
            "monitoring.coreos.com/v1",
            "PrometheusRule",
            meta(m.name, self.namespace, mon_labels),
            {"groups": model_alert_rules(m, self.namespace, slo=self.cfg.monitoring.slo, grafana_url=grafana)},
            self.child,
        )
