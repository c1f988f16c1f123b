"""Placement and capacity: every pod of the plan (the program's and every chart's, DaemonSets included) can run on a
pool, the pools hold what they must at their `maxSize`, and platform pods outrank models.

- placement: a pod may run on a pool when its nodeSelector and required node affinity match the pool's node labels
  (`conventions.pool_labels` plus the labels every node carries: os, arch, instance type) and it tolerates every
  NoSchedule/NoExecute taint of the pool (`conventions.pool_taints`);
- capacity (EKS: node sizes known): per pool, DaemonSet pods that land there take their requests off every node
  (the EKS managed add-ons' pods included: `addons.py`);
  the other pods at their peak (Deployments at their autoscaler's maximum plus the rollout surge, StatefulSets at
  their replicas) are packed first-fit-decreasing onto `maxSize` nodes of the pool's allocatable CPU, memory,
  `nvidia.com/gpu` and pod count;
- GPU sharing as the device plugin enforces it: on a time-sliced pool a pod asking for more than one
  `nvidia.com/gpu` is rejected (`failRequestsGreaterThanOne`), elsewhere at most the GPUs of one node; a MIG device
  (`nvidia.com/mig-<profile>`, MIG mixed pools) is counted as its own resource and must be one its pool advertises;
- priority: model pods run at the `model-serving` PriorityClass, every other pod (controllers, proxies, exporters)
  above it, so a scaling model never preempts the gateway or Prometheus.

Pods an operator makes count like the others: the StatefulSets of Prometheus and Alertmanager (`operators.py`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from .. import conventions as cv
from ..catalog.instances import GPU_INSTANCE_TYPES
from ..config import GpuPoolConfig, NodePoolConfig
from .findings import Finding
from .objects import KubeObject, containers, pod_spec
from .operators import operated_objects
from .runner import CheckContext

#: DaemonSets that run on no pool on purpose, by the node label they select, with the reason.
DORMANT_DAEMONSETS: dict[str, str] = {
    # nvidia-device-plugin 0.20.0 always renders its MPS control daemon; the plugin labels a node
    # `nvidia.com/mps.capable=true` only when its config shares GPUs with MPS, which no pool of the platform does
    # (whole GPUs, time-slicing or MIG): the DaemonSet stays at zero pods.
    "nvidia.com/mps.capable": "runs only on nodes whose device-plugin config enables MPS sharing (none here)",
}
#: Built-in PriorityClasses (kube-apiserver creates them; not in the plan).
BUILTIN_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
_CPU_FAMILY_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8, "t": 4}
#: vCPUs per EC2 size name (EC2 instance type naming: large = 2 vCPUs, xlarge = 4, Nxlarge = 4N).
_SIZES = {"medium": 2, "large": 2, "xlarge": 4}


# -- quantities --------------------------------------------------------------------------------------------------

_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3}


def quantity(value: Any) -> float:
    """A Kubernetes quantity as a number (cores for CPU, bytes for memory)."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value).strip())
    if not match:
        return 0.0
    number, suffix = match.groups()
    return float(number) * _SUFFIX.get(suffix, 1.0)


def _add(a: Mapping[str, float], b: Mapping[str, float], sign: int = 1) -> dict[str, float]:
    return {k: a.get(k, 0.0) + sign * b.get(k, 0.0) for k in {*a, *b}}


@dataclass
class Demand:
    cpu: float = 0.0
    memory: float = 0.0
    gpu: float = 0.0
    pods: int = 1
    #: MIG devices (`nvidia.com/mig-<profile>` -> count, MIG mixed pools).
    mig: Mapping[str, float] = field(default_factory=dict)

    def plus(self, other: "Demand") -> "Demand":
        return Demand(self.cpu + other.cpu, self.memory + other.memory, self.gpu + other.gpu, self.pods + other.pods,
                      _add(self.mig, other.mig))

    def fits(self, free: "Demand") -> bool:
        return (self.cpu <= free.cpu + 1e-9 and self.memory <= free.memory + 1 and self.gpu <= free.gpu
                and self.pods <= free.pods and all(n <= free.mig.get(r, 0.0) for r, n in self.mig.items() if n))

    def minus(self, other: "Demand") -> "Demand":
        return Demand(self.cpu - other.cpu, self.memory - other.memory, self.gpu - other.gpu, self.pods - other.pods,
                      _add(self.mig, other.mig, -1))

    def text(self) -> str:
        gpu = f", {self.gpu:g} GPU" if self.gpu else ""
        mig = "".join(f", {n:g} {r}" for r, n in sorted(self.mig.items()) if n)
        return f"{self.cpu:.2f} CPU, {self.memory / 2**30:.1f} GiB{gpu}{mig}"


def pod_demand(spec: Mapping[str, Any]) -> Demand:
    """A pod's requests as the scheduler counts them: the sum of its containers, or its largest init container if
    that is more (requests default to limits when only limits are set)."""

    def of(c: Mapping[str, Any]) -> Demand:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        get = lambda k: quantity(req.get(k, lim.get(k)))  # noqa: E731
        mig = {k: get(k) for k in {*req, *lim} if str(k).startswith(cv.MIG_RESOURCE_PREFIX)}
        return Demand(get("cpu"), get("memory"), quantity(lim.get(cv.GPU_RESOURCE, req.get(cv.GPU_RESOURCE))), 0, mig)

    main = Demand(pods=1)
    for c in spec.get("containers") or []:
        main = main.plus(of(c))
    for c in spec.get("initContainers") or []:
        if c.get("restartPolicy") == "Always":  # a sidecar runs alongside
            main = main.plus(of(c))
    init = [of(c) for c in spec.get("initContainers") or [] if c.get("restartPolicy") != "Always"]
    mig = {r: max([main.mig.get(r, 0.0), *(i.mig.get(r, 0.0) for i in init)]) for r in {*main.mig, *(k for i in init for k in i.mig)}}
    return Demand(max([main.cpu, *(i.cpu for i in init)]), max([main.memory, *(i.memory for i in init)]),
                  max([main.gpu, *(i.gpu for i in init)]), 1, mig)


# -- pools -------------------------------------------------------------------------------------------------------


@dataclass
class Pool:
    config: NodePoolConfig
    labels: dict[str, str]
    taints: list[dict[str, str]]
    #: Allocatable per node (None when the node size is unknown: capacity not checked).
    allocatable: Optional[Demand]
    daemon_overhead: Demand = field(default_factory=lambda: Demand(pods=0))
    daemonsets: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name


def instance_shape(instance_type: str) -> Optional[tuple[int, int, int]]:
    """(vCPUs, memory MiB, GPUs) of an EC2 type: GPU types from the catalog, general-purpose (m), compute (c),
    memory (r) and burstable (t) families from their naming (vCPUs by size; 4, 2, 8, 4 GiB per vCPU)."""
    if instance_type in GPU_INSTANCE_TYPES:
        return GPU_INSTANCE_TYPES[instance_type].shape
    family, _, size = instance_type.partition(".")
    per_vcpu = _CPU_FAMILY_GIB_PER_VCPU.get(family[:1])
    if per_vcpu is None or not re.fullmatch(r"[mcrt][0-9][a-z]*", family):
        return None
    vcpus = _SIZES.get(size) or (4 * int(size[:-6]) if re.fullmatch(r"[0-9]+xlarge", size) else None)
    if vcpus is None:
        return None
    if family.startswith("t") and size == "medium":
        return (2, 4096, 0)
    return (vcpus, vcpus * per_vcpu * 1024, 0)


def max_pods(vcpus: int) -> int:
    """Pods per node as EKS sets it for the VPC CNI without prefix delegation (amazon-eks-ami eni-max-pods: large 29,
    xlarge/2xlarge 58), capped at 110 below 30 vCPUs and 250 above (EKS max-pods calculator)."""
    if vcpus <= 2:
        return 29
    if vcpus <= 8:
        return 58
    return 110 if vcpus < 30 else 250


def allocatable(instance_type: str, gpus: int, mig: Optional[Mapping[str, float]] = None) -> Optional[Demand]:
    """Node allocatable on an EKS AL2023 node: capacity minus kube-reserved (CPU: 6% of the first core, 1% of the
    second, 0.5% of the next two, 0.25% of the rest; memory: 255 MiB + 11 MiB per pod) and the 100 MiB hard
    eviction threshold (amazon-eks-ami nodeadm kubelet defaults)."""
    shape = instance_shape(instance_type)
    if shape is None:
        return None
    vcpus, memory_mib, _ = shape
    reserved_cpu = 0.06 + (0.01 if vcpus > 1 else 0) + 0.005 * max(0, min(vcpus, 4) - 2) + 0.0025 * max(0, vcpus - 4)
    pods = max_pods(vcpus)
    reserved_mib = 255 + 11 * pods + 100
    return Demand(vcpus - reserved_cpu, (memory_mib - reserved_mib) * 2**20, gpus, pods, dict(mig or {}))


def pools(ctx: CheckContext) -> list[Pool]:
    out = []
    for config in ctx.cfg.node_pools.all:
        labels = dict(cv.pool_labels(config))
        first = config.instance_types[0]
        shape = instance_shape(first)
        arm = "ARM" in str(getattr(config, "ami_type", "")) or bool(re.match(r"[a-z][0-9]+g", first))
        labels.update({
            "kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64" if arm else "amd64",
            "node.kubernetes.io/instance-type": first,
        })
        gpus = config.allocatable_gpus_per_node if isinstance(config, GpuPoolConfig) else 0
        mig = ({r: float(n) for r, n in cv.pool_gpu_resources(config).items() if r != cv.GPU_RESOURCE}
               if isinstance(config, GpuPoolConfig) else {})
        taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in cv.pool_taints(config)]
        known = ctx.cfg.cluster.mode == "eks" and shape is not None
        out.append(Pool(config, labels, taints, allocatable(first, gpus, mig) if known else None))
    return out


# -- matching ----------------------------------------------------------------------------------------------------


def _expression_holds(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
    value = labels.get(str(key))
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def _tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, str]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint["effect"]:
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and str(t.get("value") or "") == taint["value"]:
            return True
    return False


def why_not(spec: Mapping[str, Any], pool: Pool) -> Optional[str]:
    """Why a pod cannot run on `pool` (None: it can)."""
    for key, value in (spec.get("nodeSelector") or {}).items():
        if pool.labels.get(key) != str(value):
            return f"nodeSelector {key}={value}"
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(all(_expression_holds(e, pool.labels) for e in term.get("matchExpressions") or [])
                         for term in terms):
        return "required node affinity"
    for taint in pool.taints:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not _tolerates(spec.get("tolerations") or [], taint):
            return f"taint {taint['key']}={taint['value']}:{taint['effect']} not tolerated"
    return None


# -- replicas ----------------------------------------------------------------------------------------------------


def _scalers(objects: list[KubeObject]) -> dict[tuple[str, str, str], int]:
    """(namespace, kind, name) -> the most replicas an autoscaler (HPA, KEDA ScaledObject) may set."""
    out: dict[tuple[str, str, str], int] = {}
    for o in objects:
        spec = o.obj.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        if o.kind == "HorizontalPodAutoscaler":
            peak = int(spec.get("maxReplicas") or 0)
        elif o.kind == "ScaledObject":
            peak = int(spec.get("maxReplicaCount") or 100)  # KEDA's default maxReplicaCount is 100
        else:
            continue
        key = (o.namespace, str(ref.get("kind") or "Deployment"), str(ref.get("name")))
        out[key] = max(out.get(key, 0), peak)
    return out


def _surge(spec: Mapping[str, Any], replicas: int) -> int:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * float(surge[:-1]) / 100)
    return int(surge)


def peak_replicas(o: KubeObject, scalers: Mapping[tuple[str, str, str], int]) -> int:
    spec = o.obj.get("spec") or {}
    replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    replicas = max(replicas, scalers.get((o.namespace, o.kind, o.name), 0))
    if o.kind == "Deployment":
        return replicas + _surge(spec, replicas)
    if o.kind in ("StatefulSet", "ReplicaSet"):
        return replicas
    return 1


# -- the check ---------------------------------------------------------------------------------------------------


def _priority_value(name: Optional[str], classes: Mapping[str, int]) -> int:
    if not name:
        return 0
    return classes.get(name, BUILTIN_PRIORITIES.get(name, 0))


def check(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    the_pools = pools(ctx)
    scalers = _scalers(ctx.objects)
    classes = {o.name: int(o.obj.get("value") or 0) for o in ctx.objects if o.kind == "PriorityClass"}
    model_priority = _priority_value(cv.SERVING_PRIORITY_CLASS, classes)
    placed: dict[str, list[tuple[str, Demand]]] = {p.name: [] for p in the_pools}
    # EKS managed add-ons' pods (AWS creates them, the plan never sees them): counted like the plan's own.
    from .addons import addon_objects, coverage

    addons = addon_objects(ctx.plan.resources)
    # And the StatefulSets the Prometheus operator makes of Prometheus and Alertmanager resources.
    operated = operated_objects(ctx.objects)
    workloads = [(o, pod_spec(o.obj)) for o in [*ctx.objects, *addons, *operated]]
    checked = 0
    for o, spec in workloads:
        if spec is None:
            continue
        checked += 1
        reasons = {p.name: why_not(spec, p) for p in the_pools}
        fits = [p for p in the_pools if reasons[p.name] is None]
        if not fits and o.kind == "DaemonSet" and any(k in DORMANT_DAEMONSETS for k in spec.get("nodeSelector") or {}):
            continue
        if not fits:
            detail = "; ".join(f"{name}: {why}" for name, why in reasons.items())
            findings.append(Finding("placement", o.label, "placement", f"fits no node pool ({detail})"))
            continue
        demand = pod_demand(spec)
        findings += _gpu_sharing(o, spec, demand, fits)
        if o.kind not in ("Job", "CronJob"):  # a one-off install Job that is preempted is retried: no priority asked
            findings += _priority(o, spec, classes, model_priority)
        if o.kind == "DaemonSet":
            for p in fits:
                p.daemon_overhead = p.daemon_overhead.plus(demand)
                p.daemonsets.append(o.label)
        elif o.kind not in ("Job", "CronJob", "Pod"):
            # A pod that fits several pools is counted on the first (the system pool comes first).
            for _ in range(peak_replicas(o, scalers)):
                placed[fits[0].name].append((o.label, demand))
    findings += coverage([*ctx.objects, *operated], addons, the_pools)
    for p in the_pools:
        findings += _capacity(p, placed[p.name])
    ctx.checked["placement"] = checked
    return findings


def _gpu_sharing(o: KubeObject, spec: Mapping[str, Any], demand: Demand, fits: list[Pool]) -> list[Finding]:
    out = []
    for _, c in containers(spec):
        gpus = quantity(((c.get("resources") or {}).get("limits") or {}).get(cv.GPU_RESOURCE))
        if gpus and gpus != int(gpus):
            out.append(Finding("placement", o.label, "gpu-sharing", f"container {c.get('name')}: {cv.GPU_RESOURCE} must be whole"))
    wanted = {cv.GPU_RESOURCE: demand.gpu, **demand.mig}
    if any(wanted.values()):
        gpu_pools = [(p.name, p.config) for p in fits if isinstance(p.config, GpuPoolConfig)]
        if not gpu_pools:
            out.append(Finding("placement", o.label, "gpu-sharing", "requests GPUs but fits no GPU pool"))
        for name, config in gpu_pools:
            limit = config.max_gpus_per_pod
            if demand.gpu > limit:
                how = ("time-sliced: the device plugin rejects requests > 1 (failRequestsGreaterThanOne)"
                       if config.time_slicing else "MIG devices: a process sees one" if config.mig_layout is not None
                       else f"a node has {limit}")
                out.append(Finding("placement", o.label, "gpu-sharing",
                                   f"requests {demand.gpu:g} {cv.GPU_RESOURCE} on pool {name}: {how}"))
            offered = cv.pool_gpu_resources(config)
            for resource in sorted(r for r, n in wanted.items() if n and r not in offered):
                out.append(Finding("placement", o.label, "gpu-sharing",
                                   f"requests {resource} on pool {name}, whose nodes advertise "
                                   f"{', '.join(offered) or 'no GPU resource'}: the pod would stay Pending"))
    return out


def _priority(o: KubeObject, spec: Mapping[str, Any], classes: Mapping[str, int], model_priority: int) -> list[Finding]:
    name = spec.get("priorityClassName")
    labels = ((o.obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    if cv.MODEL_LABEL in labels:
        if name != cv.SERVING_PRIORITY_CLASS:
            return [Finding("placement", o.label, "priority", f"model pods must run at PriorityClass {cv.SERVING_PRIORITY_CLASS}")]
        return []
    if name and name not in classes and name not in BUILTIN_PRIORITIES:
        return [Finding("placement", o.label, "priority", f"PriorityClass {name} does not exist")]
    if _priority_value(name, classes) <= model_priority:
        return [Finding("placement", o.label, "priority",
                        f"runs at priority {_priority_value(name, classes)} ({name or 'none'}), not above models "
                        f"({cv.SERVING_PRIORITY_CLASS} {model_priority}): a scaling model could preempt it")]
    return []


def _capacity(pool: Pool, pods: list[tuple[str, Demand]]) -> list[Finding]:
    if pool.allocatable is None:
        return []
    resource = f"node pool {pool.name}"
    free_per_node = pool.allocatable.minus(pool.daemon_overhead)
    if not Demand(0, 0, 0, 0).fits(free_per_node) or free_per_node.cpu < 0 or free_per_node.memory < 0:
        return [Finding("capacity", resource, "capacity",
                        f"DaemonSets alone ({pool.daemon_overhead.text()}) exceed a node ({pool.allocatable.text()})")]
    nodes: list[Demand] = []
    unplaced: list[tuple[str, Demand]] = []
    for label, d in sorted(pods, key=lambda x: (x[1].gpu, x[1].memory, x[1].cpu), reverse=True):
        for i, free in enumerate(nodes):
            if d.fits(free):
                nodes[i] = free.minus(d)
                break
        else:
            if len(nodes) < pool.config.max_size and d.fits(free_per_node):
                nodes.append(free_per_node.minus(d))
            else:
                unplaced.append((label, d))
    if not unplaced:
        return []
    total = Demand(pods=0)
    for _, d in pods:
        total = total.plus(d)
    names = sorted({label for label, _ in unplaced})
    return [Finding(
        "capacity", resource, "capacity",
        f"at maxSize {pool.config.max_size} x {pool.config.instance_types[0]} (per node {free_per_node.text()} after "
        f"DaemonSets) it cannot hold its peak ({len(pods)} pods, {total.text()}): {len(unplaced)} pod(s) left over, "
        f"of {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}",
    )]
