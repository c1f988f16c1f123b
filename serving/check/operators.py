"""The pods an operator makes, for the placement and capacity check: the plan holds the custom resource, the operator
creates the StatefulSet at run time.

The Prometheus operator turns each `monitoring.coreos.com/v1` `Prometheus`, `PrometheusAgent` and `Alertmanager` into
a StatefulSet (prometheus-operator v0.93, the version kube-prometheus-stack 88.5.3 installs):
- pods: `replicas` (default 1), times `shards` (default 1) for Prometheus and PrometheusAgent
  (pkg/prometheus/common.go `ReplicasNumberPtr`, `shardsNumber`; pkg/alertmanager/statefulset.go `minReplicas`);
- the pod takes the resource's `nodeSelector`, `tolerations`, `affinity` and `priorityClassName`;
- containers: the main one at the resource's `resources` (Alertmanager: 200Mi of memory when it asks none,
  pkg/alertmanager/statefulset.go), the `config-reloader` sidecar and `init-config-reloader` init container at the
  operator's `--config-reloader-{cpu,memory}-request` (default 10m / 50Mi, cmd/operator/main.go; "0" is none), a
  `thanos-sidecar` at `thanos.resources` when Thanos is on, and the resource's own `containers` merged by name;
- volumes: `storage.volumeClaimTemplate` becomes the StatefulSet's claim template.

Each becomes a StatefulSet object labelled by the resource it is made of, so a finding names what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from .objects import KubeObject, containers, pod_spec

GROUP = "monitoring.coreos.com"
#: cmd/operator/main.go `defaultReloaderCPU`, `defaultReloaderMemory`: used when the flags are absent.
RELOADER_DEFAULT_REQUESTS = {"cpu": "10m", "memory": "50Mi"}
#: Kind -> (StatefulSet name prefix and main container, memory request when the resource sets none, sharded).
KINDS: dict[str, tuple[str, Optional[str], bool]] = {
    "Prometheus": ("prometheus", None, True),
    "PrometheusAgent": ("prometheus", None, True),
    "Alertmanager": ("alertmanager", "200Mi", False),
}


@dataclass(frozen=True)
class OperatedObject(KubeObject):
    """The StatefulSet the operator makes of a custom resource; labelled by that resource."""

    made_of: str = ""

    @property
    def label(self) -> str:
        return self.made_of


def reloader_requests(objects: list[KubeObject]) -> dict[str, str]:
    """The config-reloader's requests, from the operator Deployment's flags (kube-prometheus-stack always passes them;
    0 when `prometheusOperator.prometheusConfigReloader.resources` is unset)."""
    for o in objects:
        for _, c in containers(pod_spec(o.obj) or {}) if o.kind == "Deployment" else ():
            args = [str(a) for a in c.get("args") or []]
            if any(a.startswith("--prometheus-config-reloader=") for a in args):
                found = dict(RELOADER_DEFAULT_REQUESTS)
                for a in args:
                    m = re.fullmatch(r"--config-reloader-(cpu|memory)-request=(.*)", a)
                    if m:
                        found[m.group(1)] = m.group(2)
                return {k: v for k, v in found.items() if v not in ("", "0")}
    return dict(RELOADER_DEFAULT_REQUESTS)


def operated_objects(objects: list[KubeObject]) -> list[OperatedObject]:
    """The StatefulSets the Prometheus operator will make of the plan's Prometheus/PrometheusAgent/Alertmanager."""
    reloader = {"requests": reloader_requests(objects)}
    out = []
    for o in objects:
        if o.group != GROUP or o.kind not in KINDS:
            continue
        main, default_memory, sharded = KINDS[o.kind]
        spec = o.obj.get("spec") or {}
        resources = {k: dict(v or {}) for k, v in (spec.get("resources") or {}).items()}
        if default_memory and "memory" not in resources.setdefault("requests", {}):
            resources["requests"]["memory"] = default_memory
        made: dict[str, dict[str, Any]] = {
            main: {"name": main, "resources": resources},
            "config-reloader": {"name": "config-reloader", "resources": reloader},
        }
        if o.kind == "Prometheus" and spec.get("thanos") is not None:
            made["thanos-sidecar"] = {"name": "thanos-sidecar", "resources": (spec["thanos"] or {}).get("resources") or {}}
        for c in spec.get("containers") or []:
            made[str(c.get("name"))] = {**made.get(str(c.get("name")), {}), **c}
        pod: dict[str, Any] = {k: spec[k] for k in ("nodeSelector", "tolerations", "affinity", "priorityClassName")
                               if spec.get(k) is not None}
        pod["containers"] = list(made.values())
        pod["initContainers"] = [{"name": "init-config-reloader", "resources": reloader}]
        replicas = spec.get("replicas")
        pods = 1 if replicas is None else int(replicas)
        if sharded:
            pods = (1 if pods < 0 else pods) * max(1, int(spec.get("shards") or 1))
        claim = (spec.get("storage") or {}).get("volumeClaimTemplate")
        statefulset = {
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": f"{main}-{o.name}", "namespace": o.namespace},
            "spec": {"replicas": max(0, pods), "template": {"metadata": {}, "spec": pod},
                     **({"volumeClaimTemplates": [claim]} if claim else {})},
        }
        out.append(OperatedObject(o.state, statefulset, o.release,
                                  made_of=f"{o.label}: StatefulSet {main}-{o.name} made by the operator"))
    return out


__all__ = ["OperatedObject", "RELOADER_DEFAULT_REQUESTS", "operated_objects", "reloader_requests"]
