"""The pods of the EKS managed add-ons for the placement and capacity check: AWS creates them, the plan never sees them.

From every `aws:eks/addon:Addon` of the plan, the workloads its add-on runs (`catalog/eks.py`, read from the
add-on's upstream manifests) become Deployment and DaemonSet objects, with the plan's configuration values applied
(`nodeSelector`, `tolerations`, `tolerateAllTaints`, `replicaCount` of the workload's block). The placement check
treats them like the plan's own: a DaemonSet's requests and pod slot come off every node of every pool it
tolerates, a Deployment is packed at its replicas plus the rollout surge onto the pool it can run on.

Coverage: a DaemonSet an add-on runs for the pods of a node (the CNI and kube-proxy for every pod, a CSI node
plugin for the pods with a volume of its driver) must be able to run on every pool those pods may run on; where it
cannot, the pods there would never start (no pod network, a volume never mounted): a finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from ..catalog import eks as eks_catalog
from ..plan.model import ResourceState
from .findings import Finding
from .objects import KubeObject, plain, pod_spec
from .placement import Pool, why_not

ADDON_TYPE = "aws:eks/addon:Addon"
#: Add-on pods run in kube-system (every add-on's manifests).
NAMESPACE = "kube-system"


@dataclass(frozen=True)
class AddonObject(KubeObject):
    """A workload of a managed add-on, made from the catalog's facts (no `release`: AWS installs it)."""

    #: `<add-on> <version>` as the plan installs it.
    addon: str = ""
    #: DaemonSets: who needs it on a node (`AddonWorkload.needed_by`).
    needed_by: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} (EKS add-on {self.addon})"


def _configuration(value: Any) -> dict[str, Any]:
    value = plain(value)
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return value if isinstance(value, dict) else {}


def manifest(workload: eks_catalog.AddonWorkload, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """The workload as the API server would hold it, as far as placement and capacity read it."""
    block: Mapping[str, Any] = {}
    if workload.config_path is not None:
        block = configuration
        for key in workload.config_path:
            block = block.get(key) or {} if isinstance(block, Mapping) else {}
    tolerations = [dict(t) for t in workload.tolerations]
    if "tolerations" in block:
        tolerations = [dict(t) for t in block.get("tolerations") or []]
    if block.get("tolerateAllTaints") is True:
        tolerations = [dict(t) for t in eks_catalog.TOLERATE_ALL]
    elif block.get("tolerateAllTaints") is False and tolerations == list(eks_catalog.TOLERATE_ALL):
        # The charts then fall back to their NoExecute-only defaults, which tolerate no NoSchedule taint: counted
        # as only the tolerations the block lists.
        tolerations = [dict(t) for t in block.get("tolerations") or []]
    containers = [
        {"name": name, "resources": {"requests": {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}}}
        for name, cpu, memory in workload.containers
    ]
    pod = {
        "priorityClassName": workload.priority_class,
        "nodeSelector": {**workload.node_selector, **(block.get("nodeSelector") or {})},
        "tolerations": tolerations,
        "containers": containers,
    }
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": workload.name}},
                            "template": {"metadata": {"labels": {"app": workload.name}}, "spec": pod}}
    if workload.kind == "Deployment":
        spec["replicas"] = int(block.get("replicaCount", workload.replicas))
    return {"apiVersion": "apps/v1", "kind": workload.kind,
            "metadata": {"name": workload.name, "namespace": NAMESPACE}, "spec": spec}


def addon_objects(resources: Iterable[ResourceState]) -> list[AddonObject]:
    """The workloads of every managed add-on the plan installs (none off EKS: no Addon resources)."""
    specs = {a.name: a for a in eks_catalog.ADDONS}
    out = []
    for state in resources:
        if state.type != ADDON_TYPE:
            continue
        spec = specs.get(str(state.inputs.get("addonName") or ""))
        if spec is None:
            continue
        configuration = _configuration(state.inputs.get("configurationValues"))
        version = plain(state.inputs.get("addonVersion")) or "(version unknown)"
        for workload in spec.workloads:
            out.append(AddonObject(state, manifest(workload, configuration), None, addon=f"{spec.name} {version}",
                                   needed_by=workload.needed_by))
    return out


# -- coverage ----------------------------------------------------------------------------------------------------


def _csi_drivers(objects: list[KubeObject]) -> dict[int, set[str]]:
    """id(object) -> the CSI drivers its pods' volumes use (inline CSI volumes; claims bound to a PersistentVolume
    or provisioned from a StorageClass, the default one when the claim names none; StatefulSet claim templates)."""
    pv_driver = {o.name: str(((o.obj.get("spec") or {}).get("csi") or {}).get("driver") or "")
                 for o in objects if o.kind == "PersistentVolume"}
    provisioner = {o.name: str(o.obj.get("provisioner") or "") for o in objects if o.kind == "StorageClass"}
    default_class = next((o.name for o in objects if o.kind == "StorageClass" and str(
        ((o.obj.get("metadata") or {}).get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class")) == "true"), None)
    claims = {(o.namespace, o.name): o.obj.get("spec") or {} for o in objects if o.kind == "PersistentVolumeClaim"}

    def of_claim(claim: Mapping[str, Any]) -> str:
        if claim.get("volumeName"):
            return pv_driver.get(str(claim["volumeName"]), "")
        name = claim.get("storageClassName", default_class)
        return provisioner.get(str(name), "") if name else ""

    out: dict[int, set[str]] = {}
    for o in objects:
        spec = pod_spec(o.obj)
        if spec is None:
            continue
        drivers = set()
        for volume in spec.get("volumes") or []:
            if volume.get("csi"):
                drivers.add(str(volume["csi"].get("driver") or ""))
            if volume.get("persistentVolumeClaim"):
                drivers.add(of_claim(claims.get((o.namespace, str(volume["persistentVolumeClaim"].get("claimName"))), {})))
            template = (volume.get("ephemeral") or {}).get("volumeClaimTemplate")
            if template:
                drivers.add(of_claim(template.get("spec") or {}))
        if o.kind == "StatefulSet":
            for template in (o.obj.get("spec") or {}).get("volumeClaimTemplates") or []:
                drivers.add(of_claim(template.get("spec") or {}))
        drivers.discard("")
        if drivers:
            out[id(o)] = drivers
    return out


def coverage(objects: list[KubeObject], addons: list[AddonObject], pools: list[Pool]) -> list[Finding]:
    """An add-on DaemonSet that cannot run on a pool whose pods need it."""
    daemons = [(a, pod_spec(a.obj) or {}) for a in addons if a.kind == "DaemonSet" and a.needed_by]
    if not daemons:
        return []
    drivers = _csi_drivers(objects)
    # (DaemonSet label, pool) -> (why it cannot run there, who needs it there)
    missing: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for o in objects:
        spec = pod_spec(o.obj)
        if spec is None or o.kind in ("Job", "CronJob"):
            continue
        uses = drivers.get(id(o), set())
        for pool in pools:
            if why_not(spec, pool) is not None:
                continue
            for daemon, daemon_spec in daemons:
                if daemon.needed_by != "*" and daemon.needed_by not in uses:
                    continue
                reason = why_not(daemon_spec, pool)
                if reason is not None:
                    missing.setdefault((daemon.label, pool.name), (reason, []))[1].append(o.label)
    findings = []
    for (label, pool_name), (reason, users) in sorted(missing.items()):
        need = next(d.needed_by for d, _ in daemons if d.label == label)
        what = "every pod (node networking)" if need == "*" else f"pods with {need} volumes, which it mounts"
        findings.append(Finding(
            "placement", label, "placement",
            f"cannot run on pool {pool_name} ({reason}), whose pods need it there: {what}: "
            f"{', '.join(users[:3])}{' ...' if len(users) > 3 else ''}",
        ))
    return findings
