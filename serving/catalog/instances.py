"""EC2 GPU instance types a GPU pool may use: vCPUs, memory, NVIDIA GPUs per instance, GPU model and memory.

Sources:
- vCPU, memory (MiB) and GPU count per type: kubernetes/autoscaler
  `cluster-autoscaler/cloudprovider/aws/ec2_instance_types.go` (generated from the EC2 API, StaticListLastUpdateTime
  2026-01-22) — the same numbers cluster-autoscaler uses when it sizes a node group that has no node yet.
- GPU model and memory per GPU: AWS "Accelerated computing instances" specifications
  (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html) and the instance family pages
  (https://aws.amazon.com/ec2/instance-types/g5/, .../g6/, .../g6e/, .../p4/, .../p5/, .../p6/).
- MIG support: NVIDIA MIG user guide, supported GPUs (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/):
  A100, H100, H200, B200 (not T4, A10G, L4, L40S, V100).
- MIG profiles of each GPU and how many fit on one GPU: the GPU operator's default MIG manager config (NVIDIA/
  gpu-operator `assets/state-mig-manager/0400_configmap.yaml`, configs `all-<profile>` and `all-balanced`; the
  MIG manager of operator v26.x generates the same names from the hardware, NVIDIA/mig-parted#295) and the MIG user
  guide's "Supported MIG Profiles". Only profiles with one compute instance over the whole GPU instance and without
  media extensions (`+me`) are listed: those are what the device plugin advertises as `nvidia.com/mig-<profile>`.

Only x86_64 NVIDIA types are listed: the GPU AMI types the platform supports are AL2023_x86_64_NVIDIA and
BOTTLEROCKET_x86_64_NVIDIA. Fractional-GPU types (g6f) and Graviton GPU types (g5g) are left out on purpose.
To add a type, add a row with the numbers from the sources above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

#: MIG config (mig-parted) cutting every GPU into a mix of profiles (`mixed` strategy only).
MIG_BALANCED = "all-balanced"


@dataclass(frozen=True)
class GpuFamily:
    gpu_model: str
    #: Memory of one GPU, GiB.
    gpu_memory_gib: int
    #: Value of the `k8s.amazonaws.com/accelerator` node label (cluster-autoscaler's GPU label on AWS).
    accelerator: str
    #: MIG profile (`1g.10gb`: compute slices and memory of one MIG device) -> how many fit on one GPU (the
    #: `all-<profile>` config). Empty: the GPU has no MIG.
    mig_profiles: Mapping[str, int] = field(default_factory=dict)
    #: Devices per GPU of the `all-balanced` config.
    mig_balanced: Mapping[str, int] = field(default_factory=dict)

    @property
    def mig(self) -> bool:
        return bool(self.mig_profiles)

    def mig_configs(self) -> list[str]:
        """The MIG manager configs (`nvidia.com/mig.config` values) that cut this GPU into MIG devices."""
        return [f"all-{p}" for p in self.mig_profiles] + ([MIG_BALANCED] if self.mig_balanced else [])

    def mig_layout(self, config: str) -> Optional[dict[str, int]]:
        """MIG devices per GPU (profile -> count) under a MIG manager config; None: not a config of this GPU."""
        if config == MIG_BALANCED and self.mig_balanced:
            return dict(self.mig_balanced)
        profile = config.removeprefix("all-")
        if config.startswith("all-") and profile in self.mig_profiles:
            return {profile: self.mig_profiles[profile]}
        return None

    @staticmethod
    def mig_memory_gib(profile: str) -> int:
        """GPU memory of one MIG device: the profile name's `<n>gb` (the MIG user guide's device names)."""
        return int(profile.rsplit(".", 1)[1].removesuffix("gb"))


@dataclass(frozen=True)
class GpuInstanceType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int
    family: GpuFamily

    @property
    def gpu_model(self) -> str:
        return self.family.gpu_model

    @property
    def gpu_memory_gib(self) -> int:
        return self.family.gpu_memory_gib

    @property
    def shape(self) -> tuple[int, int, int]:
        """(vCPUs, memory MiB, GPUs): instance types of one node group must share it (cluster-autoscaler sizes a
        group from its first instance type)."""
        return (self.vcpus, self.memory_mib, self.gpus)


T4 = GpuFamily("NVIDIA T4", 16, "nvidia-tesla-t4")
A10G = GpuFamily("NVIDIA A10G", 24, "nvidia-a10g")
L4 = GpuFamily("NVIDIA L4", 24, "nvidia-l4")
L40S = GpuFamily("NVIDIA L40S", 48, "nvidia-l40s")
V100 = GpuFamily("NVIDIA V100", 16, "nvidia-tesla-v100")
V100_32 = GpuFamily("NVIDIA V100", 32, "nvidia-tesla-v100")
# MIG profiles -> devices per GPU (`all-<profile>`), and the `all-balanced` mix (see the module docstring).
_MIG_40 = {"1g.5gb": 7, "1g.10gb": 4, "2g.10gb": 3, "3g.20gb": 2, "4g.20gb": 1, "7g.40gb": 1}
_MIG_80 = {"1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1}
_MIG_141 = {"1g.18gb": 7, "1g.35gb": 4, "2g.35gb": 3, "3g.71gb": 2, "4g.71gb": 1, "7g.141gb": 1}
_MIG_180 = {"1g.23gb": 7, "1g.45gb": 4, "2g.45gb": 3, "3g.90gb": 2, "4g.90gb": 1, "7g.180gb": 1}
A100_40 = GpuFamily("NVIDIA A100", 40, "nvidia-tesla-a100", _MIG_40, {"1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1})
A100_80 = GpuFamily("NVIDIA A100", 80, "nvidia-a100-80gb", _MIG_80, {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1})
H100 = GpuFamily("NVIDIA H100", 80, "nvidia-h100", _MIG_80, {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1})
H200 = GpuFamily("NVIDIA H200", 141, "nvidia-h200", _MIG_141, {"1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1})
B200 = GpuFamily("NVIDIA B200", 179, "nvidia-b200", _MIG_180, {"1g.23gb": 2, "2g.45gb": 1, "3g.90gb": 1})

_ROWS: tuple[tuple[str, int, int, int, GpuFamily], ...] = (
    # name, vCPUs, memory MiB, GPUs, family
    ("g4dn.xlarge", 4, 16384, 1, T4),
    ("g4dn.2xlarge", 8, 32768, 1, T4),
    ("g4dn.4xlarge", 16, 65536, 1, T4),
    ("g4dn.8xlarge", 32, 131072, 1, T4),
    ("g4dn.12xlarge", 48, 196608, 4, T4),
    ("g4dn.16xlarge", 64, 262144, 1, T4),
    ("g4dn.metal", 96, 393216, 8, T4),
    ("g5.xlarge", 4, 16384, 1, A10G),
    ("g5.2xlarge", 8, 32768, 1, A10G),
    ("g5.4xlarge", 16, 65536, 1, A10G),
    ("g5.8xlarge", 32, 131072, 1, A10G),
    ("g5.12xlarge", 48, 196608, 4, A10G),
    ("g5.16xlarge", 64, 262144, 1, A10G),
    ("g5.24xlarge", 96, 393216, 4, A10G),
    ("g5.48xlarge", 192, 786432, 8, A10G),
    ("g6.xlarge", 4, 16384, 1, L4),
    ("g6.2xlarge", 8, 32768, 1, L4),
    ("g6.4xlarge", 16, 65536, 1, L4),
    ("g6.8xlarge", 32, 131072, 1, L4),
    ("g6.12xlarge", 48, 196608, 4, L4),
    ("g6.16xlarge", 64, 262144, 1, L4),
    ("g6.24xlarge", 96, 393216, 4, L4),
    ("g6.48xlarge", 192, 786432, 8, L4),
    ("gr6.4xlarge", 16, 131072, 1, L4),
    ("gr6.8xlarge", 32, 262144, 1, L4),
    ("g6e.xlarge", 4, 32768, 1, L40S),
    ("g6e.2xlarge", 8, 65536, 1, L40S),
    ("g6e.4xlarge", 16, 131072, 1, L40S),
    ("g6e.8xlarge", 32, 262144, 1, L40S),
    ("g6e.12xlarge", 48, 393216, 4, L40S),
    ("g6e.16xlarge", 64, 524288, 1, L40S),
    ("g6e.24xlarge", 96, 786432, 4, L40S),
    ("g6e.48xlarge", 192, 1572864, 8, L40S),
    ("p3.2xlarge", 8, 62464, 1, V100),
    ("p3.8xlarge", 32, 249856, 4, V100),
    ("p3.16xlarge", 64, 499712, 8, V100),
    ("p3dn.24xlarge", 96, 786432, 8, V100_32),
    ("p4d.24xlarge", 96, 1179648, 8, A100_40),
    ("p4de.24xlarge", 96, 1179648, 8, A100_80),
    ("p5.4xlarge", 16, 262144, 1, H100),
    ("p5.48xlarge", 192, 2097152, 8, H100),
    ("p5en.48xlarge", 192, 2097152, 8, H200),
    ("p6-b200.48xlarge", 192, 2097152, 8, B200),
)

GPU_INSTANCE_TYPES: dict[str, GpuInstanceType] = {
    name: GpuInstanceType(name, vcpus, memory, gpus, family) for name, vcpus, memory, gpus, family in _ROWS
}


def gpu_instance_type(name: str) -> Optional[GpuInstanceType]:
    return GPU_INSTANCE_TYPES.get(name)


def gpu_families() -> list[str]:
    """`g5`, `p4d`, ...: the families with at least one row, for error messages."""
    return sorted({name.split(".", 1)[0] for name in GPU_INSTANCE_TYPES})
