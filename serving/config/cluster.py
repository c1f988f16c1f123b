"""Cluster and node-pool config: EKS (pulumi-aws) or an existing cluster reached through a kubeconfig.

Problems inside one pool or block (an instance type without a GPU, an unknown AMI type, min > max, desired outside
[min, max]) are pydantic errors; problems that involve other sections (subnets vs AZs, MIG on a GPU without MIG,
a Kubernetes version without pinned add-ons or autoscaler release) are reported by `checks()` at the exact key. Both end up as `Pulumi.<stack>.yaml: serving:platform.<path>:
<message>` lines from the config loader.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated, Literal, Optional

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..catalog import eks as eks_catalog
from ..catalog.instances import GPU_INSTANCE_TYPES, MIG_BALANCED, GpuInstanceType, gpu_families
from .base import Issue, Name, StrictModel, UniqueList, duplicate_names

if TYPE_CHECKING:
    from .platform import PlatformConfig

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

#: Kubernetes label key: optional DNS-subdomain prefix + "/" + name (63 chars, alphanumerics, '-', '_', '.').
_LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_LABEL_NAME}$")
LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")
#: Go-style durations as cluster-autoscaler flags take them.
AutoscalerDuration = Annotated[str, Field(pattern=r"^[0-9]+(s|m|h)$")]


def _label_key(key: str) -> str:
    if len(key) > 316 or not LABEL_KEY.match(key):
        raise ValueError(f"{key!r} is not a valid Kubernetes label/taint key ([prefix/]name, name <= 63 characters)")
    prefix = key.rsplit("/", 1)[0] if "/" in key else ""
    if prefix and (prefix.endswith("kubernetes.io") or prefix.endswith("k8s.io")):
        raise ValueError(f"{key!r}: the kubernetes.io and k8s.io prefixes are reserved for Kubernetes")
    return key


def _label_value(value: str) -> str:
    if not LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label value (<= 63 alphanumerics, '-', '_', '.')")
    return value


LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]


def _network(value: str) -> ipaddress.IPv4Network:
    net = ipaddress.ip_network(value, strict=True)
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"{value!r}: only IPv4 CIDRs are supported")
    return net


def _cidr(value: str) -> str:
    _network(value)
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class EksConfig(StrictModel):
    """An EKS cluster created by this program."""

    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
    #: The control-plane version, pinned: upgrading is a deliberate config change, shown in the plan. Node groups and
    #: the pinned add-on versions (serving/catalog/eks.py) follow it.
    kubernetes_version: str = Field("1.34", pattern=r"^1\.[0-9]{2}$")
    vpc_cidr: Cidr = "10.0.0.0/16"
    availability_zones: int = Field(2, ge=2, le=6, description="How many AZs get a private and a public subnet.")
    nat_gateways: Literal["single", "perAz"] = Field("single", description="One NAT for the VPC (dev) or one per AZ (prod).")
    #: Explicit subnet CIDRs, one per AZ, inside vpcCidr. Empty: carved from vpcCidr (private /19s, public /22s
    #: for a /16).
    private_subnet_cidrs: Annotated[list[Cidr], UniqueList] = Field(default_factory=list)
    public_subnet_cidrs: Annotated[list[Cidr], UniqueList] = Field(default_factory=list)
    #: CIDRs allowed to reach the public API endpoint. Empty: the public endpoint is off (private only).
    public_access_cidrs: Annotated[list[Cidr], UniqueList] = Field(default_factory=list)
    #: IAM principal ARNs (roles or users) granted cluster-admin through EKS access entries.
    admin_principals: Annotated[list[str], UniqueList] = Field(default_factory=list)
    #: Retention of the control-plane logs in CloudWatch (one of the values CloudWatch accepts).
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                                2557, 2922, 3288, 3653] = 90
    #: Per-add-on version overrides (name -> `vX.Y.Z-eksbuild.N`) over the table in serving/catalog/eks.py.
    addon_versions: dict[str, str] = Field(default_factory=dict)

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, v: str) -> str:
        if not 16 <= _network(v).prefixlen <= 20:
            raise ValueError(f"{v!r}: the VPC must be between a /16 and a /20 (pods take VPC addresses)")
        return v

    @field_validator("public_access_cidrs")
    @classmethod
    def _not_open(cls, v: list[str]) -> list[str]:
        for c in v:
            if _network(c).prefixlen == 0:
                raise ValueError(f"{c!r} opens the API endpoint to the whole internet; list the CIDRs that need it")
        return v

    @field_validator("admin_principals")
    @classmethod
    def _principals(cls, v: list[str]) -> list[str]:
        for arn in v:
            if not re.match(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/\S+$", arn):
                raise ValueError(f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
        return v

    @field_validator("addon_versions")
    @classmethod
    def _addon_versions(cls, v: dict[str, str]) -> dict[str, str]:
        known = [a.name for a in eks_catalog.ADDONS]
        for name, version in v.items():
            if name not in known:
                raise ValueError(f"unknown add-on {name!r} (the platform installs: {', '.join(known)})")
            if not re.match(r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$", version):
                raise ValueError(f"{name}: {version!r} is not an EKS add-on version (vX.Y.Z-eksbuild.N)")
        return v


class ExistingClusterConfig(StrictModel):
    """A cluster made elsewhere (kind, minikube, another team's EKS): no AWS resource is created."""

    #: Path to a kubeconfig file; unset: the default (~/.kube/config or $KUBECONFIG).
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    #: The Mountpoint for Amazon S3 CSI driver (v2, `s3.csi.aws.com`) is installed there: LLM replicas then mount their
    #: weights instead of downloading them (`config/llm.py`). On EKS the platform installs it as an add-on.
    s3_mountpoint_driver: bool = False


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
    key: LabelKey = Field(min_length=1, max_length=253)
    value: LabelValue = Field("", max_length=63)
    effect: TaintEffect = "NoSchedule"


class NodePoolConfig(StrictModel):
    """A group of nodes of one kind. Sizes are the autoscaler's bounds; `desiredSize` is the initial size."""

    name: Name
    instance_types: Annotated[list[str], UniqueList] = Field(min_length=1)
    capacity_type: Literal["on-demand", "spot"] = "on-demand"
    min_size: int = Field(1, ge=0)
    max_size: int = Field(3, ge=1, le=1000)
    desired_size: Optional[int] = Field(None, ge=0, description="Initial size; defaults to minSize.")
    disk_size_gib: int = Field(50, ge=20, le=16384)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    #: EKS node auto repair (managed node groups, `nodeRepairConfig`): EKS replaces a node that stays NotReady
    #: (30 min) and, with the EKS node monitoring agent, reboots or replaces one whose GPU fails
    #: (AcceleratedHardwareReady, 10 min); it stops on its own when over 20% of a group of more than 5 nodes is
    #: unhealthy (https://docs.aws.amazon.com/eks/latest/userguide/node-repair.html). On by default: a broken node
    #: otherwise keeps its capacity (a GPU) counted while serving nothing. EKS only.
    auto_repair: bool = True

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
    """The CPU pool running the platform's own services (CoreDNS, gateway, Prometheus, the autoscaler)."""

    name: Name = "system"
    instance_types: Annotated[list[str], UniqueList] = Field(default_factory=lambda: ["m7i.large"], min_length=1)
    min_size: int = Field(2, ge=1)
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64"] = (
        "AL2023_x86_64_STANDARD"
    )


def _gpu_instance_type(name: str) -> str:
    if name not in GPU_INSTANCE_TYPES:
        family = name.split(".", 1)[0]
        if family in gpu_families():
            raise ValueError(f"{name!r} is not a known size of the {family} GPU family (see serving/catalog/instances.py)")
        raise ValueError(
            f"{name!r} has no NVIDIA GPU (or is not in serving/catalog/instances.py); GPU families: {', '.join(gpu_families())}"
        )
    return name


GpuInstanceTypeName = Annotated[str, AfterValidator(_gpu_instance_type)]


class TimeSlicingConfig(StrictModel):
    """NVIDIA time-slicing: each GPU is advertised `replicas` times; pods share it without memory isolation."""

    replicas: int = Field(ge=2, le=48)


class GpuPoolConfig(NodePoolConfig):
    """A GPU pool: tainted `nvidia.com/gpu` NoSchedule so only pods that tolerate it (GPU pods) land there."""

    instance_types: Annotated[list[GpuInstanceTypeName], UniqueList] = Field(min_length=1)
    min_size: int = Field(0, ge=0)
    disk_size_gib: int = Field(200, ge=50, le=16384)
    ami_type: Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"] = "AL2023_x86_64_NVIDIA"
    time_slicing: Optional[TimeSlicingConfig] = None
    #: How MIG partitions are advertised by the device plugin (GPUs that support MIG only: A100, H100, H200, B200):
    #: `single`, every GPU cut into one profile and advertised as `nvidia.com/gpu`; `mixed`, each profile advertised
    #: as `nvidia.com/mig-<profile>` (GPU operator "GPU Operator with MIG"; k8s-device-plugin MIG strategies).
    mig_strategy: Literal["none", "single", "mixed"] = "none"
    #: How the GPU operator's MIG manager cuts the pool's GPUs (the node label `nvidia.com/mig.config`):
    #: `all-<profile>` (e.g. `all-1g.10gb`: every GPU into that profile) or `all-balanced` (a mix, `mixed` only);
    #: the profiles of each GPU are in serving/catalog/instances.py. Unset: the MIG manager's default, all-disabled.
    mig_config: Optional[str] = Field(None, max_length=63)

    @field_validator("instance_types")
    @classmethod
    def _one_shape(cls, v: list[str]) -> list[str]:
        shapes = {GPU_INSTANCE_TYPES[t].shape for t in v}
        if len(shapes) > 1:
            desc = ", ".join(f"{t} ({s[0]} vCPU, {s[1] // 1024} GiB, {s[2]} GPU)" for t in v for s in [GPU_INSTANCE_TYPES[t].shape])
            raise ValueError(
                f"instance types of one pool must have the same vCPUs, memory and GPUs (the autoscaler sizes a node "
                f"from the first type): {desc}; put other sizes in another pool"
            )
        return v

    # --- what other components ask about a GPU pool ---------------------------------------------------------
    @property
    def instance(self) -> GpuInstanceType:
        """The pool's instance type (all its types share vCPUs, memory and GPUs)."""
        return GPU_INSTANCE_TYPES[self.instance_types[0]]

    @property
    def gpus_per_node(self) -> int:
        """Physical NVIDIA GPUs on each node of the pool."""
        return self.instance.gpus

    @property
    def mig_layout(self) -> Optional[dict[str, int]]:
        """MIG devices per GPU (profile -> count) when the pool's GPUs are cut by its `migConfig`; None: whole GPUs."""
        if self.mig_strategy == "none" or self.mig_config is None:
            return None
        return self.instance.family.mig_layout(self.mig_config)

    @property
    def allocatable_gpus_per_node(self) -> int:
        """`nvidia.com/gpu` each node advertises: physical GPUs times the time-slicing replicas; with MIG `single`,
        the MIG devices of every GPU; with MIG `mixed`, none (every GPU is cut, each profile is its own resource)."""
        layout = self.mig_layout
        if layout is not None:
            return self.gpus_per_node * sum(layout.values()) if self.mig_strategy == "single" else 0
        return self.gpus_per_node * (self.time_slicing.replicas if self.time_slicing else 1)

    @property
    def mig_devices_per_node(self) -> dict[str, int]:
        """MIG profile -> devices each node advertises as `nvidia.com/mig-<profile>` (MIG `mixed` only)."""
        layout = self.mig_layout
        if layout is None or self.mig_strategy != "mixed":
            return {}
        return {profile: count * self.gpus_per_node for profile, count in layout.items()}

    @property
    def max_gpus_per_pod(self) -> int:
        """The most `nvidia.com/gpu` one pod can get on a node: all physical GPUs, or one slice on a time-sliced pool
        (the device plugin is configured with failRequestsGreaterThanOne: a pod asking for 2 slices is rejected), or
        one MIG device (CUDA enumerates a single MIG device per process: MIG user guide, "CUDA Device Enumeration")."""
        return 1 if self.time_slicing or self.mig_layout is not None else self.gpus_per_node

    def device_memory_gib(self, mig_profile: Optional[str] = None) -> int:
        """GPU memory of one device a pod gets on this pool: a MIG device's, or a whole GPU's."""
        layout = self.mig_layout
        if mig_profile is None and layout is not None and self.mig_strategy == "single":
            mig_profile = next(iter(layout))
        return self.instance.family.mig_memory_gib(mig_profile) if mig_profile else self.gpu_memory_gib

    @property
    def gpu_memory_gib(self) -> int:
        """Memory of one GPU (the smallest among the pool's types)."""
        return min(GPU_INSTANCE_TYPES[t].gpu_memory_gib for t in self.instance_types)


class GpuSoftwareConfig(StrictModel):
    """What makes GPUs schedulable and observable."""

    #: `devicePlugin`: the NVIDIA device plugin chart on GPU nodes (EKS NVIDIA AMIs already ship the driver and the
    #: container toolkit). `gpuOperator`: the NVIDIA GPU operator (device plugin, GPU feature discovery, MIG manager),
    #: with its driver and toolkit installers off for the same reason.
    mode: Literal["devicePlugin", "gpuOperator"] = "devicePlugin"
    dcgm_exporter: bool = True
    scrape_interval: str = Field("15s", pattern=r"^[0-9]+(s|m)$")


class AutoscalerConfig(StrictModel):
    """cluster-autoscaler, scaling the EKS managed node groups (from zero for GPU pools with minSize 0)."""

    #: Unset: on for `eks`, off for `existing` (an existing cluster scales itself).
    enabled: Optional[bool] = None
    expander: Literal["least-waste", "random", "most-pods", "price"] = "least-waste"
    #: How long a node must be unneeded before it is removed (GPU nodes are expensive: keep it short in dev).
    scale_down_unneeded_time: AutoscalerDuration = "10m"
    scale_down_delay_after_add: AutoscalerDuration = "10m"
    #: Give up on a node that has not joined after this long (GPU AMIs boot slower than CPU ones).
    max_node_provision_time: AutoscalerDuration = "15m"


class NodePoolsConfig(StrictModel):
    system: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    gpu: list[GpuPoolConfig] = Field(default_factory=list)
    gpu_software: GpuSoftwareConfig = Field(default_factory=GpuSoftwareConfig)
    autoscaler: AutoscalerConfig = Field(default_factory=AutoscalerConfig)

    def gpu_pool(self, name: str) -> Optional[GpuPoolConfig]:
        return next((p for p in self.gpu if p.name == name), None)

    @property
    def all(self) -> list[NodePoolConfig]:
        return [self.system, *self.gpu]


def autoscaler_enabled(cfg: "PlatformConfig") -> bool:
    explicit = cfg.node_pools.autoscaler.enabled
    return (cfg.cluster.mode == "eks") if explicit is None else explicit


def subnet_cidrs(eks: EksConfig) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs, one per AZ: the configured ones, or carved from the VPC: the VPC is split in
    8, the first `availabilityZones` eighths are private subnets (pods take their addresses), the last eighth is
    split in 8 again for the public subnets (NAT gateways and load balancers only)."""
    vpc = _network(eks.vpc_cidr)
    eighths = list(vpc.subnets(prefixlen_diff=3))
    private = eks.private_subnet_cidrs or [str(n) for n in eighths[: eks.availability_zones]]
    public = eks.public_subnet_cidrs or [str(n) for n in list(eighths[7].subnets(prefixlen_diff=3))[: eks.availability_zones]]
    return private, public


def _label_issues(pool: NodePoolConfig, loc: tuple[str | int, ...]) -> list[Issue]:
    from .. import conventions  # conventions imports this module

    issues = []
    for key in pool.labels:
        if key in conventions.RESERVED_LABELS:
            issues.append(Issue((*loc, "labels", key), f"{key!r} is set by the platform on every pool; remove it"))
    # cluster-autoscaler reads labels and taints of a pool at zero nodes from ASG tags
    # `k8s.io/cluster-autoscaler/node-template/{label,taint}/<key>`; an ASG tag key is at most 128 characters.
    for key in pool.labels:
        if len(f"k8s.io/cluster-autoscaler/node-template/label/{key}") > 128:
            issues.append(Issue((*loc, "labels", key), "label key too long for the autoscaler's node-template tag (<= 82 characters)"))
    for i, taint in enumerate(pool.taints):
        if len(f"k8s.io/cluster-autoscaler/node-template/taint/{taint.key}") > 128:
            issues.append(Issue((*loc, "taints", i, "key"), "taint key too long for the autoscaler's node-template tag (<= 82 characters)"))
        if taint.key == conventions.GPU_TAINT.key:
            issues.append(Issue((*loc, "taints", i, "key"), f"the {taint.key!r} taint is added by the platform; remove it"))
    return issues


def _eks_issues(cfg: "PlatformConfig") -> list[Issue]:
    eks = cfg.cluster.eks
    loc = ("cluster", "eks")
    issues: list[Issue] = []
    if not eks.admin_principals:
        # Authentication mode API without the creator's implicit admin: nobody, not even `pulumi up` itself, could
        # use the cluster's Kubernetes API.
        issues.append(Issue((*loc, "adminPrincipals"),
                            "list at least one IAM role or user ARN (the identity running `pulumi up` among them): "
                            "the cluster grants Kubernetes API access only through these access entries"))
    vpc = _network(eks.vpc_cidr)
    for key, given in (("privateSubnetCidrs", eks.private_subnet_cidrs), ("publicSubnetCidrs", eks.public_subnet_cidrs)):
        if given and len(given) != eks.availability_zones:
            issues.append(Issue((*loc, key), f"{len(given)} subnets for availabilityZones {eks.availability_zones}: "
                                             f"give exactly one subnet per availability zone"))
        for i, c in enumerate(given):
            if not _network(c).subnet_of(vpc):
                issues.append(Issue((*loc, key, i), f"{c} is not inside vpcCidr {eks.vpc_cidr}"))
    private, public = subnet_cidrs(eks)
    nets = [(_network(c), c) for c in [*private, *public]]
    for i, (a, ca) in enumerate(nets):
        for b, cb in nets[i + 1:]:
            if a.overlaps(b):
                issues.append(Issue((*loc, "privateSubnetCidrs"), f"subnets {ca} and {cb} overlap"))
    try:
        eks_catalog.addon_versions(eks.kubernetes_version, eks.addon_versions)
    except KeyError as exc:
        issues.append(Issue((*loc, "kubernetesVersion"),
                            f"no pinned add-on versions for Kubernetes {eks.kubernetes_version} ({exc.args[0]}): add a "
                            f"row to serving/catalog/eks.py ADDON_VERSIONS or set cluster.eks.addonVersions"))
    if autoscaler_enabled(cfg) and eks.kubernetes_version not in eks_catalog.CLUSTER_AUTOSCALER_TAGS:
        issues.append(Issue((*loc, "kubernetesVersion"),
                            f"no cluster-autoscaler release pinned for Kubernetes {eks.kubernetes_version} "
                            f"(serving/catalog/eks.py CLUSTER_AUTOSCALER_TAGS has {', '.join(eks_catalog.CLUSTER_AUTOSCALER_TAGS)})"))
    if cfg.environment == "prod":
        if eks.availability_zones < 3:
            issues.append(Issue((*loc, "availabilityZones"), "prod runs in at least 3 availability zones"))
        if eks.nat_gateways != "perAz":
            issues.append(Issue((*loc, "natGateways"), "prod needs a NAT gateway per AZ (perAz): one NAT is a single point of failure"))
    return issues


def _gpu_pool_issues(cfg: "PlatformConfig", pool: GpuPoolConfig, loc: tuple[str | int, ...]) -> list[Issue]:
    issues: list[Issue] = []
    bottlerocket = eks_catalog.is_bottlerocket(pool.ami_type)
    if pool.mig_strategy != "none":
        no_mig = [t for t in pool.instance_types if not GPU_INSTANCE_TYPES[t].family.mig]
        if no_mig:
            issues.append(Issue((*loc, "migStrategy"),
                                f"{', '.join(no_mig)} ({GPU_INSTANCE_TYPES[no_mig[0]].gpu_model}) does not support MIG"))
        if pool.time_slicing is not None:
            issues.append(Issue((*loc, "timeSlicing"), "choose MIG or time-slicing for a pool, not both"))
        if bottlerocket:
            issues.append(Issue((*loc, "migStrategy"),
                                "MIG on Bottlerocket is configured through Bottlerocket's own device plugin settings; "
                                "use amiType AL2023_x86_64_NVIDIA for MIG pools"))
    issues += _mig_config_issues(cfg, pool, loc)
    if bottlerocket and cfg.node_pools.gpu_software.mode == "gpuOperator":
        issues.append(Issue((*loc, "amiType"),
                            "Bottlerocket runs its own NVIDIA device plugin; the GPU operator needs AL2023_x86_64_NVIDIA pools"))
    return issues


def _mig_config_issues(cfg: "PlatformConfig", pool: GpuPoolConfig, loc: tuple[str | int, ...]) -> list[Issue]:
    """`migConfig` names a layout of the pool's GPU that its strategy can advertise, applied by the GPU operator."""
    if pool.mig_config is None:
        return []
    family = pool.instance.family
    if pool.mig_strategy == "none":
        return [Issue((*loc, "migConfig"), "migConfig needs migStrategy single or mixed (how the MIG devices are advertised)")]
    if not family.mig:
        return []  # reported on migStrategy
    issues = []
    layout = family.mig_layout(pool.mig_config)
    if layout is None:
        issues.append(Issue((*loc, "migConfig"),
                            f"not a MIG config of the {family.gpu_model} {family.gpu_memory_gib} GB: use one of "
                            f"{', '.join(family.mig_configs())}"))
    elif pool.mig_strategy == "single" and len(layout) > 1:
        issues.append(Issue((*loc, "migConfig"),
                            f"the single strategy advertises one kind of MIG device: cut every GPU into one profile "
                            f"({', '.join(c for c in family.mig_configs() if c != MIG_BALANCED)}), or use migStrategy mixed"))
    if cfg.node_pools.gpu_software.mode != "gpuOperator":
        issues.append(Issue((*loc, "migConfig"),
                            "the MIG layout is applied by the GPU operator's MIG manager (node label "
                            "nvidia.com/mig.config): set nodePools.gpuSoftware.mode to gpuOperator"))
    return issues


def checks(cfg: "PlatformConfig") -> list[Issue]:
    pools = cfg.node_pools
    issues = duplicate_names(pools.gpu, ("nodePools", "gpu"))
    for i, pool in enumerate(pools.gpu):
        if pool.name == pools.system.name:
            issues.append(Issue(("nodePools", "gpu", i, "name"), f"{pool.name!r} is the system pool's name"))
    issues += _label_issues(pools.system, ("nodePools", "system"))
    for i, pool in enumerate(pools.gpu):
        loc: tuple[str | int, ...] = ("nodePools", "gpu", i)
        issues += _label_issues(pool, loc)
        issues += _gpu_pool_issues(cfg, pool, loc)
    if pools.gpu_software.mode == "gpuOperator" and len({p.mig_strategy for p in pools.gpu}) > 1:
        issues.append(Issue(("nodePools", "gpuSoftware", "mode"),
                            "the GPU operator applies one MIG strategy to the cluster; give every GPU pool the same migStrategy"))

    if cfg.cluster.mode == "existing":
        if "eks" in cfg.cluster.model_fields_set:
            issues.append(Issue(("cluster", "eks"), "the eks block only applies to mode 'eks'; remove it"))
        if pools.autoscaler.enabled:
            issues.append(Issue(("nodePools", "autoscaler", "enabled"),
                                "cluster-autoscaler scales EKS node groups; an existing cluster brings its own autoscaling"))
    else:
        if cfg.cluster.existing is not None:
            issues.append(Issue(("cluster", "existing"), "the existing block only applies to mode 'existing'; remove it"))
        issues += _eks_issues(cfg)
    return issues
