"""A team: its namespace (Pod Security admission `restricted`), ResourceQuota, LimitRange and a default-deny
NetworkPolicy; plus the one PriorityClass every model-serving pod uses.

Models live in their team's namespace: the quota caps what the team's models may use in total (GPUs included), the
LimitRange gives defaults to containers that state nothing (model pods always state their resources), and the
default-deny policy means a pod talks to nothing unless a model's own NetworkPolicy allows it.
"""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..config import TeamConfig
from .k8s import meta

#: Value of the serving PriorityClass: above the default 0 (batch, notebooks) so serving pods preempt them when a
#: node is full, far below system-cluster-critical (2000000000).
SERVING_PRIORITY = 100000


def serving_priority_class(name: str, provider: k8s.Provider, opts: pulumi.ResourceOptions) -> k8s.scheduling.v1.PriorityClass:
    """The cluster-wide PriorityClass `conventions.SERVING_PRIORITY_CLASS` of model pods."""
    return k8s.scheduling.v1.PriorityClass(
        name,
        metadata=meta(cv.SERVING_PRIORITY_CLASS, labels=cv.common_labels("model-serving", "scheduling")),
        value=SERVING_PRIORITY,
        global_default=False,
        preemption_policy="PreemptLowerPriority",
        description="Online model serving: preempts batch and development pods when capacity is short.",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=provider)),
    )


class Team(pulumi.ComponentResource):
    """`serving:team:Team`."""

    def __init__(self, name: str, team: TeamConfig, provider: k8s.Provider, opts: Optional[pulumi.ResourceOptions] = None,
                 *, kubernetes_version: str = "1.34", mig_resources: Sequence[str] = ()):
        super().__init__("serving:team:Team", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace_name = cv.team_namespace(team.name)
        labels = {cv.TEAM_LABEL: team.name, cv.APP_PART_OF: cv.PART_OF, cv.MANAGED_BY: "pulumi"}
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=meta(self.namespace_name, labels={**labels, **cv.pod_security_labels("restricted", kubernetes_version)}),
            opts=child,
        )
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.namespace]))
        q = team.quota
        self.quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("team-quota", self.namespace_name, labels),
            spec={
                "hard": {
                    "requests.cpu": q.cpu,
                    "requests.memory": q.memory,
                    "limits.memory": q.memory,
                    # Extended resources are quota'd by request only (requests == limits for GPUs).
                    f"requests.{cv.GPU_RESOURCE}": str(q.gpus),
                    # MIG devices (`nvidia.com/mig-<profile>`, MIG mixed pools) are other resources: each is bounded
                    # by the same count, and the config check counts every device against `quota.gpus`.
                    **{f"requests.{r}": str(q.gpus) for r in sorted(mig_resources)},
                    "pods": str(q.pods),
                    "requests.storage": q.storage,
                }
            },
            opts=in_ns,
        )
        lim = team.limits
        self.limit_range = k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta("team-limits", self.namespace_name, labels),
            # The SDK's TypedDicts (snake_case keys, translated to the API's camelCase by the SDK).
            spec=k8s.core.v1.LimitRangeSpecArgsDict(
                limits=[
                    {
                        "type": "Container",
                        "default_request": {"cpu": lim.default_cpu_request, "memory": lim.default_memory_request},
                        # No default CPU limit on purpose: CPU limits throttle latency-sensitive servers.
                        "default": {"memory": lim.default_memory_limit},
                        # No GPU max: Kubernetes defaults a container's limit to `max` when `default` lacks it,
                        # which would hand every container GPUs; the namespace quota caps GPUs instead.
                        "max": {"memory": lim.max_memory},
                    }
                ]
            ),
            opts=in_ns,
        )
        # Nothing in the namespace talks to or from anything unless a model's own NetworkPolicy allows it.
        self.default_deny = k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=meta("default-deny", self.namespace_name, labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgsDict(pod_selector={}, policy_types=["Ingress", "Egress"]),
            opts=in_ns,
        )
        self.register_outputs({"namespace": self.namespace_name})
