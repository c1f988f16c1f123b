"""One served model: everything it needs to serve traffic safely, from its config entry alone.

`ModelServing` (`serving:model:ModelServing`) is the composition of parts, each in a module of its own:
- `access`: ServiceAccount, IAM role for `s3://` artifacts (EKS Pod Identity), Hugging Face token Secrets,
  NetworkPolicy;
- `workload`: per track (`primary`, `canary`, `shadow`) a Deployment, Service and PodDisruptionBudget, with the
  artifact download and runtime config files;
- `traffic`: the HTTPRoute on the shared Gateway (direct, or through the interceptor), its policies, the stop answer;
  for an LLM `inference_traffic`: the route to the model's InferencePool with its endpoint picker, plus the model's
  OpenAI route under `/v1`;
- `wake`: for a model that can be at zero, its HTTPScaledObject and the ReferenceGrant to the KEDA HTTP interceptor;
- `scaling`: per track, the HPA or KEDA ScaledObject;
- `monitoring`: ServiceMonitor and PrometheusRule.

Every part takes the `ModelContext` (`context.py`: the model config, platform config, namespace, names and labels,
and resource options whose parent is this component) and the outputs of the parts it builds on. Parts create plain
resources with `parent=` this component, so moving code between parts never changes a URN. A new capability is a
new part (or a part swapped for another, e.g. an inference-pool route for `traffic`, a shared server for
`workload`), composed here.

No resource of one model depends on another model's config: names, labels and selectors all derive from the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import pulumi
import pulumi_kubernetes as k8s

from ...config import ModelConfig, PlatformConfig
from ...config.fleets import FleetConfig
from ..gateway import Gateway
from .access import Access
from .context import ModelContext, Track
from .inference_traffic import InferenceTraffic
from .monitoring import Monitoring
from .scaling import scaling
from .shared import SharedWorkload
from .traffic import Traffic
from .wake import Wake
from .workload import Workload, WorkloadOutputs

if TYPE_CHECKING:
    from ..cluster import Cluster

__all__ = ["ModelServing", "ModelContext", "Track", "WorkloadOutputs"]


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
        fleet: Optional[FleetConfig] = None,
    ):
        """`fleet`: the shared server fleet the model is placed on (`models[].shared`, `serving/placement.py`)."""
        super().__init__("serving:model:ModelServing", name, None, opts)
        self.model = model
        self.namespace = namespace
        # A component's depends_on does not reach its children: pass it on (CRDs, namespace, priority class first).
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=opts.depends_on if opts else None)
        self.ctx = ModelContext(name=name, model=model, cfg=cfg, namespace=namespace, opts=child, component=self)

        self.workload: WorkloadOutputs
        self.wake: Optional[Wake] = None
        if fleet is not None:
            # On a shared fleet: the fleet's pods serve it (`shared.py`); the model keeps its route, policies, alerts.
            self.access = Access(self.ctx, cluster, identity=False)
            self.workload = SharedWorkload(self.ctx, fleet)
            self.traffic = Traffic(self.ctx, gateway, self.workload)
            self.autoscalers: dict[str, pulumi.Resource] = {}
            self.network_policy = None
            self.monitoring = Monitoring(self.ctx, scrape=False)
        else:
            self.access = Access(self.ctx, cluster)
            self.workload = Workload(self.ctx, self.access)
            hostname = model.exposure.host or cfg.gateway.hostname
            self.wake = Wake(self.ctx, self.workload, hostname, gateway) if model.wakes_on_request else None
            # An LLM's traffic part routes through its InferencePool and endpoint picker, and adds the OpenAI route.
            self.traffic = (
                InferenceTraffic(self.ctx, gateway, self.workload) if model.preset.llm
                else Traffic(self.ctx, gateway, self.workload, self.wake)
            )
            #: Track name -> its autoscaler.
            self.autoscalers = scaling(self.ctx, self.workload, self.wake)
            tls = self.workload.tls or {}
            self.network_policy = self.access.network_policy(
                sorted({p for t in tls.values() for p in t.ingress_ports}) or None,
                serving_from=[self.wake.ingress_namespace] if self.wake else [])
            self.monitoring = Monitoring(self.ctx)

        self.url = self.traffic.url
        self.register_outputs({"url": self.url, "namespace": namespace})
