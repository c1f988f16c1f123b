"""Workload part: the pods that serve a model, one Deployment per track.

Per track (`primary`, and `canary` / `shadow` when configured) a Deployment (rolling, maxUnavailable 0), a Service and
a PodDisruptionBudget; the pods run non-root with a read-only root filesystem, all capabilities dropped, seccomp
RuntimeDefault, startup/readiness/liveness probes, a preStop pause and a grace period for draining; artifacts are
fetched by an init container (`components/artifacts.py`), or, for an LLM's `s3://` weights, mounted read-only from
S3 by every replica (`components/shared_weights.py`); runtime config files come from one ConfigMap.

Other parts read `WorkloadOutputs`: the Deployment and Service of each track, by track name. Another workload (a
shared server) provides the same outputs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, cast

import pulumi
import pulumi_kubernetes as k8s

from ... import conventions as cv
from ...catalog.runtimes import MODEL_DIR, NON_ROOT_ENV, STORAGE_INITIALIZER_IMAGE
from ...config import ModelConfig
from ...config.base import memory_bytes
from ...config.llm import mounts_weights
from ...config.models import Candidate, gpu_pool_name
from .. import artifacts, shared_weights
from ..backend_tls import PodTls, workload_tls
from ..inference_pool import pool_pod_labels
from ..k8s import meta
from ..server_secrets import server_secrets
from .access import Access
from .context import ModelContext, Track, autoscaled
from .pod import GRPC_SERVICE_PORT, PRE_STOP_SECONDS, RUN_AS_USER, SECURITY_CONTEXT, SERVICE_PORT, fill

#: Scratch space (emptyDir) at /tmp under the read-only root filesystem.
TMP_SIZE = "4Gi"
PROBE_PERIOD_SECONDS = 10


def _volume_name(path: str) -> str:
    return "w-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _shm_size(model: ModelConfig) -> str:
    if model.resources.shm_size:
        return model.resources.shm_size
    quarter_gi = max(1, min(16, int(memory_bytes(model.memory) / 4 / 2**30)))
    return f"{quarter_gi}Gi"


@dataclass
class WorkloadOutputs:
    """What the traffic, scaling and monitoring parts need from a workload."""

    #: Track name -> its Deployment (a rollout other parts wait for).
    deployments: dict[str, pulumi.Resource]
    #: Track name -> its Service (port `SERVICE_PORT`, named like the Deployment).
    services: dict[str, pulumi.Resource]
    #: HTTPRoute rules replacing the traffic part's own (a workload that is not the model's Services: shared servers).
    route_rules: Optional[list[dict[str, Any]]] = None
    #: Track name -> TLS-to-the-pod pieces (`gateway.backendTls`; the access part admits the gateway on their ports).
    tls: Optional[dict[str, PodTls]] = None


class Workload(WorkloadOutputs):
    """The model's own Deployments (one per track), Services and PodDisruptionBudgets."""

    def __init__(self, ctx: ModelContext, access: Access):
        self.ctx = ctx
        self.access = access
        self.config_map = self._config_files()
        # Secret environment variables and pull secrets (`server.secretEnv`, `imagePullSecrets`, `registry`).
        self.server_secrets = server_secrets(f"{ctx.name}-server", ctx.model.name, ctx.namespace, ctx.labels,
                                             ctx.model.server, ctx.opts)
        prerequisites = [*access.prerequisites, *([self.config_map] if self.config_map is not None else []),
                         *self.server_secrets.resources]
        super().__init__(deployments={}, services={}, tls={})
        assert self.tls is not None
        for track in ctx.tracks:
            if ctx.cfg.gateway.backend_tls:
                self.tls[track.name] = workload_tls(
                    f"{ctx.name}{track.suffix}", ctx.workload_name(track), ctx.namespace, ctx.track_labels(track),
                    http_port=ctx.model.port, grpc_port=self._grpc_port, security_context=SECURITY_CONTEXT, opts=ctx.opts,
                )
                prerequisites = [*prerequisites, *self.tls[track.name].resources]
            self._track(track, prerequisites)

    def _track(self, track: Track, prerequisites: list[pulumi.Resource]) -> None:
        ctx = self.ctx
        workload = ctx.workload_name(track)
        track_labels = ctx.track_labels(track)
        selector = ctx.selector(track)
        spec = self.deployment_spec(track)
        weights: list[pulumi.Resource] = []
        if self.mounts_weights(track):
            # The shared, read-only weights (Mountpoint for S3): signed with the model's identity (prerequisites).
            weights.append(shared_weights.shared_weights(
                f"{ctx.name}{track.suffix}", ctx.artifact(track), ctx.cfg, ctx.namespace, workload, track_labels, ctx.opts,
                depends_on=prerequisites,
            ))
        # `pulumi up` waits for the rollout; a GPU node from zero plus a large model can take longer than the
        # provider's default 10 minutes, and Kubernetes reports a stuck rollout after progressDeadlineSeconds.
        wait = f"{math.ceil((spec['progressDeadlineSeconds'] + 300) / 60)}m"
        self.deployments[track.name] = k8s.apps.v1.Deployment(
            f"{ctx.name}{track.suffix}-deployment",
            metadata=meta(workload, ctx.namespace, track_labels),
            # The specs below that are built as Kubernetes JSON (camelCase keys, which the SDK passes through
            # unchanged) are cast to the SDK's TypedDict, which spells the same keys in snake_case.
            spec=cast(k8s.apps.v1.DeploymentSpecArgsDict, spec),
            opts=ctx.with_deps(prerequisites, weights, extra=pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait))),
        )
        self.services[track.name] = k8s.core.v1.Service(
            f"{ctx.name}{track.suffix}-service",
            metadata=meta(workload, ctx.namespace, track_labels),
            spec=cast(k8s.core.v1.ServiceSpecArgsDict, {"selector": selector, "ports": self._service_ports(track)}),
            opts=ctx.opts,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{ctx.name}{track.suffix}-pdb",
            metadata=meta(workload, ctx.namespace, track_labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgsDict(
                selector={"match_labels": selector},
                # One pod at a time may be evicted (node drains, Karpenter consolidation); never blocks a drain of
                # a single-replica model, and a crash-looping pod never holds a drain hostage.
                max_unavailable=1,
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
            opts=ctx.opts,
        )

    def _config_files(self) -> Optional[k8s.core.v1.ConfigMap]:
        ctx = self.ctx
        files = ctx.preset.config_files
        if not files:
            return None
        return k8s.core.v1.ConfigMap(
            f"{ctx.name}-config",
            metadata=meta(f"{ctx.model.name}-runtime-config", ctx.namespace, ctx.labels),
            data={self._config_key(path): content for path, content in sorted(files.items())},
            opts=ctx.opts,
        )

    @staticmethod
    def _config_key(path: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", path.strip("/"))

    def _placeholders(self, candidate: Optional[Candidate]) -> dict[str, Any]:
        m = self.ctx.model
        artifact = m.artifact_of(candidate)
        model_dir = artifact.path if artifact.scheme == "image" and artifact.path else MODEL_DIR
        if artifact.scheme == "oci":  # the modelcar's /models, linked into the shared volume
            model_dir = f"{artifacts.MODELCAR_MOUNT}/models"
        return {
            "model_dir": model_dir,
            "model_name": m.name,
            "version": m.version_of(candidate),
            "port": m.port,
            "metrics_port": m.metrics_port,
            "gpus": m.resources.gpus,
        }

    @property
    def _grpc_port(self) -> Optional[int]:
        """The server's gRPC port when the model is served over gRPC too (`exposure.grpc`)."""
        return self.ctx.preset.grpc_port if self.ctx.model.exposure.grpc else None

    def _container_ports(self) -> list[dict[str, Any]]:
        ports = [{"name": "http", "containerPort": self.ctx.model.port, "protocol": "TCP"}]
        if self._grpc_port:
            ports.append({"name": "grpc", "containerPort": self._grpc_port, "protocol": "TCP"})
        if self.ctx.model.metrics_port != self.ctx.model.port:
            ports.append({"name": "metrics", "containerPort": self.ctx.model.metrics_port, "protocol": "TCP"})
        return ports

    def _service_ports(self, track: Track) -> list[dict[str, Any]]:
        ports: list[dict[str, Any]] = [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]
        if self._grpc_port:
            # h2c: Envoy Gateway speaks cleartext HTTP/2 to a backend port with this appProtocol (GRPCRoute backends).
            ports.append({"name": "grpc", "port": GRPC_SERVICE_PORT, "targetPort": "grpc", "protocol": "TCP",
                          "appProtocol": "kubernetes.io/h2c"})
        if self.ctx.metrics_path is not None:
            target = "metrics" if self.ctx.model.metrics_port != self.ctx.model.port else "http"
            ports.append({"name": "metrics", "port": self.ctx.model.metrics_port, "targetPort": target, "protocol": "TCP"})
        if self.tls and track.name in self.tls:
            ports += self.tls[track.name].service_ports
        return ports

    def mounts_weights(self, track: Track) -> bool:
        """The track's replicas mount the shared weights instead of downloading them (`config/llm.py`)."""
        return mounts_weights(self.ctx.cfg, self.ctx.model, self.ctx.artifact(track))

    def startup_budget(self, track: Track) -> int:
        """Seconds from container start to ready: the model's budget, plus reading mounted weights through S3 (a
        download happens before the container starts and is not in the budget)."""
        m, artifact = self.ctx.model, self.ctx.artifact(track)
        budget = m.startup_budget_seconds(artifact)
        if self.mounts_weights(track) and m.server.startup_timeout_seconds is None:
            budget += math.ceil(artifact.size_gi * shared_weights.MOUNT_READ_SECONDS_PER_GIB)
        return budget

    def _probes(self, values: Mapping[str, Any], budget: int) -> dict[str, Any]:
        m = self.ctx.model
        ready = fill(m.server.ready_path or self.ctx.preset.ready_path or "/", values)
        live = fill(m.server.live_path or self.ctx.preset.live_path or m.server.ready_path or "/", values)
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
                "failureThreshold": 8 if self.ctx.preset.llm else 4,
            },
        }

    def deployment_spec(self, track: Track) -> dict[str, Any]:
        """The Deployment spec of one track (Kubernetes JSON, camelCase)."""
        m = self.ctx.model
        candidate = track.candidate
        selector = self.ctx.selector(track)
        track_labels = self.ctx.track_labels(track)
        version = m.version_of(candidate)
        artifact = m.artifact_of(candidate)
        values = self._placeholders(candidate)
        # An LLM's serving tracks carry the label its InferencePool selects (inference_pool.py).
        pod_labels = {**track_labels, cv.MODEL_VERSION_LABEL: version, cv.APP_VERSION: version,
                      **pool_pod_labels(m, track.name)}

        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}]
        mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
        init_containers: list[dict[str, Any]] = []
        model_volume = None
        if self.mounts_weights(track):
            # Every replica mounts the same read-only copy; nothing is downloaded (shared_weights.py).
            volumes.append(shared_weights.pod_volume("model", self.ctx.namespace, self.ctx.workload_name(track)))
            mounts.append({"name": "model", "mountPath": values["model_dir"], "readOnly": True})
        else:
            model_volume = artifacts.model_volume(artifact, "model", {**self.ctx.labels, cv.TRACK_LABEL: track.name})
        if model_volume is not None:
            volumes.append(model_volume)
            mounts.append({"name": "model", "mountPath": values["model_dir"], "subPath": artifacts.STORE_SUBPATH, "readOnly": True})
            hf_volume = None
            if track.name in self.access.hf_secrets:
                hf_volume = "hf-token"
                volumes.append({
                    "name": hf_volume,
                    "secret": {
                        "secretName": self.access.hf_secret_name(track),
                        "defaultMode": 0o440,
                        "items": [{"key": artifacts.HF_TOKEN_KEY, "path": artifacts.HF_TOKEN_KEY}],
                    },
                })
            aws_region = self.ctx.cfg.cluster.eks.region if self.ctx.cfg.cluster.mode == "eks" else None
            store_secret = artifacts.store_secret_name(artifact, self.access.store_secret_name(track))
            if artifact.scheme == "gs" and store_secret:
                volumes.append(artifacts.gcs_key_volume(store_secret))
            init_containers.append(artifacts.download_container(
                artifact, "model", SECURITY_CONTEXT,
                image=self.ctx.cfg.storage_initializer_image or STORAGE_INITIALIZER_IMAGE,
                hf_token_volume=hf_volume, aws_region=aws_region, store_secret=store_secret,
            ))
        # pvc:// (mounted read-only) and oci:// (the modelcar sidecar).
        mounted = artifacts.mounted_artifact(artifact, values["model_dir"], SECURITY_CONTEXT)
        volumes += mounted.volumes
        init_containers += mounted.init_containers
        mounts += mounted.mounts
        for path in self.ctx.preset.writable_dirs:
            volumes.append({"name": _volume_name(path), "emptyDir": {"sizeLimit": "1Gi"}})
            mounts.append({"name": _volume_name(path), "mountPath": path})
        # PyTorch/NCCL (and Triton's Python backend) put worker tensors in /dev/shm; the runtime's default is 64 MiB.
        if self.ctx.preset.shared_memory or m.resources.gpus:
            volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": _shm_size(m)}})
            mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        if self.config_map is not None:
            volumes.append({"name": "runtime-config", "configMap": {"name": f"{m.name}-runtime-config", "defaultMode": 0o444}})
            for path in sorted(self.ctx.preset.config_files):
                mounts.append({"name": "runtime-config", "mountPath": path, "subPath": self._config_key(path), "readOnly": True})

        env = {**NON_ROOT_ENV, **{k: fill(v, values) for k, v in self.ctx.preset.env.items()}}
        env.update(m.server.env)
        resources: dict[str, dict[str, str]] = {
            "requests": {"cpu": m.cpu, "memory": m.memory},
            "limits": {"memory": m.memory},
        }
        if m.resources.cpu_limit:
            resources["limits"]["cpu"] = m.resources.cpu_limit
        pool = self.ctx.cfg.node_pools.gpu_pool(gpu_pool_name(self.ctx.cfg, m) or "") if m.resources.gpus else None
        if pool is not None:  # a whole GPU, a time slice, or a MIG device (`resources.migProfile`)
            gpu = cv.model_gpu_resource(pool, m.resources.mig_profile)
            resources["requests"][gpu] = resources["limits"][gpu] = str(m.resources.gpus)

        args = [fill(a, values) for a in self.ctx.preset.args] + list(m.server.args)
        container: dict[str, Any] = {
            "name": "server",
            "image": m.image_ref(candidate),
            "imagePullPolicy": "IfNotPresent",
            "ports": self._container_ports(),
            "env": [{"name": k, "value": v} for k, v in sorted(env.items())] + self.server_secrets.env,
            "resources": resources,
            **self._probes(values, self.startup_budget(track)),
            # The kubelet's own sleep action (PodLifecycleSleepAction, on by default since Kubernetes 1.30): no
            # `sleep` binary needed in the image.
            "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
            "securityContext": SECURITY_CONTEXT,
            "volumeMounts": mounts,
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
        if self.ctx.preset.command:
            container["command"] = [fill(c, values) for c in self.ctx.preset.command]
        if args:
            container["args"] = args
        if self.ctx.preset.working_dir:
            container["workingDir"] = self.ctx.preset.working_dir

        pod_spec: dict[str, Any] = {
            "serviceAccountName": m.name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "priorityClassName": cv.SERVING_PRIORITY_CLASS,
            "terminationGracePeriodSeconds": PRE_STOP_SECONDS + self.ctx.preset.drain_seconds,
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
        if mounted.share_process_namespace:
            pod_spec["shareProcessNamespace"] = True
        if self.tls and track.name in self.tls:
            pod_spec["initContainers"] = [*init_containers, self.tls[track.name].sidecar]
            volumes += self.tls[track.name].volumes
        if self.server_secrets.image_pull_secrets:
            pod_spec["imagePullSecrets"] = self.server_secrets.image_pull_secrets
        if m.resources.gpus:
            assert pool is not None  # enforced by config cross-checks
            pod_spec["nodeSelector"] = cv.pool_node_selector(pool)
            pod_spec["tolerations"] = cv.pool_tolerations(pool)

        spec: dict[str, Any] = {
            "selector": {"matchLabels": selector},
            "revisionHistoryLimit": 5,
            # A GPU model can take minutes to start; a rollout is stuck (and `pulumi up` fails) only after that.
            "progressDeadlineSeconds": max(600, self.startup_budget(track) + (600 if m.resources.gpus else 300)),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        }
        if m.stopped:
            # Stopped: every track at zero (the autoscalers are paused or, for an HPA, idle at zero replicas).
            spec["replicas"] = 0
        elif not autoscaled(m, track):
            spec["replicas"] = m.scaling.min_replicas if track.is_primary else (candidate.replicas if candidate else 1)
        # Otherwise the track's autoscaler owns `replicas`: leaving it out keeps `pulumi up` from resetting the scale.
        return spec

    def _spread(self, selector: dict[str, str]) -> list[dict[str, Any]]:
        """Across zones (strictly for CPU models; best effort for GPU models, whose capacity a zone may lack) and
        across nodes; only pods of the current ReplicaSet count (`pod-template-hash`)."""
        zone_rule = "ScheduleAnyway" if self.ctx.model.resources.gpus else "DoNotSchedule"
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

