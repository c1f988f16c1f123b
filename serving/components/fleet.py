"""A shared model server fleet: one Deployment of a multi-model server (MLServer or Triton) serving many models.

`serving:fleet:ModelFleet`, in its team's namespace, all objects named `fleet-<name>`:
- a ServiceAccount (token not mounted) and, on EKS for `s3://` artifacts on AWS, an IAM role reading exactly the
  prefixes of the models placed on the fleet (EKS Pod Identity);
- a Deployment whose pods load every placed model individually, each from its own artifact: one download init
  container per model (`fetch-<model>`, KServe's storage initializer, with only that model's store credentials) writes
  `<repository>/<model>/`; MLServer then finds one `model-settings.json` per model folder (written by that init
  container: name, implementation, version), Triton loads exactly the `--load-model` names (explicit model control).
  The init containers (and Triton's arguments) are the fleet's model list: adding a model updates this Deployment;
- a Service (HTTP, gRPC as h2c, metrics), a PodDisruptionBudget, a NetworkPolicy (ingress from the gateway and
  Prometheus only; egress DNS and exactly the artifact stores its models use), a ServiceMonitor (the runtimes label
  their metrics with the model: MLServer `model_name`, Triton `model`) and a PrometheusRule for the fleet's pods.

Each model keeps its own route, policies, SLO alerts (on the gateway's per-route metrics) and readiness endpoint
(`/models/<name>/ready` -> `/v2/models/<name>/ready`): the model's own `ModelServing` makes those (`shared.py`).
A pod is ready when every model on it is loaded (MLServer's and Triton's `/v2/health/ready`, strict readiness).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Optional, cast

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..catalog.runtimes import FLEET_RUNTIMES, MODEL_DIR, NON_ROOT_ENV, PRESETS, STORAGE_INITIALIZER_IMAGE, FleetRuntime
from ..config import ModelConfig, PlatformConfig
from ..config.fleets import FleetConfig
from ..config.models import image_with_tag
from ..observability.metrics import ksm_label
from . import artifacts
from .k8s import custom_resource, meta
from .backend_tls import PodTls, workload_tls
from .server_secrets import server_secrets
from .model.pod import GRPC_SERVICE_PORT, PRE_STOP_SECONDS, RUN_AS_USER, SECURITY_CONTEXT
from .model.pod import fill as fmt

if TYPE_CHECKING:
    from .cluster import Cluster

#: Where the init containers mount the model repository volume.
STORE = artifacts.STORE_MOUNT


def fleet_download_script(settings_file: Optional[str], download: bool = True) -> str:
    """Download one model into `<store>/$MODEL_NAME/` (skipped when a container restart finds a complete copy of the
    same URI there), then, for MLServer, write its model-settings.json beside it. `download` False (a pvc:// model,
    mounted into the server): only the settings."""
    dest = f'{STORE}/"$MODEL_NAME"'
    target = f'{dest}/artifact' if settings_file else dest
    marker = f'{STORE}/."$MODEL_NAME"{artifacts.DONE_MARKER}'
    settings = f'printf \'%s\' "$MODEL_SETTINGS" > {dest}/{settings_file}\n' if settings_file else ""
    if not download:
        return f"set -eu\nmkdir -p {dest}\n{settings}"
    return f"""set -eu
if [ -f {marker} ] && [ "$(cat {marker})" = "$ARTIFACT_URI" ]; then
  echo "model $MODEL_NAME already in the repository volume: not downloading"
else
  rm -rf {dest} {marker}
  mkdir -p {dest}
  {artifacts.STORAGE_INITIALIZER_ENTRYPOINT} "$ARTIFACT_URI" {target}
  printf '%s' "$ARTIFACT_URI" > {marker}
fi
{settings}"""


#: Where a pvc:// model's volume is mounted in a fleet's server (`<PVC_ROOT>/<model>`).
PVC_ROOT = "/mnt/pvc"


def mlserver_settings(model: ModelConfig) -> dict[str, Any]:
    """MLServer model-settings.json of a placed model (mlserver/settings.py ModelSettings: name, implementation,
    parameters.uri relative to the settings file or absolute, parameters.version)."""
    implementation = model.preset.env.get("MLSERVER_MODEL_IMPLEMENTATION")
    uri = f"{PVC_ROOT}/{model.name}" if model.artifact.scheme == "pvc" else "./artifact"
    out: dict[str, Any] = {"name": model.name, "parameters": {"uri": uri, "version": model.version}}
    if implementation:
        out["implementation"] = implementation
    return out


class ModelFleet(pulumi.ComponentResource):
    """`serving:fleet:ModelFleet`: one shared multi-model server Deployment and what it needs."""

    service_name: str

    def __init__(
        self,
        name: str,
        fleet: FleetConfig,
        models: list[ModelConfig],
        cfg: PlatformConfig,
        namespace: str,
        provider: k8s.Provider,
        cluster: Optional["Cluster"] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("serving:fleet:ModelFleet", name, None, opts)
        self.fleet = fleet
        self.models = models
        self.cfg = cfg
        self.namespace = namespace
        self.runtime: FleetRuntime = FLEET_RUNTIMES[fleet.runtime]
        self.preset = PRESETS[self.runtime.preset]
        self.child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=opts.depends_on if opts else None)
        self.object_name = fleet.object_name
        self.labels = {
            **cv.common_labels(self.object_name, "model-fleet"),
            cv.TEAM_LABEL: fleet.team,
            cv.FLEET_LABEL: fleet.name,
        }
        self.selector = {cv.FLEET_LABEL: fleet.name}

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta(self.object_name, namespace, self.labels),
            automount_service_account_token=False, opts=self.child,
        )
        prereqs: list[pulumi.Resource] = [self.service_account, *self._artifact_access(name, cluster)]
        self.secrets = server_secrets(name, self.object_name, namespace, self.labels, fleet, self.child)
        prereqs += self.secrets.resources
        self.tls: Optional[PodTls] = None
        if cfg.gateway.backend_tls:
            self.tls = workload_tls(name, self.object_name, namespace, self.labels, http_port=self.port,
                                    grpc_port=self.preset.grpc_port, security_context=SECURITY_CONTEXT, opts=self.child)
            prereqs += self.tls.resources
        spec = self._deployment_spec()
        wait = f"{math.ceil((spec['progressDeadlineSeconds'] + 300) / 60)}m"
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(self.object_name, namespace, self.labels),
            spec=cast(k8s.apps.v1.DeploymentSpecArgsDict, spec),
            opts=pulumi.ResourceOptions.merge(self.child, pulumi.ResourceOptions(
                depends_on=prereqs, custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait))),
        )
        self.service_name = self.object_name
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(self.object_name, namespace, self.labels),
            spec=cast(k8s.core.v1.ServiceSpecArgsDict, {"selector": self.selector, "ports": self._service_ports()}),
            opts=self.child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta(self.object_name, namespace, self.labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgsDict(
                selector={"match_labels": self.selector}, max_unavailable=1, unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
            opts=self.child,
        )
        self._network_policy(name)
        self._monitoring(name)
        self.register_outputs({"models": [m.name for m in models], "service": self.service_name})

    # --- ports --------------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self.preset.port is not None
        return self.preset.port

    @property
    def metrics_port(self) -> int:
        return self.preset.metrics_port or self.port

    def _service_ports(self) -> list[dict[str, Any]]:
        ports: list[dict[str, Any]] = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
        if self.preset.grpc_port:
            # h2c: Envoy Gateway speaks HTTP/2 (cleartext) to a backend port with this appProtocol (GRPCRoute backends).
            ports.append({"name": "grpc", "port": GRPC_SERVICE_PORT, "targetPort": "grpc", "protocol": "TCP",
                          "appProtocol": "kubernetes.io/h2c"})
        ports.append({"name": "metrics", "port": self.metrics_port, "targetPort": "metrics", "protocol": "TCP"})
        if self.tls is not None:
            ports += self.tls.service_ports
        return ports

    # --- artifacts ----------------------------------------------------------------------------------------------
    def _artifact_access(self, name: str, cluster: Optional["Cluster"]) -> list[pulumi.Resource]:
        s3 = [m.artifact for m in self.models if m.artifact.aws_s3]
        if not s3:
            return []
        if cluster is None or cluster.eks_cluster is None:
            pulumi.log.warn(
                f"fleet {self.fleet.name}: cluster.mode is {self.cfg.cluster.mode!r}, so no IAM role is created for its "
                f"models' s3:// artifacts; give ServiceAccount {self.namespace}/{self.object_name} read access yourself",
                resource=self,
            )
            return []
        from .iam import pod_identity_role

        identity = pod_identity_role(
            f"{name}-artifacts", cluster, self.namespace, self.object_name,
            policy_json=artifacts.s3_read_policy(s3), parent=self, depends_on=[self.service_account],
        )
        return [identity.association]

    def _repository_volume(self) -> dict[str, Any]:
        # The models plus 20% and 1 GiB of headroom (as a dedicated model's cache volume), whole GiB.
        size_gi = math.ceil(sum(m.artifact.size_gi for m in self.models) * 1.2 + 1)
        if size_gi >= 10:
            return {"name": "repository", "ephemeral": {"volumeClaimTemplate": {
                "metadata": {"labels": dict(self.labels)},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{size_gi}Gi"}}},
            }}}
        return {"name": "repository", "emptyDir": {"sizeLimit": f"{size_gi}Gi"}}

    def _fetch(self, m: ModelConfig) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """The init container fetching one model, the volumes it adds, and the server's mounts for it (a pvc://
        model's volume, read-only; MLServer only, config/fleets.py)."""
        a = m.artifact
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        server_mounts: list[dict[str, Any]] = []
        if a.scheme == "pvc":
            pvc = artifacts.mounted_artifact(a, f"{PVC_ROOT}/{m.name}", SECURITY_CONTEXT, volume=f"pvc-{m.name}")
            volumes += pvc.volumes
            server_mounts += pvc.mounts
        hf_volume = None
        if a.scheme == "hf" and a.hf_token is not None:
            hf_volume = f"hf-{m.name}"
            volumes.append({"name": hf_volume, "secret": {
                "secretName": f"{m.name}-hf-token", "defaultMode": 0o440,
                "items": [{"key": artifacts.HF_TOKEN_KEY, "path": artifacts.HF_TOKEN_KEY}]}})
        store_secret = artifacts.store_secret_name(a, f"{m.name}-store")
        if a.scheme == "gs" and store_secret:
            vol = artifacts.gcs_key_volume(store_secret)
            vol["name"] = f"gcs-{m.name}"
            volumes.append(vol)
            mounts.append({"name": vol["name"], "mountPath": artifacts.GCS_KEY_DIR, "readOnly": True})
        # MLServer: the model's model-settings.json, written beside its files (plain `mlserver`: the artifact has one).
        settings = self.runtime.settings_file if m.runtime != "mlserver" else None
        settings_env = [{"name": "MODEL_SETTINGS", "value": json.dumps(mlserver_settings(m), sort_keys=True)}] if settings else []
        container = artifacts.download_container(
            a, "repository", SECURITY_CONTEXT,
            image=self.cfg.storage_initializer_image or STORAGE_INITIALIZER_IMAGE,
            hf_token_volume=hf_volume,
            aws_region=self.cfg.cluster.eks.region if self.cfg.cluster.mode == "eks" else None,
            store_secret=None,  # the GCS key is mounted above under the model's own volume name
            container_name=f"fetch-{m.name}",
            script=fleet_download_script(settings, download=a.downloaded),
            extra_env=[{"name": "MODEL_NAME", "value": m.name}, *settings_env, *artifacts.credential_env(a, store_secret)],
            extra_mounts=mounts,
        )
        return container, volumes, server_mounts

    # --- pods ---------------------------------------------------------------------------------------------------
    def _image(self) -> str:
        base = self.preset.image_for(self.fleet.gpus)
        assert base is not None
        return image_with_tag(base, self.fleet.runtime_version) if self.fleet.runtime_version else base

    def _args(self, values: dict[str, Any]) -> list[str]:
        out: list[str] = []
        for a in self.runtime.args:
            if a == "{models}":
                assert self.runtime.model_arg is not None
                out += [self.runtime.model_arg.format(model=m.name) for m in self.models]
            else:
                out.append(fmt(a, values))
        return out

    def _deployment_spec(self) -> dict[str, Any]:
        f = self.fleet
        values = {"model_dir": MODEL_DIR, "port": self.port, "metrics_port": self.metrics_port, "gpus": f.gpus}
        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}}, self._repository_volume()]
        init: list[dict[str, Any]] = []
        mounts = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "repository", "mountPath": MODEL_DIR, "readOnly": True}]
        for m in self.models:
            container, own_volumes, server_mounts = self._fetch(m)
            init.append(container)
            volumes += own_volumes
            mounts += server_mounts
        if self.preset.shared_memory or f.gpus:
            volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}})
            mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        env = {**NON_ROOT_ENV, **{k: fmt(v, values) for k, v in self.runtime.env.items()}, **f.env}
        resources: dict[str, dict[str, str]] = {"requests": {"cpu": f.cpu, "memory": f.memory}, "limits": {"memory": f.memory}}
        if f.gpus:
            resources["requests"][cv.GPU_RESOURCE] = resources["limits"][cv.GPU_RESOURCE] = str(f.gpus)
        ports = [{"name": "http", "containerPort": self.port, "protocol": "TCP"},
                 {"name": "metrics", "containerPort": self.metrics_port, "protocol": "TCP"}]
        if self.preset.grpc_port:
            ports.insert(1, {"name": "grpc", "containerPort": self.preset.grpc_port, "protocol": "TCP"})
        size = sum(m.artifact.size_gi for m in self.models)
        budget = int(self.preset.startup_base_seconds + math.ceil(size * self.preset.startup_seconds_per_gib))
        ready, live = self.preset.ready_path or "/", self.preset.live_path or "/"
        server: dict[str, Any] = {
            "name": "server",
            "image": self._image(),
            "imagePullPolicy": "IfNotPresent",
            "ports": ports,
            "env": [{"name": k, "value": v} for k, v in sorted(env.items())] + self.secrets.env,
            "resources": resources,
            "startupProbe": {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5,
                             "failureThreshold": max(3, math.ceil(budget / 10))},
            # Ready when every model on the pod is loaded (MLServer's and Triton's strict /v2/health/ready).
            "readinessProbe": {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 5, "timeoutSeconds": 5,
                               "failureThreshold": 3, "successThreshold": 1},
            "livenessProbe": {"httpGet": {"path": live, "port": "http"}, "periodSeconds": 15, "timeoutSeconds": 10,
                              "failureThreshold": 4},
            "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
            "securityContext": SECURITY_CONTEXT,
            "volumeMounts": mounts,
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
        if self.runtime.name == "mlserver":
            server["command"] = ["mlserver", "start", MODEL_DIR]
        elif self.preset.command:
            server["command"] = list(self.preset.command)
        args = self._args(values)
        if args:
            server["args"] = args
        if self.preset.working_dir:
            server["workingDir"] = self.preset.working_dir
        pod: dict[str, Any] = {
            "serviceAccountName": self.object_name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "priorityClassName": cv.SERVING_PRIORITY_CLASS,
            "terminationGracePeriodSeconds": PRE_STOP_SECONDS + self.preset.drain_seconds,
            "securityContext": {
                "runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER,
                "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"},
            },
            "initContainers": init or None,
            "containers": [server],
            "volumes": volumes,
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": rule, "labelSelector": {"matchLabels": self.selector},
                 "matchLabelKeys": ["pod-template-hash"]}
                for key, rule in (("topology.kubernetes.io/zone", "ScheduleAnyway" if f.gpus else "DoNotSchedule"),
                                  ("kubernetes.io/hostname", "ScheduleAnyway"))
            ],
        }
        if self.tls is not None:
            pod["initContainers"] = [*init, self.tls.sidecar]
            volumes += self.tls.volumes
        if self.secrets.image_pull_secrets:
            pod["imagePullSecrets"] = self.secrets.image_pull_secrets
        if f.gpus:
            pool = self.cfg.node_pools.gpu_pool(f.gpu_pool or self.cfg.node_pools.gpu[0].name)
            assert pool is not None  # enforced by config checks
            pod["nodeSelector"] = cv.pool_node_selector(pool)
            pod["tolerations"] = cv.pool_tolerations(pool)
        pod_labels = {**self.labels, **self.selector}
        return {
            "replicas": f.replicas,
            "selector": {"matchLabels": self.selector},
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": max(600, budget + (600 if f.gpus else 300)),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod},
        }

    # --- network and monitoring ---------------------------------------------------------------------------------
    def _network_policy(self, name: str) -> None:
        def ns(n: str) -> dict[str, Any]:
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}}

        serve = [{"protocol": "TCP", "port": self.port}]
        if self.preset.grpc_port:
            serve.append({"protocol": "TCP", "port": self.preset.grpc_port})
        if self.tls is not None:  # the gateway reaches the pod over TLS only
            serve = [{"protocol": "TCP", "port": p} for p in self.tls.ingress_ports]
        ingress = [{"from": [ns(cv.GATEWAY_NAMESPACE)], "ports": serve},
                   {"from": [ns(cv.MONITORING_NAMESPACE)], "ports": [{"protocol": "TCP", "port": self.metrics_port}]}]
        egress: list[dict[str, Any]] = [{
            "to": [{**ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }]
        egress += artifacts.egress_rules([m.artifact for m in self.models])
        if self.cfg.cluster.mode == "eks" and any(m.artifact.aws_s3 for m in self.models):
            egress.append({"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}, {"ipBlock": {"cidr": "fd00:ec2::23/128"}}],
                           "ports": [{"protocol": "TCP", "port": 80}]})
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=meta(self.object_name, self.namespace, self.labels),
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, {
                "podSelector": {"matchLabels": self.selector}, "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress, "egress": egress,
            }),
            opts=self.child,
        )

    def _monitoring(self, name: str) -> None:
        labels = {**self.labels, **cv.MONITORING_SELECTOR}
        if self.preset.metrics_path:
            custom_resource(
                f"{name}-servicemonitor", "monitoring.coreos.com/v1", "ServiceMonitor",
                meta(self.object_name, self.namespace, labels),
                {
                    "selector": {"matchLabels": {cv.FLEET_LABEL: self.fleet.name}},
                    "namespaceSelector": {"matchNames": [self.namespace]},
                    "endpoints": [{"port": "metrics", "path": self.preset.metrics_path, "interval": "30s", "scheme": "http"}],
                    "podTargetLabels": [cv.FLEET_LABEL],
                },
                self.child,
            )
        selector = f'kube_pod_labels{{namespace="{self.namespace}", {ksm_label(cv.FLEET_LABEL)}="{self.fleet.name}"}}'
        custom_resource(
            f"{name}-rules", "monitoring.coreos.com/v1", "PrometheusRule",
            meta(self.object_name, self.namespace, labels),
            {"groups": [{"name": f"fleet-{self.fleet.name}.alerts", "rules": [{
                "alert": "ModelFleetPodNotReady",
                "expr": f'(kube_pod_status_ready{{condition="false"}} == 1) * on (namespace, pod) group_left () max by (namespace, pod) ({selector})',
                "for": "20m",
                "labels": {"severity": "warning", "fleet": self.fleet.name, "namespace": self.namespace},
                "annotations": {
                    "summary": f"A pod of model fleet {self.fleet.name} has not been ready for 20 minutes",
                    "description": f"Pod {{{{ $labels.pod }}}} of {self.namespace}/{self.object_name} has not loaded all its models "
                                   f"(a fetch-<model> init container or the server's log says which): check `kubectl -n "
                                   f"{self.namespace} logs {{{{ $labels.pod }}}} --all-containers`.",
                },
            }]}]},
            self.child,
        )
