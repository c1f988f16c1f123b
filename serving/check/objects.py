"""The Kubernetes objects of a plan, the program's own and (once rendered into the plan) every Helm release's.

A chart object is a resource of type `kubernetes:<group>/<version>:<Kind>` whose parent chain leads to a Helm
release (`kubernetes:helm.sh/v3:Release` / `v4:Chart`); its inputs are the rendered object. The release an object
belongs to is found from that chain, so the checks do not depend on how the plan marks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

from ..plan.model import HELM_CHART_TYPES, Plan, ResourceState, is_kubernetes_object
from ..plan.values import Secret, Unknown


@dataclass(frozen=True)
class KubeObject:
    state: ResourceState
    #: The object as the API server gets it (secrets shown as placeholders, unknowns as None).
    obj: dict[str, Any]
    #: The Helm release that installs it (its ResourceState), None for the program's own objects.
    release: Optional[ResourceState]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or self.state.name)

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")

    @property
    def label(self) -> str:
        """`Kind namespace/name` (cluster-scoped: `Kind name`), and the release it comes from."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        source = f" (release {release_name(self.release)})" if self.release is not None else ""
        return f"{self.kind} {where}{source}"


def release_name(release: ResourceState) -> str:
    return str(release.inputs.get("name") or release.name)


def plain(value: Any) -> Any:
    """Plan values as plain JSON: a secret becomes a placeholder string, an unknown None."""
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, Unknown):
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _kind_from_type(type_: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment"); `core/v1` -> "v1"."""
    _, group_version, kind = type_.split(":", 2)
    return ("v1" if group_version == "core/v1" else group_version), kind


def kubernetes_objects(plan: Plan) -> list[KubeObject]:
    """Every Kubernetes object the plan would create, in plan order, with the release that installs it."""
    by_urn = {r.urn: r for r in plan.resources}
    out = []
    for state in plan.resources:
        if not is_kubernetes_object(state) or state.external:
            continue
        obj = plain(dict(state.inputs))
        api_version, kind = _kind_from_type(state.type)
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        out.append(KubeObject(state, obj, _release_of(state, by_urn)))
    return out


def _release_of(state: ResourceState, by_urn: Mapping[str, ResourceState]) -> Optional[ResourceState]:
    parent = by_urn.get(state.parent)
    while parent is not None:
        if parent.type in HELM_CHART_TYPES:
            return parent
        parent = by_urn.get(parent.parent)
    return None


def releases(plan: Plan) -> list[ResourceState]:
    return [r for r in plan.resources if r.type in HELM_CHART_TYPES]


def pod_spec(obj: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    elif kind not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return None
    return (spec.get("template") or {}).get("spec") or {}


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field, container) for every container, init containers included."""
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            yield key, c
