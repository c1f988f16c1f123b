"""A model's phase as a pure function of the Kubernetes objects the API returns (JSON as `kubectl get -o json`
prints it: camelCase keys), so it is tested on recorded objects and never needs a cluster.

Phases: Stopped, ScaledToZero, Deploying, Ready, Degraded, Failed (with the reason: image pull, crash loop,
unschedulable, failed probes, rollout stuck, route not accepted). Field meanings (Kubernetes API reference v1.34):
- Deployment `status.readyReplicas` / `updatedReplicas`, `spec.replicas`; condition `Progressing` False with
  reason `ProgressDeadlineExceeded` when a rollout is stuck;
- ReplicaSet annotation `deployment.kubernetes.io/revision`, label `pod-template-hash`: the newest revision's pods
  are the ones that matter (old pods are on their way out);
- Pod `status.containerStatuses[].state.waiting.reason` (`ImagePullBackOff`, `ErrImagePull`, `CrashLoopBackOff`,
  ...), `.ready`, `.started`; condition `PodScheduled` False with reason `Unschedulable`;
- KEDA ScaledObject annotation `autoscaling.keda.sh/paused-replicas`; HTTPRoute `status.parents[].conditions`
  (`Accepted`, `ResolvedRefs`) and `spec.rules[].filters` (the stop answer), `backendRefs[].weight`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional, Sequence

Obj = Mapping[str, Any]

STOPPED, SCALED_TO_ZERO, DEPLOYING, READY, DEGRADED, FAILED = (
    "Stopped", "ScaledToZero", "Deploying", "Ready", "Degraded", "Failed")
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
REVISION = "deployment.kubernetes.io/revision"
TRACK_LABEL = "serving.platform/track"

IMAGE_PULL = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
CRASH = {"CrashLoopBackOff", "RunContainerError", "CreateContainerError", "CreateContainerConfigError"}


@dataclass(frozen=True)
class TrackStatus:
    track: str
    ready: int
    desired: int
    version: Optional[str] = None


@dataclass(frozen=True)
class ModelStatus:
    model: str
    namespace: str
    phase: str
    reason: str = ""
    tracks: tuple[TrackStatus, ...] = ()
    canary_weight: Optional[int] = None
    url: Optional[str] = None
    last_change: Optional[str] = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["tracks"] = [asdict(t) for t in self.tracks]
        out["problems"] = list(self.problems)
        return out


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def track_of(obj: Obj) -> str:
    return (_meta(obj).get("labels") or {}).get(TRACK_LABEL, "primary")


def current_replica_set(deployment: Obj, replica_sets: Sequence[Obj]) -> Optional[Obj]:
    """The Deployment's newest ReplicaSet (highest revision among those it owns)."""
    uid = _meta(deployment).get("uid")
    name = _meta(deployment).get("name")
    owned = [rs for rs in replica_sets
             if any(o.get("kind") == "Deployment" and (o.get("uid") == uid if uid else o.get("name") == name)
                    for o in _meta(rs).get("ownerReferences") or [])]
    if not owned:
        return None
    return max(owned, key=lambda rs: int((_meta(rs).get("annotations") or {}).get(REVISION, "0") or 0))


def pod_problem(pod: Obj) -> Optional[str]:
    """Why a pod does not serve, in a user's words, or None when it is fine (or just starting)."""
    conds = _conditions(pod)
    sched = conds.get("PodScheduled")
    if sched is not None and sched.get("status") == "False" and sched.get("reason") == "Unschedulable":
        return f"unschedulable: {sched.get('message', '')}".rstrip(": ")
    status = pod.get("status") or {}
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in IMAGE_PULL:
            return f"image pull: {cs.get('name')}: {reason} {cs.get('image', '')}".strip()
        if reason in CRASH:
            terminated = (cs.get("lastState") or {}).get("terminated") or {}
            detail = f" (exit {terminated['exitCode']})" if "exitCode" in terminated else ""
            return f"crash loop: {cs.get('name')}: {reason}{detail}, {cs.get('restartCount', 0)} restarts"
    for cs in status.get("containerStatuses") or []:
        running = "running" in (cs.get("state") or {})
        if running and cs.get("started") and not cs.get("ready") and conds.get("Ready", {}).get("status") == "False":
            return f"failed probes: {cs.get('name')} is running but not ready (readiness probe failing)"
    return None


def _track_status(deployment: Obj) -> TrackStatus:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    return TrackStatus(
        track=track_of(deployment),
        ready=int(status.get("readyReplicas") or 0),
        desired=int(spec.get("replicas", 1)),
        version=labels.get("serving.platform/model-version"),
    )


def _stopped(route: Optional[Obj], scaled_objects: Sequence[Obj], model: str) -> bool:
    if route is not None:
        for rule in (route.get("spec") or {}).get("rules") or []:
            for f in rule.get("filters") or []:
                if f.get("type") == "ExtensionRef" and (f.get("extensionRef") or {}).get("name") == f"{model}-stopped":
                    return True
    return any((_meta(so).get("annotations") or {}).get(PAUSED_REPLICAS) == "0" for so in scaled_objects)


def _canary_weight(route: Optional[Obj]) -> Optional[int]:
    if route is None:
        return None
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if len(refs) > 1:
            total = sum(int(r.get("weight", 1)) for r in refs)
            return round(100 * int(refs[-1].get("weight", 1)) / total) if total else 0
    return None


def _route_problem(route: Optional[Obj]) -> Optional[str]:
    if route is None:
        return "route missing"
    for parent in (route.get("status") or {}).get("parents") or []:
        for cond in parent.get("conditions") or []:
            if cond.get("type") in ("Accepted", "ResolvedRefs") and cond.get("status") == "False":
                return f"route not accepted: {cond.get('reason')}: {cond.get('message', '')}".rstrip(": ")
    return None


def _last_change(deployments: Sequence[Obj], replica_sets: Sequence[Obj]) -> Optional[str]:
    times = []
    for d in deployments:
        rs = current_replica_set(d, replica_sets)
        if rs is not None and _meta(rs).get("creationTimestamp"):
            times.append(_meta(rs)["creationTimestamp"])
        progressing = _conditions(d).get("Progressing") or {}
        if progressing.get("lastUpdateTime"):
            times.append(progressing["lastUpdateTime"])
    return max(times) if times else None  # RFC 3339 UTC strings sort in time order


def model_status(
    model: str,
    namespace: str,
    *,
    deployments: Sequence[Obj],
    replica_sets: Sequence[Obj] = (),
    pods: Sequence[Obj] = (),
    scaled_objects: Sequence[Obj] = (),
    http_scaled_objects: Sequence[Obj] = (),
    route: Optional[Obj] = None,
    url: Optional[str] = None,
) -> ModelStatus:
    """The model's phase from its objects (all of the model's namespace and label `serving.platform/model`)."""
    tracks = tuple(sorted((_track_status(d) for d in deployments), key=lambda t: (t.track != "primary", t.track)))
    problems: list[str] = []
    reasons: list[str] = []  # the same without the object's name

    def result(phase: str, reason: str = "") -> ModelStatus:
        return ModelStatus(model=model, namespace=namespace, phase=phase, reason=reason, tracks=tracks,
                           canary_weight=_canary_weight(route), url=url,
                           last_change=_last_change(deployments, replica_sets), problems=tuple(problems))

    primary = next((d for d in deployments if track_of(d) == "primary"), None)
    if primary is None:
        return result(FAILED, "not deployed: no primary Deployment")
    if _stopped(route, scaled_objects, model):
        return result(STOPPED, "stopped in config (`stopped: true`)")

    # Problems of the pods of each Deployment's current revision only (old ones are being replaced).
    hashes = {}
    for d in deployments:
        rs = current_replica_set(d, replica_sets)
        if rs is not None:
            hashes[track_of(d)] = (_meta(rs).get("labels") or {}).get("pod-template-hash")
    for pod in pods:
        labels = _meta(pod).get("labels") or {}
        wanted = hashes.get(labels.get(TRACK_LABEL, "primary"))
        if wanted and labels.get("pod-template-hash") not in (None, wanted):
            continue
        problem = pod_problem(pod)
        if problem:
            problems.append(f"{_meta(pod).get('name')}: {problem}")
            reasons.append(problem)
    for d in deployments:
        progressing = _conditions(d).get("Progressing") or {}
        if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
            problems.append(f"{_meta(d).get('name')}: rollout stuck (ProgressDeadlineExceeded)")
            reasons.append("rollout stuck (ProgressDeadlineExceeded)")
    route_problem = _route_problem(route)
    if route_problem:
        problems.append(route_problem)
        reasons.append(route_problem)

    main = _track_status(primary)
    reason = reasons[0] if reasons else ""
    if main.desired == 0 and main.ready == 0 and not problems:
        waking = any((p.get("status") or {}).get("phase") == "Pending" and track_of(p) == "primary" for p in pods)
        if waking:
            return result(DEPLOYING, "waking from zero")
        return result(SCALED_TO_ZERO, "no replica until a request arrives")
    if problems:
        phase = DEGRADED if main.ready > 0 else FAILED
        return result(phase, reason)
    status = primary.get("status") or {}
    rolling = any(int((d.get("status") or {}).get("updatedReplicas") or 0) < int((d.get("spec") or {}).get("replicas", 1))
                  for d in deployments)
    if rolling or any(t.ready < t.desired for t in tracks) or status.get("observedGeneration", 0) < _meta(primary).get("generation", 0):
        return result(DEPLOYING, "rollout in progress")
    return result(READY)
