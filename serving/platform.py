"""The platform: one component composing a child component per concern."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_random as random

from .components.autoscaler import ClusterAutoscaler
from .components.autoscaling import Autoscaling
from .components.backend_tls import NamespaceCA
from .components.cluster import Cluster
from .components.fleet import ModelFleet
from .components.gateway import Gateway
from .components.gpu import GpuSoftware
from .components.logging import Logging
from .components.model import ModelServing
from .components.monitoring import Monitoring
from .components.team import Team, serving_priority_class
from .components.wake import WakeOnRequest
from .components.wake import needed as wake_needed
from .config import PlatformConfig
from .conventions import mig_resources
from .config.cluster import autoscaler_enabled
from .placement import place


class Platform(pulumi.ComponentResource):
    """`serving:platform:Platform`: cluster, node pools, gateway, monitoring, teams and one stack per model."""

    def __init__(self, name: str, cfg: PlatformConfig, opts: Optional[pulumi.ResourceOptions] = None):
        # The stack's policy waivers are the component's inputs: the policy pack reads them there (and a waiver
        # shows in the plan diff like any other change).
        super().__init__("serving:platform:Platform", name, {"policyWaivers": dict(cfg.policy_waivers)}, opts)
        me = pulumi.ResourceOptions(parent=self)
        # The cluster with its node pools; its Kubernetes provider is usable once the system pool is up.
        self.cluster = Cluster(f"{name}-cluster", cfg, opts=me)
        self.node_pools = self.cluster.node_pools
        k8s_provider = self.cluster.k8s_provider
        random_provider = random.Provider(f"{name}-random", opts=me)
        # Monitoring first: kube-prometheus-stack brings the CRDs (ServiceMonitor, PodMonitor, PrometheusRule) the
        # other charts' and components' monitors need.
        self.monitoring = Monitoring(
            f"{name}-monitoring", cfg, k8s_provider, random_provider,
            # Prometheus' volume needs the StorageClass (EKS: gp3, made by the cluster after its CSI driver).
            depends_on=[self.node_pools, *filter(None, [getattr(self.cluster, "storage_class", None)])], opts=me,
        )
        platform_deps = [self.node_pools, self.monitoring.release]
        self.gateway = Gateway(f"{name}-gateway", cfg, self.cluster, depends_on=platform_deps, opts=me)
        # The AWS Load Balancer Controller's webhook (failurePolicy Fail) mutates every Service created once it is
        # registered: whatever creates Services after the gateway waits until the controller is up (`serving check`,
        # ordering). What comes before it (kube-prometheus-stack) creates its Services before the webhook exists.
        lbc = self.gateway.load_balancer_controller
        after_lbc: list[pulumi.Resource] = [lbc.release] if lbc is not None else []
        # cluster-autoscaler after kube-prometheus-stack: its chart renders a ServiceMonitor (CRD from that chart).
        self.autoscaler = (
            ClusterAutoscaler(f"{name}-autoscaler", cfg, self.cluster,
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[self.monitoring.release, *after_lbc]))
            if autoscaler_enabled(cfg) else None
        )
        self.logging = Logging(f"{name}-logging", cfg, self.cluster, depends_on=[*platform_deps, *after_lbc], opts=me)
        # KEDA: its CRDs (ScaledObject) must exist before any model's autoscaler.
        self.autoscaling = Autoscaling(f"{name}-autoscaling", k8s_provider, depends_on=[*platform_deps, *after_lbc], opts=me)
        # KEDA HTTP add-on (HTTPScaledObject CRD, interceptor) when a model can be at zero; after KEDA (its
        # interceptor is scaled by a ScaledObject) and the gateway (the interceptor sits behind it).
        self.wake = (
            WakeOnRequest(f"{name}-wake", cfg, k8s_provider,
                          depends_on=[*platform_deps, *after_lbc, self.autoscaling.release], opts=me)
            if wake_needed(cfg) else None
        )
        self.gpu = (
            GpuSoftware(f"{name}-gpu", cfg, k8s_provider, monitoring=[self.monitoring, *after_lbc], opts=me)
            if cfg.node_pools.gpu else None
        )
        self.teams = {
            t.name: Team(f"{name}-team-{t.name}", t, k8s_provider, opts=me, kubernetes_version=cfg.cluster.eks.kubernetes_version,
                         mig_resources=mig_resources(cfg.node_pools.gpu))
            for t in cfg.teams
        }
        self.serving_priority = serving_priority_class(f"{name}-serving-priority", k8s_provider, me)
        # TLS to the pods: a CA per team namespace, from the platform's cert-manager (components/backend_tls.py).
        self.namespace_cas = {
            t.name: NamespaceCA(f"{name}-ca-{t.name}", self.teams[t.name].namespace_name, k8s_provider,
                                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.teams[t.name], self.gateway]))
            for t in cfg.teams
        } if cfg.gateway.backend_tls else {}
        # Where each shared model runs (serving/placement.py): computed from the config alone, before any model.
        placement = place(cfg).fleet_of
        fleets = {f.name: f for f in cfg.fleets}
        self.placement = placement
        self.models = {
            m.name: ModelServing(
                f"{name}-model-{m.name}",
                m,
                cfg,
                self.teams[m.team].namespace_name,
                self.gateway,
                k8s_provider,
                cluster=self.cluster,
                # What a model needs first, and nothing more (a component would mean every child of it): its namespace,
                # its priority class, and the releases bringing the CRDs it uses (ServiceMonitor and PrometheusRule from
                # kube-prometheus-stack, ScaledObject from KEDA, HTTPScaledObject from the KEDA HTTP add-on for a model
                # that wakes on request), its namespace's CA when pods serve TLS, and the load balancer controller's
                # webhook release where there is one.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self.teams[m.team].namespace, self.serving_priority, self.monitoring.release,
                                self.autoscaling.release,
                                *([self.namespace_cas[m.team]] if m.team in self.namespace_cas else []),
                                *after_lbc,
                                *([self.wake.release] if self.wake is not None and m.wakes_on_request else [])],
                ),
                fleet=fleets.get(placement.get(m.name, "")),
            )
            for m in cfg.models
        }
        # Shared servers after the models placed on them (their Secrets: store credentials, tokens).
        self.fleets = {
            f.name: ModelFleet(
                f"{name}-fleet-{f.name}", f, [m for m in cfg.models if self.placement.get(m.name) == f.name], cfg,
                self.teams[f.team].namespace_name, k8s_provider, cluster=self.cluster,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[
                    self.teams[f.team], self.node_pools, self.serving_priority, self.monitoring,
                    *([self.namespace_cas[f.team]] if f.team in self.namespace_cas else []),
                    *(self.models[n] for n, fleet in self.placement.items() if fleet == f.name),
                ]),
            )
            for f in cfg.fleets
        }
        self.register_outputs(
            {
                "modelPlacement": dict(self.placement),
                "clusterName": self.cluster.cluster_name,
                "gatewayAddress": self.gateway.address,
                "grafanaUrl": self.monitoring.grafana_url,
                "modelUrls": {n: m.url for n, m in self.models.items()},
            }
        )
