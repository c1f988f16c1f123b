"""Cluster and node-pool config: EKS (pulumi-aws) or an existing cluster reached through a kubeconfig."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Literal, Optional

from pydantic import Field, field_validator, model_validator

from .base import Issue, Name, StrictModel, duplicate_names

if TYPE_CHECKING:
    from .platform import PlatformConfig

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


def _cidr(value: str) -> str:
    ipaddress.ip_network(value, strict=True)
    return value


class EksConfig(StrictModel):
    """An EKS cluster created by this program."""

    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
    #: The control-plane version, pinned: upgrading is a deliberate config change, shown in the plan.
    kubernetes_version: str = Field("1.34", pattern=r"^1\.[0-9]{2}$")
    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: int = Field(2, ge=2, le=6, description="How many AZs get a private and a public subnet.")
    nat_gateways: Literal["single", "perAz"] = Field("single", description="One NAT for the VPC (dev) or one per AZ (prod).")
    #: CIDRs allowed to reach the public API endpoint. Empty: the public endpoint is off (private only).
    public_access_cidrs: list[str] = Field(default_factory=list)
    #: IAM principal ARNs (roles or users) granted cluster-admin through EKS access entries.
    admin_principals: list[str] = Field(default_factory=list)

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, v: str) -> str:
        return _cidr(v)

    @field_validator("public_access_cidrs")
    @classmethod
    def _public_cidrs(cls, v: list[str]) -> list[str]:
        for c in v:
            _cidr(c)
        return v

    @field_validator("admin_principals")
    @classmethod
    def _principals(cls, v: list[str]) -> list[str]:
        for arn in v:
            if not arn.startswith("arn:aws") or ":iam::" not in arn:
                raise ValueError(f"{arn!r} is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)")
        return v


class ExistingClusterConfig(StrictModel):
    """A cluster made elsewhere (kind, minikube, another team's EKS): no AWS resource is created."""

    #: Path to a kubeconfig file; unset: the default (~/.kube/config or $KUBECONFIG).
    kubeconfig: Optional[str] = None
    context: Optional[str] = None


class ClusterConfig(StrictModel):
    mode: Literal["eks", "existing"] = "eks"
    name: Name
    eks: EksConfig = Field(default_factory=EksConfig)
    existing: Optional[ExistingClusterConfig] = None

    @model_validator(mode="after")
    def _mode_block(self) -> "ClusterConfig":
        if self.mode == "existing" and self.existing is None:
            raise ValueError("mode 'existing' needs an 'existing' block (kubeconfig and/or context)")
        return self


class Taint(StrictModel):
    key: str = Field(min_length=1, max_length=253)
    value: str = Field("", max_length=63)
    effect: TaintEffect = "NoSchedule"


class NodePoolConfig(StrictModel):
    """A group of nodes of one kind. Sizes are the autoscaler's bounds; `desiredSize` is the initial size."""

    name: Name
    instance_types: list[str] = Field(min_length=1)
    capacity_type: Literal["on-demand", "spot"] = "on-demand"
    min_size: int = Field(1, ge=0)
    max_size: int = Field(3, ge=1)
    desired_size: Optional[int] = Field(None, ge=0, description="Initial size; defaults to minSize.")
    disk_size_gib: int = Field(50, ge=20, le=16384)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sizes(self) -> "NodePoolConfig":
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) must be <= maxSize ({self.max_size})")
        if self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"desiredSize ({self.desired_size}) must be within [minSize, maxSize] = [{self.min_size}, {self.max_size}]"
            )
        return self

    @property
    def initial_size(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size


class SystemPoolConfig(NodePoolConfig):
    name: Name = "system"
    instance_types: list[str] = Field(default_factory=lambda: ["m7i.large"], min_length=1)
    min_size: int = Field(2, ge=1)
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64"] = (
        "AL2023_x86_64_STANDARD"
    )


class GpuPoolConfig(NodePoolConfig):
    """A GPU pool: tainted `nvidia.com/gpu` NoSchedule so only pods that ask for GPUs land there."""

    min_size: int = Field(0, ge=0)
    disk_size_gib: int = Field(200, ge=50, le=16384)
    ami_type: Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"] = "AL2023_x86_64_NVIDIA"


class NodePoolsConfig(StrictModel):
    system: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    gpu: list[GpuPoolConfig] = Field(default_factory=list)

    def gpu_pool(self, name: str) -> Optional[GpuPoolConfig]:
        return next((p for p in self.gpu if p.name == name), None)


def checks(cfg: "PlatformConfig") -> list[Issue]:
    issues = duplicate_names(cfg.node_pools.gpu, ("nodePools", "gpu"))
    for i, pool in enumerate(cfg.node_pools.gpu):
        if pool.name == cfg.node_pools.system.name:
            issues.append(Issue(("nodePools", "gpu", i, "name"), f"{pool.name!r} is the system pool's name"))
    return issues
