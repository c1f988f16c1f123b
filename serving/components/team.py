"""A team: its namespace with Pod Security admission `restricted`, a ResourceQuota and a LimitRange."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from .. import conventions as cv
from ..config import TeamConfig
from .k8s import meta


class Team(pulumi.ComponentResource):
    """`serving:team:Team`."""

    def __init__(self, name: str, team: TeamConfig, provider: k8s.Provider, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serving:team:Team", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace_name = cv.team_namespace(team.name)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=meta(
                self.namespace_name,
                labels={
                    cv.TEAM_LABEL: team.name,
                    # Pod Security admission (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=child,
        )
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.namespace]))
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("team-quota", self.namespace_name),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": team.quota.cpu,
                    "requests.memory": team.quota.memory,
                    "limits.memory": team.quota.memory,
                    f"requests.{cv.GPU_RESOURCE}": str(team.quota.gpus),
                }
            ),
            opts=in_ns,
        )
        self.register_outputs({"namespace": self.namespace_name})
