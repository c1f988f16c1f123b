"""GPU telemetry: the DCGM exporter metrics the platform enables, in one place other components import.

Dashboards and alerts (serving/components/monitoring.py) use these names; the DCGM exporter is configured from
`DCGM_METRICS` (its counters CSV is rendered by `dcgm_counters_csv()`), so a metric a dashboard uses is a metric the
exporter exports.

Source of field names, types and help texts: NVIDIA/dcgm-exporter `etc/default-counters.csv` and the commented list
in the chart's values.yaml (chart 4.8.2); the DCGM field reference
(https://docs.nvidia.com/datacenter/dcgm/latest/dcgm-api/dcgm-api-field-ids.html). The Prometheus metric name is the
DCGM field name itself.

Labels on every series (dcgm-exporter, Kubernetes mode): `gpu` (index), `UUID`, `device`, `modelName`, `Hostname`,
`pci_bus_id`, `DCGM_FI_DRIVER_VERSION`; the pod that holds the GPU as `exported_pod`, `exported_namespace`,
`exported_container` (the exporter reports them as pod/namespace/container; the ServiceMonitor keeps Prometheus'
own target labels, so they are renamed with the `exported_` prefix); and `node` (added by the ServiceMonitor from
the scraped pod's node).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class DcgmMetric:
    name: str
    type: Literal["gauge", "counter", "label"]
    help: str


# Utilisation
GPU_UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"  # gauge, % of time a kernel ran
MEMORY_COPY_UTILIZATION = "DCGM_FI_DEV_MEM_COPY_UTIL"  # gauge, % of time memory was read/written
GR_ENGINE_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"  # gauge, ratio 0-1 (profiling; finer than GPU_UTIL)
SM_ACTIVE = "DCGM_FI_PROF_SM_ACTIVE"  # gauge, ratio 0-1
TENSOR_ACTIVE = "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"  # gauge, ratio 0-1
DRAM_ACTIVE = "DCGM_FI_PROF_DRAM_ACTIVE"  # gauge, ratio 0-1
# Memory (framebuffer), MiB
FB_USED = "DCGM_FI_DEV_FB_USED"
FB_FREE = "DCGM_FI_DEV_FB_FREE"
FB_RESERVED = "DCGM_FI_DEV_FB_RESERVED"
# Power and temperature
POWER_USAGE = "DCGM_FI_DEV_POWER_USAGE"  # gauge, W
TOTAL_ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"  # counter, mJ
GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP"  # gauge, C
MEMORY_TEMP = "DCGM_FI_DEV_MEMORY_TEMP"  # gauge, C
POWER_VIOLATION = "DCGM_FI_DEV_POWER_VIOLATION"  # counter, ns throttled for power
THERMAL_VIOLATION = "DCGM_FI_DEV_THERMAL_VIOLATION"  # counter, ns throttled for temperature
SM_CLOCK = "DCGM_FI_DEV_SM_CLOCK"  # gauge, MHz
MEM_CLOCK = "DCGM_FI_DEV_MEM_CLOCK"  # gauge, MHz
# Errors and health
XID_ERRORS = "DCGM_FI_DEV_XID_ERRORS"  # gauge, value of the last XID error (0: none)
ECC_DBE_VOLATILE = "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"  # counter, double-bit (uncorrectable) ECC errors
ECC_SBE_VOLATILE = "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL"  # counter, single-bit (corrected) ECC errors
UNCORRECTABLE_REMAPPED_ROWS = "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"  # counter (A100 and newer)
ROW_REMAP_FAILURE = "DCGM_FI_DEV_ROW_REMAP_FAILURE"  # gauge, 1 when remapping failed: the GPU needs replacing
PCIE_REPLAY = "DCGM_FI_DEV_PCIE_REPLAY_COUNTER"  # counter
DRIVER_VERSION = "DCGM_FI_DRIVER_VERSION"  # label-only field (adds the driver version label)

DCGM_METRICS: tuple[DcgmMetric, ...] = (
    DcgmMetric(GPU_UTILIZATION, "gauge", "GPU utilization (in %)."),
    DcgmMetric(MEMORY_COPY_UTILIZATION, "gauge", "Memory utilization (in %)."),
    DcgmMetric(GR_ENGINE_ACTIVE, "gauge", "Ratio of time the graphics engine is active."),
    DcgmMetric(SM_ACTIVE, "gauge", "The ratio of cycles an SM has at least 1 warp assigned."),
    DcgmMetric(TENSOR_ACTIVE, "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    DcgmMetric(DRAM_ACTIVE, "gauge", "Ratio of cycles the device memory interface is active sending or receiving data."),
    DcgmMetric(FB_USED, "gauge", "Framebuffer memory used (in MiB)."),
    DcgmMetric(FB_FREE, "gauge", "Framebuffer memory free (in MiB)."),
    DcgmMetric(FB_RESERVED, "gauge", "Framebuffer memory reserved (in MiB)."),
    DcgmMetric(POWER_USAGE, "gauge", "Power draw (in W)."),
    DcgmMetric(TOTAL_ENERGY, "counter", "Total energy consumption since boot (in mJ)."),
    DcgmMetric(GPU_TEMP, "gauge", "GPU temperature (in C)."),
    DcgmMetric(MEMORY_TEMP, "gauge", "Memory temperature (in C)."),
    DcgmMetric(POWER_VIOLATION, "counter", "Throttling duration due to power constraints (in ns)."),
    DcgmMetric(THERMAL_VIOLATION, "counter", "Throttling duration due to thermal constraints (in ns)."),
    DcgmMetric(SM_CLOCK, "gauge", "SM clock frequency (in MHz)."),
    DcgmMetric(MEM_CLOCK, "gauge", "Memory clock frequency (in MHz)."),
    DcgmMetric(XID_ERRORS, "gauge", "Value of the last XID error encountered."),
    DcgmMetric(ECC_DBE_VOLATILE, "counter", "Total number of double-bit volatile ECC errors."),
    DcgmMetric(ECC_SBE_VOLATILE, "counter", "Total number of single-bit volatile ECC errors."),
    DcgmMetric(UNCORRECTABLE_REMAPPED_ROWS, "counter", "Number of remapped rows for uncorrectable errors"),
    DcgmMetric(ROW_REMAP_FAILURE, "gauge", "Whether remapping of rows has failed"),
    DcgmMetric(PCIE_REPLAY, "counter", "Total number of PCIe retries."),
    DcgmMetric(DRIVER_VERSION, "label", "Driver Version"),
)

#: Metric names a Prometheus query can use (label-only fields produce no series).
DCGM_METRIC_NAMES: frozenset[str] = frozenset(m.name for m in DCGM_METRICS if m.type != "label")

#: Labels of DCGM series, for PromQL written elsewhere.
LABEL_GPU = "gpu"
LABEL_UUID = "UUID"
LABEL_MODEL_NAME = "modelName"
LABEL_HOSTNAME = "Hostname"
LABEL_NODE = "node"
LABEL_POD = "exported_pod"
LABEL_NAMESPACE = "exported_namespace"
LABEL_CONTAINER = "exported_container"

#: Where the exporter listens (chart `service.port`, container arg `DCGM_EXPORTER_LISTEN` ":9400").
DCGM_EXPORTER_PORT = 9400
DCGM_EXPORTER_PORT_NAME = "metrics"  # the chart's Service port name (templates/service.yaml)


def dcgm_counters_csv() -> str:
    """The exporter's collectors file (`-f`): `field, type, help` per line (format of default-counters.csv)."""
    lines = ["# DCGM FIELD, Prometheus metric type, help message (generated by serving/catalog/gpu.py)"]
    lines += [f"{m.name}, {m.type}, {m.help}" for m in DCGM_METRICS]
    return "\n".join(lines) + "\n"
