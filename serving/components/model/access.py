"""Access part: who the model's pods are and what they may reach.

- a ServiceAccount (token not mounted) named after the model;
- for `s3://` artifacts on EKS, an IAM role reading only its prefixes (EKS Pod Identity, `components/iam.py`);
- one Secret per track whose Hugging Face artifact needs a token;
- a NetworkPolicy: ingress only from the gateway (and Prometheus on the metrics port, and an LLM's endpoint pickers),
  egress only DNS, HTTPS and the pod identity agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, cast

import pulumi
import pulumi_kubernetes as k8s

from ... import conventions as cv
from .. import artifacts
from ..inference_pool import model_ingress_from_pickers
from ..k8s import meta
from .context import ModelContext, Track

if TYPE_CHECKING:
    from ..cluster import Cluster


class Access:
    """Identity, secrets and network policy of one model. `prerequisites` must exist before its pods start."""

    def __init__(self, ctx: ModelContext, cluster: Optional["Cluster"] = None, *, identity: bool = True):
        """`identity` False (a model on a shared fleet): only the artifact's Secrets; the fleet's ServiceAccount, IAM
        role and NetworkPolicy serve its pods."""
        self.ctx = ctx
        m = ctx.model
        self.artifact_role: Optional[Any] = None
        self.prerequisites: list[pulumi.Resource] = []
        if identity:
            self.service_account = k8s.core.v1.ServiceAccount(
                f"{ctx.name}-sa",
                metadata=meta(m.name, ctx.namespace, ctx.labels),
                automount_service_account_token=False,
                opts=ctx.opts,
            )
            self.prerequisites += [self.service_account, *self._artifact_access(cluster)]
        #: Track name -> Secret holding its Hugging Face token (key `artifacts.HF_TOKEN_KEY`).
        self.hf_secrets = self._hf_token_secrets()
        self.prerequisites += list(self.hf_secrets.values())
        #: Track name -> Secret holding its artifact store's credentials from stack secrets (S3-compatible, GCS).
        self.store_secrets = self._store_secrets()
        self.prerequisites += list(self.store_secrets.values())

    def hf_secret_name(self, track: Track) -> str:
        return f"{self.ctx.model.name}{track.suffix}-hf-token"

    def store_secret_name(self, track: Track) -> str:
        """The Secret the platform writes for a track's store credentials given as stack secrets."""
        return f"{self.ctx.model.name}{track.suffix}-store"

    def _store_secrets(self) -> dict[str, k8s.core.v1.Secret]:
        ctx = self.ctx
        out: dict[str, k8s.core.v1.Secret] = {}
        for track in ctx.tracks:
            data = artifacts.store_secret_data(ctx.artifact(track))
            if data is None:
                continue
            out[track.name] = k8s.core.v1.Secret(
                f"{ctx.name}{track.suffix}-store",
                metadata=meta(self.store_secret_name(track), ctx.namespace, ctx.labels),
                type="Opaque",
                string_data={k: pulumi.Output.secret(v) for k, v in sorted(data.items())},
                opts=ctx.opts,
            )
        return out

    def _artifact_access(self, cluster: Optional["Cluster"]) -> list[pulumi.Resource]:
        ctx = self.ctx
        s3 = [ctx.artifact(t) for t in ctx.tracks if ctx.artifact(t).aws_s3]
        if not s3:
            return []
        if cluster is None or cluster.eks_cluster is None:
            pulumi.log.warn(
                f"model {ctx.model.name}: cluster.mode is {ctx.cfg.cluster.mode!r}, so no IAM role is created for its "
                f"s3:// artifact; the download uses the pod's default AWS credentials (give ServiceAccount "
                f"{ctx.namespace}/{ctx.model.name} read access to the prefix yourself, e.g. a pod identity association)",
                resource=ctx.component,
            )
            return []
        from ..iam import pod_identity_role

        identity = pod_identity_role(
            f"{ctx.name}-artifacts",
            cluster,
            ctx.namespace,
            ctx.model.name,
            policy_json=artifacts.s3_read_policy(s3),
            parent=ctx.component,
            depends_on=[self.service_account],
        )
        self.artifact_role = identity.role
        return [identity.association]

    def _hf_token_secrets(self) -> dict[str, k8s.core.v1.Secret]:
        ctx = self.ctx
        out: dict[str, k8s.core.v1.Secret] = {}
        for track in ctx.tracks:
            artifact = ctx.artifact(track)
            token = artifact.hf_token or (ctx.model.artifact.hf_token if artifact.scheme == "hf" else None)
            if artifact.scheme != "hf" or token is None:
                continue
            out[track.name] = k8s.core.v1.Secret(
                f"{ctx.name}{track.suffix}-hf-token",
                metadata=meta(self.hf_secret_name(track), ctx.namespace, ctx.labels),
                type="Opaque",
                string_data={artifacts.HF_TOKEN_KEY: pulumi.Output.secret(token.get_secret_value())},
                opts=ctx.opts,
            )
        return out

    def network_policy(self, tls_ports: Optional[list[int]] = None,
                       serving_from: Sequence[str] = ()) -> k8s.networking.v1.NetworkPolicy:
        """`tls_ports`: with TLS to the pod, the only ports the gateway may reach. `serving_from`: namespaces other
        than the gateway's that send requests to the model (the KEDA HTTP interceptor's for a model that wakes on
        request)."""
        ctx = self.ctx
        m = ctx.model

        def from_namespace(ns: str) -> dict[str, Any]:
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}

        serve = [m.port, *([ctx.preset.grpc_port] if m.exposure.grpc and ctx.preset.grpc_port else [])]
        peers = [from_namespace(ns) for ns in (cv.GATEWAY_NAMESPACE, *serving_from)]
        ingress = [{"from": peers, "ports": [{"protocol": "TCP", "port": p} for p in (tls_ports or serve)]}]
        if ctx.metrics_path is not None:
            ingress.append({"from": [from_namespace(cv.MONITORING_NAMESPACE)], "ports": [{"protocol": "TCP", "port": m.metrics_port}]})
        # An LLM's endpoint pickers read each replica's metrics (inference_pool.py).
        ingress += model_ingress_from_pickers(m)
        egress: list[dict[str, Any]] = [
            {
                "to": [{**from_namespace("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            },
            # Artifact downloads, to exactly the stores the model's tracks use (`artifacts.egress_rules`).
            *artifacts.egress_rules([ctx.artifact(t) for t in ctx.tracks]),
        ]
        if ctx.cfg.cluster.mode == "eks":
            # The EKS Pod Identity agent on the node (link-local; https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
            egress.append({
                "to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}, {"ipBlock": {"cidr": "fd00:ec2::23/128"}}],
                "ports": [{"protocol": "TCP", "port": 80}],
            })
        return k8s.networking.v1.NetworkPolicy(
            f"{ctx.name}-netpol",
            metadata=meta(m.name, ctx.namespace, ctx.labels),
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, {
                "podSelector": {"matchLabels": {cv.MODEL_LABEL: m.name}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress,
                "egress": egress,
            }),
            opts=ctx.opts,
        )
